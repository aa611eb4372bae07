"""Recordings past the retention period are deleted; calls on legal hold are kept whole.

The transcript stays: a record outlives its audio, and says when the audio went. Each
deletion goes to the audit log, as ``retention``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.records.store import AsyncRecordStore, RecordStore

__all__ = ["RETENTION_WHO", "SWEEP_EVERY_S", "Sweep", "keep_sweeping", "sweep"]

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 3600.0

RETENTION_WHO = "retention"


@dataclass(slots=True)
class Sweep:
    calls: list[str] = field(default_factory=list)
    """References of the calls whose recordings went (or would go, in a dry run)."""
    files: int = 0
    bytes: int = 0
    kept_on_hold: int = 0


def sweep(
    store: RecordStore,
    data_dir: Path,
    days: float,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Sweep:
    """Delete the recordings of ended calls that started more than ``days`` ago."""
    if days <= 0:
        raise ValueError("the retention period must be more than 0 days")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    result = Sweep()
    result.kept_on_hold = sum(
        1 for call in store.list(limit=None) if call.legal_hold and call.started_at < cutoff
    )
    for record in store.past_retention(cutoff):
        files = [data_dir / r.path for r in record.recordings]
        size = sum(path.stat().st_size for path in files if path.is_file())
        result.calls.append(record.call.reference)
        result.bytes += size
        if dry_run:
            result.files += sum(path.is_file() for path in files)
            continue
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                result.files += 1
        for folder in {path.parent for path in files}:
            with contextlib.suppress(OSError):
                folder.rmdir()
        store.recordings_deleted(record.call.id, now)
        store.audit(
            RETENTION_WHO,
            "recordings.delete",
            record.call.id,
            detail=f"{len(files)} recordings, {size} bytes, older than {days:g} days",
        )
    return result


async def keep_sweeping(
    store: AsyncRecordStore, data_dir: Path, days: float, every_s: float = SWEEP_EVERY_S
) -> None:
    """The server's sweep: at start, then every ``every_s``; runs until cancelled."""
    while True:
        try:
            done = await store.with_store(sweep, data_dir, days)
            if done.calls:
                log.info(
                    "retention: deleted the recordings of %d calls (%d files, %d bytes)",
                    len(done.calls),
                    done.files,
                    done.bytes,
                )
        except Exception:
            log.exception("retention sweep failed; trying again later")
        await asyncio.sleep(every_s)
