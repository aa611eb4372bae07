"""The jitter buffer gives one 20 ms frame per tick whatever the network did: in order,
concealed when lost, with bounded memory, through sequence wrap and sender restarts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from telephony.frames import AudioFormatError, rms_dbfs
from telephony.jitter import JitterBuffer, TimestampFrames

FRAME = 160


def frame(n: int) -> np.ndarray:
    """A recognisable frame: a ramp that starts at ``n`` (so frames differ sample by sample)."""
    return ((np.arange(FRAME) * 7 + n * 13) % 20000 - 10000).astype(np.int16)


def tone(level: int = 8000) -> np.ndarray:
    return (level * np.sin(np.arange(FRAME) * 2 * np.pi / 20)).astype(np.int16)


def drain(buffer: JitterBuffer, limit: int = 200) -> list[np.ndarray]:
    out = []
    for _ in range(limit):
        got = buffer.pop()
        if got is None and not buffer.stats()["depth"]:
            break
        if got is not None:
            out.append(got)
    return out


def accounted(stats: dict[str, int]) -> int:
    """Every frame received is played, dropped for a counted reason, or still held."""
    return (
        stats["played"]
        - stats["concealed"]
        + stats["late"]
        + stats["duplicate"]
        + stats["overflow"]
        + stats["discarded"]
        + stats["depth"]
    )


def test_in_order_frames_pass_through_bit_exact():
    buffer = JitterBuffer()
    sent = [frame(n) for n in range(100)]
    out = []
    for n, pcm in enumerate(sent):
        buffer.push(1000 + n, pcm)
        got = buffer.pop()
        if got is not None:
            out.append(got)
    out += drain(buffer)
    assert np.array_equal(np.concatenate(out), np.concatenate(sent))
    assert buffer.stats() == {
        "received": 100,
        "played": 100,
        "late": 0,
        "duplicate": 0,
        "concealed": 0,
        "overflow": 0,
        "discarded": 0,
        "resyncs": 0,
        "depth": 0,
    }


def test_nothing_comes_out_until_delay_frames_are_held():
    buffer = JitterBuffer(delay_frames=3)
    assert buffer.pop() is None
    buffer.push(7, frame(7))
    buffer.push(8, frame(8))
    assert buffer.pop() is None
    buffer.push(9, frame(9))
    assert np.array_equal(buffer.pop(), frame(7))


def test_a_short_tail_comes_out_after_waiting_delay_frames_pops():
    buffer = JitterBuffer(delay_frames=3)
    buffer.push(1, frame(1))
    assert [buffer.pop() is None for _ in range(2)] == [True, True]
    assert np.array_equal(buffer.pop(), frame(1))
    assert buffer.pop() is None


def test_reordering_within_the_delay_is_undone():
    buffer = JitterBuffer(delay_frames=3)
    order = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9]
    out = []
    for n in order:
        buffer.push(n, frame(n))
        if (got := buffer.pop()) is not None:
            out.append(got)
    out += drain(buffer)
    assert np.array_equal(np.concatenate(out), np.concatenate([frame(n) for n in range(10)]))
    assert buffer.stats()["concealed"] == 0


def test_frames_that_arrive_before_playing_starts_may_come_before_the_first():
    buffer = JitterBuffer(delay_frames=3)
    for n in (5, 4, 3):
        buffer.push(n, frame(n))
    assert [int(f[0]) for f in drain(buffer)] == [int(frame(n)[0]) for n in (3, 4, 5)]


def test_one_lost_frame_is_the_last_frame_at_minus_6_db_then_silence():
    buffer = JitterBuffer(delay_frames=2)
    voice = tone()
    for n in (0, 1, 5):
        buffer.push(n, voice if n == 1 else frame(n))
    out = [buffer.pop() for _ in range(6)]
    assert np.array_equal(out[0], frame(0)) and np.array_equal(out[1], voice)
    assert rms_dbfs(out[2]) - rms_dbfs(voice) == pytest.approx(-6.02, abs=0.05)
    assert not out[3].any() and not out[4].any()
    assert np.array_equal(out[5], frame(5))
    assert buffer.stats()["concealed"] == 3


def test_a_frame_that_arrives_after_its_slot_was_concealed_is_late():
    buffer = JitterBuffer(delay_frames=2)
    for n in (0, 1, 3):
        buffer.push(n, frame(n))
    [buffer.pop() for _ in range(3)]
    buffer.push(2, frame(2))
    assert buffer.stats()["late"] == 1
    assert np.array_equal(buffer.pop(), frame(3))


def test_a_duplicate_is_dropped_and_counted():
    buffer = JitterBuffer(delay_frames=1)
    buffer.push(10, frame(10))
    buffer.push(10, frame(99))
    buffer.push(11, frame(11))
    assert np.array_equal(buffer.pop(), frame(10))
    assert np.array_equal(buffer.pop(), frame(11))
    assert buffer.stats()["duplicate"] == 1


def test_sequence_numbers_wrap_at_65536():
    buffer = JitterBuffer(delay_frames=3)
    sequences = [65533, 65534, 0, 65535, 1, 2, 3]
    for seq in sequences:
        buffer.push(seq, frame(seq))
    out = drain(buffer)
    expected = [frame(seq) for seq in (65533, 65534, 65535, 0, 1, 2, 3)]
    assert np.array_equal(np.concatenate(out), np.concatenate(expected))
    assert buffer.stats()["concealed"] == 0


def test_memory_is_bounded_by_dropping_the_oldest():
    buffer = JitterBuffer(delay_frames=3, max_frames=50)
    for n in range(80):
        buffer.push(n, frame(n))
    stats = buffer.stats()
    assert (stats["depth"], stats["overflow"]) == (50, 30)
    out = drain(buffer)
    assert len(out) == 50
    assert np.array_equal(out[0], frame(30)) and np.array_equal(out[-1], frame(79))


def test_a_gap_wider_than_max_frames_does_not_delay_playing_beyond_it():
    buffer = JitterBuffer(delay_frames=1, max_frames=10)
    buffer.push(0, frame(0))
    assert np.array_equal(buffer.pop(), frame(0))
    buffer.push(60, frame(60))
    out = [buffer.pop() for _ in range(10)]
    assert np.array_equal(out[-1], frame(60))
    assert buffer.stats()["concealed"] == 9


def test_after_running_dry_playing_resumes_at_the_next_frame_held_without_concealing():
    buffer = JitterBuffer(delay_frames=2)
    for n in range(4):
        buffer.push(n, frame(n))
    assert len(drain(buffer)) == 4
    assert buffer.pop() is None
    for n in (9, 10):  # the sender paused; slots 4-8 already went by as silence
        buffer.push(n, frame(n))
    assert np.array_equal(buffer.pop(), frame(9))
    assert buffer.stats()["concealed"] == 0


def test_a_sender_that_restarts_its_numbering_far_away_is_followed():
    buffer = JitterBuffer(delay_frames=2)
    for n in range(1000, 1006):
        buffer.push(n, frame(n))
    assert len([buffer.pop() for _ in range(3)]) == 3
    for n in range(40000, 40006):
        buffer.push(n, frame(n))
    out = drain(buffer)
    assert np.array_equal(
        np.concatenate(out), np.concatenate([frame(n) for n in range(40000, 40006)])
    )
    stats = buffer.stats()
    assert (stats["resyncs"], stats["discarded"], stats["concealed"]) == (1, 3, 0)


def test_a_single_stray_far_frame_does_not_restart_the_stream():
    buffer = JitterBuffer(delay_frames=2)
    for n in range(0, 3):
        buffer.push(n, frame(n))
    buffer.push(30000, frame(30000))
    for n in range(3, 6):
        buffer.push(n, frame(n))
    out = drain(buffer)
    assert np.array_equal(np.concatenate(out), np.concatenate([frame(n) for n in range(6)]))
    assert buffer.stats()["resyncs"] == 0 and buffer.stats()["late"] == 1


def simulate(seed: int, frames: int = 1000, loss: float = 0.05, jitter_ms: float = 40.0):
    """Send a frame every 20 ms; drop some, delay each by 40 ± jitter ms; pop every 20 ms."""
    rng = random.Random(seed)
    arrivals = sorted(
        (n * 20 + 40 + rng.uniform(-jitter_ms, jitter_ms), (50000 + n) % 65536, n)
        for n in range(frames)
        if rng.random() >= loss
    )
    buffer = JitterBuffer()
    out: list[np.ndarray] = []
    depths = []
    pending = 0
    for tick in range(frames + 100):
        while pending < len(arrivals) and arrivals[pending][0] <= tick * 20:
            _, seq, n = arrivals[pending]
            buffer.push(seq, frame(n))
            pending += 1
        depths.append(buffer.stats()["depth"])
        if (got := buffer.pop()) is not None:
            out.append(got)
    return buffer, out, depths, len(arrivals)


@pytest.mark.parametrize("seed", range(6))
def test_loss_and_jitter_give_one_frame_per_frame_sent_with_a_bounded_depth(seed):
    buffer, out, depths, received = simulate(seed)
    stats = buffer.stats()
    assert abs(len(out) - 1000) <= 5
    assert max(depths) <= 8
    assert stats["depth"] == 0 and stats["received"] == received
    assert accounted(stats) == received


def test_loss_and_jitter_never_play_frames_out_of_order():
    buffer, out, _, _ = simulate(seed=11, frames=600)
    index = {frame(n).tobytes(): n for n in range(600)}
    played = [index[f.tobytes()] for f in out if f.tobytes() in index]
    assert played == sorted(played) and len(set(played)) == len(played)
    assert len(played) >= 600 - buffer.stats()["concealed"] - 5


def test_random_pushes_and_pops_keep_every_frame_accounted_for():
    rng = random.Random(77)
    buffer = JitterBuffer(delay_frames=rng.randint(0, 4), max_frames=20)
    base = rng.randrange(65536)
    for _ in range(4000):
        if rng.random() < 0.6:
            jump = rng.choice([0, 1, 1, 1, 2, -1, -3, 5, 30, 150, 20000])
            base = (base + jump) % 65536
            buffer.push(base, frame(base))
        else:
            got = buffer.pop()
            assert got is None or (got.dtype == np.int16 and got.shape == (FRAME,))
        assert buffer.stats()["depth"] <= 20
    stats = buffer.stats()
    assert abs(accounted(stats) - stats["received"]) <= 1  # one frame may wait on probation


def test_reset_forgets_frames_and_counts():
    buffer = JitterBuffer(delay_frames=1)
    buffer.push(1, frame(1))
    buffer.pop()
    buffer.reset()
    assert buffer.pop() is None
    assert set(buffer.stats().values()) == {0}
    buffer.push(40000, frame(4))
    assert np.array_equal(buffer.pop(), frame(4))


def test_push_refuses_what_is_not_one_frame_of_pcm():
    buffer = JitterBuffer()
    with pytest.raises(AudioFormatError):
        buffer.push(1, np.zeros(80, dtype=np.int16))
    with pytest.raises(AudioFormatError):
        buffer.push(1, np.zeros(FRAME, dtype=np.float32))
    with pytest.raises(ValueError):
        buffer.push(65536, frame(0))
    with pytest.raises(ValueError):
        JitterBuffer(delay_frames=60, max_frames=50)


def test_timestamp_frames_leave_no_gap_where_dtmf_took_sequence_numbers():
    """baresip keeps sending audio while a key is held, on the same SSRC and sequence space:
    numbering audio by sequence shows false losses, numbering by timestamp does not."""
    by_sequence, by_timestamp = JitterBuffer(delay_frames=2), JitterBuffer(delay_frames=2)
    numbers = TimestampFrames()
    sequence, timestamp = 65500, 2**32 - 800
    out: dict[str, list[np.ndarray]] = {"sequence": [], "timestamp": []}
    for n in range(60):
        by_sequence.push(sequence, frame(n))
        by_timestamp.push(numbers.number(timestamp), frame(n))
        for name, buffer in (("sequence", by_sequence), ("timestamp", by_timestamp)):
            if (got := buffer.pop()) is not None:
                out[name].append(got)
        sequence = (sequence + (2 if 20 <= n < 30 else 1)) % 65536  # an event packet between
        timestamp = (timestamp + FRAME) % 2**32
    out["timestamp"] += drain(by_timestamp)
    out["sequence"] += drain(by_sequence)
    expected = np.concatenate([frame(n) for n in range(60)])
    assert np.array_equal(np.concatenate(out["timestamp"]), expected)
    assert by_timestamp.stats()["concealed"] == 0
    assert by_sequence.stats()["concealed"] == 10 and len(out["sequence"]) == 70


def test_timestamp_frames_follow_reordering_and_wrap():
    numbers = TimestampFrames(frame_samples=160)
    start = 2**32 - 320
    stamps = [start, (start + 320) % 2**32, (start + 160) % 2**32, (start + 480) % 2**32]
    assert [numbers.number(t) for t in stamps] == [0, 2, 1, 3]
    numbers = TimestampFrames()
    assert [numbers.number(t * 160) for t in (0, 65535, 65536, 65537)] == [0, 65535, 0, 1]
