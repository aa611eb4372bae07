"""Cases beside the call records: filed from a call, moved through the workflow with a
history, linked when two calls (in any languages) are about the same place and service,
and flagged when they run past their clocks. The clock is the test's own, never a sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.cases import CaseError, CaseStatus, load_catalogue
from hotline.cases.followup import place_key
from hotline.cases.store import CaseStore
from hotline.records import RecordStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def records(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        yield store


@pytest.fixture
def cases(records, clock) -> CaseStore:
    return CaseStore(records, load_catalogue(), now=clock)


def a_call(
    records: RecordStore,
    said: list[tuple[str, str]],
    *,
    language: str,
    operator_language: str = "en",
    at: datetime = T0,
    **request,
) -> str:
    """A finished call in which the caller said ``said`` ([(original, translation)])."""
    call = records.create_call(language, "+34 600 123 456", "web", started_at=at)
    records.set_operator(call.id, "ana", operator_language)
    records.set_connected(call.id, 4.0)
    for i, (original, translation) in enumerate(said):
        records.add_utterance(
            call.id,
            speaker="caller",
            original=original,
            language=language,
            translation=translation,
            translation_language=operator_language,
            translated=True,
            start_s=5.0 + 4 * i,
            end_s=8.0 + 4 * i,
        )
    if request:
        records.set_request(call.id, **request)
    records.finish_call(call.id, ended_at=at + timedelta(minutes=3))
    return call.id


def test_a_call_becomes_a_case_with_its_service_place_and_both_languages(records, cases):
    call = a_call(
        records,
        [
            (
                "La farola de la calle Mayor 5 está rota.",
                "The street lamp of Mayor Street 5 is broken.",
            )
        ],
        language="es",
        service_code="street_light",
        readback_confirmed=True,
    )
    case = cases.file_from_call(call)
    assert case is not None
    assert case.service_code == "street_light"
    assert case.agency == "Department of Transportation"
    assert case.place == "calle Mayor 5"
    assert case.caller_language == "es" and case.translated_language == "en"
    assert "farola" in case.description and "street lamp" in case.description_translated
    assert case.status == CaseStatus.OPEN and case.readback_confirmed is True
    assert case.service_request_id == records.get(call).call.reference
    assert case.dispatch_due == case.requested_at + timedelta(hours=24)
    assert case.feedback_due == case.requested_at + timedelta(days=7)
    assert [h.status for h in case.history] == [CaseStatus.OPEN]
    assert "read back and confirmed" in case.history[0].note
    assert cases.file_from_call(call) == case, "filed once"


def test_utilities_and_emergencies_run_on_shorter_clocks(records, cases):
    water = cases.file_from_call(
        a_call(records, [("no water", "no water")], language="en", service_code="water")
    )
    fire = cases.file_from_call(
        a_call(
            records,
            [("smoke in the hallway", "smoke in the hallway")],
            language="en",
            service_code="housing",
            emergency=True,
            emergency_action="transferred",
        )
    )
    assert water.urgency == "utility" and water.dispatch_due - water.requested_at == timedelta(
        hours=2
    )
    assert fire.urgency == "emergency" and fire.dispatch_due - fire.requested_at == timedelta(
        hours=1
    )
    assert fire.emergency and fire.emergency_action == "transferred"


def test_a_case_past_its_dispatch_deadline_is_flagged_and_a_resolved_one_is_not(
    records, cases, clock
):
    late = cases.post("pothole", "Hole in the road", "en", who="api", place="5 Main Street")
    done = cases.post("noise", "Loud music", "en", who="api", place="Elm Street")
    clock.advance(hours=1)
    cases.move(done.service_request_id, "resolved", "ana", "The party was stopped.")
    clock.advance(hours=24)
    now = clock()
    assert cases.get(late.service_request_id).overdue(now) == ["dispatch"]
    assert cases.get(done.service_request_id).overdue(now) == []
    overdue = cases.list(overdue_at=now)
    assert [c.service_request_id for c in overdue] == [late.service_request_id]
    clock.advance(days=7)
    assert cases.get(late.service_request_id).overdue(clock()) == ["dispatch", "feedback"]
    cases.dispatch(late.service_request_id, "ana")
    assert cases.get(late.service_request_id).overdue(clock()) == ["feedback"]


def test_every_change_keeps_who_when_and_a_note_and_only_allowed_moves_are_made(cases, clock):
    case = cases.post("street_light", "Lamp out", "en", who="api", place="Oak Street")
    clock.advance(minutes=30)
    cases.dispatch(case.service_request_id, "ana", note="crew 7")
    clock.advance(hours=2)
    cases.move(case.service_request_id, "in_progress", "dot-crew")
    with pytest.raises(CaseError, match="can become"):
        cases.move(case.service_request_id, "open", "ana")
    cases.move(case.service_request_id, "resolved", "dot-crew", "Lamp replaced.")
    closed = cases.move(case.service_request_id, "closed", "ana")
    assert [(h.who, h.status) for h in closed.history] == [
        ("api", "open"),
        ("ana", "dispatched"),
        ("dot-crew", "in_progress"),
        ("dot-crew", "resolved"),
        ("ana", "closed"),
    ]
    assert closed.history[1].note == "to Department of Transportation: crew 7"
    assert closed.history[1].at == T0 + timedelta(minutes=30)
    assert closed.dispatched_at == T0 + timedelta(minutes=30)
    with pytest.raises(CaseError, match="closed"):
        cases.move(case.service_request_id, "resolved", "ana")
    with pytest.raises(CaseError, match="unknown status"):
        cases.move(case.service_request_id, "done", "ana")


def test_a_resolved_case_has_a_follow_up_in_the_callers_language(records, cases):
    call = a_call(
        records,
        [("가로등이 고장났어요 세종대로에서", "The street light is broken in Sejong-daero")],
        language="ko",
        service_code="street_light",
    )
    case = cases.file_from_call(call)
    resolved = cases.move(case.service_request_id, "resolved", "dot-crew", "Lamp replaced.")
    assert resolved.follow_up.startswith(f"접수 번호 {case.service_request_id} (가로등 고장")
    assert "처리되었습니다" in resolved.follow_up and "Lamp replaced." in resolved.follow_up


def test_calls_about_the_same_place_and_service_are_linked_across_languages(records, cases, clock):
    first = cases.file_from_call(
        a_call(
            records,
            [("La farola de la calle Mayor 5 está rota.", "The street lamp is broken.")],
            language="es",
            service_code="street_light",
        )
    )
    clock.advance(hours=5)
    second = cases.file_from_call(
        a_call(
            records,
            [("The street light at 5 Mayor Street is out.", "La farola está apagada.")],
            language="en",
            operator_language="es",
            at=T0 + timedelta(hours=5),
            service_code="street_light",
        )
    )
    elsewhere = cases.post("street_light", "Lamp out", "en", who="api", place="Oak Street")
    other_service = cases.post("pothole", "Hole", "en", who="api", place="calle Mayor 5")
    assert second.duplicate_of == first.service_request_id
    assert elsewhere.duplicate_of is None and other_service.duplicate_of is None
    clock.advance(days=4)
    later = cases.post("street_light", "Still out", "en", who="api", place="Mayor Street 5")
    assert later.duplicate_of is None, "outside the window it is a new problem"


def test_place_keys_drop_the_word_for_street_in_every_language():
    assert place_key("Calle Mayor 5") == place_key("5 Mayor Street") == place_key("mayor st 5")
    assert place_key("Carrer Major") != place_key("Calle Mayor")
    assert place_key("人民路") == place_key("人民路") and place_key("人民路") != place_key("长安街")
    assert place_key(None) is None


def test_the_operator_corrects_the_service_and_the_agency_and_clocks_follow(cases):
    case = cases.post("noise", "No heating in flat 3", "en", who="api", place="Elm Street")
    fixed = cases.reclassify(case.service_request_id, "heating", "ana")
    assert fixed.service_code == "heating" and fixed.agency == "Department of Housing"
    assert fixed.dispatch_due - fixed.requested_at == timedelta(hours=2)
    assert fixed.classification["by"] == "operator"
    assert fixed.history[-1].note == "service noise → heating"


def test_open_and_closed_are_open311s_two_statuses(cases, clock):
    a = cases.post("noise", "a", "en", who="api", place="A Street")
    b = cases.post("noise", "b", "en", who="api", place="B Street")
    cases.move(b.service_request_id, "resolved", "ana", "done")
    assert [c.service_request_id for c in cases.list(statuses=["open"])] == [a.service_request_id]
    assert [c.service_request_id for c in cases.list(statuses=["closed"])] == [b.service_request_id]
    with pytest.raises(CaseError):
        cases.post("no_such_service", "x", "en", who="api")


def test_a_silent_call_files_nothing(records, cases):
    assert cases.file_from_call(a_call(records, [], language="en")) is None
