"""Streaming speech recognition behind one interface (Vosk, PocketSphinx), with our own endpointing.

Ask an `AsrRegistry` for the engine of a language, take a pooled `Recognizer` from it, and run
audio through an `UtteranceStream` (or `AsyncUtteranceStream` on asyncio) to get Partial and
Final events; give the recognizer back with `engine.release()` when the stream ends.
"""

from __future__ import annotations

from asr.base import (
    AsrEngine,
    AsrError,
    AsrEvent,
    Final,
    LanguageNotSupported,
    ModelNotFound,
    Partial,
    Recognizer,
    Word,
)
from asr.endpoint import Endpointer, EndpointEvent, SpeechEnd, SpeechPause, SpeechStart
from asr.process_engine import ProcessEngine
from asr.registry import AsrRegistry
from asr.sphinx_engine import PocketSphinxEngine
from asr.stream import AsyncUtteranceStream, UtteranceStream, default_executor
from asr.vosk_engine import VoskEngine

__all__ = [
    "AsrEngine",
    "AsrError",
    "AsrEvent",
    "AsrRegistry",
    "AsyncUtteranceStream",
    "Endpointer",
    "EndpointEvent",
    "Final",
    "LanguageNotSupported",
    "ModelNotFound",
    "Partial",
    "PocketSphinxEngine",
    "ProcessEngine",
    "Recognizer",
    "SpeechEnd",
    "SpeechPause",
    "SpeechStart",
    "UtteranceStream",
    "VoskEngine",
    "Word",
    "default_executor",
]
