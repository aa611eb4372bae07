"""Complaint records: every call, its utterances and its recordings, kept in one SQLite file.

The store writes as the call happens, not at hang-up: each utterance is committed the moment it
is added, so a crash of the server loses nothing that was already added. The file is opened in
WAL mode with ``synchronous=FULL``: every commit is fsynced, so an added utterance survives a
power cut as well as a killed process. Writes come at the pace of speech (a few a second per
call), so the cost of one fsync per commit is small next to losing part of a public record.

``RecordStore`` is the synchronous core (used by the CLI). ``AsyncRecordStore`` gives the server
the same methods as coroutines, run on one dedicated writer thread that owns the connection.

Call status is a TEXT column with a CHECK of the known set (``Status``, in the wire
vocabulary). ``queued`` and ``active`` are the open statuses: a call has no end time exactly
while it is in one of them (the table enforces this). Adding a status is a schema migration
(``hotline.records.schema``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any, Literal, Self, TextIO, TypeVar
from uuid import uuid4

from hotline.records.export import write_csv, write_json
from hotline.records.models import (
    EMERGENCY_ACTIONS,
    OPEN_STATUSES,
    REQUEST_FIELDS,
    UPDATABLE_FIELDS,
    AuditEntry,
    CallRecord,
    ComplaintRecord,
    Kind,
    RecordError,
    RecordingRecord,
    Speaker,
    Status,
    UnknownCall,
    UtteranceRecord,
    WordTiming,
    enum_value,
    iso_utc,
    mask_phone,
    parse_time,
    text_or_none,
)
from hotline.records.schema import migrate, use_wal

try:
    import fcntl
except ImportError:
    fcntl = None

__all__ = ["DEFAULT_FILENAME", "AsyncRecordStore", "RecordStore"]

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "hotline.sqlite3"
REFERENCE_PREFIX = "H"
RECOVERED_REASON = "the server stopped during the call; closed when the records were next opened"


class RecordStore:
    """The complaint-record store on one SQLite file; one instance per thread.

    Several stores (in this or other processes) may open the same file. Each holds a shared
    lock on a ``<file>.lock`` beside it while open; that is how a store on open tells calls
    left unfinished by a crashed process from calls that a live one is still taking.
    """

    def __init__(self, path: Path, *, reference_tz: tzinfo = UTC) -> None:
        """Open (creating if needed) the file, migrate it, and close calls a crash left open.

        ``reference_tz`` is the zone whose calendar date goes in reference numbers; give the
        city's zone so that a call's reference carries the local date.
        """
        self.path = Path(path)
        self.reference_tz = reference_tz
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._open_calls: set[str] = set()
        # Records are personal data: only the server's user may read them. SQLite gives its
        # -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            self._conn.row_factory = sqlite3.Row
            use_wal(self._conn, self.path, timeout=10.0)
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            migrate(self._conn)
            self.recovered: tuple[str, ...] = tuple(self.recover_unfinished())
        except BaseException:
            self._conn.close()
            os.close(self._lock_fd)
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; calls still open stay open and are recovered by the next store."""
        if self._lock_fd < 0:
            return
        self._conn.close()
        os.close(self._lock_fd)
        self._lock_fd = -1

    @property
    def connection(self) -> sqlite3.Connection:
        """The file's connection, for reads by code that keeps its own tables here (cases)."""
        return self._conn

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        return self._write()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def recover_unfinished(self) -> builtins.list[str]:
        """Close as 'interrupted' the calls a stopped process left open; returns their ids.

        Runs only when no other store has the file open, since their open calls are live: the
        exclusive lock on ``<file>.lock`` is tried, and every store's lock changes are made
        inside a write transaction, so no two stores probe at once. Calls this store opened
        itself are left alone. The end time given is the call's last known moment: its start
        plus its last utterance's end. Without ``fcntl`` (Windows) it always runs.
        """
        with self._write() as conn:
            try:
                return self._drop_unfinished(conn) if self._only_store_open() else []
            finally:
                if fcntl is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_SH)

    def _only_store_open(self) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _drop_unfinished(self, conn: sqlite3.Connection) -> builtins.list[str]:
        rows = conn.execute(
            """
            SELECT c.id, c.reference, c.started_at,
                   (SELECT MAX(u.end_s) FROM utterances u WHERE u.call_id = c.id) AS last_s
            FROM calls c WHERE c.ended_at IS NULL ORDER BY c.started_at
            """
        ).fetchall()
        recovered = []
        for row in rows:
            if row["id"] in self._open_calls:
                continue
            ended = parse_time(row["started_at"]) + timedelta(seconds=row["last_s"] or 0)
            conn.execute(
                "UPDATE calls SET status = ?, ended_at = ?, end_reason = ? WHERE id = ?",
                (Status.INTERRUPTED, iso_utc(ended), RECOVERED_REASON, row["id"]),
            )
            recovered.append(row["id"])
            log.warning(
                "call recovered as interrupted call_id=%s reference=%s", row["id"], row["reference"]
            )
        return recovered

    def create_call(
        self,
        caller_language: str | None,
        caller_id: str | None = None,
        channel: str = "web",
        started_at: datetime | None = None,
    ) -> CallRecord:
        """Record a new call as 'queued' and give it the next reference number of its day.

        Only the masked caller id (``mask_phone``) is stored.
        """
        text_or_none("caller_language", caller_language)
        text_or_none("caller_id", caller_id)
        if not isinstance(channel, str) or not channel:
            raise RecordError(f"channel must be non-empty text, not {channel!r}")
        started = datetime.now(UTC) if started_at is None else started_at
        started_iso = iso_utc(started)
        day = started.astimezone(self.reference_tz).strftime("%Y%m%d")
        masked = mask_phone(caller_id) if caller_id else None
        call_id = uuid4().hex
        with self._write() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(ref_seq), 0) + 1 FROM calls WHERE ref_day = ?", (day,)
            ).fetchone()[0]
            conn.execute(
                """
                INSERT INTO calls (id, reference, ref_day, ref_seq, channel, status, started_at,
                                   caller_id_masked, caller_language)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    call_id,
                    f"{REFERENCE_PREFIX}-{day}-{seq:04d}",
                    day,
                    seq,
                    channel,
                    Status.QUEUED,
                    started_iso,
                    masked or None,
                    caller_language,
                ),
            )
        self._open_calls.add(call_id)
        return self._call(call_id)

    def set_operator(self, call_id: str, operator: str, operator_language: str | None) -> None:
        """Record which operator took the call and the language they speak (status unchanged)."""
        if not isinstance(operator, str) or not operator:
            raise RecordError(f"operator must be non-empty text, not {operator!r}")
        text_or_none("operator_language", operator_language)
        self._update(call_id, {"operator": operator, "operator_language": operator_language})

    def add_correction(self, utterance_id: int, field: str, text: str, who: str) -> None:
        """A QA reviewer's correction of an utterance (the utterance stays as it was)."""
        if field not in ("original", "translation"):
            raise RecordError(f"field must be original or translation, not {field!r}")
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO qa_corrections (utterance_id, field, text, who, at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (utterance_id, field, text, who, iso_utc(datetime.now(UTC))),
                )
        except sqlite3.IntegrityError as exc:
            raise RecordError(f"no utterance with id {utterance_id!r}") from exc

    def add_score(self, call_id: str, scores: dict[str, int], notes: str, who: str) -> None:
        """A QA reviewer's score of a call."""
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO qa_scores (call_id, scores, notes, who, at) VALUES (?, ?, ?, ?, ?)",
                    (call_id, json.dumps(scores), notes, who, iso_utc(datetime.now(UTC))),
                )
        except sqlite3.IntegrityError as exc:
            raise UnknownCall(f"no call with id {call_id!r}") from exc

    def set_legal_hold(self, call_id_or_reference: str, hold: bool) -> CallRecord:
        """Put a call on legal hold (its recordings outlive the retention period) or take
        it off."""
        record = self.get(call_id_or_reference)
        if record is None:
            raise UnknownCall(f"no call {call_id_or_reference!r}")
        with self._write() as conn:
            conn.execute(
                "UPDATE calls SET legal_hold = ? WHERE id = ?", (bool(hold), record.call.id)
            )
        return self._call(record.call.id)

    def past_retention(self, cutoff: datetime) -> builtins.list[ComplaintRecord]:
        """Ended calls started before ``cutoff`` that still have recordings and are not on
        legal hold, oldest first."""
        rows = self._conn.execute(
            """
            SELECT id FROM calls
            WHERE ended_at IS NOT NULL AND started_at < ? AND legal_hold = 0
              AND recordings_deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = calls.id)
            ORDER BY started_at
            """,
            (iso_utc(cutoff),),
        ).fetchall()
        return [record for row in rows if (record := self.get(row["id"])) is not None]

    def recordings_deleted(self, call_id: str, at: datetime | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE calls SET recordings_deleted_at = ? WHERE id = ?",
                (iso_utc(at or datetime.now(UTC)), call_id),
            )

    def set_connected(self, call_id: str, at_s: float) -> None:
        """The call is active from ``at_s`` seconds on its clock (caller meets operator)."""
        if not at_s >= 0:
            raise RecordError(f"connected_s must be >= 0, got {at_s}")
        self.set_status(call_id, Status.ACTIVE)
        with self._write() as conn:
            conn.execute("UPDATE calls SET connected_s = ? WHERE id = ?", (float(at_s), call_id))

    def set_status(self, call_id: str, status: str) -> None:
        """Move a call between statuses without ending it (or re-mark a finished one).

        An open call takes 'queued' or 'active'; ending it is ``finish_call``'s job, which also
        sets the end time. A finished call takes only final statuses.
        """
        new = enum_value(Status, "status", status)
        with self._write() as conn:
            row = conn.execute("SELECT ended_at FROM calls WHERE id = ?", (call_id,)).fetchone()
            if row is None:
                raise UnknownCall(f"no call with id {call_id!r}")
            if row["ended_at"] is None and new not in OPEN_STATUSES:
                raise RecordError(
                    f"call {call_id} is still open; end it with finish_call(status={str(new)!r})"
                )
            if row["ended_at"] is not None and new in OPEN_STATUSES:
                raise RecordError(f"call {call_id} has ended; it cannot become {str(new)!r}")
            conn.execute("UPDATE calls SET status = ? WHERE id = ?", (new, call_id))

    def set_request(self, call_id: str, **values: Any) -> CallRecord:
        """What the call learned about its service request (``REQUEST_FIELDS``): the service
        and its classification, an emergency and what was done, the read-back's answer, the
        survey. Only the given fields change."""
        unknown = sorted(set(values) - REQUEST_FIELDS)
        if unknown:
            raise RecordError(
                f"unknown request field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(REQUEST_FIELDS))}"
            )
        row: dict[str, Any] = {}
        for name, value in values.items():
            if name == "service_code":
                row[name] = text_or_none(name, value)
            elif name == "classification":
                if value is not None and not isinstance(value, dict):
                    raise RecordError("classification must be a dict or None")
                row[name] = None if value is None else json.dumps(value, ensure_ascii=False)
            elif name == "emergency":
                row[name] = int(bool(value))
            elif name == "emergency_action":
                if value is not None and value not in EMERGENCY_ACTIONS:
                    raise RecordError(
                        f"emergency_action must be one of {', '.join(EMERGENCY_ACTIONS)}"
                    )
                row[name] = value
            elif name == "readback_confirmed":
                row[name] = None if value is None else int(bool(value))
            elif name == "interpreter_needed":
                row[name] = int(bool(value))
            elif name == "unclear_turns":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise RecordError(f"unclear_turns must be a count, not {value!r}")
                row[name] = value
            elif name == "satisfaction":
                if value is not None and (
                    not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5
                ):
                    raise RecordError(f"satisfaction must be 1 to 5, not {value!r}")
                row[name] = value
        if row:
            self._update(call_id, row)
        return self._call(call_id)

    def add_readback(
        self,
        call_id: str,
        language: str,
        text: str,
        service_code: str | None,
        place: str | None,
        at: datetime | None = None,
    ) -> int:
        """The hotline read the request back to the caller; returns the read-back's id."""
        if not isinstance(text, str) or not text:
            raise RecordError("a read-back needs its text")
        with self._write() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO readbacks (call_id, at, language, service_code, place, text) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        call_id,
                        iso_utc(at or datetime.now(UTC)),
                        language,
                        service_code,
                        place,
                        text,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise self._integrity_error(call_id, exc) from exc
        return int(cursor.lastrowid or 0)

    def answer_readback(
        self, readback_id: int, answer: str, how: str, at: datetime | None = None
    ) -> None:
        """The caller's answer to a read-back: ``yes``, ``no`` or ``none`` (no answer), and how
        it came (``dtmf``, ``speech``, ``typed``)."""
        if answer not in ("yes", "no", "none"):
            raise RecordError(f"a read-back's answer is yes, no or none, not {answer!r}")
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE readbacks SET answer = ?, how = ?, answered_at = ? WHERE id = ?",
                (answer, how, iso_utc(at or datetime.now(UTC)), readback_id),
            )
            if cursor.rowcount == 0:
                raise RecordError(f"no read-back with id {readback_id}")

    def update_fields(self, call_id: str, **fields: str | None) -> CallRecord:
        """Set what the operator learns about the complaint: kind, category, place, urgency,
        notes, caller_language. Returns the call as now stored."""
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            raise RecordError(
                f"unknown field(s) {', '.join(unknown)}; "
                f"updatable fields are {', '.join(sorted(UPDATABLE_FIELDS))}"
            )
        values = {name: text_or_none(name, value) for name, value in fields.items()}
        if values.get("kind") is not None:
            values["kind"] = enum_value(Kind, "kind", values["kind"])
        if values:
            self._update(call_id, values)
        return self._call(call_id)

    def add_utterance(
        self,
        call_id: str,
        *,
        speaker: str,
        original: str,
        start_s: float,
        end_s: float,
        language: str | None = None,
        translation: str | None = None,
        translation_language: str | None = None,
        translated: bool | None = None,
        note: str | None = None,
        confidence: float | None = None,
        spoken_by_tts: bool = False,
        typed: bool = False,
        words: Iterable[WordTiming] = (),
        asr_final_s: float | None = None,
    ) -> int:
        """Commit one utterance now (it survives a crash from here on); returns its id.

        The original can be committed before translation runs and the translation attached
        later with ``set_translation``. ``translated`` defaults to whether a translation is
        given; ``note`` says why one is missing (e.g. "no engine for ko→es"); ``typed`` marks
        text the operator typed rather than said. Utterances may still be added after the call
        is finished, so a late final transcript is kept rather than lost. ``words`` and
        ``asr_final_s`` are on the call's clock, like ``start_s``.
        """
        who = enum_value(Speaker, "speaker", speaker)
        if not isinstance(original, str):
            raise RecordError(f"original must be text, not {type(original).__name__}")
        text_or_none("language", language)
        translated = self._check_translation(translation, translation_language, translated, note)
        if not 0 <= start_s <= end_s:
            raise RecordError(f"times must satisfy 0 <= start_s <= end_s, got {start_s}, {end_s}")
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise RecordError(f"confidence must be between 0 and 1, got {confidence}")
        try:
            cursor = self._conn.execute(
                """
                INSERT INTO utterances (call_id, speaker, language, original, translation,
                                        translation_language, translated, note, start_s, end_s,
                                        confidence, spoken_by_tts, typed, words, asr_final_s)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    call_id,
                    who,
                    language,
                    original,
                    translation,
                    translation_language,
                    translated,
                    note,
                    float(start_s),
                    float(end_s),
                    None if confidence is None else float(confidence),
                    bool(spoken_by_tts),
                    bool(typed),
                    WordTiming.to_json(words) if words else None,
                    None if asr_final_s is None else float(asr_final_s),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise self._integrity_error(call_id, exc) from exc
        return cursor.lastrowid

    def set_translation(
        self,
        utterance_id: int,
        translation: str | None,
        translation_language: str | None,
        *,
        translated: bool | None = None,
        note: str | None = None,
        spoken_by_tts: bool = False,
        engine: str | None = None,
        translated_s: float | None = None,
    ) -> None:
        """Attach the translation (or why there is none) to an utterance already committed,
        with the engine and model that made it and when (on the call's clock)."""
        translated = self._check_translation(translation, translation_language, translated, note)
        cursor = self._conn.execute(
            """
            UPDATE utterances SET translation = ?, translation_language = ?, translated = ?,
                                  note = ?, spoken_by_tts = ?, engine = ?, translated_s = ?
            WHERE id = ?
            """,
            (
                translation,
                translation_language,
                translated,
                note,
                bool(spoken_by_tts),
                engine,
                None if translated_s is None else float(translated_s),
                utterance_id,
            ),
        )
        if cursor.rowcount == 0:
            raise RecordError(f"no utterance with id {utterance_id!r}")

    def set_playback(self, utterance_id: int, start_s: float, end_s: float, cut: bool) -> None:
        """Where an utterance's synthesized translation played in the listener's ``*_heard``
        recording, and whether a barge-in stopped it."""
        if not 0 <= start_s <= end_s:
            raise RecordError(f"times must satisfy 0 <= start_s <= end_s, got {start_s}, {end_s}")
        cursor = self._conn.execute(
            "UPDATE utterances SET played_start_s = ?, played_end_s = ?, played_cut = ? "
            "WHERE id = ?",
            (float(start_s), float(end_s), bool(cut), utterance_id),
        )
        if cursor.rowcount == 0:
            raise RecordError(f"no utterance with id {utterance_id!r}")

    @staticmethod
    def _check_translation(
        translation: str | None,
        translation_language: str | None,
        translated: bool | None,
        note: str | None,
    ) -> bool:
        text_or_none("translation", translation)
        text_or_none("translation_language", translation_language)
        text_or_none("note", note)
        if translated is None:
            return translation is not None
        if translated and translation is None:
            raise RecordError("translated=True needs the translation text")
        return bool(translated)

    def add_recording(self, call_id: str, leg: str, path: str | PurePath, sample_rate: int) -> int:
        """Note where one leg of the call was recorded; ``path`` is relative to the data dir."""
        if not isinstance(leg, str) or not leg:
            raise RecordError(f"leg must be non-empty text, not {leg!r}")
        relative = PurePath(path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise RecordError(f"recording path {str(path)!r} must be relative to the data dir")
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise RecordError(f"sample_rate must be a positive int, not {sample_rate!r}")
        try:
            cursor = self._conn.execute(
                "INSERT INTO recordings (call_id, leg, path, sample_rate) VALUES (?, ?, ?, ?)",
                (call_id, leg, relative.as_posix(), sample_rate),
            )
        except sqlite3.IntegrityError as exc:
            raise self._integrity_error(call_id, exc) from exc
        return cursor.lastrowid

    def finish_call(
        self,
        call_id: str,
        status: str = Status.COMPLETED,
        ended_at: datetime | None = None,
        reason: str | None = None,
    ) -> CallRecord:
        """End the call with a final status, an end time and, where the status alone does not
        say, the reason in words; a call already ended is left as is."""
        final = enum_value(Status, "status", status)
        if final in OPEN_STATUSES:
            raise RecordError(f"finish_call needs a final status, not {str(final)!r}")
        text_or_none("reason", reason)
        ended = iso_utc(datetime.now(UTC) if ended_at is None else ended_at)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE calls SET status = ?, ended_at = ?, end_reason = ? "
                "WHERE id = ? AND ended_at IS NULL",
                (final, ended, reason, call_id),
            )
            if cursor.rowcount == 0 and not self._exists(call_id):
                raise UnknownCall(f"no call with id {call_id!r}")
        self._open_calls.discard(call_id)
        return self._call(call_id)

    def audit(
        self,
        who: str,
        action: str,
        target: str | None = None,
        detail: str | None = None,
        address: str | None = None,
    ) -> None:
        """Note an access to the records (a record read, a recording played, an export),
        committed at once like everything else here."""
        if not who or not action:
            raise RecordError("an audit entry needs who and what")
        self._conn.execute(
            "INSERT INTO audit (at, who, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
            (iso_utc(datetime.now(UTC)), who, action, target, detail, address),
        )

    def audit_log(
        self, limit: int | None = 50, who: str | None = None, target: str | None = None
    ) -> builtins.list[AuditEntry]:
        """The newest entries first, optionally only one person's or one call's."""
        clauses, params = [], []
        if who is not None:
            clauses.append("who = ?")
            params.append(who)
        if target is not None:
            clauses.append("target = ?")
            params.append(target)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._conn.execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?",
            (*params, -1 if limit is None else limit),
        ).fetchall()
        return [
            AuditEntry(
                row["id"],
                parse_time(row["at"]),
                row["who"],
                row["action"],
                row["target"],
                row["detail"],
                row["address"],
            )
            for row in rows
        ]

    def get(self, call_id_or_reference: str) -> ComplaintRecord | None:
        """The whole record by call id or by reference number (e.g. "H-20261125-0007")."""
        row = self._conn.execute(
            "SELECT * FROM calls WHERE id = ? OR reference = ?",
            (call_id_or_reference, call_id_or_reference),
        ).fetchone()
        return None if row is None else self._complaint(CallRecord._from_row(row))

    def list(
        self,
        limit: int | None = 50,
        offset: int = 0,
        status: str | None = None,
        language: str | None = None,
        since: datetime | None = None,
    ) -> builtins.list[CallRecord]:
        """Calls newest first; ``language`` matches the caller's, ``since`` the start time.

        ``limit=None`` means no limit.
        """
        if limit is not None and limit < 0 or offset < 0:
            raise RecordError(f"limit and offset must not be negative, got {limit}, {offset}")
        where, params = self._filters(status, language, since)
        rows = self._conn.execute(
            f"SELECT * FROM calls {where} ORDER BY started_at DESC, reference DESC "
            "LIMIT ? OFFSET ?",
            (*params, -1 if limit is None else limit, offset),
        ).fetchall()
        return [CallRecord._from_row(row) for row in rows]

    def export(
        self,
        fmt: Literal["json", "csv"],
        out: TextIO,
        *,
        status: str | None = None,
        language: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> int:
        """Write the matching records to ``out``; returns how many calls were written.

        JSON is a list of ``ComplaintRecord.to_dict()``; CSV has the columns in ``CSV_COLUMNS``.
        """
        if fmt not in ("json", "csv"):
            raise RecordError(f"export format must be 'json' or 'csv', not {fmt!r}")
        calls = self.list(limit=limit, status=status, language=language, since=since)
        records = (self._complaint(call) for call in calls)
        return write_json(records, out) if fmt == "json" else write_csv(records, out)

    def _filters(
        self, status: str | None, language: str | None, since: datetime | None
    ) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(enum_value(Status, "status", status))
        if language is not None:
            clauses.append("caller_language = ?")
            params.append(language)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(iso_utc(since))
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def _exists(self, call_id: str) -> bool:
        query = "SELECT 1 FROM calls WHERE id = ?"
        return self._conn.execute(query, (call_id,)).fetchone() is not None

    def _call(self, call_id: str) -> CallRecord:
        row = self._conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
        if row is None:
            raise UnknownCall(f"no call with id {call_id!r}")
        return CallRecord._from_row(row)

    def _update(self, call_id: str, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        cursor = self._conn.execute(
            f"UPDATE calls SET {assignments} WHERE id = ?", (*values.values(), call_id)
        )
        if cursor.rowcount == 0:
            raise UnknownCall(f"no call with id {call_id!r}")

    def _integrity_error(self, call_id: str, exc: sqlite3.IntegrityError) -> RecordError:
        if not self._exists(call_id):
            return UnknownCall(f"no call with id {call_id!r}")
        return RecordError(f"call {call_id}: the store refused the row ({exc})")

    def _complaint(self, call: CallRecord) -> ComplaintRecord:
        utterances = self._conn.execute(
            "SELECT * FROM utterances WHERE call_id = ? ORDER BY start_s, id", (call.id,)
        ).fetchall()
        recordings = self._conn.execute(
            "SELECT * FROM recordings WHERE call_id = ? ORDER BY id", (call.id,)
        ).fetchall()
        corrections = self._conn.execute(
            "SELECT q.* FROM qa_corrections q JOIN utterances u ON u.id = q.utterance_id "
            "WHERE u.call_id = ? ORDER BY q.id",
            (call.id,),
        ).fetchall()
        scores = self._conn.execute(
            "SELECT * FROM qa_scores WHERE call_id = ? ORDER BY id", (call.id,)
        ).fetchall()
        readbacks = self._conn.execute(
            "SELECT * FROM readbacks WHERE call_id = ? ORDER BY id", (call.id,)
        ).fetchall()
        return ComplaintRecord(
            call=call,
            readbacks=tuple(
                {
                    k: row[k]
                    for k in (
                        "at",
                        "language",
                        "service_code",
                        "place",
                        "text",
                        "answer",
                        "how",
                        "answered_at",
                    )
                }
                for row in readbacks
            ),
            corrections=tuple(
                {k: row[k] for k in ("utterance_id", "field", "text", "who", "at")}
                for row in corrections
            ),
            scores=tuple(
                {
                    "scores": json.loads(row["scores"]),
                    "notes": row["notes"],
                    "who": row["who"],
                    "at": row["at"],
                }
                for row in scores
            ),
            utterances=tuple(UtteranceRecord._from_row(row) for row in utterances),
            recordings=tuple(
                RecordingRecord(
                    id=row["id"],
                    call_id=row["call_id"],
                    leg=row["leg"],
                    path=row["path"],
                    sample_rate=row["sample_rate"],
                )
                for row in recordings
            ),
        )


T = TypeVar("T")


class AsyncRecordStore:
    """The store for the server: same methods as ``RecordStore``, as coroutines.

    One dedicated writer thread owns the connection (sqlite3 connections belong to the thread
    that made them), so the event loop never waits on the disk. Work, once submitted, finishes
    even if the awaiting task is cancelled: a caller hanging up must not lose the utterance
    being written. Open with ``await AsyncRecordStore.open(path)``.
    """

    def __init__(self, store: RecordStore, executor: ThreadPoolExecutor, thread_id: int) -> None:
        self._store = store
        self._executor = executor
        self.writer_thread_id = thread_id
        """``threading.get_ident()`` of the writer thread that does all the store's work."""

    @classmethod
    async def open(cls, path: Path, *, reference_tz: tzinfo = UTC) -> AsyncRecordStore:
        """Create the writer thread and open the ``RecordStore`` inside it."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records-writer")

        def opened() -> tuple[RecordStore, int]:
            return RecordStore(path, reference_tz=reference_tz), threading.get_ident()

        try:
            store, thread_id = await asyncio.wrap_future(executor.submit(opened))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor, thread_id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def recovered(self) -> tuple[str, ...]:
        """Ids of calls closed as 'dropped' when the store opened."""
        return self._store.recovered

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future = asyncio.wrap_future(self._executor.submit(fn, *args, **kwargs))
        return await asyncio.shield(future)

    async def with_store(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)`` on the store's own thread, for work that spans many rows
        (the retention sweep)."""
        return await self._run(fn, self._store, *args)

    async def create_call(
        self,
        caller_language: str | None,
        caller_id: str | None = None,
        channel: str = "web",
        started_at: datetime | None = None,
    ) -> CallRecord:
        return await self._run(
            self._store.create_call, caller_language, caller_id, channel, started_at
        )

    async def set_operator(
        self, call_id: str, operator: str, operator_language: str | None
    ) -> None:
        await self._run(self._store.set_operator, call_id, operator, operator_language)

    async def set_status(self, call_id: str, status: str) -> None:
        await self._run(self._store.set_status, call_id, status)

    async def set_connected(self, call_id: str, at_s: float) -> None:
        await self._run(self._store.set_connected, call_id, at_s)

    async def update_fields(self, call_id: str, **fields: str | None) -> CallRecord:
        return await self._run(self._store.update_fields, call_id, **fields)

    async def set_request(self, call_id: str, **values: Any) -> CallRecord:
        return await self._run(self._store.set_request, call_id, **values)

    async def add_readback(
        self,
        call_id: str,
        language: str,
        text: str,
        service_code: str | None,
        place: str | None,
    ) -> int:
        return await self._run(
            self._store.add_readback, call_id, language, text, service_code, place
        )

    async def answer_readback(self, readback_id: int, answer: str, how: str) -> None:
        await self._run(self._store.answer_readback, readback_id, answer, how)

    async def add_utterance(self, call_id: str, **fields: Any) -> int:
        """Same keywords as ``RecordStore.add_utterance``."""
        return await self._run(self._store.add_utterance, call_id, **fields)

    async def set_translation(
        self,
        utterance_id: int,
        translation: str | None,
        translation_language: str | None,
        **fields: Any,
    ) -> None:
        """Same keywords as ``RecordStore.set_translation``."""
        await self._run(
            self._store.set_translation, utterance_id, translation, translation_language, **fields
        )

    async def add_correction(self, utterance_id: int, field: str, text: str, who: str) -> None:
        await self._run(self._store.add_correction, utterance_id, field, text, who)

    async def add_score(self, call_id: str, scores: dict[str, int], notes: str, who: str) -> None:
        await self._run(self._store.add_score, call_id, scores, notes, who)

    async def set_playback(
        self, utterance_id: int, start_s: float, end_s: float, cut: bool
    ) -> None:
        await self._run(self._store.set_playback, utterance_id, start_s, end_s, cut)

    async def add_recording(
        self, call_id: str, leg: str, path: str | PurePath, sample_rate: int
    ) -> int:
        return await self._run(self._store.add_recording, call_id, leg, path, sample_rate)

    async def finish_call(
        self,
        call_id: str,
        status: str = Status.COMPLETED,
        ended_at: datetime | None = None,
        reason: str | None = None,
    ) -> CallRecord:
        return await self._run(self._store.finish_call, call_id, status, ended_at, reason)

    async def get(self, call_id_or_reference: str) -> ComplaintRecord | None:
        return await self._run(self._store.get, call_id_or_reference)

    async def audit(self, who: str, action: str, **fields: str | None) -> None:
        await self._run(self._store.audit, who, action, **fields)

    async def audit_log(self, **filters: Any) -> builtins.list[AuditEntry]:
        return await self._run(self._store.audit_log, **filters)

    async def list(
        self,
        limit: int | None = 50,
        offset: int = 0,
        status: str | None = None,
        language: str | None = None,
        since: datetime | None = None,
    ) -> builtins.list[CallRecord]:
        return await self._run(self._store.list, limit, offset, status, language, since)

    async def export(self, fmt: Literal["json", "csv"], out: TextIO, **filters: Any) -> int:
        """Same as ``RecordStore.export``; ``out`` is written from the writer thread."""
        return await self._run(self._store.export, fmt, out, **filters)

    async def recover_unfinished(self) -> builtins.list[str]:
        return await self._run(self._store.recover_unfinished)

    async def close(self) -> None:
        """Finish queued work, close the file and let the writer thread end."""
        try:
            await self._run(self._store.close)
        finally:
            self._executor.shutdown(wait=False)
