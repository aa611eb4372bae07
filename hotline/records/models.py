"""What a complaint record holds, as the store returns it: a call, what was said in order,
and where it was recorded. Timestamps are aware UTC datetimes."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hotline.wire.vocabulary import RECORD_FIELDS, Kind, Speaker, Status

__all__ = [
    "AuditEntry",
    "EMERGENCY_ACTIONS",
    "FINAL_STATUSES",
    "REQUEST_FIELDS",
    "OPEN_STATUSES",
    "UPDATABLE_FIELDS",
    "CallRecord",
    "ComplaintRecord",
    "Kind",
    "RecordError",
    "RecordingRecord",
    "Speaker",
    "Status",
    "UnknownCall",
    "UtteranceRecord",
    "WordTiming",
    "PhoneNumberFilter",
    "mask_phone",
    "mask_phones_in",
]


class RecordError(Exception):
    """A record operation was given a value the store cannot keep (bad field, kind, status...)."""


class UnknownCall(RecordError):
    """No call has the given id (or reference)."""


OPEN_STATUSES = frozenset({Status.QUEUED, Status.ACTIVE})
FINAL_STATUSES = frozenset(Status) - OPEN_STATUSES


REQUEST_FIELDS = frozenset(
    {
        "service_code",
        "classification",
        "emergency",
        "emergency_action",
        "readback_confirmed",
        "satisfaction",
        "unclear_turns",
        "interpreter_needed",
    }
)
"""What the call learns about the service request it will become."""

EMERGENCY_ACTIONS = ("transferred", "told")
"""What the operator did about an emergency: transferred the caller to the emergency
numbers, or told them to call."""

UPDATABLE_FIELDS = frozenset({*RECORD_FIELDS, "caller_language"})
"""What may change on a call after it is created: the operator's fields and the language
chosen at the menu."""


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


_PHONE_IN_TEXT = re.compile(
    r"(?:\+|%2[bB])\d[\d ()-]{5,18}\d"  # international: a plus (or %2B in a URL) and digits
    r"|(?<![\w.:/-])\d{7,15}(?![\w.:/-])"  # or a bare run of 7-15 digits
)


def mask_phones_in(text: str) -> str:
    """Every phone number in free text masked the way records mask it."""
    return _PHONE_IN_TEXT.sub(
        lambda m: mask_phone(m.group(0).replace("%2B", "+").replace("%2b", "+")), text
    )


class PhoneNumberFilter(logging.Filter):
    """Masks phone numbers in every log line, whatever logged it: records keep only the
    last four digits of a caller's number, and logs keep no more than records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise RecordError(f"timestamp {moment!r} has no time zone; give an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


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
    end_reason: str | None = None
    connected_s: float | None = None
    """When caller and operator were connected, in seconds on the call's clock."""
    legal_hold: bool = False
    """Kept whole past the retention period."""
    recordings_deleted_at: datetime | None = None
    """When the retention period took the recordings (the transcript stays)."""
    service_code: str | None = None
    """The catalogue service the call is about, as classified or as the operator set it."""
    classification: dict[str, Any] | None = None
    emergency: bool = False
    emergency_action: str | None = None
    readback_confirmed: bool | None = None
    satisfaction: int | None = None
    unclear_turns: int = 0
    """Turns marked unclear (low recognition confidence, a poor translation round trip)."""
    interpreter_needed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "channel": self.channel,
            "status": str(self.status),
            "started_at": iso_utc(self.started_at),
            "ended_at": None if self.ended_at is None else iso_utc(self.ended_at),
            "end_reason": self.end_reason,
            "connected_s": self.connected_s,
            "legal_hold": self.legal_hold,
            "recordings_deleted_at": iso_utc(self.recordings_deleted_at)
            if self.recordings_deleted_at
            else None,
            "caller_id_masked": self.caller_id_masked,
            "caller_language": self.caller_language,
            "operator": self.operator,
            "operator_language": self.operator_language,
            "kind": None if self.kind is None else str(self.kind),
            "category": self.category,
            "place": self.place,
            "urgency": self.urgency,
            "notes": self.notes,
            "service_code": self.service_code,
            "classification": self.classification,
            "emergency": self.emergency,
            "emergency_action": self.emergency_action,
            "readback_confirmed": self.readback_confirmed,
            "satisfaction": self.satisfaction,
            "unclear_turns": self.unclear_turns,
            "interpreter_needed": self.interpreter_needed,
        }

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> CallRecord:
        return cls(
            id=row["id"],
            reference=row["reference"],
            channel=row["channel"],
            status=Status(row["status"]),
            started_at=parse_time(row["started_at"]),
            ended_at=parse_time(row["ended_at"]),
            end_reason=row["end_reason"],
            connected_s=row["connected_s"],
            legal_hold=bool(row["legal_hold"]),
            recordings_deleted_at=parse_time(row["recordings_deleted_at"]),
            caller_id_masked=row["caller_id_masked"],
            caller_language=row["caller_language"],
            operator=row["operator"],
            operator_language=row["operator_language"],
            kind=None if row["kind"] is None else Kind(row["kind"]),
            category=row["category"],
            place=row["place"],
            urgency=row["urgency"],
            notes=row["notes"],
            service_code=row["service_code"],
            classification=json.loads(row["classification"]) if row["classification"] else None,
            emergency=bool(row["emergency"]),
            emergency_action=row["emergency_action"],
            readback_confirmed=None
            if row["readback_confirmed"] is None
            else bool(row["readback_confirmed"]),
            satisfaction=row["satisfaction"],
            unclear_turns=row["unclear_turns"],
            interpreter_needed=bool(row["interpreter_needed"]),
        )


