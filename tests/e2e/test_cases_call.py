"""From call to case on a real server: a Spanish caller reports a broken street light, the
hotline reads the request back and the caller confirms by key, answers the survey, and the
call ends as an Open311 service request in both languages. Emergencies are raised live."""

from __future__ import annotations

import asyncio
import json

from hotline.cases.store import CaseStore
from hotline.clients.client import CallerClient
from hotline.records import RecordStore
from hotline.wire.messages import EmergencyAction, Hangup, ReadBackNow, RequestUpdate
from tests.conftest import sign_in_operator, url
from tests.server.test_open311 import get

RATE = 16000
SAID = "La farola de la calle Mayor 5 está rota desde el lunes."


def records(server) -> RecordStore:
    return RecordStore(server.data_dir / "hotline.sqlite3")


def with_survey(config) -> None:
    config.cases.survey = True


async def test_a_spanish_call_about_a_street_light_ends_as_an_open311_request(start_server):
    server = await start_server(configure=with_survey)
    operator = await sign_in_operator(server, "ana", ["en"])
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("es")
    reference = ready["reference"]
    await caller.connected()
    draft = await operator.wait_for(lambda m: m["type"] == "request")
    assert draft.get("service_code") is None and len(draft["services"]) == 13

    await caller.type_text(SAID)
    draft = await operator.wait_for(
        lambda m: m["type"] == "request" and m.get("service_code") is not None, timeout=30
    )
    assert draft["service_code"] == "street_light", draft
    assert draft["classification"]["by"] == "classifier"
    assert draft["classification"]["language"] == "es"
    assert draft["place"] == "calle Mayor 5"
    assert draft["service_name"] == "Street light out" and draft["urgency"] == "standard"

    await operator.send(ReadBackNow())
    asked = await caller.wait_for(lambda m: m["type"] == "read_back", timeout=20)
    assert asked.get("answer") is None and asked["language"] == "es"
    assert "Farola apagada" in asked["text"] and "calle Mayor 5" in asked["text"]
    await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "readback")
    await caller.dtmf("1")
    answered = await operator.wait_for(
        lambda m: m["type"] == "read_back" and m.get("answer") is not None, timeout=20
    )
    assert (answered["answer"], answered["how"]) == ("yes", "dtmf")
    await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "readback_yes")

    await operator.send(Hangup())
    survey = await caller.wait_for(lambda m: m["type"] == "survey", timeout=20)
    assert survey["scale"] == 5 and "1" in survey["text"]
    await caller.dtmf("4")
    await caller.wait_for(lambda m: m["type"] == "ended", timeout=30)
    await caller.close()
    await operator.close()

    with records(server) as store:
        record = store.get(reference)
        assert record.call.readback_confirmed is True and record.call.satisfaction == 4
        (readback,) = record.readbacks
        assert (readback["answer"], readback["how"], readback["language"]) == ("yes", "dtmf", "es")
        case = CaseStore(store, server.catalogue).get(reference)
    assert case is not None, "the call was filed as a service request"

    status, _, body = await get(server, f"/open311/v2/requests/{reference}.json")
    assert status == 200
    (request,) = json.loads(body)
    assert request["service_code"] == "street_light"
    assert request["address"] == "calle Mayor 5"
    assert request["description"] == SAID
    extended = request["extended_attributes"]
    assert extended["caller_language"] == "es" and extended["translated_language"] == "en"
    assert "street" in extended["description_translated"].lower()
    assert extended["satisfaction"] == 4
    assert case.readback_confirmed is True
    assert "read back and confirmed (dtmf)" in case.history[0].note
    assert [link.rsplit("=", 1)[1] for link in extended["recordings"]] == [
        "caller_in",
        "caller_heard",
        "operator_in",
        "operator_heard",
    ]


async def test_words_of_danger_raise_an_alert_at_once_and_the_case_runs_on_the_emergency_clock(
    start_server,
):
    def numbers(config) -> None:
        config.cases.emergency_numbers = {"fire": "119", "ambulance": "120"}
        config.cases.survey = True

    server = await start_server(configure=numbers)
    operator = await sign_in_operator(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    await caller.type_text("There is smoke and fire in the stairwell at 12 Oak Street.")
    alert = await operator.wait_for(lambda m: m["type"] == "emergency", timeout=20)
    assert alert["kinds"] == ["fire"] and alert["numbers"] == {"fire": "119", "ambulance": "120"}
    assert any("fire" in word.lower() for word in alert["words"])
    await operator.send(EmergencyAction("transferred"))
    recorded = await operator.wait_for(
        lambda m: m["type"] == "emergency" and m.get("action") == "transferred"
    )
    assert recorded["kinds"] == ["fire"]
    await operator.send(RequestUpdate(service_code="housing"))
    draft = await operator.wait_for(
        lambda m: m["type"] == "request" and m["classification"].get("by") == "operator"
    )
    assert draft["urgency"] == "emergency" and draft["emergency"] is True
    await operator.send(Hangup())
    await caller.wait_for(lambda m: m["type"] == "survey", timeout=20)
    await caller.hangup()
    await caller.close()
    await operator.close()
    for _ in range(50):
        with records(server) as store:
            case = CaseStore(store, server.catalogue).get(ready["reference"])
        if case is not None:
            break
        await asyncio.sleep(0.1)
    assert case is not None
    assert case.emergency and case.urgency == "emergency" and case.service_code == "housing"
    assert case.emergency_action == "transferred"
    assert (case.dispatch_due - case.requested_at).total_seconds() == 3600
