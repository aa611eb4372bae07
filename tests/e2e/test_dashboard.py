"""The supervisors' dashboard on a real server: ``/dashboard/data`` only for supervisors and
admins, and the page in headless Chromium drawing the rates of a hand-built set of calls and
cases as SVG charts whose numbers are worked out here."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hotline.accounts import AccountStore
from hotline.cases.rates import iso_week
from hotline.cases.store import CaseStore
from hotline.clients.client import SupervisorClient
from hotline.records import RecordStore
from tests.conftest import TEST_PASSWORD, add_account, url

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 30_000
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (./run test installs it)"
)


@dataclass
class HandBuilt:
    """What was filed, and the days it fell on."""

    first_day: date
    second_day: date
    water_case: str
    posted_case: str


def build(server) -> HandBuilt:
    """Four calls over two days three days ago, three cases filed from them and one posted.

    Day 1: c1 (en) answered after 12 s, 300 s long, surveyed 5, street light: resolved the
    next day. c2 (es) answered after 50 s (late), 200 s long, water (24 h clock): never
    dispatched nor resolved, so overdue and a resolution miss. An Open311 pothole request
    (fr) at 15:00, resolved two days later.
    Day 2: c3 (es) answered after 8 s, 400 s long, surveyed 4, noise: dispatched, still
    inside its 7-day clock (pending). c4 (en) never answered, dropped after 90 s.
    """
    first = datetime.now(UTC).date() - timedelta(days=3)
    day1 = datetime.combine(first, datetime.min.time(), UTC)
    day2 = day1 + timedelta(days=1)
    clock = [day1]
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        cases = CaseStore(records, server.catalogue, now=lambda: clock[0])

        def answered(language, start, connected_s, seconds, service, satisfaction=None):
            call = records.create_call(language, started_at=start)
            records.set_operator(call.id, "ana", "es")
            records.set_connected(call.id, connected_s)
            records.set_request(call.id, service_code=service, satisfaction=satisfaction)
            records.finish_call(call.id, "completed", ended_at=start + timedelta(seconds=seconds))
            return cases.file_from_call(call.id)

        light = answered("en", day1 + timedelta(hours=9), 12, 300, "street_light", 5)
        water = answered("es", day1 + timedelta(hours=10), 50, 200, "water")
        clock[0] = day1 + timedelta(hours=15)
        posted = cases.post("pothole", "A deep pothole on Main Street", "fr", who="api")
        noise = answered("es", day2 + timedelta(hours=9), 8, 400, "noise", 4)
        unanswered = records.create_call("en", started_at=day2 + timedelta(hours=11))
        records.finish_call(
            unanswered.id, "dropped", ended_at=day2 + timedelta(hours=11, seconds=90)
        )

        clock[0] = day2 + timedelta(hours=9)
        cases.move(light.service_request_id, "resolved", "ana")
        clock[0] = day2 + timedelta(hours=10)
        cases.dispatch(noise.service_request_id, "ana")
        clock[0] = day1 + timedelta(days=2, hours=15)
        cases.move(posted.service_request_id, "resolved", "ana")
    return HandBuilt(
        first, first + timedelta(days=1), water.service_request_id, posted.service_request_id
    )


def token_of(server, name: str, role: str) -> str:
    """A session token for a fresh account with ``role``, as a sign-in would give."""
    add_account(server, name, ["en"], role=role)
    with AccountStore.in_data_dir(server.data_dir) as accounts:
        account = accounts.get(name)
        return accounts.open_session(account, timedelta(hours=1), "127.0.0.1").token


def get(server, path: str, bearer: str | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), body


async def test_dashboard_data_is_only_for_supervisors_and_admins_and_is_audited(start_server):
    server = await start_server()
    built = await asyncio.to_thread(build, server)
    supervisor = await asyncio.to_thread(token_of, server, "sam", "supervisor")
    admin = await asyncio.to_thread(token_of, server, "ada", "admin")
    operator = await asyncio.to_thread(token_of, server, "olga", "operator")
    window = f"from={built.first_day}&to={built.second_day}"

    status, _, body = await asyncio.to_thread(get, server, f"/dashboard/data?{window}")
    assert status == 403 and b"session token" in body
    status, _, body = await asyncio.to_thread(
        get, server, f"/dashboard/data?token={operator}&{window}"
    )
    assert status == 403 and b"operator account cannot do this" in body, body
    status, _, body = await asyncio.to_thread(get, server, "/dashboard/data?token=made-up")
    assert status == 403 and b"sign in again" in body
    for bad in ("from=2026-13-01", "from=yesterday", "from=2026-12-02&to=2026-12-01"):
        status, _, body = await asyncio.to_thread(
            get, server, f"/dashboard/data?{bad}", bearer=supervisor
        )
        assert status == 400, (bad, body)

    status, kind, body = await asyncio.to_thread(
        get, server, f"/dashboard/data?token={supervisor}&{window}"
    )
    assert status == 200 and kind == "application/json", body
    data = json.loads(body)
    assert data["range"] == {"from": str(built.first_day), "to": str(built.second_day)}
    assert data["response"]["overall"] == {"numerator": 2, "denominator": 4, "rate": 0.5}
    assert data["resolution"]["overall"]["pending"] == 1
    assert data["services"]["street_light"] == "Street light out"
    assert [c["service_request_id"] for c in data["overdue"]] == [built.water_case]

    status, _, _ = await asyncio.to_thread(get, server, f"/dashboard/data?{window}", bearer=admin)
    assert status == 200
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        seen = [(e.who, e.action, e.detail) for e in records.audit_log(limit=None)]
    detail = f"{built.first_day} to {built.second_day}"
    assert ("sam", "dashboard.view", detail) in seen and ("ada", "dashboard.view", detail) in seen
    assert not [who for who, action, _ in seen if action == "dashboard.view" and who == "olga"]


@pytest.fixture
async def browser(tmp_path) -> AsyncIterator:
    """Factory: ``await browser(name)`` → a page in its own headless Chromium."""
    async_api = pytest.importorskip("playwright.async_api")
    async with async_api.async_playwright() as playwright:
        contexts = []

        async def open_page(name: str):
            context = await playwright.chromium.launch_persistent_context(
                str(tmp_path / f"profile-{name}"),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900},
            )
            contexts.append(context)
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.seen = []
            page.on("console", lambda m: page.seen.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: page.seen.append(f"pageerror: {e}"))
            return page

        yield open_page
        for context in contexts:
            with contextlib.suppress(Exception):
                await context.close()


async def sign_in(page, server, name: str) -> None:
    await page.goto(f"http://127.0.0.1:{server.port}/dashboard")
    await page.fill("#signin-name", name)
    await page.fill("#signin-password", TEST_PASSWORD)
    await page.click("#signin-button")


async def bar(page, chart: str, label: str, series: str = "rate") -> tuple[str | None, str]:
    """A bar's ``data-value`` and the number shown beside it (or on it)."""
    row = page.locator(f"#{chart} g.row[data-label='{label}']")
    if await row.count():
        value = await row.locator(f".bar[data-series='{series}']").get_attribute("data-value")
        return value, (await row.locator("text.value").text_content()) or ""
    column = page.locator(f"#{chart} .bar[data-label='{label}'][data-series='{series}']")
    shown = column.locator("text.count")
    return await column.get_attribute("data-value"), (
        (await shown.text_content()) if await shown.count() else ""
    )