@dataclass(slots=True, frozen=True)
class WordTiming:
    """One recognized word: seconds from the start of the call, and the recognizer's
    confidence."""

    word: str
    start_s: float
    end_s: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "confidence": self.confidence,
        }

    @classmethod
    def to_json(cls, words: Iterable[WordTiming]) -> str:
        return json.dumps([[w.word, w.start_s, w.end_s, w.confidence] for w in words])

    @classmethod
    def from_json(cls, text: str | None) -> tuple[WordTiming, ...]:
        if not text:
            return ()
        return tuple(cls(str(w), float(s), float(e), float(c)) for w, s, e, c in json.loads(text))


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
    words: tuple[WordTiming, ...] = ()
    """The recognizer's words, on the call's clock."""
    engine: str | None = None
    """The engine and model that made the translation (``apertium eng-spa``)."""
    asr_final_s: float | None = None
    """When the final transcript was ready (the end of speech is ``end_s``)."""
    translated_s: float | None = None
    played_start_s: float | None = None
    """Where the synthesized translation played in the listener's ``*_heard`` recording."""
    played_end_s: float | None = None
    played_cut: bool | None = None
    """Whether a barge-in stopped that playback before its end."""

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
            "words": [word.to_dict() for word in self.words],
            "engine": self.engine,
            "asr_final_s": self.asr_final_s,
            "translated_s": self.translated_s,
            "played_start_s": self.played_start_s,
            "played_end_s": self.played_end_s,
            "played_cut": self.played_cut,
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
            words=WordTiming.from_json(row["words"]),
            engine=row["engine"],
            asr_final_s=row["asr_final_s"],
            translated_s=row["translated_s"],
            played_start_s=row["played_start_s"],
            played_end_s=row["played_end_s"],
            played_cut=None if row["played_cut"] is None else bool(row["played_cut"]),
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
class AuditEntry:
    """One access to the records: who (an account, or ``user@cli``), what, which call."""

    id: int
    at: datetime
    who: str
    action: str
    target: str | None
    detail: str | None
    address: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_utc(self.at),
            "who": self.who,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "address": self.address,
        }


@dataclass(slots=True, frozen=True)
class ComplaintRecord:
    """A whole complaint record: the call, what was said in order, and its recordings."""

    call: CallRecord
    utterances: tuple[UtteranceRecord, ...]
    recordings: tuple[RecordingRecord, ...]
    corrections: tuple[dict[str, Any], ...] = ()
    """QA reviewers' corrections: utterance_id, field, text, who, at (newest last)."""
    scores: tuple[dict[str, Any], ...] = ()
    """QA reviewers' scores of the call: scores, notes, who, at."""
    readbacks: tuple[dict[str, Any], ...] = ()
    """What the hotline read back to the caller and the answer: at, language, service_code,
    place, text, answer (yes, no, none), how (dtmf, speech, typed), answered_at."""

    def corrected(self, utterance_id: int, field: str) -> str | None:
        """The latest correction of an utterance's ``original`` or ``translation``."""
        found = [
            c["text"]
            for c in self.corrections
            if c["utterance_id"] == utterance_id and c["field"] == field
        ]
        return found[-1] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.call.to_dict(),
            "utterances": [u.to_dict() for u in self.utterances],
            "recordings": [r.to_dict() for r in self.recordings],
            "qa_corrections": list(self.corrections),
            "qa_scores": list(self.scores),
            "readbacks": list(self.readbacks),
        }


def text_or_none(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"{name} must be text or None, not {type(value).__name__}")


def enum_value(enum: type[StrEnum], name: str, value: object) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(str(v)) for v in enum)
        raise RecordError(f"{name} {value!r} is not one of {allowed}") from None
