"""Complaint records: every call, its utterances and its recordings, kept in one SQLite file.

The store writes as the call happens, not at hang-up: each utterance is committed the moment it
is added, so a crash of the server loses nothing that was already added. The file is opened in
WAL mode with ``synchronous=FULL``: every commit is fsynced, so an added utterance survives a
power cut as well as a killed process. Writes come at the pace of speech (a few a second per
call), so the cost of one fsync per commit is small next to losing part of a public record.

``RecordStore`` is the synchronous core (used by the CLI). ``AsyncRecordStore`` gives the server
the same methods as coroutines, run on one dedicated writer thread that owns the connection.

Call status is a TEXT column with a CHECK of the known set (``Status``):

- ``queued``: waiting for an operator;
- ``active``: connected to an operator;
- ``completed``: ended normally;
- ``dropped``: cut off (hang-up mid-call, lost connection, or a crashed server);
- ``busy``: rejected because the queue was full, still recorded.

``queued`` and ``active`` are the open statuses: a call has no end time exactly while it is in one
of them (the table enforces this). Adding a status (for example one that QA sets) is a schema
migration: append one to ``MIGRATIONS`` that rebuilds the ``calls`` table with the wider CHECK.
"""

from __future__ import annotations

import asyncio
import builtins
import csv
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any, Literal, Self, TextIO, TypeVar
from uuid import uuid4

try:
    import fcntl
except ImportError:
    fcntl = None

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AsyncRecordStore",
    "CallRecord",
    "ComplaintRecord",
    "Kind",
    "RecordError",
    "RecordStore",
    "RecordingRecord",
    "Speaker",
    "Status",
    "UnknownCall",
    "UtteranceRecord",
    "mask_phone",
    "migrate",
]

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "hotline.sqlite3"
REFERENCE_PREFIX = "H"


class RecordError(Exception):
    """A record operation was given a value the store cannot keep (bad field, kind, status...)."""


class UnknownCall(RecordError):
    """No call has the given id (or reference)."""


