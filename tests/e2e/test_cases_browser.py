"""The service request on the pages, in real headless Chromium against a real server with the
real engines: the caller page's read-back keys and satisfaction survey, and the console's
service request panel, read-back and emergency alert."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.clients.client import CallerClient
from hotline.records import ComplaintRecord, RecordStore
from telephony import write_wav
from tests.conftest import sign_in_operator, silence, url
from tests.e2e import test_browser as pages

async_api = pytest.importorskip("playwright.async_api")
expect = async_api.expect

browsers = pages.browsers
"""The fixture of test_browser.py: ``await browsers(name, wav=None)`` → a headless page."""

WAIT_MS = 30_000
"""For what waits on the engines (translation, classification) on a busy machine."""
FIRE = "There is smoke and fire in the building at 12 Oak Street"

pytestmark = pytest.mark.skipif(
    not Path(pages.CHROMIUM).exists(), reason="Chromium is not installed (./run test installs it)"
)


async def record_when(
    server, reference: str, ready: Callable[[ComplaintRecord], bool], timeout_s: float = 30
) -> ComplaintRecord:
    """The call's record once ``ready`` holds for it (the server writes it as things happen)."""

    def read() -> ComplaintRecord | None:
        with RecordStore(server.data_dir / "hotline.sqlite3") as store:
            return store.get(reference)

    async with asyncio.timeout(timeout_s):
        while (record := await asyncio.to_thread(read)) is None or not ready(record):
            await asyncio.sleep(0.2)
    return record


def with_survey(config) -> None:
    config.cases.survey = True


async def open_console(server, browsers, name: str, languages: list[str]):
    """An operator's console, signed in and waiting for calls."""
    await pages.add_operator(server, name, languages)
    console = await browsers("console")
    await pages.sign_in(console, server, name, pages.PASSWORD)
    await expect(console.locator("#desk")).to_be_visible()
    return console


async def accept_on_console(console, language_name: str) -> str:
    """The console takes the waiting call (the A shortcut); returns its reference."""
    await console.locator("#queue li", has_text=language_name).wait_for()
    await console.keyboard.press("a")
    await expect(console.locator("#request-form")).to_be_visible()
    return await console.inner_text("#call-reference")


async def console_in_call(server, browsers, name: str) -> tuple[object, CallerClient, str]:
    """A Spanish-speaking operator's console that has accepted an English caller (a Python
    client); returns the page, the caller and the call's reference."""
    console = await open_console(server, browsers, name, ["es"])
    caller = CallerClient(url(server, "/call"))
    ready = await caller.call("en")
    reference = await accept_on_console(console, "English")
    await caller.connected()
    assert reference == ready["reference"]
    return console, caller, reference


def page_errors(*tabs) -> list[str]:
    return [
        m
        for tab in tabs
        for m in tab.console_messages_seen
        if "error" in m or "Content Security Policy" in m
    ]


async def test_caller_page_rates_the_call_after_the_operator_hangs_up(
    start_server, browsers, tmp_path
):
    server = await start_server(configure=with_survey)
    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    quiet = tmp_path / "quiet-mic.wav"
    write_wav(quiet, silence(8.0), 16000)
    caller = await browsers("caller", wav=quiet, width=900, height=900)
    await caller.goto(f"{pages.base_url(server)}/caller")
    await caller.click("button[data-lang=en]")
    await caller.click("#call")
    connected = await operator.wait_for(lambda m: m["type"] == "connected")
    await expect(caller.locator("#reference")).to_have_text(connected["reference"])
    assert await caller.locator("#survey").is_hidden()

    await operator.hangup()
    survey = caller.locator("#survey")
    await expect(survey).to_be_visible(timeout=WAIT_MS)
    await expect(caller.locator("#survey-text")).to_contain_text("how satisfied")
    scores = caller.locator("#survey-scale button")
    await expect(scores).to_have_count(5)
    pages.ARTIFACTS.mkdir(exist_ok=True)
    await caller.screenshot(path=str(pages.ARTIFACTS / "caller-survey.png"), full_page=True)
    await caller.get_by_role("button", name="4 out of 5").click()
    await expect(caller.locator("#survey-thanks")).to_have_text("Thank you for your answer.")
    await expect(scores).to_have_count(5)
    assert await caller.locator("#survey-scale").is_hidden(), "one answer only"

    record = await record_when(
        server, connected["reference"], lambda r: r.call.satisfaction is not None
    )
    assert record.call.satisfaction == 4
    await expect(caller.locator("#reference-box.final")).to_be_visible(timeout=WAIT_MS)
    await expect(caller.locator("#survey-thanks")).to_have_text("Thank you for your answer.")
    assert page_errors(caller) == []
    await operator.close()


