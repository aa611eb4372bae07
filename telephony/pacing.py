"""Audio out to a phone line in fixed frames at real-time pace.

AudioSocket and RTP peers play what arrives as it arrives (Asterisk's AudioSocket has no
jitter buffer on its side), so a bridge must hand them one 20 ms frame every 20 ms, not a
burst of five every 100 ms. :class:`FramePacer` keeps that clock; the bridge gives it audio
as it comes and a coroutine that sends one frame.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

import numpy as np

from telephony.frames import Framer

__all__ = ["FramePacer"]

log = logging.getLogger(__name__)

MAX_LATE_S = 0.2
"""Beyond this behind schedule (a stalled loop), the clock restarts instead of bursting."""


class FramePacer:
    """Sends ``frame_ms`` frames through ``send`` on a steady clock.

    ``fill_silence`` sends silent frames while there is nothing to say (RTP streams stay
    continuous that way); otherwise the pacer sleeps until audio comes. At most
    ``max_buffer_s`` waits; more is dropped and counted, so a stalled line never grows
    memory."""

    def __init__(
        self,
        sample_rate: int,
        send: Callable[[np.ndarray], Awaitable[None]],
        *,
        frame_ms: int = 20,
        fill_silence: bool = False,
        max_buffer_s: float = 2.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.frame_s = frame_ms / 1000
        self.fill_silence = fill_silence
        self._send = send
        self._framer = Framer(sample_rate, frame_ms)
        self._frames: collections.deque[np.ndarray] = collections.deque()
        self._max_frames = max(1, int(max_buffer_s / self.frame_s))
        self._silence = np.zeros(self._framer.frame_samples, dtype=np.int16)
        self._wake = asyncio.Event()
        self.frames_sent = 0
        self.frames_dropped = 0

    def push(self, pcm: np.ndarray) -> None:
        self._frames.extend(self._framer.push(pcm))
        overflow = len(self._frames) - self._max_frames
        if overflow > 0:
            for _ in range(overflow):
                self._frames.popleft()
            self.frames_dropped += overflow
            log.warning("paced line is %d frames behind; dropped the oldest", overflow)
        self._wake.set()

    def flush(self) -> None:
        """The end of a segment: the partial frame left goes out padded with silence."""
        rest = self._framer.flush()
        if rest is not None:
            self._frames.append(rest)
            self._wake.set()

    def clear(self) -> None:
        """Barge-in: nothing queued is sent."""
        self._frames.clear()
        self._framer.flush(pad=False)

    @property
    def queued_s(self) -> float:
        return len(self._frames) * self.frame_s

    def next_frame(self) -> np.ndarray | None:
        """The frame due now, for a caller that keeps its own 20 ms clock: the next queued
        one, else silence with ``fill_silence`` (else None)."""
        if self._frames:
            return self._frames.popleft()
        return self._silence if self.fill_silence else None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            if not self._frames and not self.fill_silence:
                self._wake.clear()
                await self._wake.wait()
                due = max(due, loop.time())
            frame = self._frames.popleft() if self._frames else self._silence
            await self._send(frame)
            self.frames_sent += 1
            due += self.frame_s
            now = loop.time()
            if due < now - MAX_LATE_S:
                due = now
            await asyncio.sleep(max(0.0, due - now))
