"""Retention: recordings past the period are deleted, calls on legal hold are kept whole, the
transcript always stays, and every deletion is audited."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.records import RecordStore
from hotline.records.retention import RETENTION_WHO, sweep

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def recorded_call(store: RecordStore, data_dir: Path, days_ago: float) -> str:
    """An ended call with one utterance and two WAV files, started ``days_ago``."""
    call = store.create_call("en", started_at=NOW - timedelta(days=days_ago))
    folder = data_dir / "recordings" / call.id
    folder.mkdir(parents=True)
    for leg in ("caller_in", "caller_heard"):
        (folder / f"{leg}.wav").write_bytes(b"RIFF" + bytes(1000))
        store.add_recording(call.id, leg, f"recordings/{call.id}/{leg}.wav", 8000)
    store.add_utterance(call.id, speaker="caller", original="my bins", start_s=1, end_s=2)
    store.finish_call(call.id, "completed", ended_at=NOW - timedelta(days=days_ago))
    return call.reference


def test_recordings_past_the_period_go_and_the_transcript_stays(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        old = recorded_call(store, tmp_path, days_ago=40)
        recent = recorded_call(store, tmp_path, days_ago=5)
        done = sweep(store, tmp_path, days=30, now=NOW)
        assert done.calls == [old] and done.files == 2 and done.bytes == 2008
        gone, kept = store.get(old), store.get(recent)
        assert gone.call.recordings_deleted_at == NOW
        assert not (tmp_path / "recordings" / gone.call.id).exists()
        assert [u.original for u in gone.utterances] == ["my bins"], "the transcript stays"
        assert kept.call.recordings_deleted_at is None
        assert all((tmp_path / r.path).is_file() for r in kept.recordings)
        (entry,) = store.audit_log(who=RETENTION_WHO)
        assert (entry.action, entry.target) == ("recordings.delete", gone.call.id)
        assert sweep(store, tmp_path, days=30, now=NOW).calls == [], "each call goes once"


def test_a_call_on_legal_hold_is_kept_whole_until_released(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        held = recorded_call(store, tmp_path, days_ago=400)
        assert store.set_legal_hold(held, True).legal_hold
        done = sweep(store, tmp_path, days=30, now=NOW)
        assert done.calls == [] and done.kept_on_hold == 1
        assert all((tmp_path / r.path).is_file() for r in store.get(held).recordings)
        store.set_legal_hold(held, False)
        assert sweep(store, tmp_path, days=30, now=NOW).calls == [held]


def test_a_dry_run_deletes_nothing_and_calls_still_open_are_never_swept(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        old = recorded_call(store, tmp_path, days_ago=90)
        open_call = store.create_call("en", started_at=NOW - timedelta(days=90))
        store.add_recording(open_call.id, "caller_in", "recordings/x/caller_in.wav", 8000)
        done = sweep(store, tmp_path, days=30, now=NOW, dry_run=True)
        assert done.calls == [old] and done.files == 2
        assert store.get(old).call.recordings_deleted_at is None
        with pytest.raises(ValueError, match="more than 0 days"):
            sweep(store, tmp_path, days=0)


def test_hotline_records_hold_release_and_sweep(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        reference = recorded_call(store, tmp_path, days_ago=60)

    def records(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "hotline.cli", "records", "--data-dir", str(tmp_path)]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)

    assert "is on legal hold" in records("hold", reference).stdout
    assert "0 calls" in records("sweep", "--days", "30").stdout
    assert "no longer on legal hold" in records("release", reference).stdout
    assert (
        "would delete the recordings of 1 calls"
        in records("sweep", "--days", "30", "--dry-run").stdout
    )
    swept = records("sweep", "--days", "30")
    assert swept.returncode == 0 and reference in swept.stdout
    refused = records("sweep")
    assert refused.returncode == 2 and "no retention period" in refused.stderr
    assert records("hold", "H-19990101-0001").returncode == 2


async def test_the_server_sweeps_at_start_when_a_retention_period_is_set(start_server, tmp_path):
    data_dir = tmp_path / "data0"  # where start_server puts its first server's data
    data_dir.mkdir()
    with RecordStore(data_dir / "hotline.sqlite3") as store:
        old = recorded_call(store, data_dir, days_ago=4000)

    def keep_a_year(config):
        config.records.retention_days = 365

    server = await start_server(keep_a_year)
    assert server.data_dir == data_dir
    for _ in range(100):
        record = await server.store.get(old)
        if record.call.recordings_deleted_at is not None:
            break
        await asyncio.sleep(0.05)
    assert record.call.recordings_deleted_at is not None
    assert not any((data_dir / r.path).exists() for r in record.recordings)
