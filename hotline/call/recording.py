"""The four recordings of a call, with one owner."""

from __future__ import annotations

from pathlib import Path

from hotline.call.log import CallLog
from hotline.wire.vocabulary import RecordingLeg
from telephony import WavWriter

__all__ = ["Recording"]

RECORDINGS_DIR = "recordings"


class Recording:
    """Opens each leg's WAV once, notes it in the record, and closes them all together.

    A call's files live in ``DATA_DIR/recordings/<call id>/<leg>.wav``; the record keeps
    their paths relative to the data directory. Every WAV header is patched after each
    write, so a crash leaves readable files up to the last frame.
    """

    def __init__(self, data_dir: Path, log: CallLog) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / RECORDINGS_DIR / log.call_id
        (data_dir / RECORDINGS_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.mkdir(exist_ok=True, mode=0o700)
        self._log = log
        self._writers: dict[RecordingLeg, WavWriter] = {}

    async def open(self, leg: RecordingLeg, sample_rate: int) -> WavWriter:
        if leg in self._writers:
            raise ValueError(f"call {self._log.call_id} already records {leg}")
        writer = WavWriter(self.folder / f"{leg}.wav", sample_rate)
        self._writers[leg] = writer
        await self._log.recording_added(leg, writer.path.relative_to(self.data_dir), sample_rate)
        return writer

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