async def test_console_raises_an_emergency_records_the_transfer_and_takes_a_corrected_service(
    start_server, browsers
):
    server = await start_server(
        configure=lambda config: setattr(config.cases, "emergency_numbers", {"fire": "119"})
    )
    console, caller, reference = await console_in_call(server, browsers, "ana")
    assert await console.locator("#emergency").is_hidden()

    await caller.type_text(FIRE)
    banner = console.locator("#emergency")
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    assert await banner.get_attribute("role") == "alert"
    await expect(console.locator("#emergency-kinds")).to_have_text("fire")
    await expect(console.locator("#emergency-words")).to_contain_text("smoke")
    await expect(console.locator("#emergency-numbers")).to_have_text("fire: 119")
    await expect(banner).not_to_have_class(re.compile(r"\bhandled\b"))
    await expect(console.locator("#request-urgency")).to_have_text("emergency")
    await expect(console.locator("#request-place")).to_have_value("12 Oak Street")
    service = console.locator("#request-service")
    await expect(service).not_to_have_value("", timeout=WAIT_MS)
    classified = await service.input_value()
    await expect(console.locator("#request-classification")).to_contain_text("Classifier")

    pages.ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(pages.ARTIFACTS / "console-emergency.png"))
    await console.keyboard.press("t")  # the shortcut for "Transferred"
    await expect(console.locator("#emergency-recorded")).to_have_text(
        "Recorded: caller transferred"
    )
    await expect(banner).to_have_class(re.compile(r"\bhandled\b"))
    await expect(banner).to_be_visible()
    await expect(console.locator("#emergency-transferred")).to_have_attribute(
        "aria-pressed", "true"
    )
    record = await record_when(server, reference, lambda r: r.call.emergency_action is not None)
    assert record.call.emergency_action == "transferred" and record.call.emergency is True

    other = "heating" if classified != "heating" else "housing"
    await service.select_option(other)
    await console.click("#request-confirm")
    await expect(console.locator("#request-classification")).to_contain_text("Set by operator")
    await expect(service).to_have_value(other)
    record = await record_when(server, reference, lambda r: r.call.service_code == other)
    assert record.call.classification["by"] == "operator"
    assert record.call.classification["classified"] == classified

    await console.screenshot(path=str(pages.ARTIFACTS / "console-emergency-recorded.png"))
    assert "Server:" not in await console.inner_text("#call-status")
    assert page_errors(console) == []
    await caller.hangup()
    await caller.close()


async def test_console_reads_the_request_back_and_the_caller_confirms_with_a_key(
    start_server, browsers
):
    server = await start_server()
    console, caller, reference = await console_in_call(server, browsers, "bea")
    await caller.type_text("The street light is broken at 12 Oak Street.")
    await expect(console.locator("#request-place")).to_have_value("12 Oak Street", timeout=WAIT_MS)
    await console.select_option("#request-service", "street_light")
    await console.click("#request-confirm")
    await expect(console.locator("#request-classification")).to_contain_text("Set by operator")
    assert await console.locator("#request-confirmed").is_hidden()

    read_back = console.locator("#request-readback")
    await expect(read_back).to_be_enabled()
    await read_back.click()
    asked = await caller.wait_for(lambda m: m["type"] == "read_back")
    assert asked.get("answer") is None and "12 Oak Street" in asked["text"]
    status = console.locator("#readback-status")
    await expect(status).to_have_text("Read back: waiting for the caller…")
    await expect(read_back).to_be_disabled()

    await caller.dtmf("1")
    await expect(status).to_have_text("Caller confirmed (dtmf)", timeout=WAIT_MS)
    await expect(console.locator("#request-confirmed")).to_be_visible()
    answered = await caller.wait_for(lambda m: m["type"] == "read_back" and m.get("answer"))
    assert (answered["answer"], answered["how"]) == ("yes", "dtmf")

    record = await record_when(server, reference, lambda r: r.call.readback_confirmed is not None)
    assert record.call.readback_confirmed is True
    assert record.readbacks[0]["how"] == "dtmf" and record.readbacks[0]["answer"] == "yes"
    assert page_errors(console) == []
    await caller.hangup()
    await caller.close()