class Status(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETED = "completed"
    DROPPED = "dropped"
    BUSY = "busy"


OPEN_STATUSES = frozenset({Status.QUEUED, Status.ACTIVE})
FINAL_STATUSES = frozenset(Status) - OPEN_STATUSES


class Kind(StrEnum):
    CONSULTATION = "consultation"
    HELP_REQUEST = "help_request"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class Speaker(StrEnum):
    CALLER = "caller"
    OPERATOR = "operator"
    SYSTEM = "system"


UPDATABLE_FIELDS = frozenset({"kind", "category", "place", "urgency", "notes", "caller_language"})


def mask_phone(raw: str) -> str:
    """Keep only what an operator needs to tell callers apart: the last four digits.

    A leading '+' is kept, separators are dropped, every other digit becomes '*'. A number of
    four digits or fewer is masked whole; a caller id with no digits (``anonymous``,
    ``client:alice``) gives ``""``, since it is not a phone number and may still name someone.
    """
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return ""
    plus = "+" if raw.strip().startswith("+") else ""
    if len(digits) <= 4:
        return plus + "*" * len(digits)
    return plus + "*" * (len(digits) - 4) + digits[-4:]


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise RecordError(f"timestamp {moment!r} has no time zone; give an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _sql_in(values: frozenset[str] | type[StrEnum]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(str(v) for v in values))


@dataclass(slots=True, frozen=True)
class CallRecord:
    """One call's own fields, as stored; timestamps are aware UTC datetimes."""

    id: str
    reference: str
    channel: str
    status: Status
    started_at: datetime
    ended_at: datetime | None
    caller_id_masked: str | None
    caller_language: str | None
    operator: str | None
    operator_language: str | None
    kind: Kind | None
    category: str | None
    place: str | None
    urgency: str | None
    notes: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "channel": self.channel,
            "status": str(self.status),
            "started_at": _iso(self.started_at),
            "ended_at": None if self.ended_at is None else _iso(self.ended_at),
            "caller_id_masked": self.caller_id_masked,
            "caller_language": self.caller_language,
            "operator": self.operator,
            "operator_language": self.operator_language,
            "kind": None if self.kind is None else str(self.kind),
            "category": self.category,
            "place": self.place,
            "urgency": self.urgency,
            "notes": self.notes,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> CallRecord:
        return cls(
            id=row["id"],
            reference=row["reference"],
            channel=row["channel"],
            status=Status(row["status"]),
            started_at=_parse_time(row["started_at"]),
            ended_at=_parse_time(row["ended_at"]),
            caller_id_masked=row["caller_id_masked"],
            caller_language=row["caller_language"],
            operator=row["operator"],
            operator_language=row["operator_language"],
            kind=None if row["kind"] is None else Kind(row["kind"]),
            category=row["category"],
            place=row["place"],
            urgency=row["urgency"],
            notes=row["notes"],
        )


@dataclass(slots=True, frozen=True)
class UtteranceRecord:
    """One thing said in a call; start_s and end_s are seconds from the start of the call."""

    id: int
    call_id: str
    speaker: Speaker
    language: str | None
    original: str
    translation: str | None
    translation_language: str | None
    translated: bool
    note: str | None
    start_s: float
    end_s: float
    confidence: float | None
    spoken_by_tts: bool
    typed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "speaker": str(self.speaker),
            "language": self.language,
            "original": self.original,
            "translation": self.translation,
            "translation_language": self.translation_language,
            "translated": self.translated,
            "note": self.note,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "confidence": self.confidence,
            "spoken_by_tts": self.spoken_by_tts,
            "typed": self.typed,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> UtteranceRecord:
        return cls(
            id=row["id"],
            call_id=row["call_id"],
            speaker=Speaker(row["speaker"]),
            language=row["language"],
            original=row["original"],
            translation=row["translation"],
            translation_language=row["translation_language"],
            translated=bool(row["translated"]),
            note=row["note"],
            start_s=row["start_s"],
            end_s=row["end_s"],
            confidence=row["confidence"],
            spoken_by_tts=bool(row["spoken_by_tts"]),
            typed=bool(row["typed"]),
        )


@dataclass(slots=True, frozen=True)
class RecordingRecord:
    """One recorded audio leg; path is relative to the data directory."""

    id: int
    call_id: str
    leg: str
    path: str
    sample_rate: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "leg": self.leg,
            "path": self.path,
            "sample_rate": self.sample_rate,
        }


@dataclass(slots=True, frozen=True)
class ComplaintRecord:
    """A whole complaint record: the call, what was said in order, and its recordings."""

    call: CallRecord
    utterances: tuple[UtteranceRecord, ...]
    recordings: tuple[RecordingRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.call.to_dict(),
            "utterances": [u.to_dict() for u in self.utterances],
            "recordings": [r.to_dict() for r in self.recordings],
        }


def _schema_v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"""
        CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            ref_day TEXT NOT NULL,
            ref_seq INTEGER NOT NULL CHECK (ref_seq > 0),
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({_sql_in(Status)})),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            caller_id_masked TEXT,
            caller_language TEXT,
            operator TEXT,
            operator_language TEXT,
            kind TEXT CHECK (kind IS NULL OR kind IN ({_sql_in(Kind)})),
            category TEXT,
            place TEXT,
            urgency TEXT,
            notes TEXT,
            UNIQUE (ref_day, ref_seq),
            CHECK ((ended_at IS NULL) = (status IN ({_sql_in(OPEN_STATUSES)})))
        )
        """
    )
    conn.execute("CREATE INDEX calls_started_at ON calls (started_at)")
    conn.execute("CREATE INDEX calls_status ON calls (status)")
    conn.execute(
        f"""
        CREATE TABLE utterances (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id),
            speaker TEXT NOT NULL CHECK (speaker IN ({_sql_in(Speaker)})),
            language TEXT,
            original TEXT NOT NULL,
            translation TEXT,
            translation_language TEXT,
            translated INTEGER NOT NULL CHECK (translated IN (0, 1)),
            note TEXT,
            start_s REAL NOT NULL CHECK (start_s >= 0),
            end_s REAL NOT NULL CHECK (end_s >= start_s),
            confidence REAL CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
            spoken_by_tts INTEGER NOT NULL CHECK (spoken_by_tts IN (0, 1)),
            typed INTEGER NOT NULL CHECK (typed IN (0, 1))
        )
        """
    )
    conn.execute("CREATE INDEX utterances_call ON utterances (call_id, start_s, id)")
    conn.execute(
        """
        CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id),
            leg TEXT NOT NULL CHECK (leg <> ''),
            path TEXT NOT NULL CHECK (path <> ''),
            sample_rate INTEGER NOT NULL CHECK (sample_rate > 0)
        )
        """
    )
    conn.execute("CREATE INDEX recordings_call ON recordings (call_id, id)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_schema_v1,)
"""Migration i takes the file from schema version i to i + 1 (PRAGMA user_version)."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file up to SCHEMA_VERSION, one committed step per version; returns the version.

    The version is read again inside each write transaction, so two processes opening a new
    file at once do not both create the tables.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RecordError(
                    f"records file has schema version {version}, newer than this program's "
                    f"{SCHEMA_VERSION}; upgrade hotline"
                )
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return version
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _use_wal(conn: sqlite3.Connection, path: Path, timeout: float) -> None:
    """Switch the file to WAL, retrying while another opener holds it.

    SQLite does not call the busy handler for this switch, so stores opening a new file at
    the same moment would otherwise fail with "database is locked".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        if mode != "wal":
            raise RecordError(f"{path}: SQLite would not use WAL mode here (it chose {mode!r})")
        return


def _text_or_none(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"{name} must be text or None, not {type(value).__name__}")


def _enum_value(enum: type[StrEnum], name: str, value: object) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(str(v)) for v in enum)
        raise RecordError(f"{name} {value!r} is not one of {allowed}") from None


