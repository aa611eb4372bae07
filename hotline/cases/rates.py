"""The three rates a city hotline is judged on (12345's response, resolution and
satisfaction rates) and the figures read beside them: volume per day, handle time and the
cases past their clocks. Pure functions over calls and cases; the answer is plain JSON.

Windows are half-open, ``start <= t < end``; days and ISO weeks are counted in ``start``'s
time zone. Calls are placed by when they started, cases by when they were requested.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any, Generic, TypeVar

from hotline.cases.models import Case
from hotline.records import CallRecord

__all__ = ["GROUPINGS", "NONE", "compute", "iso_week"]

NONE = "none"
"""The group of calls without a case (no agency, no service) or without a language."""

GROUPINGS = ("agency", "service", "language", "week")
"""How each rate is broken down: ``by_agency``, ``by_service``, ``by_language``,
``by_week``."""

SATISFIED = (4, 5)
"""Survey scores that count as satisfied."""


class _Response:
    """Calls answered within the target over calls that reached the queue."""

    __slots__ = ("numerator", "denominator")

    def __init__(self) -> None:
        self.numerator = self.denominator = 0

    def add(self, on_time: bool) -> None:
        self.denominator += 1
        self.numerator += on_time

    def to_dict(self) -> dict[str, Any]:
        return _ratio(self.numerator, self.denominator)


class _Resolution:
    """Cases resolved within their feedback clock over cases that are due; cases still
    inside their clock and unresolved are pending, outside both."""

    __slots__ = ("numerator", "denominator", "pending")

    def __init__(self) -> None:
        self.numerator = self.denominator = self.pending = 0

    def add(self, outcome: str) -> None:
        if outcome == "pending":
            self.pending += 1
            return
        self.denominator += 1
        self.numerator += outcome == "in_time"

    def to_dict(self) -> dict[str, Any]:
        return {**_ratio(self.numerator, self.denominator), "pending": self.pending}


class _Satisfaction:
    """Survey scores: their mean, and the share of 4 and 5."""

    __slots__ = ("scores",)

    def __init__(self) -> None:
        self.scores: list[int] = []

    def add(self, score: int) -> None:
        self.scores.append(score)

    def to_dict(self) -> dict[str, Any]:
        satisfied = sum(score in SATISFIED for score in self.scores)
        n = len(self.scores)
        return {
            **_ratio(satisfied, n),
            "n": n,
            "mean": statistics.fmean(self.scores) if n else None,
        }


class _HandleTime:
    """Seconds from the operator taking the call to its end."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)

    def to_dict(self) -> dict[str, Any]:
        n = len(self.seconds)
        return {
            "n": n,
            "median_s": statistics.median(self.seconds) if n else None,
            "mean_s": statistics.fmean(self.seconds) if n else None,
        }


T = TypeVar("T", _Response, _Resolution, _Satisfaction, _HandleTime)


class _Breakdown(Generic[T]):
    """One tally overall and one per group of each grouping."""

    def __init__(self, make: Callable[[], T], groupings: Iterable[str] = GROUPINGS) -> None:
        self.make = make
        self.overall = make()
        self.groups: dict[str, dict[str, T]] = {g: {} for g in groupings}

    def add(self, keys: dict[str, str], value: Any) -> None:
        self.overall.add(value)
        for grouping, tallies in self.groups.items():
            key = keys[grouping]
            if key not in tallies:
                tallies[key] = self.make()
            tallies[key].add(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            **{
                f"by_{grouping}": {key: tallies[key].to_dict() for key in _ordered(tallies)}
                for grouping, tallies in self.groups.items()
            },
        }


def _ratio(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": numerator / denominator if denominator else None,
    }


def _ordered(keys: Iterable[str]) -> list[str]:
    """Groups in order of their names, ``none`` last."""
    return sorted(keys, key=lambda key: (key == NONE, key))