async def test_caller_page_answers_a_read_back_with_its_buttons(start_server, browsers, tmp_path):
    # Both ends in Chromium: the caller's buttons and the operator's read-back.
    server = await start_server()
    console = await open_console(server, browsers, "dan", ["en"])
    quiet = tmp_path / "quiet-mic.wav"
    write_wav(quiet, silence(8.0), 16000)
    caller = await browsers("caller", wav=quiet, width=900, height=900)
    await caller.goto(f"{pages.base_url(server)}/caller?lang=es")
    await caller.click("#call")
    reference = await accept_on_console(console, "Español")
    await expect(caller.locator("#type-text")).to_be_enabled()
    await caller.fill("#type-text", "La farola de la calle Mayor 5 está rota.")
    await caller.press("#type-text", "Enter")
    await expect(console.locator("#request-place")).to_have_value("calle Mayor 5", timeout=WAIT_MS)
    await console.select_option("#request-service", "street_light")
    await console.click("#request-confirm")
    await expect(console.locator("#request-classification")).to_contain_text("Set by operator")
    await console.click("#request-readback")

    box = caller.locator("#readback")
    await expect(box).to_be_visible(timeout=WAIT_MS)
    await expect(caller.locator("#readback-text")).to_contain_text("Farola apagada")
    await expect(caller.locator("#readback-text")).to_contain_text("calle Mayor 5")
    await expect(console.locator("#readback-status")).to_have_text(
        "Read back: waiting for the caller…"
    )
    await expect(caller.get_by_role("button", name="1 Sí")).to_be_visible()
    await caller.get_by_role("button", name="2 No").click()
    await expect(caller.locator("#readback-answer")).to_have_text(
        "Gracias. El operador lo corregirá.", timeout=WAIT_MS
    )
    assert await caller.locator("#readback-keys").is_hidden()
    pages.ARTIFACTS.mkdir(exist_ok=True)
    await caller.screenshot(path=str(pages.ARTIFACTS / "caller-readback.png"), full_page=True)
    await expect(console.locator("#readback-status")).to_have_text(
        "Caller said no (dtmf) — correct and read back again"
    )
    assert await console.locator("#request-confirmed").is_hidden()
    await expect(console.locator("#request-readback")).to_be_enabled()

    record = await record_when(server, reference, lambda r: r.call.readback_confirmed is not None)
    assert record.call.readback_confirmed is False
    assert (record.readbacks[0]["answer"], record.readbacks[0]["how"]) == ("no", "dtmf")
    assert page_errors(console, caller) == []
    await console.click("#hangup")
    await expect(caller.locator("#reference-box.final")).to_be_visible(timeout=WAIT_MS)


async def test_a_request_posted_in_spanish_shows_on_the_console_in_english(start_server, browsers):
    from tests.server.test_open311 import API_KEY, post, with_api_key

    server = await start_server(configure=with_api_key)
    console = await open_console(server, browsers, "eve", ["en"])
    status, _, _ = await post(
        server,
        {
            "api_key": API_KEY,
            "service_code": "pothole",
            "address_string": "Calle Mayor 5",
            "description": "Hay un bache enorme en la calzada.",
            "language": "es",
        },
    )
    assert status == 201
    shown = console.locator("#new-cases .new-case")
    await expect(shown).to_have_count(1, timeout=WAIT_MS)
    await expect(shown.locator("strong")).to_contain_text("Pothole or damaged road")
    await expect(shown.locator(".case-translation")).not_to_contain_text("bache")
    await expect(shown.locator(".case-original")).to_contain_text("Hay un bache enorme")
    await expect(console.locator("#cases-count")).to_have_text("1")
    assert page_errors(console) == []


async def test_a_pivoted_translation_shows_its_path_on_the_console_caption(
    start_server, browsers, engines
):
    if not engines.can_translate("fr", "en") or ("fr", "en") in engines.translation_pairs():
        pytest.skip("needs French joined to English only through a pivot (./run installs it)")
    server = await start_server()
    console = await open_console(server, browsers, "fay", ["en"])
    caller = CallerClient(url(server, "/call"))
    await caller.call("fr")
    await accept_on_console(console, "Français")
    await caller.connected()
    await caller.type_text("Le lampadaire de ma rue est cassé.")
    marks = console.locator("#captions .final .caption-marks")
    await expect(marks).to_contain_text("via fr → ", timeout=WAIT_MS)
    await expect(marks).to_contain_text(" → en")
    await caller.hangup()
    await caller.close()
    assert page_errors(console) == []
