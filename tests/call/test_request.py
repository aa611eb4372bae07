"""The service request forming in a call: classified from the caller's words until the
operator sets it, emergencies raised once per kind the moment they are said, the place
taken from the words, and yes or no heard in every prompt language."""

from __future__ import annotations

import pytest

from hotline.call.request import CallRequest, yes_or_no
from hotline.cases import load_catalogue
from hotline.config import CasesConfig


class LogSpy:
    """What the request writes to the call's record."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fields: list[dict] = []

    async def request(self, **values) -> None:
        self.requests.append(values)

    async def update_fields(self, **fields) -> None:
        self.fields.append(fields)


def a_request(caller: str = "es", operator: str = "en") -> tuple[CallRequest, LogSpy]:
    spy = LogSpy()
    settings = CasesConfig(emergency_numbers={"fire": "119"})
    return CallRequest("c1", spy, load_catalogue(), settings, caller, operator), spy  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        ("yes", "en", "yes"),
        ("Yes, that's right.", "en", "yes"),
        ("no it is on oak street", "en", "no"),
        ("sí", "es", "yes"),
        ("Si, correcto", "es", "yes"),
        ("No, es la calle Mayor", "es", "no"),
        ("네 맞아요", "ko", "yes"),
        ("아니요", "ko", "no"),
        ("是的", "zh", "yes"),
        ("不是", "zh", "no"),
        ("oui", "fr", "yes"),
        ("sí, és correcte", "ca", "yes"),
        ("the lamp is broken", "en", None),
        ("nobody came", "en", None),
    ],
)
def test_yes_or_no_is_heard_at_the_start_of_an_answer(text, language, answer):
    assert yes_or_no(text, language) == answer


async def test_the_callers_words_are_classified_and_the_place_found():
    request, spy = a_request()
    out = await request.heard(
        "La farola de la calle Mayor 5 está rota.", "The street lamp of Mayor Street 5 is broken."
    )
    (draft,) = out
    assert draft.service_code == "street_light" and draft.place == "calle Mayor 5"
    assert draft.classification["by"] == "classifier" and draft.classification["language"] == "es"
    assert draft.service_name == "Street light out" and draft.agency
    assert spy.requests[-1]["service_code"] == "street_light"
    assert await request.heard("Gracias.", "Thank you.") == [], "nothing changed: nothing sent"


async def test_the_operators_choice_stands_against_the_classifier():
    request, spy = a_request()
    await request.heard("La farola está rota.", "The lamp is broken.")
    draft = await request.operator_set("parks", "Parque del Oeste")
    assert (draft.service_code, draft.place) == ("parks", "Parque del Oeste")
    assert draft.classification["by"] == "operator"
    assert draft.classification["classified"] == "street_light"
    assert spy.fields == [{"place": "Parque del Oeste"}]
    await request.heard("Hay mucho ruido por la noche.", "There is a lot of noise at night.")
    assert request.service_code == "parks"
    with pytest.raises(ValueError, match="catalogue"):
        await request.operator_set("teleport", None)


async def test_an_emergency_alerts_once_per_kind_with_the_citys_numbers():
    request, spy = a_request("en", "es")
    out = await request.heard("There is smoke and fire in the stairwell.", "Hay humo y fuego.")
    alert = out[0]
    assert alert.kinds == ["fire"] and alert.numbers == {"fire": "119"}
    assert spy.requests[0] == {"emergency": True}
    again = await request.heard("The fire is spreading.", "El fuego se extiende.")
    assert not [m for m in again if type(m).__name__ == "EmergencyAlert"]
    more = await request.heard("Someone is hurt and not breathing.", "Alguien está herido.")
    (medical,) = [m for m in more if type(m).__name__ == "EmergencyAlert"]
    assert medical.kinds == ["fire", "medical"]
    assert request.draft().urgency == "emergency"
    handled = await request.emergency_handled("transferred")
    assert handled.action == "transferred"
    assert spy.requests[-1] == {"emergency": True, "emergency_action": "transferred"}


async def test_an_emergency_in_a_language_the_detector_lacks_is_caught_in_its_translation():
    request, _ = a_request("fr", "en")
    out = await request.heard("Il y a un incendie!", "There is a fire!")
    assert out and out[0].kinds == ["fire"]
