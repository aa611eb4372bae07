"""The operator console and the caller page in real headless Chromium, with a WAV file as
the caller's microphone, against a real server with the real engines."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from hotline.accounts import AccountStore
from hotline.records import RecordStore
from telephony import read_wav, write_wav
from tests.conftest import silence

async_api = pytest.importorskip("playwright.async_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = "correct-horse-7"
TIMEOUT_MS = 45_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (./run test installs it)"
)


@pytest.fixture
async def browsers(tmp_path) -> AsyncIterator:
    """Factory: ``await browsers(name, wav=None)`` → a page in its own headless Chromium, with
    a fresh profile and ``wav`` (if any) as its microphone."""
    async with async_api.async_playwright() as playwright:
        contexts = []

        async def open_page(
            name: str, wav: Path | None = None, width: int = 1280, height: int = 720
        ):
            flags = list(CHROMIUM_FLAGS)
            if wav is not None:
                flags.append(f"--use-file-for-fake-audio-capture={wav.resolve()}%noloop")
            context = await playwright.chromium.launch_persistent_context(
                str(tmp_path / f"profile-{name}"),
                executable_path=CHROMIUM,
                headless=True,
                args=flags,
                viewport={"width": width, "height": height},
                permissions=["microphone"],
            )
            contexts.append(context)
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.console_messages_seen = []
            page.on("console", lambda m: page.console_messages_seen.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: page.console_messages_seen.append(f"pageerror: {e}"))
            return page

        yield open_page
        for context in contexts:
            with contextlib.suppress(Exception):
                await context.close()


def base_url(server) -> str:
    return f"http://127.0.0.1:{server.port}"


async def add_operator(server, name: str, languages: list[str]) -> None:
    def add() -> None:
        with AccountStore.in_data_dir(server.data_dir) as store:
            store.add(name, PASSWORD, languages, display_name=name.title())

    await asyncio.to_thread(add)


async def sign_in(page, server, name: str, password: str) -> None:
    await page.goto(f"{base_url(server)}/console")
    await page.fill("#signin-name", name)
    await page.fill("#signin-password", password)
    await page.click("#signin-button")


async def test_operator_accepts_a_browser_call_sees_translated_captions_replies_and_hangs_up(
    start_server, make_speech, browsers, tmp_path
):
    server = await start_server()
    await add_operator(server, "ana", ["es"])
    speech = make_speech("The street light is broken.", "en")
    wav = tmp_path / "caller-mic.wav"
    write_wav(wav, np.concatenate([silence(1.0), speech, silence(2.0)]), 16000)

    console = await browsers("console")
    await sign_in(console, server, "ana", PASSWORD)
    await console.wait_for_selector("#desk", state="visible")
    assert await console.inner_text("#operator-name") == "Ana"

    caller = await browsers("caller", wav=wav, width=900, height=900)
    await caller.goto(f"{base_url(server)}/caller")
    await caller.click("button[data-lang=en]")
    await caller.click("#call")

    entry = console.locator("#queue li", has_text="English")
    await entry.wait_for()
    await console.keyboard.press("a")  # the accept shortcut takes the oldest waiting call
    await console.wait_for_selector("#call-reference:not(:empty)")
    reference = await console.inner_text("#call-reference")
    assert re.fullmatch(r"H-\d{8}-\d{4}", reference)

    final = console.locator(".utterance.caller.final").first
    try:
        await final.wait_for()
    except async_api.TimeoutError:
        pytest.fail(f"no final caption; caller page log: {caller.console_messages_seen}")
    original = (await final.locator(".original").inner_text()).lower()
    translation = (await final.locator(".translation").inner_text()).lower()
    assert "street light" in original or "broken" in original, original
    assert translation != original and re.search(r"\b(la|el|está|roto|rota)\b", translation)

    # Push-to-talk: Space held sends the console's (fake, beeping) microphone to the call.
    await console.keyboard.down("Space")
    await console.wait_for_selector("#ptt.active")
    await asyncio.sleep(1.5)
    await console.keyboard.up("Space")

    await console.keyboard.press("Alt+1")  # the first quick reply: ask for the address
    asked = caller.locator(".line.operator.final .text", has_text="address")
    await asked.wait_for()
    assert await asked.inner_text() == "Could you tell me the exact address, please?"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "console-in-call.png"
    shot.unlink(missing_ok=True)
    await console.screenshot(path=str(shot))
    assert shot.exists() and shot.stat().st_size > 10_000
    await console.set_viewport_size({"width": 820, "height": 1180})
    queue_box = await console.locator(".queue-card").bounding_box()
    captions_box = await console.locator(".captions-card").bounding_box()
    assert captions_box["y"] >= queue_box["y"] + queue_box["height"], "tablet: columns stack"
    await console.screenshot(path=str(ARTIFACTS / "console-tablet.png"), full_page=True)
    await console.set_viewport_size({"width": 1280, "height": 720})

    await console.fill("#reply-text", "Gracias. Enviaremos un técnico mañana.")
    await console.press("#reply-text", "Enter")
    translation_box = console.locator("#reply-translation")
    # Polled from here: the pages' CSP forbids the eval that wait_for_function would need.
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        while not await translation_box.input_value():
            await asyncio.sleep(0.1)
    assert "technician" in (await translation_box.input_value()).lower()
    await translation_box.press("Enter")
    await console.locator(".utterance.operator.final").first.wait_for()

    said = caller.locator(".line.operator.final .text", has_text="technician")
    await said.wait_for()
    assert await said.inner_text() == "Thank you. We will send a technician tomorrow."

    await caller.fill("#type-text", "It is on Main Street.")
    await caller.press("#type-text", "Enter")
    typed = console.locator(".utterance.caller.final", has_text="Main Street")
    await typed.wait_for()
    assert await typed.locator(".translation").inner_text() not in ("", "It is on Main Street.")

    prefilled_kind = await console.locator("#record-kind").input_value()
    await console.click("#hangup")
    await caller.wait_for_selector("#reference-box.final", state="visible")
    assert await caller.inner_text("#reference") == reference
    await caller.screenshot(path=str(ARTIFACTS / "caller-ended.png"), full_page=True)
    await console.wait_for_selector("#hangup:disabled")
    errors = [
        m for m in console.console_messages_seen + caller.console_messages_seen if "error" in m
    ]
    assert not errors, errors

    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        record = store.get(reference)
    assert record.call.status == "completed" and record.call.operator == "ana"
    legs = {r.leg: r for r in record.recordings}
    operator_in, rate = read_wav(server.data_dir / legs["operator_in"].path)
    assert len(operator_in) >= rate * 1.0, "push-to-talk audio reached the server"
    assert np.abs(operator_in).max() > 1000
    if prefilled_kind:
        assert record.call.kind == prefilled_kind, "the form is saved at hang-up"
    assert any(u.speaker == "operator" and "técnico" in u.original for u in record.utterances)
    assert csp_violations(console) == [] and csp_violations(caller) == [], "CSP keeps pages whole"


async def test_console_says_so_when_the_password_is_wrong(start_server, browsers):
    server = await start_server()
    await add_operator(server, "ana", ["es"])
    console = await browsers("console")
    await sign_in(console, server, "ana", "not-the-password")
    error = console.locator("#signin-error")
    await error.wait_for(state="visible")
    assert "Wrong name or password" in await error.inner_text()
    assert await console.locator("#desk").is_hidden()


async def test_caller_page_is_written_in_korean_when_korean_is_picked(start_server, browsers):
    server = await start_server()
    page = await browsers("caller", width=820, height=1180)
    await page.goto(f"{base_url(server)}/caller")
    await page.click("button[data-lang=ko]")
    assert await page.inner_text("#call") == "전화하기"
    assert re.search(r"[\uac00-\ud7a3]", await page.inner_text("h1"))
    assert await page.locator("html").get_attribute("lang") == "ko"


async def test_pages_and_assets_are_served_with_their_types_and_nothing_else(start_server):
    import http.client

    server = await start_server()

    def get(path: str) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, response.getheader("Content-Type", ""), body

    for path, kind in [
        ("/", "text/html"),
        ("/console", "text/html"),
        ("/caller", "text/html"),
        ("/static/pcm-worklet.js", "text/javascript"),
        ("/static/style.css", "text/css"),
        ("/api/languages", "application/json"),
    ]:
        status, content_type, _ = await asyncio.to_thread(get, path)
        assert status == 200 and content_type.startswith(kind), (path, status, content_type)
    for path in ["/static/../server.py", "/static/%2e%2e/server.py", "/static/", "/static/x.py"]:
        status, _, body = await asyncio.to_thread(get, path)
        assert status == 404 and b"import" not in body, path


def csp_violations(page) -> list[str]:
    return [m for m in page.console_messages_seen if "Content Security Policy" in m]


async def test_supervisor_wall_shows_a_live_call_and_listens_in(start_server, browsers):
    from hotline.clients.client import CallerClient
    from tests.conftest import TEST_PASSWORD, add_account, sign_in_operator, url

    server = await start_server()
    add_account(server, "sam", ["es"], role="supervisor")
    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"))
    ready = await caller.call("en")
    await caller.connected()

    wall = await browsers("wall")
    await wall.goto(f"{base_url(server)}/wall")
    await wall.fill("#signin-name", "sam")
    await wall.fill("#signin-password", TEST_PASSWORD)
    await wall.click("#signin-button")
    row = wall.locator(f"tr[data-call-id='{ready['call_id']}']")
    await row.wait_for()
    assert ready["reference"] in await row.inner_text()
    await row.locator("button[data-mode=monitor]").click()
    await wall.locator("#mode").filter(has_text="monitor").wait_for()
    await caller.type_text("The bins were not collected.")
    await wall.locator("#captions").filter(has_text="The bins were not collected.").wait_for()
    await wall.locator(".wall-captions").filter(has_text="The bins were not collected.").wait_for()
    assert csp_violations(wall) == [], wall.console_messages_seen
    await caller.hangup()
    await row.wait_for(state="detached")
    await operator.close()


async def test_a_page_from_another_site_cannot_open_the_operator_socket(
    start_server, browsers, tmp_path
):
    import functools
    import http.server
    import threading

    server = await start_server()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "evil.html").write_text(
        f"<script>const ws = new WebSocket('ws://127.0.0.1:{server.port}/operator');"
        "ws.onopen = () => { document.title = 'opened'; };"
        "ws.onclose = (e) => { document.title = 'closed ' + e.code; };</script>"
    )
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site")
    )
    other_site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other_site.serve_forever, daemon=True).start()
    try:
        page = await browsers("evil")
        await page.goto(f"http://127.0.0.1:{other_site.server_port}/evil.html")
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while not (await page.title()).startswith("closed"):
                await asyncio.sleep(0.1)
        assert await page.title() == "closed 1006", "the handshake was refused"
    finally:
        other_site.shutdown()
    refused = server.metrics.refused.labels("origin")._value.get()
    assert refused == 1


async def test_qa_page_opens_a_call_plays_a_span_corrects_a_line_and_saves_a_score(
    start_server, browsers, make_speech
):
    from hotline.clients.client import CallerClient, stream_pcm
    from tests.conftest import TEST_PASSWORD, add_account, sign_in_operator, url

    server = await start_server()
    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"), 16000)
    ready = await caller.call("en")
    await caller.connected()
    speech = make_speech("The street light is broken. Call me at 555 123 4567.", "en", 16000)
    await stream_pcm(caller, np.concatenate([speech, silence(1.5)]))
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    await caller.hangup()
    await caller.wait_for(lambda m: m["type"] == "ended")
    await caller.close()
    await operator.close()
    add_account(server, "quinn", ["en"], role="qa")
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        before = store.get(ready["call_id"])

    page = await browsers("qa")
    await page.goto(f"{base_url(server)}/qa")
    await page.fill("#signin-name", "quinn")
    await page.fill("#signin-password", TEST_PASSWORD)
    await page.click("#signin-button")
    await page.locator(f"tr[data-call-id='{ready['call_id']}'] button").click()
    line = page.locator("#utterances tr").first
    await line.wait_for()
    assert await page.locator("#legs canvas[data-leg='caller_in']").count() == 1

    await line.locator("button.play.caller_in").click()
    await page.locator("#player[data-played]").wait_for(state="attached")

    await line.locator("button.correct-original").click()
    await page.fill("#correction-text", "The street light is broken.")
    await page.click("#correction-save")
    await line.locator(".correction").filter(has_text="The street light is broken.").wait_for()

    await page.select_option("#score-courtesy", "5")
    await page.fill("#score-notes", "Clear and polite.")
    await page.click("#score-save")
    await page.locator("#scores-saved").filter(has_text="Score saved by quinn").wait_for()
    assert csp_violations(page) == []

    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        record = store.get(ready["call_id"])
        actions = {e.action for e in store.audit_log(who="quinn")}
    (correction,) = record.corrections
    assert (correction["field"], correction["text"], correction["who"]) == (
        "original",
        "The street light is broken.",
        "quinn",
    )
    assert record.utterances == before.utterances, "the utterances stay as the machine had them"
    (score,) = record.scores
    assert score["scores"]["courtesy"] == 5 and score["notes"] == "Clear and polite."
    assert {"record.open", "recording.play", "record.correct", "record.score"} <= actions
