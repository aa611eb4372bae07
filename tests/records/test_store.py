"""The complaint-record store on a real SQLite file: durability, recovery, references, export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline.records import (
    CSV_COLUMNS,
    SCHEMA_VERSION,
    AsyncRecordStore,
    RecordError,
    RecordStore,
    UnknownCall,
    mask_phone,
)

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "records.sqlite3"


@pytest.fixture
def store(db: Path):
    with RecordStore(db) as opened:
        yield opened


def test_call_life_is_recorded_in_order_and_found_by_reference(store: RecordStore) -> None:
    call = store.create_call(
        "ko", caller_id="+82 10-1234-5678", channel="twilio", started_at=DAY + timedelta(hours=1)
    )
    assert call.reference == "H-20261125-0001"
    assert call.status == "queued" and call.ended_at is None
    assert call.caller_id_masked == "+********5678"

    store.set_operator(call.id, "op-7", "en")
    store.set_status(call.id, "active")
    store.add_utterance(
        call.id,
        speaker="caller",
        language="ko",
        original="집 앞 공사 소음이 너무 심해요",
        translation="The construction noise in front of my house is too loud",
        translation_language="en",
        start_s=0.5,
        end_s=3.0,
        confidence=0.82,
    )
    question = store.add_utterance(
        call.id,
        speaker="operator",
        language="en",
        original="Where exactly is the construction?",
        start_s=4.0,
        end_s=5.5,
        confidence=0.95,
    )
    store.set_translation(question, "공사는 정확히 어디인가요?", "ko", spoken_by_tts=True)
    typed = store.add_utterance(
        call.id,
        speaker="operator",
        language="en",
        original="One moment please.",
        start_s=4.0,
        end_s=4.8,
        typed=True,
    )
    store.set_translation(typed, None, None, translated=False, note="no engine for en→ko")
    late_final = store.add_utterance(
        call.id, speaker="caller", language="ko", original="여보세요?", start_s=3.2, end_s=3.9
    )
    store.add_utterance(
        call.id, speaker="system", original="call connected", start_s=0.0, end_s=0.0
    )
    store.update_fields(
        call.id,
        kind="complaint",
        category="noise",
        place="강남역 2번 출구 앞",
        urgency="high",
        notes="night-time construction",
    )
    store.add_recording(call.id, "caller_in", Path("recordings") / call.id / "caller_in.wav", 8000)
    store.add_recording(
        call.id, "operator_heard", f"recordings/{call.id}/operator_heard.wav", 16000
    )
    finished = store.finish_call(call.id, ended_at=DAY + timedelta(hours=1, minutes=2))

    record = store.get(call.reference)
    assert record is not None and record == store.get(call.id)
    assert record.call == finished
    assert record.call.status == "completed"
    assert record.call.ended_at == DAY + timedelta(hours=1, minutes=2)
    assert (record.call.operator, record.call.operator_language) == ("op-7", "en")
    assert (record.call.kind, record.call.category, record.call.place) == (
        "complaint",
        "noise",
        "강남역 2번 출구 앞",
    )
    assert (record.call.urgency, record.call.notes) == ("high", "night-time construction")
    assert [(u.speaker, u.start_s, u.original) for u in record.utterances] == [
        ("system", 0.0, "call connected"),
        ("caller", 0.5, "집 앞 공사 소음이 너무 심해요"),
        ("caller", 3.2, "여보세요?"),
        ("operator", 4.0, "Where exactly is the construction?"),
        ("operator", 4.0, "One moment please."),
    ]
    caller, late, tts_reply, untranslated = record.utterances[1:]
    assert caller.translated and caller.translation_language == "en" and caller.confidence == 0.82
    assert late.id == late_final and not late.translated and late.translation is None
    assert tts_reply.spoken_by_tts and tts_reply.translation == "공사는 정확히 어디인가요?"
    assert not untranslated.translated and untranslated.note == "no engine for en→ko"
    assert not untranslated.spoken_by_tts and untranslated.confidence is None
    assert untranslated.typed and not tts_reply.typed
    assert [(r.leg, r.path, r.sample_rate) for r in record.recordings] == [
        ("caller_in", f"recordings/{call.id}/caller_in.wav", 8000),
        ("operator_heard", f"recordings/{call.id}/operator_heard.wav", 16000),
    ]
    assert store.get("H-20261125-0002") is None


CHILD_ADDS_AND_WAITS = """
import sys
from pathlib import Path
from hotline.records import RecordStore

