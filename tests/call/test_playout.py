"""Paced audio towards one party: what they hear, when each segment is announced, barge-in,
and the other party's voice underneath, recorded exactly as heard."""

from __future__ import annotations

import asyncio

import numpy as np

from hotline.call import Playout
from hotline.call.playout import MAX_QUEUED_S
from hotline.call.recording import LegRecording
from hotline.wire.messages import Say
from telephony import WavWriter, read_wav
from tests.fakes import FakeLink, tone

RATE = 8000


async def play(playout: Playout):
    task = asyncio.create_task(playout.run())
    await asyncio.sleep(0)
    return task


async def test_speech_is_sent_whole_in_order_and_announced_when_it_starts():
    link = FakeLink()
    playout = Playout(RATE, link)
    task = await play(playout)
    first, second = tone(0.15, RATE), tone(0.1, RATE, level=1000)
    playout.play(first, Say("one", prompt="greeting"))
    playout.play(second, Say("two", utterance_id=7))
    await playout.drained()
    task.cancel()
    sent = np.frombuffer(bytes(link.audio), dtype="<i2")
    assert np.array_equal(sent, np.concatenate([first, second]))
    assert link.messages == [Say("one", prompt="greeting"), Say("two", utterance_id=7)]
    assert link.segments == ["1-greeting", "2-utterance-7"], "each segment's end is told"


async def test_clear_drops_what_is_queued_and_says_whether_anything_was_playing():
    link = FakeLink()
    playout = Playout(RATE, link)
    assert playout.clear() is False
    playout.play(tone(30, RATE))
    assert playout.playing and playout.clear() is True
    assert not playout.playing
    await asyncio.wait_for(playout.drained(), 1)


async def test_the_other_partys_voice_plays_quietly_underneath_and_can_be_turned_off():
    link = FakeLink()
    playout = Playout(RATE, link, under_gain_db=-20.0)
    task = await play(playout)
    playout.under(np.full(800, 10000, dtype=np.int16))
    await asyncio.sleep(0.05)
    playout.under_enabled = False
    playout.under(np.full(800, 10000, dtype=np.int16))
    await asyncio.sleep(0.05)
    task.cancel()
    heard = np.frombuffer(bytes(link.audio), dtype="<i2")
    assert heard.size == 800, "nothing is sent once the original voice is turned off"
    assert abs(int(heard.max()) - 1000) <= 1, "-20 dB is a tenth of the level"


async def test_the_heard_recording_holds_silence_between_segments(tmp_path):
    link = FakeLink()
    started = asyncio.get_running_loop().time()
    recorder = LegRecording(
        WavWriter(tmp_path / "heard.wav", RATE), lambda: asyncio.get_running_loop().time() - started
    )
    playout = Playout(RATE, link, recorder)
    task = await play(playout)
    playout.play(tone(0.1, RATE))
    await playout.drained()
    await asyncio.sleep(0.3)
    playout.play(tone(0.1, RATE))
    await playout.drained()
    task.cancel()
    recorder.close()
    pcm, rate = read_wav(tmp_path / "heard.wav")
    assert rate == RATE
    assert pcm.size > int(0.4 * RATE), "the gap is in the recording as silence"
    assert np.count_nonzero(pcm) <= int(0.2 * RATE)


async def test_speech_beyond_the_queue_limit_is_dropped_not_buffered():
    playout = Playout(RATE, FakeLink())
    playout.play(np.zeros(int(MAX_QUEUED_S * RATE), dtype=np.int16))
    playout.play(tone(1.0, RATE))
    assert playout._queued_samples == int(MAX_QUEUED_S * RATE)
