"""A phone line's outgoing clock: fixed frames, in order, bounded, cleared on barge-in."""

from __future__ import annotations

import asyncio

import numpy as np

from telephony.pacing import FramePacer


def ramp(samples: int) -> np.ndarray:
    return (np.arange(samples) % 1000).astype(np.int16)


async def test_audio_leaves_in_whole_frames_in_order_on_a_steady_clock():
    sent: list[np.ndarray] = []

    async def send(frame: np.ndarray) -> None:
        sent.append(frame)

    pacer = FramePacer(8000, send)
    running = asyncio.create_task(pacer.run())
    pacer.push(ramp(400))
    pacer.flush()
    await asyncio.sleep(0.1)
    running.cancel()
    assert [len(f) for f in sent] == [160, 160, 160]
    assert np.array_equal(np.concatenate(sent)[:400], ramp(400))
    assert not np.concatenate(sent)[400:].any(), "the last frame is padded with silence"


def test_a_clear_drops_what_waits_and_an_own_clock_gets_silence_when_asked():
    pacer = FramePacer(8000, None, fill_silence=True)  # type: ignore[arg-type]
    pacer.push(ramp(800))
    assert pacer.queued_s == 0.1
    pacer.clear()
    assert pacer.queued_s == 0
    assert not pacer.next_frame().any()
    assert FramePacer(8000, None).next_frame() is None  # type: ignore[arg-type]


def test_more_than_the_buffer_holds_is_dropped_and_counted_not_kept():
    pacer = FramePacer(8000, None, max_buffer_s=0.1)  # type: ignore[arg-type]
    pacer.push(ramp(8000))
    assert pacer.queued_s == 0.1 and pacer.frames_dropped == 45
    assert np.array_equal(pacer.next_frame(), ramp(8000)[-800:-640]), "the newest audio stays"
