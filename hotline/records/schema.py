"""The records file's schema and its migrations, numbered by ``PRAGMA user_version``.

Each migration is frozen once released: it spells out the values its CHECK constraints
allow rather than reading today's enums, so a file made by any version migrates the same
way. Adding a status or a kind is a new migration that rebuilds the table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from hotline.records.models import RecordError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "use_wal"]

V1_STATUSES = ("active", "busy", "completed", "dropped", "queued")
V1_OPEN_STATUSES = ("active", "queued")
V1_KINDS = ("complaint", "consultation", "help_request", "report", "suggestion")
V1_SPEAKERS = ("caller", "operator", "system")


def _sql_in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _schema_v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"""
        CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            ref_day TEXT NOT NULL,
            ref_seq INTEGER NOT NULL CHECK (ref_seq > 0),
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({_sql_in(V1_STATUSES)})),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            caller_id_masked TEXT,
            caller_language TEXT,
            operator TEXT,
            operator_language TEXT,
            kind TEXT CHECK (kind IS NULL OR kind IN ({_sql_in(V1_KINDS)})),
            category TEXT,
            place TEXT,
            urgency TEXT,
            notes TEXT,
            UNIQUE (ref_day, ref_seq),
            CHECK ((ended_at IS NULL) = (status IN ({_sql_in(V1_OPEN_STATUSES)})))
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
            speaker TEXT NOT NULL CHECK (speaker IN ({_sql_in(V1_SPEAKERS)})),
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


def _end_reason_v2(conn: sqlite3.Connection) -> None:
    """Why a call ended, in words, where its status alone does not say (one-way audio on a
    phone line, a call recovered after the server stopped)."""
    conn.execute("ALTER TABLE calls ADD COLUMN end_reason TEXT")


def _audit_v3(conn: sqlite3.Connection) -> None:
    """Who looked at which record, recording or export, when, from where."""
    conn.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL CHECK (who <> ''),
            action TEXT NOT NULL CHECK (action <> ''),
            target TEXT,
            detail TEXT,
            address TEXT
        )
        """
    )
    conn.execute("CREATE INDEX audit_at ON audit (at)")


V4_STATUSES = (*V1_STATUSES, "interrupted")


def _interrupted_v4(conn: sqlite3.Connection) -> None:
    """A status of its own for calls the server's stop cut short (they were ``dropped``
    with an end reason): the calls table is rebuilt with the wider CHECK, the SQLite way
    (foreign keys are off for the whole migration, see :func:`migrate`)."""
    conn.execute(
        f"""
        CREATE TABLE calls_v4 (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            ref_day TEXT NOT NULL,
            ref_seq INTEGER NOT NULL CHECK (ref_seq > 0),
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({_sql_in(V4_STATUSES)})),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            caller_id_masked TEXT,
            caller_language TEXT,
            operator TEXT,
            operator_language TEXT,
            kind TEXT CHECK (kind IS NULL OR kind IN ({_sql_in(V1_KINDS)})),
            category TEXT,
            place TEXT,
            urgency TEXT,
            notes TEXT,
            end_reason TEXT,
            UNIQUE (ref_day, ref_seq),
            CHECK ((ended_at IS NULL) = (status IN ({_sql_in(V1_OPEN_STATUSES)})))
        )
        """
    )
    columns = (
        "id, reference, ref_day, ref_seq, channel, status, started_at, ended_at, "
        "caller_id_masked, caller_language, operator, operator_language, kind, category, "
        "place, urgency, notes, end_reason"
    )
    conn.execute(f"INSERT INTO calls_v4 ({columns}) SELECT {columns} FROM calls")
    conn.execute(
        "UPDATE calls_v4 SET status = 'interrupted' WHERE status = 'dropped' "
        "AND end_reason LIKE 'the server stopped during the call%'"
    )
    conn.execute("DROP TABLE calls")
    conn.execute("ALTER TABLE calls_v4 RENAME TO calls")
    conn.execute("CREATE INDEX calls_started_at ON calls (started_at)")
    conn.execute("CREATE INDEX calls_status ON calls (status)")


def _timeline_v5(conn: sqlite3.Connection) -> None:
    """Each utterance on the call's clock, stage by stage, for QA: the recognizer's words with
    their times and confidences (JSON), the engine and model that translated it, when the
    final transcript and the translation were ready, and where its synthesized speech played
    in the listener's ``*_heard`` recording (cut short by a barge-in or not)."""
    for column in (
        "words TEXT",
        "engine TEXT",
        "asr_final_s REAL",
        "translated_s REAL",
        "played_start_s REAL",
        "played_end_s REAL CHECK (played_end_s IS NULL OR played_end_s >= played_start_s)",
        "played_cut INTEGER CHECK (played_cut IS NULL OR played_cut IN (0, 1))",
    ):
        conn.execute(f"ALTER TABLE utterances ADD COLUMN {column}")
    # When the two parties were connected, on the call's clock: from there on both legs
    # were recognized (a replay hears them from the same instant).
    conn.execute("ALTER TABLE calls ADD COLUMN connected_s REAL CHECK (connected_s >= 0)")


def _retention_v6(conn: sqlite3.Connection) -> None:
    """Recordings are deleted past the retention period unless the call is on legal hold;
    the record says when they went."""
    conn.execute(
        "ALTER TABLE calls ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0 "
        "CHECK (legal_hold IN (0, 1))"
    )
    conn.execute("ALTER TABLE calls ADD COLUMN recordings_deleted_at TEXT")


