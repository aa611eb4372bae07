"""Supervisors in live calls: they listen in (monitor), talk to the operator alone
(whisper), talk to both (barge), or take the call over from the operator.

A :class:`Supervisor` is in at most one call at a time. Listening taps what the operator
hears and what the operator says and mixes the two for the supervisor (:class:`Mixer`);
captions of both sides are copied to them. What the supervisor says goes where their mode
sends it. Every step is kept in the call's record and the audit log.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable

import numpy as np

from hotline.call.link import Link
from hotline.call.pipeline import Call
from hotline.call.playout import take_samples
from hotline.call.routing import Switchboard
from hotline.wire.messages import Ended, Notice, Supervising
from hotline.wire.vocabulary import SupervisorMode
from telephony import StreamResampler

__all__ = ["Mixer", "Supervisor"]

log = logging.getLogger(__name__)

BATCH_S = 0.1
MAX_BUFFERED_S = 0.5
LISTENING = frozenset({SupervisorMode.MONITOR, SupervisorMode.WHISPER, SupervisorMode.BARGE})


class Mixer:
    """Several sources heard at once by one listener, sent at real-time pace in 100 ms
    batches. Each source is resampled to the listener's rate and buffers at most 0.5 s:
    a source that runs ahead loses its oldest audio rather than growing."""

    def __init__(self, sample_rate: int, link: Link) -> None:
        self.sample_rate = sample_rate
        self._link = link
        self._buffers: dict[str, collections.deque[np.ndarray]] = {}
        self._wake = asyncio.Event()

    def source(self, name: str, rate: int) -> Callable[[np.ndarray], None]:
        """A function that hands this mixer audio from ``name`` at ``rate``."""
        resampler = StreamResampler(rate, self.sample_rate)
        buffer: collections.deque[np.ndarray] = collections.deque()
        self._buffers[name] = buffer
        limit = int(MAX_BUFFERED_S * self.sample_rate)

        def push(pcm: np.ndarray) -> None:
            out = resampler.process(pcm)
            if not out.size:
                return
            buffer.append(out)
            while sum(len(b) for b in buffer) > limit and len(buffer) > 1:
                buffer.popleft()
            self._wake.set()

        return push

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        batch = int(BATCH_S * self.sample_rate)
        next_tick = loop.time()
        while True:
            if not any(self._buffers.values()):
                self._wake.clear()
                await self._wake.wait()
                next_tick = max(next_tick, loop.time())
            mixed = np.zeros(batch, dtype=np.float32)
            longest = 0
            for buffer in self._buffers.values():
                taken = take_samples(buffer, batch)
                if taken is not None:
                    mixed[: len(taken)] += taken
                    longest = max(longest, len(taken))
            if longest:
                out = np.clip(mixed[:longest], -32768, 32767).astype(np.int16)
                await self._link.send_audio(out.tobytes())
            now = loop.time()
            next_tick += BATCH_S
            if next_tick < now - 0.5:
                next_tick = now
            await asyncio.sleep(max(0.0, next_tick - now))


class Supervisor:
    """One signed-in supervisor: how to reach them and the call they are in, if any."""

    def __init__(self, name: str, link: Link, sample_rate: int, switchboard: Switchboard) -> None:
        self.name = name
        self.switchboard = switchboard
        self.link = link
        self.sample_rate = sample_rate
        self.call: Call | None = None
        self.mode: SupervisorMode | None = None
        self._mixer_task: asyncio.Task | None = None
        self._untap: list[Callable[[], None]] = []
        self._to_operator: StreamResampler | None = None
        self._to_caller: StreamResampler | None = None

    async def supervise(self, call: Call, mode: SupervisorMode) -> None:
        """Step into ``call`` in ``mode`` (or change mode); ``leave`` steps out."""
        if mode == SupervisorMode.LEAVE:
            await self.leave()
            return
        if self.mode == SupervisorMode.TAKEOVER:
            raise ValueError("this call is yours now: hang up to end it")
        if self.call is not None and self.call is not call:
            await self.leave()
        first = self.call is None
        self.call = call
        if mode in LISTENING and self._mixer_task is None:
            self._listen(call)
        operator, caller = call.operator, call.caller
        if mode == SupervisorMode.TAKEOVER:
            self._stop_listening()
            replaced = call.take_over(self.link, self.sample_rate)
            self.switchboard.hand_over(call)
            await replaced.send(Notice(f"supervisor {self.name} took over the call"))
            await replaced.send(Ended(call.call_id, call.reference))
        self._to_operator = StreamResampler(self.sample_rate, operator.sample_rate)
        self._to_caller = StreamResampler(self.sample_rate, caller.sample_rate)
        previous, self.mode = self.mode, mode
        await self.link.send(Supervising(call.call_id, mode))
        if first:
            await call.log.accessed(self.name, "call.monitor")
        if mode != previous and mode != SupervisorMode.MONITOR:
            await self._announce(call, mode)

    async def _announce(self, call: Call, mode: SupervisorMode) -> None:
        what = {
            SupervisorMode.WHISPER: f"supervisor {self.name} can talk to you; the caller does not hear",
            SupervisorMode.BARGE: f"supervisor {self.name} joined the conversation",
            SupervisorMode.TAKEOVER: f"supervisor {self.name} took over the call; it is yours",
        }[mode]
        await call.log.event(what, call.now())
        await call.operator.link.send(Notice(what))
        if mode == SupervisorMode.BARGE:
            await call.caller.link.send(Notice("a supervisor joined the call"))
        log.info("call=%s %s", call.call_id, what)

    async def speaks(self, pcm: np.ndarray) -> None:
        """The supervisor's voice, where their mode sends it (nowhere while monitoring)."""
        call = self.call
        if call is None or self.mode in (None, SupervisorMode.MONITOR):
            return
        if self.mode == SupervisorMode.TAKEOVER:
            # Heard by the call as the operator's voice (recognized, translated, recorded).
            assert self._to_operator is not None
            out = self._to_operator.process(pcm)
            if out.size:
                await call.operator.speaks(out)
            return
        assert self._to_operator is not None and self._to_caller is not None
        call.operator.playout.voice(self._to_operator.process(pcm))
        if self.mode == SupervisorMode.BARGE:
            call.caller.playout.voice(self._to_caller.process(pcm))

    async def whisper(self, text: str) -> None:
        """Typed words for the operator alone."""
        call = self.call
        if call is None:
            raise ValueError("step into a call first")
        await call.operator.link.send(Notice(f"{self.name} (supervisor): {text}"))
        await call.log.event(
            f"supervisor {self.name} whispered to the operator: {text}", call.now()
        )

    async def leave(self) -> None:
        call = self.call
        self._stop_listening()
        self.call, self.mode = None, None
        if call is not None:
            await self.link.send(Supervising(call.call_id, SupervisorMode.LEAVE))

    def call_ended(self) -> None:
        """The call ended under the supervisor: stop listening (no message: ``ended`` says it)."""
        self._stop_listening()
        self.call, self.mode = None, None

    def _listen(self, call: Call) -> None:
        mixer = Mixer(self.sample_rate, self.link)
        heard = mixer.source("operator hears", call.operator.playout.sample_rate)
        said = mixer.source("operator says", call.operator.sample_rate)
        call.operator.playout.taps.append(heard)
        call.operator.taps.append(said)
        call.watchers.add(self.link)
        self._untap = [
            lambda: _discard(call.operator.playout.taps, heard),
            lambda: _discard(call.operator.taps, said),
            lambda: call.watchers.discard(self.link),
        ]
        self._mixer_task = asyncio.get_running_loop().create_task(mixer.run())

    def _stop_listening(self) -> None:
        for untap in self._untap:
            untap()
        self._untap = []
        if self._mixer_task is not None:
            self._mixer_task.cancel()
            self._mixer_task = None


def _discard(items: list, item: object) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
