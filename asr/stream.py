"""Turn a stream of audio chunks into Partial and Final events, endpointed by engine or our VAD."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from asr.base import AsrError, AsrEvent, Final, Partial, Recognizer
from asr.endpoint import Endpointer, SpeechEnd

T = TypeVar("T")

_default_executor: ThreadPoolExecutor | None = None
_default_executor_lock = threading.Lock()


def default_executor() -> ThreadPoolExecutor:
    """One decoding pool per process, a thread per core: each decode keeps one core busy."""
    global _default_executor
    with _default_executor_lock:
        if _default_executor is None:
            _default_executor = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 2, thread_name_prefix="asr-decode"
            )
        return _default_executor


class UtteranceStream:
    """One audio stream through one recognizer; all times are seconds of audio fed so far.

    Partials are asked for at most once per `partial_interval_s` of audio (each costs decode
    time) and emitted only when the text changed. A Final comes when the engine endpoints or
    when the endpointer reports the end of speech, whichever is first; empty finals are dropped.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        endpointer: Endpointer | None = None,
        partial_interval_s: float = 0.25,
    ) -> None:
        if endpointer is not None and endpointer.sample_rate != recognizer.sample_rate:
            raise ValueError(
                f"endpointer runs at {endpointer.sample_rate} Hz "
                f"but the recognizer at {recognizer.sample_rate} Hz"
            )
        self.recognizer = recognizer
        self.endpointer = endpointer
        self.sample_rate = recognizer.sample_rate
        self._partial_every = max(1, round(partial_interval_s * self.sample_rate))
        self._fed = 0
        self._last_partial_at = 0
        self._last_partial = ""
        self._closed = False
        recognizer.reset()

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio fed so far: the stream clock."""
        return self._fed / self.sample_rate

    def feed(self, pcm: bytes) -> list[AsrEvent]:
        if self._closed:
            raise AsrError("this utterance stream is closed")
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        events: list[AsrEvent] = []
        cursor = 0
        chunk_start = self._fed
        for event in self.endpointer.push(pcm) if self.endpointer is not None else []:
            if isinstance(event, SpeechEnd):
                split = round(event.at * self.sample_rate) - chunk_start
                split = min(max(split * 2, cursor), len(pcm))
                events += self._decode(pcm[cursor:split])
                cursor = split
                events += self._final(self.recognizer.finish())
        events += self._decode(pcm[cursor:])
        return events

    def close(self) -> list[AsrEvent]:
        """Finish the utterance in progress, if any; the stream takes no more audio."""
        if self._closed:
            return []
        self._closed = True
        return self._final(self.recognizer.finish())

    def _decode(self, pcm: bytes) -> list[AsrEvent]:
        if not pcm:
            return []
        endpoint = self.recognizer.accept(pcm)
        self._fed += len(pcm) // 2
        if endpoint:
            return self._final(self.recognizer.result())
        if self._fed - self._last_partial_at < self._partial_every:
            return []
        self._last_partial_at = self._fed
        text = self.recognizer.partial()
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [Partial(text)]

    def _final(self, final: Final) -> list[AsrEvent]:
        self._last_partial = ""
        return [final] if final.text.strip() else []


class AsyncUtteranceStream:
    """An UtteranceStream whose decoding runs in an executor, never on the event loop.

    Calls on one stream run one at a time and in the order they were made.
    """

    def __init__(self, stream: UtteranceStream, executor: Executor | None = None) -> None:
        self.stream = stream
        self._executor = executor if executor is not None else default_executor()
        self._order = asyncio.Lock()
        self._exclusive = threading.Lock()

    async def feed(self, pcm: bytes) -> list[AsrEvent]:
        return await self._run(self.stream.feed, pcm)

    async def close(self) -> list[AsrEvent]:
        return await self._run(self.stream.close)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        def job() -> T:
            with self._exclusive:
                return work(*args)

        async with self._order:
            return await asyncio.get_running_loop().run_in_executor(self._executor, job)
