"""Turn a stream of audio chunks into Partial and Final events, endpointed by engine or our VAD."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from asr.base import AsrError, AsrEvent, Final, Partial, Recognizer, Word
from asr.endpoint import SpeechEnd, SpeechPause, SpeechStart
from asr.vad import SpeechEndpointer

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


LOOKBACK_S = 2.0


class UtteranceStream:
    """One audio stream through one recognizer; all times are seconds of audio fed so far.

    Partials are asked for at most once per `partial_interval_s` of audio (each costs decode
    time) and emitted only when the text changed. A Final comes when the engine endpoints or
    when the endpointer reports the end of speech, whichever is first; empty finals are dropped.

    When the endpointer also reports pauses, the recognizer finishes at the pause and the
    result is held: a recognizer's finish (PocketSphinx's second pass) then runs while the
    trailing silence is still being waited for, instead of after it. If speech resumes, the
    held text is joined to what follows, in partials and in the final.

    With `gate_preroll_s` (and an endpointer), the recognizer hears only speech: between a
    SpeechEnd and the next SpeechStart audio is not decoded, and at each SpeechStart the last
    `gate_preroll_s` of skipped audio is decoded first. Silence costs no decoding; Final times
    stay on the stream clock.

    With `accept_s`, the recognizer is always handed pieces of exactly that length (the last
    piece before a finish excepted), however the audio was batched on its way here: an
    engine that endpoints between pieces (Vosk) then gives the same words for the same
    audio, live or replayed.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        endpointer: SpeechEndpointer | None = None,
        partial_interval_s: float = 0.25,
        gate_preroll_s: float | None = None,
        accept_s: float | None = None,
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
        self._decoded = 0
        self._last_partial_at = 0
        self._last_partial = ""
        self._held: Final | None = None
        self._closed = False
        gated = endpointer is not None and gate_preroll_s is not None
        self._preroll_bytes = round((gate_preroll_s or 0) * self.sample_rate) * 2
        # The endpointer is sure of a start a frame or so after it, and a chunk may run past
        # that; this much more is kept so the pre-roll still reaches back from that moment.
        self._lookback_bytes = round(LOOKBACK_S * self.sample_rate) * 2 if gated else 0
        self._preroll = bytearray()
        self._listening = not gated
        self._offset_s = 0.0
        self._piece_bytes = round(accept_s * self.sample_rate) * 2 if accept_s else 0
        self._pending = bytearray()
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
            # Cut where the endpointer decided, not where it says speech began or ended:
            # that moment is the same however the audio was batched, so the recognizer is
            # handed the same audio either way.
            decided = event.decided if event.decided is not None else event.at
            split = round(decided * self.sample_rate) - chunk_start
            split = min(max(split * 2, cursor), len(pcm))
            if isinstance(event, SpeechStart):
                if not self._listening:
                    self._preroll += pcm[cursor:split]
                    cursor = split
                    # The pre-roll reaches back from where speech began (on the endpointer's
                    # frame grid, so batching does not move it either): the endpointer may be
                    # sure only well after a soft onset, and cutting from there clips words.
                    begin = round(event.at * self.sample_rate) - self._preroll_bytes // 2
                    if self._piece_bytes:
                        # On the grid of the pieces the recognizer is handed (20 ms on a
                        # call: the transports' frames), whatever the endpointer's frames
                        # (silero's are 32 ms): a recognizer's own frames then fall on the
                        # same audio in a call and in its replay.
                        begin -= begin % (self._piece_bytes // 2)
                    events += self._listen(chunk_start + split // 2, begin)
                continue
            events += self._pass(pcm[cursor:split])
            cursor = split
            if isinstance(event, SpeechPause):
                events += self._flush()
                self._hold(self.recognizer.finish())
            elif isinstance(event, SpeechEnd):
                events += self._flush()
                events += self._final(self.recognizer.finish())
                if self._preroll_bytes:
                    self._listening = False
        events += self._pass(pcm[cursor:])
        self._fed += len(pcm) // 2
        return events

    def _pass(self, pcm: bytes) -> list[AsrEvent]:
        """Decode while listening; otherwise keep the tail as pre-roll for the next speech."""
        if self._listening:
            return self._decode(pcm)
        self._preroll += pcm
        keep = self._preroll_bytes + self._lookback_bytes
        del self._preroll[: max(0, len(self._preroll) - keep)]
        return []

    def _listen(self, now: int, begin: int) -> list[AsrEvent]:
        """Speech started: decode from stream sample `begin` (the pre-roll before the speech's
        start) up to `now`, then go on. The decoding starts at the same
        sample however the audio was chunked."""
        wanted = max(0, min(len(self._preroll) // 2, now - max(0, begin)))
        preroll = bytes(self._preroll[len(self._preroll) - wanted * 2 :])
        self._preroll = bytearray()
        self._listening = True
        self._offset_s = (now - len(preroll) // 2 - self._decoded) / self.sample_rate
        return self._decode(preroll)

    def close(self) -> list[AsrEvent]:
        """Finish the utterance in progress, if any; the stream takes no more audio."""
        if self._closed:
            return []
        self._closed = True
        events = self._flush()
        return events + self._final(self.recognizer.finish())

    def _decode(self, pcm: bytes) -> list[AsrEvent]:
        if not self._piece_bytes:
            return self._accept(pcm)
        self._pending += pcm
        events: list[AsrEvent] = []
        size = self._piece_bytes
        whole = len(self._pending) - len(self._pending) % size
        for start in range(0, whole, size):
            events += self._accept(bytes(self._pending[start : start + size]))
        del self._pending[:whole]
        return events

    def _flush(self) -> list[AsrEvent]:
        """What waits for a whole piece goes to the recognizer before it finishes."""
        pending, self._pending = bytes(self._pending), bytearray()
        return self._accept(pending)

    def _accept(self, pcm: bytes) -> list[AsrEvent]:
        if not pcm:
            return []
        endpoint = self.recognizer.accept(pcm)
        self._decoded += len(pcm) // 2
        if endpoint:
            return self._final(self.recognizer.result())
        if self._decoded - self._last_partial_at < self._partial_every:
            return []
        self._last_partial_at = self._decoded
        text = self.recognizer.partial()
        if text and self._held is not None:
            text = f"{self._held.text} {text}"
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [Partial(text)]

    def _hold(self, final: Final) -> None:
        self._held = _joined(self._held, _shifted(final, self._offset_s))

    def _final(self, final: Final) -> list[AsrEvent]:
        self._last_partial = ""
        whole, self._held = _joined(self._held, _shifted(final, self._offset_s)), None
        return [whole] if whole.text.strip() else []


def _shifted(final: Final, seconds: float) -> Final:
    """A final from the recognizer's clock onto the stream's (they differ by skipped audio)."""
    if not seconds:
        return final
    words = [Word(w.word, w.start + seconds, w.end + seconds, w.conf) for w in final.words]
    return Final(final.text, words, final.confidence, final.start + seconds, final.end + seconds)


def _joined(first: Final | None, then: Final) -> Final:
    """One utterance from a held final and the one after it; empty parts drop out."""
    if first is None or not first.text.strip():
        return then
    if not then.text.strip():
        return first
    words = first.words + then.words
    confidence = (
        sum(w.conf for w in words) / len(words) if words else min(first.confidence, then.confidence)
    )
    return Final(f"{first.text} {then.text}", words, confidence, first.start, then.end)


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
