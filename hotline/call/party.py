"""One side of a call as the call sees it, whatever transport reaches them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hotline.call.link import Link
from hotline.call.playout import Playout
from hotline.call.recording import LegRecording
from hotline.wire.vocabulary import Speaker

__all__ = ["Party"]


@dataclass(eq=False)
class Party:
    """A caller or an operator in one call: how to reach them, the language they speak, the
    playout they hear, and the recording of what they say.

    A transport hands its party's audio to :meth:`speaks`; the call that is listening (if
    any) attaches its queue as ``listener``.
    """

    role: Speaker
    link: Link
    language: str | None
    sample_rate: int
    playout: Playout
    recorder: LegRecording
    captions_only: bool = False
    muted: bool = False
    listener: asyncio.Queue[np.ndarray | None] | None = None
    taps: list[Callable[[np.ndarray], None]] = field(default_factory=list)
    """Who else hears this party's own voice (a supervisor listening in)."""

    @property
    def hears_original(self) -> bool:
        """Whether the other party's own voice plays quietly under the translation."""
        return self.playout.under_enabled

    @hears_original.setter
    def hears_original(self, value: bool) -> None:
        self.playout.under_enabled = value

    async def speaks(self, pcm: np.ndarray) -> None:
        """Audio from this party: recorded, then queued for the call that listens. Waits when
        recognition falls behind (the queue is bounded), so back-pressure reaches the
        transport instead of memory growing. A muted party is neither recorded nor heard:
        their recording holds silence for that time, so it stays on the call's clock."""
        if self.muted:
            return
        gap = self.recorder.write(pcm)
        for tap in self.taps:
            tap(pcm)
        if self.listener is not None:
            # The recognizer hears the gap as the recording has it, so the times it gives
            # stay on the call's clock.
            for start in range(0, gap, self.sample_rate):
                await self.listener.put(np.zeros(min(self.sample_rate, gap - start), np.int16))
            await self.listener.put(pcm)
