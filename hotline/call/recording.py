"""The four recordings of a call, with one owner and one clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hotline.call.log import CallLog
from hotline.wire.vocabulary import RecordingLeg
from telephony import WavWriter

__all__ = ["JITTER_S", "LegRecording", "Recording"]

RECORDINGS_DIR = "recordings"

JITTER_S = 0.25
"""A gap in a party's audio longer than this is a real gap (muted, lost audio) and is filled
with silence; shorter ones are network jitter, and filling them would push the recording
ahead of the clock."""


class LegRecording:
    """One leg's WAV on the call's clock: sample ``n`` of every leg is the same instant, so a
    span cut from any leg at the times the record gives holds what was said then."""

    def __init__(self, writer: WavWriter, clock: Callable[[], float]) -> None:
        self._writer = writer
        self.clock = clock
        """Seconds since the call began, the clock of every time in the record."""
        self.pad_to(clock())

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def sample_rate(self) -> int:
        return self._writer.sample_rate

    @property
    def seconds(self) -> float:
        """Where the recording has got to, on the call's clock."""
        return self._writer.samples_written / self._writer.sample_rate

    def write(self, pcm: np.ndarray, *, at: float | None = None, slack_s: float = JITTER_S) -> int:
        """Append ``pcm``, whose first sample was heard at ``at`` (by default: it has just
        arrived, so it began its own length ago). Silence fills a gap longer than
        ``slack_s``; the playout, which runs on the clock itself, passes 0. Returns the
        samples of silence put before ``pcm`` (the recognizer hears them too)."""
        if at is None:
            at = self.clock() - len(pcm) / self.sample_rate
        padded = self.pad_to(at) if at - self.seconds > slack_s else 0
        self._writer.write(pcm)
        return padded

    def pad_to(self, seconds: float) -> int:
        """Silence up to ``seconds`` on the call's clock; returns how many samples."""
        missing = round(seconds * self.sample_rate) - self._writer.samples_written
        padded = max(0, missing)
        while missing > 0:
            step = min(missing, 60 * self.sample_rate)
            self._writer.write(np.zeros(step, dtype=np.int16))
            missing -= step
        return padded

    def close(self) -> None:
        self._writer.close()


class Recording:
    """Opens each leg's WAV once, notes it in the record, and closes them all together, each
    padded to the same length: all four share the call's clock from its first instant.

    A call's files live in ``DATA_DIR/recordings/<call id>/<leg>.wav``; the record keeps
    their paths relative to the data directory. Every WAV header is patched after each
    write, so a crash leaves readable files up to the last frame.
    """

    def __init__(self, data_dir: Path, log: CallLog, started_at: float | None = None) -> None:
        """``started_at`` is the call's start on the event loop's clock (default: now)."""
        self.data_dir = data_dir
        self.folder = data_dir / RECORDINGS_DIR / log.call_id
        (data_dir / RECORDINGS_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.mkdir(exist_ok=True, mode=0o700)
        self._log = log
        self._loop = asyncio.get_running_loop()
        self.started_at = self._loop.time() if started_at is None else started_at
        self._legs: dict[RecordingLeg, LegRecording] = {}

    def now(self) -> float:
        """Seconds since the call began."""
        return self._loop.time() - self.started_at

    async def open(self, leg: RecordingLeg, sample_rate: int) -> LegRecording:
        """A leg opened after the call began (the operator's) starts with silence up to now."""
        if leg in self._legs:
            raise ValueError(f"call {self._log.call_id} already records {leg}")
        writer = WavWriter(self.folder / f"{leg}.wav", sample_rate)
        recording = LegRecording(writer, self.now)
        self._legs[leg] = recording
        await self._log.recording_added(leg, writer.path.relative_to(self.data_dir), sample_rate)
        return recording

    def close(self) -> None:
        end = max([self.now(), *(leg.seconds for leg in self._legs.values())])
        for leg in self._legs.values():
            try:
                leg.pad_to(end)
            finally:
                leg.close()
