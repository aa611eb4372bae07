"""/metrics: Prometheus text behind a bearer token, or on a port of its own."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port, sign_in_operator, url

TOKEN = "scrape-me-0123456789"


def _get(address: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(address)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_need_the_token_and_count_calls_queue_and_stages(start_server):
    from hotline.clients.client import CallerClient

    def with_token(config):
        config.security.metrics_token = TOKEN

    server = await start_server(with_token)
    address = f"http://127.0.0.1:{server.port}/metrics"
    status, _ = await asyncio.to_thread(_get, address)
    assert status == 401
    status, _ = await asyncio.to_thread(_get, address, "wrong-token")
    assert status == 401

    operator = await sign_in_operator(server, "ana", ["es"], auto_accept=True)
    caller = CallerClient(url(server, "/call"))
    await caller.connect(language="en")
    await caller.connected()
    await caller.type_text("the street light is broken")
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    status, text = await asyncio.to_thread(_get, address, TOKEN)
    assert status == 200
    live = _samples(text)
    assert live[("hotline_calls_active", ())] == 1
    assert live[("hotline_operators_signed_in", ())] == 1
    assert live[("hotline_queue_length", ())] == 0
    assert live[("hotline_calls_started_total", (("channel", "web"),))] == 1
    assert live[("hotline_stage_seconds_count", (("stage", "translation"),))] >= 1
    assert live[("hotline_queue_wait_seconds_count", ())] == 1
    assert ("hotline_engine_pool", (("engine", "vosk"), ("state", "idle"))) in live

    await caller.hangup()
    await caller.closed.wait()
    await operator.close()
    for _ in range(50):
        ended = _samples((await asyncio.to_thread(_get, address, TOKEN))[1])
        if ended.get(("hotline_calls_total", (("status", "completed"),))) == 1:
            break
        await asyncio.sleep(0.1)
    assert ended[("hotline_calls_total", (("status", "completed"),))] == 1
    assert ended[("hotline_calls_active", ())] == 0


async def test_metrics_are_off_without_a_token_and_can_have_their_own_port(start_server):
    port = free_port()

    def own_port(config):
        config.security.metrics_port = port

    server = await start_server(own_port)
    status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/metrics")
    assert status == 404 and "metrics_token" in text
    status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "hotline_calls_active" in text


@pytest.mark.parametrize("path", ["/metrics/../etc/passwd", "/static/../../pyproject.toml"])
async def test_no_route_climbs_out_of_its_folder(start_server, path):
    server = await start_server()
    status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}{path}")
    assert status == 404 and "[project]" not in text
