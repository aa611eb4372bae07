"""The three rates and the figures beside them, on a hand-built fortnight of calls and cases
whose every number is worked out below."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.cases.catalogue import CLOCKS
from hotline.cases.models import Case, CaseStatus
from hotline.cases.rates import compute
from hotline.records import CallRecord, Status

START = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday: ISO week 48
END = datetime(2026, 12, 7, tzinfo=UTC)  # two weeks later, not included
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
TARGET_S = 30.0

AGENCIES = {
    "street_light": "Department of Transportation",
    "pothole": "Department of Transportation",
    "water": "Water Authority",
    "noise": "Department of Environmental Protection",
}
URGENCY = {"water": "utility"}


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


def call(
    call_id: str,
    language: str | None,
    started: datetime,
    connected_s: float | None,
    seconds: float,
    satisfaction: int | None = None,
) -> CallRecord:
    return CallRecord(
        id=call_id,
        reference=f"H-{call_id}",
        channel="web",
        status=Status.COMPLETED if connected_s is not None else Status.DROPPED,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        caller_id_masked=None,
        caller_language=language,
        operator="ana" if connected_s is not None else None,
        operator_language="es" if connected_s is not None else None,
        kind=None,
        category=None,
        place=None,
        urgency=None,
        notes=None,
        connected_s=connected_s,
        satisfaction=satisfaction,
    )


def case(
    request_id: str,
    code: str,
    language: str,
    requested: datetime,
    status: CaseStatus = CaseStatus.OPEN,
    resolved: datetime | None = None,
    of_call: CallRecord | None = None,
    satisfaction: int | None = None,
) -> Case:
    urgency = URGENCY.get(code, "standard")
    clock = CLOCKS[urgency]
    return Case(
        service_request_id=request_id,
        service_code=code,
        agency=AGENCIES[code],
        urgency=urgency,
        status=status,
        channel="web" if of_call else "open311",
        caller_language=language,
        description="",
        description_translated=None,
        translated_language=None,
        requested_at=requested,
        updated_at=resolved or requested,
        dispatch_due=requested + clock.dispatch,
        feedback_due=requested + clock.feedback,
        call_id=of_call.id if of_call else None,
        satisfaction=satisfaction,
        resolved_at=resolved,
    )


def sample() -> tuple[list[CallRecord], list[Case]]:
    """Six calls and one call before the window; five cases in it and one long before."""
    c1 = call("c1", "en", at("2026-11-23"), 10, 300, satisfaction=5)  # on time, handled 290 s
    c2 = call("c2", "en", at("2026-11-24", "10:00"), 45, 180)  # late, handled 135 s
    c5 = call("c5", "zh", at("2026-11-24", "11:00"), 5, 600, satisfaction=1)  # handled 595 s
    c6 = call("c6", None, at("2026-11-24", "12:00"), None, 20)  # hung up at the menu
    c3 = call("c3", "es", at("2026-12-03"), 20, 240, satisfaction=4)  # handled 220 s
    c4 = call("c4", "es", at("2026-12-03", "10:00"), None, 60)  # never answered
    c7 = call("c7", "en", at("2026-11-22"), 10, 100, satisfaction=1)  # before the window
    cases = [
        # resolved two days after the request: within the 7-day clock
        case("K1", "street_light", "en", c1.ended_at, CaseStatus.RESOLVED, at("2026-11-25"), c1),
        # water runs on the 24-hour clock: resolved after two days, late
        case("K2", "water", "en", c2.ended_at, CaseStatus.RESOLVED, at("2026-11-26"), c2),
        # dispatched, unresolved, 7-day clock still running at NOW: pending
        case("K3", "noise", "es", c3.ended_at, CaseStatus.DISPATCHED, of_call=c3),
        # never dispatched nor resolved, clock ran out on 1 December: a miss, and overdue;
        # its own survey answer (2) wins over the call's (1)
        case("K4", "pothole", "zh", c5.ended_at, of_call=c5, satisfaction=2),
        # posted through Open311, resolved within its clock, surveyed 3
        case(
            "K5", "pothole", "fr", at("2026-12-02"), CaseStatus.RESOLVED, at("2026-12-05"), None, 3
        ),
        # requested before the window, still open: overdue, yet outside the rates
        case("K6", "noise", "en", at("2026-11-10")),
    ]
    return [c1, c2, c3, c4, c5, c6, c7], cases


@pytest.fixture
def rates() -> dict:
    calls, cases = sample()
    return compute(calls, cases, answer_target_s=TARGET_S, now=NOW, start=START, end=END)


def ratio(numerator: int, denominator: int, **extra) -> dict:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": numerator / denominator if denominator else None,
        **extra,
    }


def test_response_rate_counts_calls_answered_within_the_target_among_those_queued(rates):
    response = rates["response"]
    assert response["overall"] == ratio(3, 5)
    assert response["by_language"] == {"en": ratio(1, 2), "es": ratio(1, 2), "zh": ratio(1, 1)}
    assert response["by_week"] == {"2026-W48": ratio(2, 3), "2026-W49": ratio(1, 2)}
    assert response["by_agency"] == {
        "Department of Environmental Protection": ratio(1, 1),
        "Department of Transportation": ratio(2, 2),
        "Water Authority": ratio(0, 1),
        "none": ratio(0, 1),
    }
    assert response["by_service"] == {
        "noise": ratio(1, 1),
        "pothole": ratio(1, 1),
        "street_light": ratio(1, 1),
        "water": ratio(0, 1),
        "none": ratio(0, 1),
    }
    assert list(response["by_agency"])[-1] == "none", "calls without a case come last"


def test_a_call_answered_exactly_at_the_target_is_on_time():
    calls = [call("a", "en", at("2026-11-23"), TARGET_S, 60)]
    rates = compute(calls, [], answer_target_s=TARGET_S, now=NOW, start=START, end=END)
    assert rates["response"]["overall"] == ratio(1, 1)


def test_resolution_rate_leaves_pending_cases_out_and_counts_overdue_ones_as_misses(rates):
    resolution = rates["resolution"]
    assert resolution["overall"] == ratio(2, 4, pending=1)
    assert resolution["by_language"] == {
        "en": ratio(1, 2, pending=0),
        "es": ratio(0, 0, pending=1),
        "fr": ratio(1, 1, pending=0),
        "zh": ratio(0, 1, pending=0),
    }
    assert resolution["by_language"]["es"]["rate"] is None
    assert resolution["by_agency"] == {
        "Department of Environmental Protection": ratio(0, 0, pending=1),
        "Department of Transportation": ratio(2, 3, pending=0),
        "Water Authority": ratio(0, 1, pending=0),
    }
    assert resolution["by_service"]["pothole"] == ratio(1, 2, pending=0)
    assert resolution["by_week"] == {
        "2026-W48": ratio(1, 3, pending=0),
        "2026-W49": ratio(1, 1, pending=1),
    }


def test_a_resolution_after_now_has_not_happened_yet():
    requested = at("2026-11-23")
    later = case("L", "noise", "en", requested, CaseStatus.RESOLVED, requested + timedelta(days=2))
    rates = compute(
        [],
        [later],
        answer_target_s=TARGET_S,
        now=requested + timedelta(days=1),
        start=START,
        end=END,
    )
    assert rates["resolution"]["overall"] == ratio(0, 0, pending=1)


def test_satisfaction_takes_the_case_survey_before_the_call_survey(rates):
    satisfaction = rates["satisfaction"]
    # K1: 5 (from its call), K3: 4 (from its call), K4: 2 (its own, not the call's 1), K5: 3
    assert satisfaction["overall"] == ratio(2, 4, n=4, mean=3.5)
    assert satisfaction["by_language"] == {
        "en": ratio(1, 1, n=1, mean=5.0),
        "es": ratio(1, 1, n=1, mean=4.0),
        "fr": ratio(0, 1, n=1, mean=3.0),
        "zh": ratio(0, 1, n=1, mean=2.0),
    }
    assert satisfaction["by_agency"]["Department of Transportation"] == ratio(
        1, 3, n=3, mean=pytest.approx(10 / 3)
    )


def test_a_surveyed_call_without_a_case_counts_under_none():
    calls = [call("a", "ko", at("2026-11-23"), 5, 60, satisfaction=4)]
    rates = compute(calls, [], answer_target_s=TARGET_S, now=NOW, start=START, end=END)
    assert rates["satisfaction"]["by_agency"] == {"none": ratio(1, 1, n=1, mean=4.0)}
    assert rates["satisfaction"]["by_language"] == {"ko": ratio(1, 1, n=1, mean=4.0)}


def test_handle_time_runs_from_the_operator_taking_the_call_to_its_end(rates):
    handle = rates["handle_time"]
    # answered: 290, 135, 595 and 220 s; c4 was never answered, c6 never queued
    assert handle["overall"] == {"n": 4, "median_s": 255.0, "mean_s": 310.0}
    assert handle["by_language"] == {
        "en": {"n": 2, "median_s": 212.5, "mean_s": 212.5},
        "es": {"n": 1, "median_s": 220.0, "mean_s": 220.0},
        "zh": {"n": 1, "median_s": 595.0, "mean_s": 595.0},
    }


def test_volume_has_every_day_of_the_window(rates):
    days = rates["volume"]["days"]
    assert [d["day"] for d in days] == [
        (START + timedelta(days=i)).date().isoformat() for i in range(14)
    ]
    busy = {d["day"]: (d["calls"], d["cases"]) for d in days if d["calls"] or d["cases"]}
    assert busy == {
        "2026-11-23": (1, 1),
        "2026-11-24": (3, 2),
        "2026-12-02": (0, 1),
        "2026-12-03": (2, 1),
    }
    assert rates["totals"] == {"calls": 6, "cases": 5}


def test_overdue_lists_every_case_past_a_clock_now_the_longest_first(rates):
    overdue = rates["overdue"]
    assert [(o["service_request_id"], o["overdue"]) for o in overdue] == [
        ("K6", ["dispatch", "feedback"]),
        ("K4", ["dispatch", "feedback"]),
    ]
    k4 = overdue[1]
    assert (k4["service_code"], k4["agency"]) == ("pothole", "Department of Transportation")
    assert k4["due"] == (at("2026-11-24", "11:10") + timedelta(hours=24)).isoformat()
    assert k4["late_s"] == (NOW - at("2026-11-25", "11:10")).total_seconds()


def test_the_answer_is_plain_json(rates):
    assert json.loads(json.dumps(rates)) == rates
    assert rates["window"] == {
        "start": START.isoformat(),
        "end": END.isoformat(),
        "now": NOW.isoformat(),
        "time_zone": "UTC",
        "answer_target_s": TARGET_S,
    }


def test_days_and_weeks_are_counted_in_the_window_time_zone():
    beijing = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 11, 23, tzinfo=beijing)
    # 16:30 UTC on Sunday 29 November is 00:30 on Monday 30 November in Beijing
    late = call("a", "zh", datetime(2026, 11, 29, 16, 30, tzinfo=UTC), 5, 60)
    rates = compute(
        [late], [], answer_target_s=TARGET_S, now=NOW, start=start, end=start + timedelta(days=14)
    )
    assert rates["response"]["by_week"] == {"2026-W49": ratio(1, 1)}
    assert [d["day"] for d in rates["volume"]["days"] if d["calls"]] == ["2026-11-30"]


def test_a_window_needs_a_time_zone_and_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="aware"):
        compute([], [], answer_target_s=30, now=NOW, start=START.replace(tzinfo=None), end=END)
    with pytest.raises(ValueError, match="before it starts"):
        compute([], [], answer_target_s=30, now=NOW, start=END, end=START)
