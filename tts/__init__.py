"""Text to speech for the hotline: synthesizers behind one interface.

Every synthesizer turns text in a language (ISO 639-1) into mono int16 PCM at the rate the
caller asks for, blocking (``synthesize``) or without blocking the event loop
(``synthesize_async``, ``stream_async`` sentence by sentence). The offline engines are
espeak-ng driven by pyttsx3 in worker processes (``EspeakSynthesizer``, every language;
Japanese read through kana) and, where installed, the Piper neural voice for English in a
thread pool (``PiperSynthesizer``). ``FallbackSynthesizer`` puts the better voice first and
espeak-ng behind it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tts.base import Synthesizer, TtsError, Voice, VoiceNotFound, split_sentences
from tts.espeak import EspeakSynthesizer, SynthesisStats
from tts.fallback import FallbackSynthesizer
from tts.japanese import to_kana
from tts.piper import PiperSynthesizer, piper_installed

__all__ = [
    "EspeakSynthesizer",
    "FallbackSynthesizer",
    "PiperSynthesizer",
    "SynthesisStats",
    "Synthesizer",
    "TtsError",
    "Voice",
    "VoiceNotFound",
    "default_synthesizer",
    "piper_installed",
    "split_sentences",
    "to_kana",
]

log = logging.getLogger(__name__)


def default_synthesizer(
    workers: int = 2,
    cache_size: int = 256,
    piper_model: str | Path | None = None,
    **espeak_options: Any,
) -> Synthesizer:
    """The synthesizer the hotline uses when none is configured.

    Piper speaks English when piper-tts and its voice are installed (``piper_model`` points
    to another Piper ``.onnx`` voice); espeak-ng in workers speaks every other language and
    stands in whenever Piper fails, including when its voice cannot be loaded.
    """
    espeak = EspeakSynthesizer(workers=workers, cache_size=cache_size, **espeak_options)
    if piper_model is None and not piper_installed():
        return espeak
    try:
        piper = PiperSynthesizer(workers=workers, cache_size=cache_size, model_path=piper_model)
    except TtsError as exc:
        log.warning("tts: Piper unavailable, espeak-ng speaks every language: %s", exc)
        return espeak
    return FallbackSynthesizer([piper], espeak)
