"""Paced audio towards one party: prompts and translated speech, with the other party's
original voice mixed quietly underneath, recorded exactly as that party heard it."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hotline.call.link import Link
from hotline.call.recording import LegRecording
from hotline.wire.messages import Say

__all__ = ["Played", "Playout", "take_samples"]

log = logging.getLogger(__name__)

BATCH_S = 0.1
MAX_QUEUED_S = 120.0
MAX_UNDER_S = 0.5


@dataclass(frozen=True, slots=True)
class Played:
    """Where one utterance's synthesized speech played, on the call's clock."""

    utterance_id: int
    start_s: float
    end_s: float
    cut: bool
    """A barge-in (or the call's end) stopped it before its end."""


class Playout:
    """Sends 100 ms batches at real-time pace; wakes at once when new speech is queued, so
    the first byte of a translation leaves as soon as it exists."""

    def __init__(
        self,
        sample_rate: int,
        link: Link,
        recorder: LegRecording | None = None,
        under_gain_db: float = -18.0,
    ) -> None:
        self.sample_rate = sample_rate
        self._link = link
        self._recorder = recorder
        self.under_gain_db = under_gain_db
        self._segments: collections.deque[tuple[np.ndarray, Say | None, str]] = collections.deque()
        self._current: np.ndarray | None = None
        self._current_name = ""
        self._played = 0
        self._offset = 0
        self._queued_samples = 0
        self._under: collections.deque[np.ndarray] = collections.deque()
        self._under_samples = 0
        self._voice: collections.deque[np.ndarray] = collections.deque()
        self._voice_samples = 0
        self.taps: list[Callable[[np.ndarray], None]] = []
        """Who else hears what this party hears (a supervisor listening in)."""
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.under_enabled = True
        self.audio_bytes_sent = 0
        self.on_played: Callable[[Played], None] | None = None
        """Told where each utterance's speech played (the call keeps it in the record)."""
        self._span: tuple[int, float] | None = None
        self._last_span: tuple[int, float] | None = None
        if recorder is not None:
            self._clock = recorder.clock
        else:
            origin = time.monotonic()
            self._clock = lambda: time.monotonic() - origin

    @property
    def under_gain_db(self) -> float:
        return self._under_gain_db

    @under_gain_db.setter
    def under_gain_db(self, value: float) -> None:
        self._under_gain_db = value
        self._under_gain = 10 ** (value / 20)

    @property
    def playing(self) -> bool:
        return self._current is not None or bool(self._segments)

    def play(self, pcm: np.ndarray, announce: Say | None = None) -> str:
        """Queue speech; ``announce`` is sent when it starts playing, and the link is told the
        segment's name once its last sample has been sent. Returns that name."""
        if self._queued_samples + len(pcm) > MAX_QUEUED_S * self.sample_rate:
            log.warning(
                "playout queue full; dropping %.1f s of speech", len(pcm) / self.sample_rate
            )
            return ""
        self._played += 1
        if announce is None:
            label = "speech"
        elif announce.prompt is not None:
            label = announce.prompt
        else:
            label = f"utterance-{announce.utterance_id}"
        name = f"{self._played}-{label}"
        self._segments.append((pcm, announce, name))
        self._queued_samples += len(pcm)
        self._idle.clear()
        self._wake.set()
        return name

    def stop(self) -> None:
        """The call is over: an utterance still playing was cut short here."""
        self._close_span(self._clock(), cut=self.playing)

    def clear(self) -> bool:
        """Barge-in: drop everything queued. Returns whether anything was playing."""
        was_playing = self.playing
        if was_playing:
            self._close_span(self._clock(), cut=True)
        self._last_span = None
        self._segments.clear()
        self._current = None
        self._offset = 0
        self._queued_samples = 0
        self._idle.set()
        return was_playing

    def under(self, pcm: np.ndarray) -> None:
        """The other party's original voice, heard quietly under the translation."""
        if not self.under_enabled:
            return
        self._under.append(pcm)
        self._under_samples += len(pcm)
        while self._under_samples > MAX_UNDER_S * self.sample_rate and self._under:
            self._under_samples -= len(self._under.popleft())
        self._wake.set()

    def voice(self, pcm: np.ndarray) -> None:
        """A third voice at full level (a supervisor whispering or barging in)."""
        self._voice.append(pcm)
        self._voice_samples += len(pcm)
        while self._voice_samples > MAX_UNDER_S * self.sample_rate and self._voice:
            self._voice_samples -= len(self._voice.popleft())
        self._wake.set()

    def relink(self, link: Link) -> None:
        """From now on the audio goes to ``link`` (a supervisor taking the call over)."""
        self._link = link

    async def drained(self) -> None:
        await self._idle.wait()

    def _take_speech(
        self, n: int
    ) -> tuple[np.ndarray | None, list[tuple[int, Say | None]], list[tuple[int, str]]]:
        """Up to ``n`` samples of queued speech, where in them each segment that starts there
        starts (offset, its announcement), and where each that ends there ends (offset, name)."""
        parts: list[np.ndarray] = []
        starts: list[tuple[int, Say | None]] = []
        ended: list[tuple[int, str]] = []
        need = n
        while need > 0:
            if self._current is None:
                if not self._segments:
                    break
                self._current, announce, self._current_name = self._segments.popleft()
                self._offset = 0
                starts.append((n - need, announce))
            chunk = self._current[self._offset : self._offset + need]
            parts.append(chunk)
            self._offset += len(chunk)
            self._queued_samples -= len(chunk)
            need -= len(chunk)
            if self._offset >= len(self._current):
                self._current = None
                ended.append((n - need, self._current_name))
        if not self.playing:
            self._idle.set()
        return (np.concatenate(parts) if parts else None), starts, ended

    def _take_under(self, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Up to ``n`` samples of the other party's voice and of a third voice."""
        under = take_samples(self._under, n)
        self._under_samples = sum(len(x) for x in self._under)
        voice = take_samples(self._voice, n)
        self._voice_samples = sum(len(x) for x in self._voice)
        return under, voice

    def _record(self, pcm: np.ndarray) -> float:
        """What is sent, at the moment it is sent (silence in between is on the clock);
        returns where on the call's clock the batch begins."""
        if self._recorder is None:
            return self._clock()
        self._recorder.write(pcm, at=self._recorder.clock(), slack_s=0.0)
        return self._recorder.seconds - len(pcm) / self.sample_rate

    # --- where each utterance was heard -------------------------------------------------

    def _segment_starts(self, at: float, announce: Say | None) -> None:
        if announce is None:
            # More of the same utterance (the next sentence); it may come after a pause.
            if self._span is None and self._last_span is not None:
                self._span = self._last_span
            return
        self._close_span(at, cut=False)
        if announce.utterance_id is not None:
            self._span = (announce.utterance_id, at)

    def _close_span(self, at: float, cut: bool) -> None:
        if self._span is None:
            return
        utterance_id, start = self._span
        self._span, self._last_span = None, self._span
        if self.on_played is not None:
            self.on_played(Played(utterance_id, start, max(start, at), cut))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        batch = int(BATCH_S * self.sample_rate)
        next_tick = loop.time()
        while True:
            if not self.playing and not self._under and not self._voice:
                self._wake.clear()
                await self._wake.wait()
                next_tick = max(next_tick, loop.time())
            speech, starts, ended = self._take_speech(batch)
            under, voice = self._take_under(batch)
            if speech is None and under is None and voice is None:
                continue
            out = self._mix(speech, under, voice)
            at = self._record(out)
            for offset, announce in starts:
                self._segment_starts(at + offset / self.sample_rate, announce)
            if ended and not self.playing:
                self._close_span(at + ended[-1][0] / self.sample_rate, cut=False)
            for _, announce in starts:
                if announce is not None:
                    await self._link.send(announce)
            sent = 0
            for end, name in ended:
                if end > sent:
                    await self._link.send_audio(out[sent:end].tobytes())
                    sent = end
                await self._link.segment_sent(name)
            if sent < len(out):
                await self._link.send_audio(out[sent:].tobytes())
            self.audio_bytes_sent += out.nbytes
            now = loop.time()
            for tap in self.taps:
                tap(out)
            next_tick += len(out) / self.sample_rate
            if next_tick < now - 0.5:
                next_tick = now
            await asyncio.sleep(max(0.0, next_tick - now - 0.02))

    def _mix(
        self, speech: np.ndarray | None, under: np.ndarray | None, voice: np.ndarray | None
    ) -> np.ndarray:
        if under is None and voice is None:
            return speech  # type: ignore[return-value]
        parts = [
            (p, g)
            for p, g in ((speech, 1.0), (under, self._under_gain), (voice, 1.0))
            if p is not None
        ]
        mixed = np.zeros(max(len(p) for p, _ in parts), dtype=np.float32)
        for pcm, gain in parts:
            mixed[: len(pcm)] += pcm.astype(np.float32) * gain
        return np.clip(mixed, -32768, 32767).astype(np.int16)


def take_samples(queue: collections.deque[np.ndarray], n: int) -> np.ndarray | None:
    """Up to ``n`` samples from the front of ``queue``; the rest stays queued."""
    if not queue:
        return None
    data = np.concatenate(queue)
    queue.clear()
    if len(data) > n:
        queue.append(data[n:])
        data = data[:n]
    return data
