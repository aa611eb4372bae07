"""Text to speech for the hotline: synthesizers behind one interface.

Every synthesizer turns text in a language (ISO 639-1) into mono int16 PCM at the rate the
caller asks for, blocking (``synthesize``) or without blocking the event loop
(``synthesize_async``, ``stream_async`` sentence by sentence). The offline engine is
espeak-ng driven by pyttsx3, run in worker processes (``EspeakSynthesizer``).
"""

from __future__ import annotations

from typing import Any

from tts.base import Synthesizer, TtsError, Voice, VoiceNotFound, split_sentences
from tts.espeak import EspeakSynthesizer, SynthesisStats

__all__ = [
    "EspeakSynthesizer",
    "SynthesisStats",
    "Synthesizer",
    "TtsError",
    "Voice",
    "VoiceNotFound",
    "default_synthesizer",
    "split_sentences",
]


def default_synthesizer(**kwargs: Any) -> Synthesizer:
    """The synthesizer the hotline uses when none is configured: espeak-ng in workers."""
    return EspeakSynthesizer(**kwargs)