@needs_chromium
async def test_supervisor_sees_the_three_rates_volume_handle_time_and_overdue_cases(
    start_server, browser
):
    server = await start_server()
    built = await asyncio.to_thread(build, server)
    add_account(server, "sam", ["es"], role="supervisor")
    # Sam has the wall open: the dashboard still signs in (it takes no wall seat).
    wall = SupervisorClient(url(server, "/supervisor"), 16000)
    ready = await wall.sign_in("sam", TEST_PASSWORD)
    assert ready["type"] == "ready", ready
    page = await browser("dashboard")
    await sign_in(page, server, "sam")
    await page.locator("#board").wait_for()
    await wall.close()
    await page.fill("#from", str(built.first_day - timedelta(days=6)))
    await page.fill("#to", str(built.second_day))
    await page.click("#load")
    await page.locator(
        f"body[data-loaded='{built.first_day - timedelta(days=6)}/{built.second_day}']"
    ).wait_for(state="attached")

    async def tile(name: str) -> tuple[str, str]:
        found = page.locator(f"#overall-{name}")
        return (
            await found.locator(".tile-value").inner_text(),
            await found.locator(".tile-detail").inner_text(),
        )

    assert await tile("response") == ("50%", "2/4")
    assert await tile("resolution") == ("66.7%", "2/3, 1 pending")
    assert await tile("satisfaction") == ("100%", "2/2, mean 4.5")

    # every chart of the three rates is drawn, one bar per group
    for name in ("response", "resolution", "satisfaction"):
        for grouping in ("agency", "service", "language", "week"):
            assert await page.locator(f"#{name}-by_{grouping} svg rect.fill").count() > 0
    assert await page.locator("#response-by_agency svg .bar").count() == 4

    assert await bar(page, "response-by_language", "en") == ("0.5", "50% (1/2)")
    assert await bar(page, "response-by_language", "es") == ("0.5", "50% (1/2)")
    assert await bar(page, "response-by_agency", "Water Authority") == ("0", "0% (0/1)")
    assert await bar(page, "response-by_agency", "none") == ("0", "0% (0/1)")
    weeks = {
        iso_week(datetime.combine(d, datetime.min.time(), UTC), UTC)
        for d in (built.first_day, built.second_day)
    }
    if len(weeks) == 1:
        assert await bar(page, "response-by_week", weeks.pop()) == ("0.5", "50% (2/4)")
    else:
        for week in weeks:
            assert await bar(page, "response-by_week", week) == ("0.5", "50% (1/2)")

    assert await bar(page, "resolution-by_language", "en") == ("1", "100% (1/1)")
    assert await bar(page, "resolution-by_language", "es") == ("0", "0% (0/1, 1 pending)")
    assert await bar(page, "resolution-by_language", "fr") == ("1", "100% (1/1)")
    assert await bar(page, "resolution-by_service", "noise") == ("", "– (0/0, 1 pending)")
    service_names = page.locator("#resolution-by_service g.row text.label")
    assert "Street light out" in await service_names.all_text_contents()

    assert await bar(page, "satisfaction-by_language", "en") == ("1", "100% (1/1, mean 5)")
    assert await bar(page, "satisfaction-by_language", "es") == ("1", "100% (1/1, mean 4)")

    assert await bar(page, "volume", str(built.first_day), "calls") == ("2", "2")
    assert await bar(page, "volume", str(built.first_day), "cases") == ("3", "3")
    assert await bar(page, "volume", str(built.second_day), "calls") == ("2", "2")
    assert await bar(page, "volume", str(built.second_day), "cases") == ("1", "1")
    assert await page.locator("#volume .bar[data-series='calls']").count() == 8, "every day"

    # handle time: 288, 150 and 392 s (the unanswered call has none)
    assert await bar(page, "handle-time", "all", "median") == (
        "288",
        "median 4.8 min, mean 4.6 min, n 3",
    )
    assert (await bar(page, "handle-time", "es", "mean"))[0] == "271"

    rows = page.locator("#overdue-rows tr")
    assert await rows.count() == 1
    assert await rows.first.get_attribute("data-id") == built.water_case
    cells = await rows.first.locator("td").all_inner_texts()
    assert cells[1:5] == ["Water or sewer", "Water Authority", "open", "dispatch, feedback"]
    assert [m for m in page.seen if "Content Security Policy" in m or "pageerror" in m] == []


@needs_chromium
async def test_an_operator_cannot_open_the_dashboard(start_server, browser):
    server = await start_server()
    add_account(server, "olga", ["en"])
    page = await browser("operator")
    await sign_in(page, server, "olga")
    error = page.locator("#signin-error")
    await error.filter(has_text="operator account cannot do this").wait_for()
    assert "Sign-in refused" in await error.inner_text()
    assert await page.locator("#board").is_hidden()
