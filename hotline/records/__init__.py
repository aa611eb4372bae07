"""Complaint records: every call, what was said on both sides, and its recordings, kept in one
SQLite file and written as the call happens.

``models`` is what a record holds, ``schema`` the file's migrations, ``store`` the store
itself (``RecordStore`` for commands, ``AsyncRecordStore`` for the server), ``export`` the
JSON and CSV writers. This package imports only the wire vocabulary; the call writes to it
through ``hotline.call.log.CallLog``.
"""

from __future__ import annotations

from hotline.records.export import CSV_COLUMNS
from hotline.records.models import (
    AuditEntry,
    CallRecord,
    ComplaintRecord,
    Kind,
    PhoneNumberFilter,
    RecordError,
    RecordingRecord,
    Speaker,
    Status,
    UnknownCall,
    UtteranceRecord,
    WordTiming,
    mask_phone,
    mask_phones_in,
)
from hotline.records.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from hotline.records.store import DEFAULT_FILENAME, AsyncRecordStore, RecordStore

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AsyncRecordStore",
    "AuditEntry",
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
    "WordTiming",
    "PhoneNumberFilter",
    "mask_phone",
    "mask_phones_in",
    "migrate",
]
