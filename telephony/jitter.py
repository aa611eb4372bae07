"""A jitter buffer for 20 ms RTP audio frames: reorder, wait a little, conceal what is lost.

Packets arrive late, early, twice or never; the consumer wants exactly one frame every
20 ms. :class:`JitterBuffer` holds frames by (unwrapped) sequence number, starts playing
once ``delay_frames`` are held, and hands out one frame per :meth:`JitterBuffer.pop`: the
next in order, or, when that one is missing but later ones are here, a concealment (the
last frame at -6 dB once, then silence). What it holds is bounded, a late frame is
dropped, and a sender that restarts its numbering far away is followed after two packets.

Audio and RFC 4733 events share one SSRC's sequence numbers (baresip and linphone keep
sending audio while a key is held), so a receiver that pushes only the audio packets sees
gaps that are not losses. :class:`TimestampFrames` numbers frames by RTP timestamp instead.
"""

from __future__ import annotations

import numpy as np

from telephony.frames import AudioFormatError, as_pcm

__all__ = ["JitterBuffer", "TimestampFrames"]

SEQUENCE_MODULO = 1 << 16
RESYNC_DISTANCE = 100
"""A jump of more than this many frames (2 s) is a sender restart, not loss or reordering."""


def _distance(sequence: int, reference: int) -> int:
    """Signed distance from ``reference`` (extended) to 16-bit ``sequence``, in -2^15..2^15."""
    return (sequence - reference + SEQUENCE_MODULO // 2) % SEQUENCE_MODULO - SEQUENCE_MODULO // 2


class JitterBuffer:
    """Reorders 20 ms frames by RTP sequence and gives exactly one per :meth:`pop`.

    ``pop`` returns None while priming (until ``delay_frames`` frames are held, or the
    frames held have waited ``delay_frames`` pops, so the tail of a stream still comes out)
    and when the buffer ran dry; after running dry it primes again, and playing resumes at
    the earliest frame held, because the slots that passed were already silence. The
    playout point never falls more than ``max_frames`` behind the newest frame, which bounds
    both memory and delay."""

    __slots__ = (
        "frame_samples",
        "delay_frames",
        "max_frames",
        "_frames",
        "_next",
        "_highest",
        "_playing",
        "_waited",
        "_last",
        "_losses",
        "_probation",
        "_stats",
    )

    def __init__(
        self, frame_samples: int = 160, delay_frames: int = 3, max_frames: int = 50
    ) -> None:
        if frame_samples <= 0:
            raise ValueError("frame_samples must be positive")
        if not 0 <= delay_frames <= max_frames or max_frames < 1:
            raise ValueError("need 0 <= delay_frames <= max_frames and max_frames >= 1")
        self.frame_samples = frame_samples
        self.delay_frames = delay_frames
        self.max_frames = max_frames
        self.reset()

    def reset(self) -> None:
        """Forget every frame and every count, as for a new stream."""
        self._frames: dict[int, np.ndarray] = {}
        self._next: int | None = None
        self._highest: int | None = None
        self._playing = False
        self._waited = 0
        self._last: np.ndarray | None = None
        self._losses = 0
        self._probation: tuple[int, np.ndarray] | None = None
        self._stats = dict.fromkeys(
            (
                "received",
                "played",
                "late",
                "duplicate",
                "concealed",
                "overflow",
                "discarded",
                "resyncs",
            ),
            0,
        )

    def push(self, sequence: int, pcm: np.ndarray) -> None:
        """Hold one frame. The array is kept, not copied: do not write to it afterwards."""
        pcm = as_pcm(pcm)
        if pcm.shape[0] != self.frame_samples:
            raise AudioFormatError(f"a frame is {self.frame_samples} samples, got {pcm.shape[0]}")
        if not 0 <= sequence < SEQUENCE_MODULO:
            raise ValueError(f"RTP sequence {sequence} is not 0-65535")
        self._stats["received"] += 1
        if self._highest is None:
            self._highest = self._next = sequence
            self._frames[sequence] = pcm
            return
        distance = _distance(sequence, self._highest)
        if abs(distance) > RESYNC_DISTANCE:
            self._far(sequence, pcm)
            return
        self._drop_probation()
        self._store(self._highest + distance, pcm)

    def _store(self, extended: int, pcm: np.ndarray) -> None:
        assert self._next is not None and self._highest is not None
        if extended < self._next:
            if self._playing or self._stats["played"]:
                self._stats["late"] += 1
                return
            self._next = extended
        if extended in self._frames:
            self._stats["duplicate"] += 1
            return
        self._frames[extended] = pcm
        self._highest = max(self._highest, extended)
        oldest_allowed = self._highest - self.max_frames + 1
        if self._next < oldest_allowed:
            for stale in [key for key in self._frames if key < oldest_allowed]:
                del self._frames[stale]
                self._stats["overflow"] += 1
            self._next = oldest_allowed

    def _far(self, sequence: int, pcm: np.ndarray) -> None:
        """A frame far from the stream: a stray, or the first of a restarted sender. Two in
        a row (this one right after the last far one) mean a restart."""
        if self._probation is not None and sequence == (self._probation[0] + 1) % SEQUENCE_MODULO:
            first, first_pcm = self._probation
            self._probation = None
            self._stats["discarded"] += len(self._frames)
            self._stats["resyncs"] += 1
            self._frames = {first: first_pcm}
            self._next = self._highest = first
            self._playing, self._waited = False, 0
            self._store(first + 1, pcm)
            return
        self._drop_probation()
        self._probation = (sequence, pcm)

    def _drop_probation(self) -> None:
        if self._probation is not None:
            self._probation = None
            self._stats["late"] += 1

    def pop(self) -> np.ndarray | None:
        """The next 20 ms frame, or None while priming or when nothing is held."""
        if not self._playing:
            if not self._frames:
                return None
            self._waited += 1
            if len(self._frames) < self.delay_frames and self._waited < self.delay_frames:
                return None
            self._playing = True
            assert self._next is not None
            self._next = max(self._next, min(self._frames))
        if not self._frames:
            self._playing, self._waited = False, 0
            return None
        assert self._next is not None
        frame = self._frames.pop(self._next, None)
        self._next += 1
        self._stats["played"] += 1
        if frame is not None:
            self._last, self._losses = frame, 0
            return frame
        self._stats["concealed"] += 1
        self._losses += 1
        if self._losses == 1 and self._last is not None:
            return self._last >> 1
        return np.zeros(self.frame_samples, dtype=np.int16)

    def stats(self) -> dict[str, int]:
        """Counts since the last reset; ``played`` includes ``concealed`` frames, and
        ``depth`` is how many frames are held now."""
        return {**self._stats, "depth": len(self._frames)}


class TimestampFrames:
    """Frame numbers (16-bit, for :meth:`JitterBuffer.push`) from 32-bit RTP timestamps,
    so packets of another payload type sharing the SSRC (DTMF) leave no false gaps."""

    __slots__ = ("frame_samples", "_timestamp", "_number")

    def __init__(self, frame_samples: int = 160) -> None:
        if frame_samples <= 0:
            raise ValueError("frame_samples must be positive")
        self.frame_samples = frame_samples
        self._timestamp: int | None = None
        self._number = 0

    def number(self, timestamp: int) -> int:
        """The frame number for a packet with this timestamp (the first packet is frame 0)."""
        if self._timestamp is None:
            self._timestamp = timestamp
            return 0
        delta = (timestamp - self._timestamp + 2**31) % 2**32 - 2**31
        frames = round(delta / self.frame_samples)
        self._timestamp = (self._timestamp + frames * self.frame_samples) % 2**32
        self._number = (self._number + frames) % SEQUENCE_MODULO
        return self._number