CSV_COLUMNS: tuple[str, ...] = (
    "reference",
    "call_id",
    "channel",
    "status",
    "started_at",
    "ended_at",
    "caller_id_masked",
    "caller_language",
    "operator",
    "operator_language",
    "kind",
    "category",
    "place",
    "urgency",
    "notes",
    "utterance_id",
    "speaker",
    "language",
    "original",
    "translation",
    "translation_language",
    "translated",
    "note",
    "start_s",
    "end_s",
    "confidence",
    "spoken_by_tts",
    "typed",
)
"""CSV export columns: the call's fields, then one utterance's (``utterance_id`` is its id).

There is one row per utterance; a call with none (a busy call, say) has one row with the
utterance columns empty. Booleans are ``true``/``false``; empty means None. Recordings are only
in the JSON export.
"""


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_calls: set[str] = set()
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            self._conn.row_factory = sqlite3.Row
            _use_wal(self._conn, self.path, timeout=10.0)
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
        """Close as 'dropped' the calls a crashed process left open; returns their ids.

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
            ended = _parse_time(row["started_at"]) + timedelta(seconds=row["last_s"] or 0)
            conn.execute(
                "UPDATE calls SET status = ?, ended_at = ? WHERE id = ?",
                (Status.DROPPED, _iso(ended), row["id"]),
            )
            recovered.append(row["id"])
            log.warning(
                "call recovered as dropped call_id=%s reference=%s", row["id"], row["reference"]
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
        _text_or_none("caller_language", caller_language)
        _text_or_none("caller_id", caller_id)
        if not isinstance(channel, str) or not channel:
            raise RecordError(f"channel must be non-empty text, not {channel!r}")
        started = datetime.now(UTC) if started_at is None else started_at
        started_iso = _iso(started)
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
        _text_or_none("operator_language", operator_language)
        self._update(call_id, {"operator": operator, "operator_language": operator_language})

    def set_status(self, call_id: str, status: str) -> None:
        """Move a call between statuses without ending it (or re-mark a finished one).

        An open call takes 'queued' or 'active'; ending it is ``finish_call``'s job, which also
        sets the end time. A finished call takes only final statuses.
        """
        new = _enum_value(Status, "status", status)
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

    def update_fields(self, call_id: str, **fields: str | None) -> CallRecord:
        """Set what the operator learns about the complaint: kind, category, place, urgency,
        notes, caller_language. Returns the call as now stored."""
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            raise RecordError(
                f"unknown field(s) {', '.join(unknown)}; "
                f"updatable fields are {', '.join(sorted(UPDATABLE_FIELDS))}"
            )
        values = {name: _text_or_none(name, value) for name, value in fields.items()}
        if values.get("kind") is not None:
            values["kind"] = _enum_value(Kind, "kind", values["kind"])
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
    ) -> int:
        """Commit one utterance now (it survives a crash from here on); returns its id.

        The original can be committed before translation runs and the translation attached
        later with ``set_translation``. ``translated`` defaults to whether a translation is
        given; ``note`` says why one is missing (e.g. "no engine for ko→es"); ``typed`` marks
        text the operator typed rather than said. Utterances may still be added after the call
        is finished, so a late final transcript is kept rather than lost.
        """
        who = _enum_value(Speaker, "speaker", speaker)
        if not isinstance(original, str):
            raise RecordError(f"original must be text, not {type(original).__name__}")
        _text_or_none("language", language)
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
                                        confidence, spoken_by_tts, typed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
    ) -> None:
        """Attach the translation (or why there is none) to an utterance already committed."""
        translated = self._check_translation(translation, translation_language, translated, note)
        cursor = self._conn.execute(
            """
            UPDATE utterances SET translation = ?, translation_language = ?, translated = ?,
                                  note = ?, spoken_by_tts = ?
            WHERE id = ?
            """,
            (
                translation,
                translation_language,
                translated,
                note,
                bool(spoken_by_tts),
                utterance_id,
            ),
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
        _text_or_none("translation", translation)
        _text_or_none("translation_language", translation_language)
        _text_or_none("note", note)
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
        self, call_id: str, status: str = Status.COMPLETED, ended_at: datetime | None = None
    ) -> CallRecord:
        """End the call with a final status and end time; a call already ended is left as is."""
        final = _enum_value(Status, "status", status)
        if final in OPEN_STATUSES:
            raise RecordError(f"finish_call needs a final status, not {str(final)!r}")
        ended = _iso(datetime.now(UTC) if ended_at is None else ended_at)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE calls SET status = ?, ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (final, ended, call_id),
            )
            if cursor.rowcount == 0 and not self._exists(call_id):
                raise UnknownCall(f"no call with id {call_id!r}")
        self._open_calls.discard(call_id)
        return self._call(call_id)

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
        if fmt == "json":
            out.write("[")
            for i, call in enumerate(calls):
                out.write(",\n" if i else "\n")
                out.write(json.dumps(self._complaint(call).to_dict(), ensure_ascii=False))
            out.write("\n]\n" if calls else "]\n")
            return len(calls)
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for call in calls:
            call_fields = call.to_dict()
            call_fields["call_id"] = call_fields.pop("id")
            utterances = self._complaint(call).utterances
            if not utterances:
                writer.writerow(_csv_row(call_fields))
            for utterance in utterances:
                fields = utterance.to_dict()
                fields["utterance_id"] = fields.pop("id")
                del fields["call_id"]
                writer.writerow(_csv_row({**call_fields, **fields}))
        return len(calls)

    def _filters(
        self, status: str | None, language: str | None, since: datetime | None
    ) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(_enum_value(Status, "status", status))
        if language is not None:
            clauses.append("caller_language = ?")
            params.append(language)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(_iso(since))
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
        return ComplaintRecord(
            call=call,
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


def _csv_row(fields: dict[str, Any]) -> dict[str, str]:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: cell(fields.get(name)) for name in CSV_COLUMNS}


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

    async def update_fields(self, call_id: str, **fields: str | None) -> CallRecord:
        return await self._run(self._store.update_fields, call_id, **fields)

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

    async def add_recording(
        self, call_id: str, leg: str, path: str | PurePath, sample_rate: int
    ) -> int:
        return await self._run(self._store.add_recording, call_id, leg, path, sample_rate)

    async def finish_call(
        self, call_id: str, status: str = Status.COMPLETED, ended_at: datetime | None = None
    ) -> CallRecord:
        return await self._run(self._store.finish_call, call_id, status, ended_at)

    async def get(self, call_id_or_reference: str) -> ComplaintRecord | None:
        return await self._run(self._store.get, call_id_or_reference)

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
