"""What the pooled engines share: the phrase cache, and the base of the one-voice engines.

``PhraseCache`` keeps recently spoken phrases (greetings, prompts) so they repeat without a
new rendering; espeak-ng's process pool keeps one, and so does every ``PooledSynthesizer``.
``PooledSynthesizer`` is one in-process voice for one language (Piper, Kokoro) behind a
thread pool: it checks requests, waits with a timeout, counts jobs and serves the cache, so
an engine only says who it is and how it renders one text at its own rate.
"""

from __future__ import annotations

import asyncio
import threading
from abc import abstractmethod
from collections import OrderedDict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

import numpy as np
import soxr

from tts.base import Synthesizer, TtsError, Voice, VoiceNotFound, checked_rate, speakable

__all__ = ["CACHEABLE_CHARS", "PhraseCache", "PooledSynthesizer"]

CACHEABLE_CHARS = 240
"""Longer texts are not cached: they are rarely said twice, and would crowd out prompts."""

K = TypeVar("K", bound=tuple[Any, ...])


class PhraseCache(Generic[K]):
    """Least recently used audio by key (a tuple that starts with the text), with hit counts.

    It has no lock of its own: its owner guards it, and its counters, with the owner's lock.
    """

    def __init__(self, cache_size: int) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size must not be negative, not {cache_size}")
        self.size = cache_size
        self.hits = 0
        self.misses = 0
        self._phrases: OrderedDict[K, np.ndarray] = OrderedDict()

    def get(self, key: K) -> np.ndarray | None:
        """A copy of the audio kept for ``key`` (counted as a hit), or None (a miss)."""
        pcm = self._phrases.get(key)
        if pcm is None:
            self.misses += 1
            return None
        self._phrases.move_to_end(key)
        self.hits += 1
        return pcm.copy()

    def put(self, key: K, pcm: np.ndarray) -> None:
        """Keep ``pcm`` for ``key``, unless caching is off or the text is too long to."""
        if self.size == 0 or len(key[0]) > CACHEABLE_CHARS:
            return
        self._phrases[key] = pcm
        self._phrases.move_to_end(key)
        while len(self._phrases) > self.size:
            self._phrases.popitem(last=False)

    def clear(self) -> None:
        """Forget every phrase (the counters stay)."""
        self._phrases.clear()

    def __len__(self) -> int:
        return len(self._phrases)


class PooledSynthesizer(Synthesizer):
    """One voice in one language, rendered in up to ``workers`` threads, with a phrase cache.

    A subclass sets ``name`` and ``_voice`` and renders one text in ``_render``. A job
    running past ``timeout_s`` fails with ``TtsError``; its thread finishes in the
    background, because a running ONNX session cannot be stopped. Requests after ``close``,
    and those it cuts short, fail with ``TtsError`` too.
    """

    _voice: Voice

    def __init__(self, workers: int, cache_size: int, timeout_s: float) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._cache: PhraseCache[tuple[str, int]] = PhraseCache(cache_size)
        self._workers = workers
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._jobs = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"tts-{self.name}")

    @abstractmethod
    def _render(self, text: str) -> tuple[np.ndarray, int]:
        """One utterance as float samples in -1..1 and the rate they are at; ``TtsError``
        when the engine fails. Runs in a pool thread."""

    @abstractmethod
    def _details(self) -> dict[str, Any]:
        """What ``describe`` reports between the name and the counters: engine, voice,
        settings. Called under the lock, so it must not wait for the pool."""

    def voices(self) -> list[Voice]:
        """The one voice this engine speaks with."""
        return [self._voice]

    def synthesize(self, text: str, language: str, sample_rate: int = 16000) -> np.ndarray:
        """Speech for ``text``, blocking until a pool thread (or the cache) delivers it."""
        key, ready = self._lookup(text, language, sample_rate)
        if ready is not None:
            return ready
        future = self._submit(key)
        try:
            pcm = future.result(timeout=self._timeout_s)
        except FutureTimeout as exc:
            raise self._too_slow() from exc
        except CancelledError as exc:
            raise self._closed_during_request() from exc
        return self._finish(key, pcm)

    async def synthesize_async(
        self, text: str, language: str, sample_rate: int = 16000
    ) -> np.ndarray:
        """Speech for ``text``; the event loop only waits on the pool thread."""
        key, ready = self._lookup(text, language, sample_rate)
        if ready is not None:
            return ready
        future = self._submit(key)
        try:
            pcm = await asyncio.wait_for(asyncio.wrap_future(future), self._timeout_s)
        except TimeoutError as exc:
            raise self._too_slow() from exc
        except CancelledError as exc:
            if future.cancelled():
                raise self._closed_during_request() from exc
            raise
        return self._finish(key, pcm)

    def describe(self) -> dict[str, Any]:
        """Engine, voice, settings and counters; never waits for the pool."""
        with self._lock:
            return {
                "name": self.name,
                **self._details(),
                "jobs": self._jobs,
                "cache_hits": self._cache.hits,
                "cache_misses": self._cache.misses,
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
            raise TtsError(f"the {self.name} synthesizer is closed")
        sample_rate = checked_rate(sample_rate)
        primary = language.strip().lower().replace("_", "-").split("-", 1)[0]
        if primary != self._voice.languages[0]:
            raise VoiceNotFound(language, self._voice.languages[:1])
        return sample_rate, speakable(text)

    def _lookup(
        self, text: str, language: str, sample_rate: int
    ) -> tuple[tuple[str, int], np.ndarray | None]:
        """The cache key of a checked request, and its audio when no job is needed for it."""
        sample_rate, text = self._check_request(text, language, sample_rate)
        if not text.strip():
            return (text, sample_rate), np.zeros(0, dtype=np.int16)
        with self._lock:
            return (text, sample_rate), self._cache.get((text, sample_rate))

    def _submit(self, key: tuple[str, int]) -> Future[np.ndarray]:
        with self._lock:
            if self._closed:
                raise TtsError(f"the {self.name} synthesizer is closed")
            return self._pool.submit(self._speak, *key)

    def _speak(self, text: str, sample_rate: int) -> np.ndarray:
        """One utterance at the voice's own rate, resampled to ``sample_rate``."""
        audio, rate = self._render(text)
        if audio.size == 0:
            return np.zeros(0, dtype=np.int16)
        if sample_rate != rate:
            audio = soxr.resample(audio, rate, sample_rate)
        return np.ascontiguousarray(np.clip(audio * 32767.0, -32768, 32767), dtype=np.int16)

    def _finish(self, key: tuple[str, int], pcm: np.ndarray) -> np.ndarray:
        with self._lock:
            self._jobs += 1
            self._cache.put(key, pcm)
        return pcm.copy()

    def _too_slow(self) -> TtsError:
        return TtsError(f"{self.name} gave no audio within {self._timeout_s} s")

    def _closed_during_request(self) -> TtsError:
        return TtsError(f"the {self.name} synthesizer was closed during the request")