store = RecordStore(Path(sys.argv[1]))
call = store.create_call("es", caller_id="+34 612 345 678", channel="twilio")
store.set_status(call.id, "active")
store.add_utterance(call.id, speaker="caller", language="es", original="Hay un bache enorme",
                    start_s=1.0, end_s=2.5, confidence=0.9)
print(call.id, flush=True)
sys.stdin.read()
"""


def test_utterance_is_durable_before_call_ends(db: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_ADDS_AND_WAITS, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        call_id = child.stdout.readline().strip()
        assert call_id, child.stderr.read()
        independent = sqlite3.connect(db)
        seen = independent.execute(
            "SELECT original FROM utterances WHERE call_id = ?", (call_id,)
        ).fetchall()
        independent.close()
        assert seen == [("Hay un bache enorme",)]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    with RecordStore(db) as reopened:
        assert reopened.recovered == (call_id,)
        record = reopened.get(call_id)
    assert record.call.status == "interrupted"
    assert "server stopped" in record.call.end_reason
    assert record.call.ended_at == record.call.started_at + timedelta(seconds=2.5)
    assert [u.original for u in record.utterances] == ["Hay un bache enorme"]


def test_second_store_sees_live_call_and_leaves_it_open(db: Path) -> None:
    with RecordStore(db) as first:
        call = first.create_call("en")
        first.set_status(call.id, "active")
        first.add_utterance(
            call.id, speaker="caller", original="streetlight out", start_s=0, end_s=1
        )
        with RecordStore(db) as second:
            assert second.recovered == ()
            seen = second.get(call.id)
            assert seen.call.status == "active" and seen.call.ended_at is None
            assert [u.original for u in seen.utterances] == ["streetlight out"]
        assert first.recover_unfinished() == []
        first.add_utterance(call.id, speaker="operator", original="noted", start_s=2, end_s=3)
        assert first.finish_call(call.id).status == "completed"


def test_dropped_caller_keeps_final_utterances(db: Path) -> None:
    with RecordStore(db) as store:
        call = store.create_call("ko")
        store.set_status(call.id, "active")
        store.add_utterance(call.id, speaker="caller", original="신호등이", start_s=0.2, end_s=1.0)
        store.add_utterance(
            call.id, speaker="caller", original="고장났어요", start_s=1.1, end_s=2.0
        )
        store.finish_call(call.id, "dropped")
    with RecordStore(db) as reopened:
        assert reopened.recovered == ()
        record = reopened.get(call.id)
    assert record.call.status == "dropped" and record.call.ended_at is not None
    assert [u.original for u in record.utterances] == ["신호등이", "고장났어요"]


def test_finish_call_is_idempotent_and_qa_can_remark_a_finished_call(store: RecordStore) -> None:
    call = store.create_call("en", started_at=DAY)
    first = store.finish_call(call.id, "completed", ended_at=DAY + timedelta(minutes=3))
    again = store.finish_call(call.id, "dropped", ended_at=DAY + timedelta(minutes=9))
    assert again == first
    assert again.ended_at == DAY + timedelta(minutes=3)
    store.set_status(call.id, "dropped")
    assert store.get(call.id).call.status == "dropped"
    with pytest.raises(RecordError, match="has ended; it cannot become 'active'"):
        store.set_status(call.id, "active")


def test_open_call_is_ended_only_by_finish_call(store: RecordStore) -> None:
    call = store.create_call("en")
    with pytest.raises(RecordError, match=r"still open; end it with finish_call\(status='busy'\)"):
        store.set_status(call.id, "busy")
    with pytest.raises(RecordError, match="finish_call needs a final status, not 'active'"):
        store.finish_call(call.id, "active")
    assert store.finish_call(call.id, "busy").status == "busy"


def test_references_are_unique_and_sequential_per_day(db: Path) -> None:
    def take_calls(count: int, day: datetime, out: list[str]) -> None:
        with RecordStore(db) as own:
            out.extend(own.create_call("en", started_at=day).reference for _ in range(count))

    references: list[str] = []
    threads = [
        threading.Thread(target=take_calls, args=(10, DAY + timedelta(hours=i), references))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    take_calls(3, DAY + timedelta(days=1), references)

    assert sorted(references) == [f"H-20261125-{n:04d}" for n in range(1, 41)] + [
        f"H-20261126-{n:04d}" for n in range(1, 4)
    ]


def test_reference_carries_the_date_of_the_configured_zone(db: Path) -> None:
    beijing = timezone(timedelta(hours=8))
    with RecordStore(db, reference_tz=beijing) as store:
        late_evening_utc = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
        call = store.create_call("zh", started_at=late_evening_utc)
    assert call.reference == "H-20261125-0001"
    assert call.started_at == late_evening_utc


@pytest.mark.parametrize(
    ("act", "error", "message"),
    [
        (
            lambda s, c: s.update_fields(c, kind="complain"),
            RecordError,
            "kind 'complain' is not one of 'consultation', 'help_request', 'complaint', "
            "'report', 'suggestion'",
        ),
        (
            lambda s, c: s.update_fields(c, mood="angry", kind="report"),
            RecordError,
            "unknown field(s) mood; updatable fields are caller_language, category, kind, notes, "
            "place, urgency",
        ),
        (lambda s, c: s.update_fields(c, urgency=3), RecordError, "urgency must be text or None"),
        (lambda s, c: s.set_status(c, "closed"), RecordError, "status 'closed' is not one of"),
        (
            lambda s, c: s.add_utterance(c, speaker="bot", original="hi", start_s=0, end_s=1),
            RecordError,
            "speaker 'bot' is not one of 'caller', 'operator', 'system'",
        ),
        (
            lambda s, c: s.add_utterance(c, speaker="caller", original="hi", start_s=2, end_s=1),
            RecordError,
            "times must satisfy 0 <= start_s <= end_s",
        ),
        (
            lambda s, c: s.add_recording(c, "caller_in", "/etc/passwd", 8000),
            RecordError,
            "must be relative to the data dir",
        ),
        (
            lambda s, c: s.create_call("en", started_at=datetime(2026, 1, 1)),
            RecordError,
            "has no time zone",
        ),
        (
            lambda s, c: s.add_utterance(
                "nope", speaker="caller", original="hi", start_s=0, end_s=1
            ),
            UnknownCall,
            "no call with id 'nope'",
        ),
        (lambda s, c: s.update_fields("nope", kind="report"), UnknownCall, "no call with id"),
        (lambda s, c: s.set_translation(999, "hi", "en"), RecordError, "no utterance with id 999"),
        (
            lambda s, c: s.set_translation(1, None, None, translated=True),
            RecordError,
            "translated=True needs the translation text",
        ),
        (lambda s, c: s.set_operator("nope", "op-1", "en"), UnknownCall, "no call with id"),
        (lambda s, c: s.set_status("nope", "active"), UnknownCall, "no call with id"),
        (lambda s, c: s.finish_call("nope"), UnknownCall, "no call with id"),
        (lambda s, c: s.add_recording("nope", "caller_in", "a.wav", 8000), UnknownCall, "no call"),
    ],
)
def test_bad_values_and_unknown_calls_raise_clear_record_errors(
    store: RecordStore, act, error: type[RecordError], message: str
) -> None:
    call = store.create_call("en")
    with pytest.raises(error) as raised:
        act(store, call.id)
    assert message in str(raised.value)
    assert store.get(call.id).call.kind is None


def make_two_calls(store: RecordStore) -> tuple[str, str]:
    talk = store.create_call("ko", started_at=DAY)
    store.set_operator(talk.id, "op-2", "en")
    store.add_utterance(
        talk.id,
        speaker="caller",
        language="ko",
        original='쓰레기가, "많아요"\n정말로',
        translation='Lots of "trash",\nreally',
        translation_language="en",
        start_s=0.5,
        end_s=2.0,
        confidence=0.7,
    )
    store.add_utterance(
        talk.id, speaker="operator", language="en", original="Which street?", start_s=2.5, end_s=3.0
    )
    store.update_fields(talk.id, kind="report", place="Main St, near 5th")
    store.add_recording(talk.id, "caller_in", "recordings/a/caller_in.wav", 8000)
    store.finish_call(talk.id, ended_at=DAY + timedelta(minutes=1))
    busy = store.create_call("es", started_at=DAY + timedelta(minutes=5))
    store.finish_call(busy.id, "busy", ended_at=DAY + timedelta(minutes=5))
    return talk.id, busy.id


def test_export_json_round_trips_every_utterance(store: RecordStore, tmp_path: Path) -> None:
    talk, busy = make_two_calls(store)
    out = tmp_path / "export.json"
    with out.open("w", encoding="utf-8") as handle:
        assert store.export("json", handle) == 2
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported == [store.get(busy).to_dict(), store.get(talk).to_dict()]
    assert [u["original"] for u in exported[1]["utterances"]] == [
        '쓰레기가, "많아요"\n정말로',
        "Which street?",
    ]
    assert exported[1]["recordings"][0]["path"] == "recordings/a/caller_in.wav"
    assert exported[0]["utterances"] == []


def test_export_csv_has_one_row_per_utterance(store: RecordStore, tmp_path: Path) -> None:
    talk, busy = make_two_calls(store)
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        assert store.export("csv", handle) == 2
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    assert [(r["call_id"], r["utterance_id"] != "") for r in rows] == [
        (busy, False),
        (talk, True),
        (talk, True),
    ]
    first, second = (r for r in rows if r["call_id"] == talk)
    stored = store.get(talk).utterances
    assert (first["original"], first["translation"]) == (stored[0].original, stored[0].translation)
    assert (first["translated"], first["spoken_by_tts"], first["confidence"]) == (
        "true",
        "false",
        "0.7",
    )
    assert float(first["start_s"]) == 0.5 and int(first["utterance_id"]) == stored[0].id
    assert (second["original"], second["translated"], second["translation"]) == (
        "Which street?",
        "false",
        "",
    )
    assert first["place"] == "Main St, near 5th" and first["reference"] == "H-20261125-0001"


def test_export_filters_like_list(store: RecordStore) -> None:
    talk, _ = make_two_calls(store)
    out = io.StringIO()
    assert store.export("json", out, status="completed") == 1
    assert [r["id"] for r in json.loads(out.getvalue())] == [talk]
    with pytest.raises(RecordError, match="export format must be 'json' or 'csv'"):
        store.export("xml", io.StringIO())


def test_list_filters_by_status_language_and_start(store: RecordStore) -> None:
    made = {}
    for minute, (language, status) in enumerate(
        [("ko", "completed"), ("en", "dropped"), ("ko", "dropped"), ("es", None), ("ko", None)]
    ):
        call = store.create_call(language, started_at=DAY + timedelta(minutes=minute))
        if status:
            store.finish_call(call.id, status)
        made[minute] = call.reference

    def refs(**filters) -> list[str]:
        return [c.reference for c in store.list(**filters)]

    assert refs() == [made[4], made[3], made[2], made[1], made[0]]
    assert refs(status="dropped") == [made[2], made[1]]
    assert refs(language="ko") == [made[4], made[2], made[0]]
    assert refs(language="ko", status="dropped") == [made[2]]
    assert refs(status="queued") == [made[4], made[3]]
    assert refs(since=DAY + timedelta(minutes=3)) == [made[4], made[3]]
    assert refs(limit=2, offset=1) == [made[3], made[2]]
    with pytest.raises(RecordError, match="status 'open' is not one of"):
        store.list(status="open")


async def test_async_store_does_its_work_off_the_event_loop_thread(db: Path) -> None:
    loop_thread = threading.get_ident()
    async with await AsyncRecordStore.open(db) as store:
        assert store.writer_thread_id != loop_thread
        writer = {t.ident: t.name for t in threading.enumerate()}[store.writer_thread_id]
        assert writer.startswith("records-writer")
        call = await store.create_call("en", caller_id="+1 555 123 4567")
        await store.set_operator(call.id, "op-1", "es")
        await store.set_status(call.id, "active")
        await store.add_utterance(call.id, speaker="caller", original="pothole", start_s=0, end_s=1)
        await store.update_fields(call.id, kind="report")
        await store.add_recording(call.id, "caller_in", "rec/caller_in.wav", 8000)
        await store.finish_call(call.id)
        record = await store.get(call.reference)
        listed = await store.list(status="completed")
        out = io.StringIO()
        assert await store.export("json", out) == 1
    assert record.call.kind == "report" and [u.original for u in record.utterances] == ["pothole"]
    assert [c.id for c in listed] == [call.id]
    assert json.loads(out.getvalue())[0]["caller_id_masked"] == "+*******4567"


async def test_write_survives_cancellation_of_the_awaiting_task(db: Path) -> None:
    async with await AsyncRecordStore.open(db) as store:
        call = await store.create_call("en")
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        writes = [
            asyncio.create_task(
                store.add_utterance(
                    call.id, speaker="caller", original=text, start_s=i, end_s=i + 1
                )
            )
            for i, text in enumerate(["first", "second"])
        ]
        await asyncio.sleep(0.1)
        for write in writes:
            write.cancel()
        await asyncio.gather(*writes, return_exceptions=True)
        blocker.execute("COMMIT")
        blocker.close()
        record = await store.get(call.id)
    assert all(write.cancelled() for write in writes)
    assert [u.original for u in record.utterances] == ["first", "second"]


def test_file_is_wal_with_schema_version_and_newer_schema_is_refused(db: Path) -> None:
    RecordStore(db).close()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(RecordError, match="newer than this program's"):
        RecordStore(db)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+1 (555) 123-4567", "+*******4567"),
        ("+82 10-1234-5678", "+********5678"),
        ("010 1234 5678", "*******5678"),
        ("4567", "****"),
        ("anonymous", ""),
    ],
)
def test_mask_phone_keeps_only_plus_and_last_four_digits(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_only_the_masked_caller_id_reaches_the_file(db: Path) -> None:
    with RecordStore(db) as store:
        call = store.create_call("en", caller_id="+1 (555) 123-4567")
        assert store.get(call.id).call.caller_id_masked == "+*******4567"
        anonymous = store.create_call("en", caller_id="anonymous")
        assert store.get(anonymous.id).call.caller_id_masked is None
        on_disk = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())
    assert b"5551234567" not in on_disk and b"123-4567" not in on_disk
    assert b"+*******4567" in on_disk


def test_a_call_can_end_with_its_reason_in_words(store: RecordStore) -> None:
    call = store.create_call("en")
    ended = store.finish_call(call.id, "dropped", reason="one-way audio: nothing for 10.0 s")
    assert ended.end_reason == "one-way audio: nothing for 10.0 s"
    assert store.get(call.id).to_dict()["end_reason"] == ended.end_reason
    assert store.finish_call(store.create_call("en").id).end_reason is None


def test_a_version_1_file_gains_end_reason_and_keeps_its_calls(db: Path) -> None:
    from hotline.records.schema import MIGRATIONS

    db.parent.mkdir(parents=True)
    raw = sqlite3.connect(db, isolation_level=None)
    MIGRATIONS[0](raw)
    raw.execute("PRAGMA user_version = 1")
    raw.execute(
        "INSERT INTO calls (id, reference, ref_day, ref_seq, channel, status, started_at, "
        "ended_at) VALUES ('old', 'H-20261101-0001', '20261101', 1, 'web', 'completed', "
        "'2026-11-01T09:00:00+00:00', '2026-11-01T09:05:00+00:00')"
    )
    raw.close()
    with RecordStore(db) as store:
        record = store.get("H-20261101-0001")
        assert record.call.status == "completed" and record.call.end_reason is None
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_3_file_marks_its_recovered_calls_interrupted_and_keeps_utterances(
    db: Path,
) -> None:
    from hotline.records.schema import MIGRATIONS

    db.parent.mkdir(parents=True)
    raw = sqlite3.connect(db, isolation_level=None)
    for step in MIGRATIONS[:3]:
        step(raw)
    raw.execute("PRAGMA user_version = 3")
    for ref_seq, call_id, reason in (
        (1, "cut", "the server stopped during the call; closed when the records were next opened"),
        (2, "hung", "one-way audio: nothing for 10.0 s"),
    ):
        raw.execute(
            "INSERT INTO calls (id, reference, ref_day, ref_seq, channel, status, started_at, "
            "ended_at, end_reason) VALUES (?, ?, '20261101', ?, 'web', 'dropped', "
            "'2026-11-01T09:00:00+00:00', '2026-11-01T09:05:00+00:00', ?)",
            (call_id, f"H-20261101-000{ref_seq}", ref_seq, reason),
        )
    raw.execute(
        "INSERT INTO utterances (call_id, speaker, original, translated, start_s, end_s, "
        "spoken_by_tts, typed) VALUES ('cut', 'caller', 'Hay un bache', 0, 0.5, 1.5, 0, 0)"
    )
    raw.close()
    with RecordStore(db) as store:
        assert store.get("cut").call.status == "interrupted"
        assert [u.original for u in store.get("cut").utterances] == ["Hay un bache"]
        assert store.get("hung").call.status == "dropped"
        assert store._conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert tuple(store._conn.execute("PRAGMA foreign_keys").fetchone()) == (1,)


def test_only_the_servers_user_can_read_the_records(tmp_path: Path) -> None:
    db = tmp_path / "data" / "records.sqlite3"
    with RecordStore(db) as store:
        store.create_call("en")
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    for name in (db.name, db.name + "-wal", db.name + "-shm", db.name + ".lock"):
        path = db.parent / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