def iso_week(moment: datetime, tz: tzinfo) -> str:
    """The ISO week of ``moment`` in ``tz``, as ``2026-W48``."""
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def compute(
    calls: list[CallRecord],
    cases: list[Case],
    *,
    answer_target_s: float,
    now: datetime,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The rates of the calls and cases in ``[start, end)``, as seen at ``now``.

    ``calls`` and ``cases`` may reach beyond the window: those outside are left out of the
    figures, but still link a call to the case filed from it, and every case given that is
    past a clock at ``now`` is listed under ``overdue``, wherever it was requested.
    Raises ValueError for a window without a time zone or that ends before it starts.
    """
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise ValueError("start, end and now must be aware datetimes")
    if end <= start:
        raise ValueError(f"the window ends ({end.isoformat()}) before it starts")
    tz = start.tzinfo

    def in_window(moment: datetime) -> bool:
        return start <= moment < end

    unique_cases = list({case.service_request_id: case for case in cases}.values())
    case_of_call = {case.call_id: case for case in unique_cases if case.call_id is not None}
    call_by_id = {call.id: call for call in calls}
    window_calls = [call for call in calls if in_window(call.started_at)]
    window_cases = [case for case in unique_cases if in_window(case.requested_at)]

    def call_keys(call: CallRecord) -> dict[str, str]:
        case = case_of_call.get(call.id)
        return {
            "agency": case.agency if case else NONE,
            "service": case.service_code if case else NONE,
            "language": call.caller_language or NONE,
            "week": iso_week(call.started_at, tz),
        }

    def case_keys(case: Case) -> dict[str, str]:
        return {
            "agency": case.agency,
            "service": case.service_code,
            "language": case.caller_language or NONE,
            "week": iso_week(case.requested_at, tz),
        }

    response = _Breakdown(_Response)
    for call in window_calls:
        if call.caller_language is None:
            continue
        on_time = call.connected_s is not None and call.connected_s <= answer_target_s
        response.add(call_keys(call), on_time)

    resolution = _Breakdown(_Resolution)
    for case in window_cases:
        resolution.add(case_keys(case), _outcome(case, now))

    satisfaction = _Breakdown(_Satisfaction)
    counted = {case.service_request_id for case in window_cases}
    for case in window_cases:
        call = call_by_id.get(case.call_id) if case.call_id else None
        score = case.satisfaction if case.satisfaction is not None else _score(call)
        if score is not None:
            satisfaction.add(case_keys(case), score)
    for call in window_calls:
        case = case_of_call.get(call.id)
        if case is not None and case.service_request_id in counted:
            continue
        score = case.satisfaction if case and case.satisfaction is not None else _score(call)
        if score is not None:
            satisfaction.add(call_keys(call), score)

    handle = _Breakdown(_HandleTime, ("language",))
    for call in window_calls:
        if call.connected_s is None or call.ended_at is None:
            continue
        seconds = (call.ended_at - call.started_at).total_seconds() - call.connected_s
        handle.add({"language": call.caller_language or NONE}, max(0.0, seconds))

    return {
        "window": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "now": now.isoformat(),
            "time_zone": str(tz),
            "answer_target_s": answer_target_s,
        },
        "totals": {"calls": len(window_calls), "cases": len(window_cases)},
        "response": response.to_dict(),
        "resolution": resolution.to_dict(),
        "satisfaction": satisfaction.to_dict(),
        "volume": _volume(window_calls, window_cases, start, end),
        "handle_time": handle.to_dict(),
        "overdue": _overdue(unique_cases, now),
    }


def _score(call: CallRecord | None) -> int | None:
    return None if call is None else call.satisfaction


def _outcome(case: Case, now: datetime) -> str:
    """``in_time`` or ``late`` once resolved (or past its feedback clock unresolved: a
    miss), ``pending`` while it is unresolved and still within the clock. A resolution
    after ``now`` has not happened yet as far as ``now`` knows."""
    resolved_at = case.resolved_at
    if resolved_at is not None and resolved_at <= now:
        return "in_time" if resolved_at <= case.feedback_due else "late"
    return "late" if now > case.feedback_due else "pending"


def _volume(
    calls: list[CallRecord], cases: list[Case], start: datetime, end: datetime
) -> dict[str, Any]:
    """Calls and cases per day, every day of the window (empty ones too)."""
    tz = start.tzinfo
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    days = {
        (first + timedelta(days=i)).isoformat(): {"calls": 0, "cases": 0}
        for i in range((last - first).days + 1)
    }
    for call in calls:
        days[call.started_at.astimezone(tz).date().isoformat()]["calls"] += 1
    for case in cases:
        days[case.requested_at.astimezone(tz).date().isoformat()]["cases"] += 1
    return {"days": [{"day": day, **counts} for day, counts in days.items()]}


def _overdue(cases: list[Case], now: datetime) -> list[dict[str, Any]]:
    """Cases past a clock at ``now``, the longest overdue first; ``due`` is the first
    clock missed (dispatch before feedback)."""
    late = []
    for case in cases:
        clocks = case.overdue(now)
        if not clocks:
            continue
        due = case.dispatch_due if "dispatch" in clocks else case.feedback_due
        late.append(
            {
                "service_request_id": case.service_request_id,
                "service_code": case.service_code,
                "agency": case.agency,
                "urgency": case.urgency,
                "status": str(case.status),
                "caller_language": case.caller_language,
                "requested_at": _iso(case.requested_at),
                "overdue": clocks,
                "due": _iso(due),
                "late_s": (now - due).total_seconds(),
            }
        )
    late.sort(key=lambda row: (-row["late_s"], row["service_request_id"]))
    return late
