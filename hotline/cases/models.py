"""What a case is: a service request filed from a call (or posted through Open311), its
status and history, and the clocks it runs against. Times are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Case", "CaseError", "CaseStatus", "HistoryLine", "UnknownCase"]


class CaseError(Exception):
    """A case operation was given something the workflow does not allow."""


class UnknownCase(CaseError):
    """No case has that service request id."""


class CaseStatus(StrEnum):
    OPEN = "open"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


DONE_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})
"""A case in these has had its feedback: its clocks have stopped, Open311 says ``closed``."""


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: datetime
    who: str
    status: CaseStatus
    note: str = ""


@dataclass(slots=True)
class Case:
    service_request_id: str
    service_code: str
    agency: str
    urgency: str
    """The clock class: ``emergency``, ``utility``, ``standard`` or ``complex``."""
    status: CaseStatus
    channel: str
    """How it came in: the call's channel (``web``, ``twilio``, ``audiosocket``, ``sip``) or
    ``open311``."""
    caller_language: str
    description: str
    """In the caller's language: what the caller said (or posted)."""
    description_translated: str | None
    translated_language: str | None
    requested_at: datetime
    updated_at: datetime
    dispatch_due: datetime
    feedback_due: datetime
    place: str | None = None
    lat: float | None = None
    long: float | None = None
    call_id: str | None = None
    call_reference: str | None = None
    emergency: bool = False
    emergency_action: str | None = None
    """``transferred`` or ``told`` (told to call the emergency numbers), once recorded."""
    classification: dict[str, Any] = field(default_factory=dict)
    """How the service code was chosen: ``by`` (``classifier``, ``operator``, ``api``),
    ``code``, ``confidence``, ``candidates`` [[code, p], ...], ``language`` of the text."""
    readback_confirmed: bool | None = None
    satisfaction: int | None = None
    duplicate_of: str | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    follow_up: str | None = None
    """The message to the caller once resolved, in the caller's language."""
    contact: dict[str, str] = field(default_factory=dict)
    history: list[HistoryLine] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES

    def overdue(self, now: datetime) -> list[str]:
        """Which clocks this case has run past at ``now``: ``dispatch`` while it waits for an
        agency, ``feedback`` until it is resolved."""
        late = []
        if self.status == CaseStatus.OPEN and now > self.dispatch_due:
            late.append("dispatch")
        if not self.done and now > self.feedback_due:
            late.append("feedback")
        return late

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        out = {
            "service_request_id": self.service_request_id,
            "service_code": self.service_code,
            "agency": self.agency,
            "urgency": self.urgency,
            "status": str(self.status),
            "channel": self.channel,
            "caller_language": self.caller_language,
            "description": self.description,
            "description_translated": self.description_translated,
            "translated_language": self.translated_language,
            "place": self.place,
            "lat": self.lat,
            "long": self.long,
            "call_id": self.call_id,
            "call_reference": self.call_reference,
            "emergency": self.emergency,
            "emergency_action": self.emergency_action,
            "classification": self.classification,
            "readback_confirmed": self.readback_confirmed,
            "satisfaction": self.satisfaction,
            "duplicate_of": self.duplicate_of,
            "requested_at": iso(self.requested_at),
            "updated_at": iso(self.updated_at),
            "dispatch_due": iso(self.dispatch_due),
            "feedback_due": iso(self.feedback_due),
            "dispatched_at": iso(self.dispatched_at),
            "resolved_at": iso(self.resolved_at),
            "closed_at": iso(self.closed_at),
            "follow_up": self.follow_up,
            "history": [
                {"at": iso(h.at), "who": h.who, "status": str(h.status), "note": h.note}
                for h in self.history
            ],
        }
        if now is not None:
            out["overdue"] = self.overdue(now)
        return out
