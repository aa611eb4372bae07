"""espeak-ng speech through pyttsx3, run in a pool of worker processes.

espeak-ng keeps process-global state and is not thread-safe, and pyttsx3 keeps one engine
per process, so each worker process owns one warm pyttsx3 engine and synthesizes one
utterance at a time; several workers let several calls speak at once. Repeated phrases
(greetings, prompts) come from an LRU cache in the parent without a worker trip.

Known limits of pyttsx3 2.99 with espeak-ng, worked around here:

- it polls with a 10 ms sleep, so each utterance costs at least ~10 ms in its worker;
- it can only write a WAV file (at espeak's 22050 Hz), so each job goes through a
  temporary file that is read back and deleted;
- it prints "Audio saved to ..." on every save, so the worker silences stdout;
- errors inside its command queue are only reported as "error" notifications, so the
  worker listens for them and raises.

espeak-ng reads every kanji as "Chinese letter", so Japanese goes through ``to_kana`` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import os
import tempfile
import threading
import wave
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyttsx3
import soxr

from tts.base import (
    Synthesizer,
    TtsError,
    Voice,
    VoiceNotFound,
    checked_rate,
    package_version,
    speakable,
)
from tts.japanese import to_kana
from tts.pooled import PhraseCache

__all__ = ["EspeakSynthesizer", "SynthesisStats"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_ISO_ALIASES = {"cmn": "zh"}
_PREFERRED_TAG = {"en": "en-us", "zh": "cmn", "fr": "fr-fr", "pt": "pt", "vi": "vi"}


@dataclass(slots=True, frozen=True)
class SynthesisStats:
    """Counters that show where speech came from: a worker process or the cache."""

    jobs: int
    cache_hits: int
    cache_misses: int
    cached_phrases: int
    pool_restarts: int
    worker_pids: tuple[int, ...]
    last_worker_pid: int | None


@dataclass(slots=True, frozen=True)
class _VoiceTable:
    voices: tuple[Voice, ...]
    by_tag: dict[str, Voice]
    by_language: dict[str, Voice]

    @classmethod
    def from_espeak(cls, listed: list[tuple[str, str, str]]) -> _VoiceTable:
        voices: list[Voice] = []
        by_tag: dict[str, Voice] = {}
        grouped: dict[str, list[tuple[str, Voice]]] = {}
        for voice_id, name, tag in sorted(listed):
            tag = _normalize(tag)
            if not tag:
                continue
            primary = tag.split("-", 1)[0]
            iso = _ISO_ALIASES.get(primary, primary)
            voice = Voice(voice_id, name, (iso,) if tag == iso else (iso, tag))
            voices.append(voice)
            by_tag.setdefault(tag, voice)
            grouped.setdefault(iso, []).append((tag, voice))
        by_language = {}
        for iso, candidates in grouped.items():
            tags = dict(candidates)
            preferred = _PREFERRED_TAG.get(iso)
            by_language[iso] = tags.get(preferred or iso) or tags.get(iso) or candidates[0][1]
        return cls(tuple(voices), by_tag, by_language)

    def resolve(self, language: str) -> Voice:
        tag = _normalize(language)
        if tag in self.by_tag:
            return self.by_tag[tag]
        primary = tag.split("-", 1)[0]
        voice = self.by_language.get(_ISO_ALIASES.get(primary, primary))
        if voice is None:
            raise VoiceNotFound(language, self.by_language)
        return voice


def _normalize(language: str) -> str:
    return language.strip().lower().replace("_", "-")


class EspeakSynthesizer(Synthesizer):
    """pyttsx3 + espeak-ng behind a process pool, with an LRU cache of recent phrases.

    Worker processes start (and warm their engine) when the synthesizer is built. A crashed
    worker pool is rebuilt once per request before the request fails with ``TtsError``; a
    job running past ``timeout_s`` fails and its pool is replaced.
    """

    name = "espeak"

    def __init__(
        self,
        workers: int = 2,
        cache_size: int = 256,
        rate_wpm: int | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._cache: PhraseCache[tuple[str, str, int]] = PhraseCache(cache_size)
        self._workers = workers
        self._rate_wpm = rate_wpm
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._voice_table: _VoiceTable | None = None
        self._jobs = 0
        self._pool_restarts = 0
        self._worker_pids: set[int] = set()
        self._last_worker_pid: int | None = None
        self._closed = False
        self._pool = self._new_pool()
        for _ in range(workers):
            self._pool.submit(os.getpid).add_done_callback(self._log_warm_up_failure)

    def voices(self) -> list[Voice]:
        """Every espeak-ng voice; listed once by a worker, then kept."""
        return list(self._voices_sync().voices)

    def synthesize(self, text: str, language: str, sample_rate: int = 16000) -> np.ndarray:
        """Speech for ``text``, blocking until a worker (or the cache) delivers it."""
        sample_rate = self._check_request(sample_rate)
        text = speakable(text)
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        voice = self._voices_sync().resolve(language)
        key = (text, voice.id, sample_rate)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        kana = voice.languages[0] == "ja"
        pcm = self._record(self._run(_synthesize_in_worker, text, voice.id, sample_rate, kana))
        self._cache_put(key, pcm)
        return pcm.copy()

    async def synthesize_async(
        self, text: str, language: str, sample_rate: int = 16000
    ) -> np.ndarray:
        """Speech for ``text``; the event loop only waits on the worker process."""
        sample_rate = self._check_request(sample_rate)
        text = speakable(text)
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        voice = (await self._voices_async()).resolve(language)
        key = (text, voice.id, sample_rate)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        kana = voice.languages[0] == "ja"
        result = await self._run_async(_synthesize_in_worker, text, voice.id, sample_rate, kana)
        pcm = self._record(result)
        self._cache_put(key, pcm)
        return pcm.copy()

    def stats(self) -> SynthesisStats:
        """Worker jobs, cache use and the worker processes that did the work."""
        with self._lock:
            return SynthesisStats(
                jobs=self._jobs,
                cache_hits=self._cache.hits,
                cache_misses=self._cache.misses,
                cached_phrases=len(self._cache),
                pool_restarts=self._pool_restarts,
                worker_pids=tuple(sorted(self._worker_pids)),
                last_worker_pid=self._last_worker_pid,
            )

    def describe(self) -> dict[str, Any]:
        """Engine, settings and counters; never waits for a worker."""
        stats = self.stats()
        table = self._voice_table
        return {
            "name": self.name,
            "engine": "pyttsx3 + espeak-ng",
            "pyttsx3": package_version("pyttsx3"),
            "workers": self._workers,
            "rate_wpm": self._rate_wpm,
            "cache_size": self._cache.size,
            "languages": sorted(table.by_language) if table else None,
            "voices": len(table.voices) if table else None,
            "jobs": stats.jobs,
            "cache_hits": stats.cache_hits,
            "cache_misses": stats.cache_misses,
            "pool_restarts": stats.pool_restarts,
            "closed": self._closed,
        }

    def close(self) -> None:
        """Stop the worker processes; later requests raise ``TtsError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool = self._pool
            self._cache.clear()
        pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_start_worker,
            initargs=(self._rate_wpm,),
        )

    def _submit(
        self, job: Callable[..., T], args: tuple[Any, ...]
    ) -> tuple[ProcessPoolExecutor, Future[T]]:
        with self._lock:
            if self._closed:
                raise TtsError("the espeak synthesizer is closed")
            pool = self._pool
            try:
                return pool, pool.submit(job, *args)
            except BrokenProcessPool as exc:
                failed: Future[T] = Future()
                failed.set_exception(exc)
                return pool, failed

    def _replace_pool(self, broken: ProcessPoolExecutor, reason: str, kill: bool) -> None:
        with self._lock:
            if self._closed or self._pool is not broken:
                return
            self._pool = self._new_pool()
            self._pool_restarts += 1
        log.warning("tts worker pool replaced: %s", reason)
        if kill:
            # A running espeak call cannot be cancelled and the pool API cannot stop its
            # processes, so they are terminated through the executor's process table.
            for process in list((getattr(broken, "_processes", None) or {}).values()):
                process.terminate()
        broken.shutdown(wait=False)

    def _run(self, job: Callable[..., T], *args: Any) -> T:
        retried = False
        while True:
            pool, future = self._submit(job, args)
            try:
                return future.result(timeout=self._timeout_s)
            except BrokenProcessPool as exc:
                self._replace_pool(pool, "a worker process died", kill=False)
                if retried:
                    raise TtsError(_CRASHED) from exc
                retried = True
            except FutureTimeout as exc:
                self._replace_pool(pool, f"a job ran past {self._timeout_s} s", kill=True)
                raise TtsError(f"espeak-ng gave no audio within {self._timeout_s} s") from exc
            except CancelledError as exc:
                raise TtsError("the espeak synthesizer was closed during the request") from exc

    async def _run_async(self, job: Callable[..., T], *args: Any) -> T:
        retried = False
        while True:
            pool, future = self._submit(job, args)
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), self._timeout_s)
            except BrokenProcessPool as exc:
                self._replace_pool(pool, "a worker process died", kill=False)
                if retried:
                    raise TtsError(_CRASHED) from exc
                retried = True
            except TimeoutError as exc:
                self._replace_pool(pool, f"a job ran past {self._timeout_s} s", kill=True)
                raise TtsError(f"espeak-ng gave no audio within {self._timeout_s} s") from exc

    def _voices_sync(self) -> _VoiceTable:
        if self._voice_table is None:
            self._set_voice_table(self._run(_list_voices_in_worker))
        assert self._voice_table is not None
        return self._voice_table

    async def _voices_async(self) -> _VoiceTable:
        if self._voice_table is None:
            self._set_voice_table(await self._run_async(_list_voices_in_worker))
        assert self._voice_table is not None
        return self._voice_table

    def _set_voice_table(self, listed: list[tuple[str, str, str]]) -> None:
        table = _VoiceTable.from_espeak(listed)
        with self._lock:
            if self._voice_table is None:
                self._voice_table = table

    def _check_request(self, sample_rate: int) -> int:
        if self._closed:
            raise TtsError("the espeak synthesizer is closed")
        return checked_rate(sample_rate)

    def _record(self, result: tuple[np.ndarray, int]) -> np.ndarray:
        pcm, pid = result
        with self._lock:
            self._jobs += 1
            self._worker_pids.add(pid)
            self._last_worker_pid = pid
        return pcm

    def _cache_get(self, key: tuple[str, str, int]) -> np.ndarray | None:
        with self._lock:
            return self._cache.get(key)

    def _cache_put(self, key: tuple[str, str, int], pcm: np.ndarray) -> None:
        with self._lock:
            self._cache.put(key, pcm)

    def _log_warm_up_failure(self, future: Future[int]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("tts worker failed to start: %s", error)


_CRASHED = "espeak-ng worker processes died twice for this request (see the log for the cause)"


_engine: Any = None
_engine_error: str | None = None
_engine_voice: str | None = None
_engine_errors: list[BaseException] = []


def _start_worker(rate_wpm: int | None) -> None:
    """Pool initializer: one warm pyttsx3 engine for the life of this worker process."""
    global _engine, _engine_error
    try:
        _engine = pyttsx3.init("espeak")
        _engine.connect("error", _on_engine_error)
        if rate_wpm is not None:
            _engine.setProperty("rate", rate_wpm)
    except Exception as exc:
        _engine_error = f"{type(exc).__name__}: {exc}"


def _on_engine_error(name: object = None, exception: BaseException | None = None) -> None:
    _engine_errors.append(exception or RuntimeError("pyttsx3 reported an error"))


def _worker_engine() -> Any:
    if _engine is None:
        raise TtsError(f"pyttsx3/espeak-ng could not start in a worker: {_engine_error}")
    return _engine


def _list_voices_in_worker() -> list[tuple[str, str, str]]:
    engine = _worker_engine()
    return [
        (voice.id, voice.name, voice.languages[0] if voice.languages else "")
        for voice in engine.getProperty("voices")
    ]


def _synthesize_in_worker(
    text: str, voice_id: str, sample_rate: int, kana: bool = False
) -> tuple[np.ndarray, int]:
    """One utterance in this worker's engine, resampled to ``sample_rate``.

    With ``kana`` (Japanese voices) kanji are read out in kana first, here in the worker,
    so the dictionary lookup stays off the event loop.
    """
    global _engine_voice
    engine = _worker_engine()
    if kana:
        text = to_kana(text)
    fd, path = tempfile.mkstemp(prefix="hotline-tts-", suffix=".wav")
    os.close(fd)
    _engine_errors.clear()
    try:
        if voice_id != _engine_voice:
            _engine_voice = None
            engine.setProperty("voice", voice_id)
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                engine.save_to_file(text, path)
                engine.runAndWait()
            except Exception:
                with contextlib.suppress(RuntimeError):
                    engine.endLoop()
                raise
        if _engine_errors:
            raise TtsError(f"espeak-ng failed with voice {voice_id!r}: {_engine_errors[0]}")
        _engine_voice = voice_id
        pcm, native_rate = _read_wav(path)
    except TtsError:
        raise
    except Exception as exc:
        raise TtsError(
            f"espeak-ng failed with voice {voice_id!r}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if native_rate != sample_rate and pcm.size:
        pcm = soxr.resample(pcm, native_rate, sample_rate)
    return np.ascontiguousarray(pcm, dtype=np.int16), os.getpid()


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    if os.path.getsize(path) == 0:
        raise TtsError("espeak-ng finished without writing audio")
    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise TtsError("espeak-ng wrote audio that is not mono 16-bit")
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2").copy(), wav.getframerate()