def _qa_v7(conn: sqlite3.Connection) -> None:
    """QA reviewers' corrections (references for scoring; the utterance itself stays as it
    was) and their scores of whole calls (five items, 1-5 each, as JSON)."""
    conn.execute(
        """
        CREATE TABLE qa_corrections (
            id INTEGER PRIMARY KEY,
            utterance_id INTEGER NOT NULL REFERENCES utterances (id),
            field TEXT NOT NULL CHECK (field IN ('original', 'translation')),
            text TEXT NOT NULL,
            who TEXT NOT NULL CHECK (who <> ''),
            at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX qa_corrections_utterance ON qa_corrections (utterance_id, id)")
    conn.execute(
        """
        CREATE TABLE qa_scores (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id),
            scores TEXT NOT NULL,
            notes TEXT NOT NULL,
            who TEXT NOT NULL CHECK (who <> ''),
            at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX qa_scores_call ON qa_scores (call_id, id)")


V8_CASE_STATUSES = ("open", "dispatched", "in_progress", "resolved", "closed")


def _cases_v8(conn: sqlite3.Connection) -> None:
    """From call to case. The call keeps what was learned during it (the service it is
    about and how that was classified, an emergency and what was done, the read-back's
    answer, the survey); a case is the service request filed from it (or posted through
    Open311), with its status history. Plain SQL types only (TEXT times in ISO 8601 UTC,
    INTEGER flags), so the same tables fit PostgreSQL."""
    for column in (
        "service_code TEXT",
        "classification TEXT",
        "emergency INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1))",
        "emergency_action TEXT",
        "readback_confirmed INTEGER CHECK (readback_confirmed IS NULL OR readback_confirmed IN (0, 1))",
        "satisfaction INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5)",
    ):
        conn.execute(f"ALTER TABLE calls ADD COLUMN {column}")
    conn.execute(
        """
        CREATE TABLE readbacks (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls (id),
            at TEXT NOT NULL,
            language TEXT NOT NULL,
            service_code TEXT,
            place TEXT,
            text TEXT NOT NULL,
            answer TEXT CHECK (answer IS NULL OR answer IN ('yes', 'no', 'none')),
            how TEXT,
            answered_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX readbacks_call ON readbacks (call_id, id)")
    conn.execute(
        f"""
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            service_request_id TEXT NOT NULL UNIQUE,
            call_id TEXT UNIQUE REFERENCES calls (id),
            channel TEXT NOT NULL,
            service_code TEXT NOT NULL,
            agency TEXT NOT NULL,
            urgency TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({_sql_in(V8_CASE_STATUSES)})),
            caller_language TEXT NOT NULL,
            description TEXT NOT NULL,
            description_translated TEXT,
            translated_language TEXT,
            place TEXT,
            place_key TEXT,
            lat REAL,
            long REAL,
            emergency INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
            emergency_action TEXT,
            classification TEXT NOT NULL DEFAULT '{{}}',
            readback_confirmed INTEGER,
            satisfaction INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5),
            duplicate_of TEXT,
            requested_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            dispatch_due TEXT NOT NULL,
            feedback_due TEXT NOT NULL,
            dispatched_at TEXT,
            resolved_at TEXT,
            closed_at TEXT,
            follow_up TEXT,
            contact TEXT NOT NULL DEFAULT '{{}}'
        )
        """
    )
    conn.execute("CREATE INDEX cases_requested_at ON cases (requested_at)")
    conn.execute("CREATE INDEX cases_same_place ON cases (service_code, place_key, requested_at)")
    conn.execute(
        f"""
        CREATE TABLE case_history (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            at TEXT NOT NULL,
            who TEXT NOT NULL CHECK (who <> ''),
            status TEXT NOT NULL CHECK (status IN ({_sql_in(V8_CASE_STATUSES)})),
            note TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX case_history_case ON case_history (case_id, id)")


def _unclear_v9(conn: sqlite3.Connection) -> None:
    """How many turns of a call were unclear (low recognition confidence or a translation
    that did not survive its round trip), and whether it was flagged for a human
    interpreter."""
    conn.execute(
        "ALTER TABLE calls ADD COLUMN unclear_turns INTEGER NOT NULL DEFAULT 0 "
        "CHECK (unclear_turns >= 0)"
    )
    conn.execute(
        "ALTER TABLE calls ADD COLUMN interpreter_needed INTEGER NOT NULL DEFAULT 0 "
        "CHECK (interpreter_needed IN (0, 1))"
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _schema_v1,
    _end_reason_v2,
    _audit_v3,
    _interrupted_v4,
    _timeline_v5,
    _retention_v6,
    _qa_v7,
    _cases_v8,
    _unclear_v9,
)
"""Migration i takes the file from schema version i to i + 1 (PRAGMA user_version)."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file up to SCHEMA_VERSION, one committed step per version; returns the version.

    The version is read again inside each write transaction, so two processes opening a new
    file at once do not both create the tables. Foreign keys are off while a step runs (a
    table rebuild drops the parent table) and each step is checked before it commits.
    """
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        return _migrate(conn)
    finally:
        conn.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")


def _migrate(conn: sqlite3.Connection) -> int:
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
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RecordError(f"migration {version + 1} broke foreign keys: {broken[:3]}")
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def use_wal(conn: sqlite3.Connection, path: Path, timeout: float) -> None:
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
