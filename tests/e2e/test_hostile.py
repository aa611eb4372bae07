"""Hostile clients against a real server: each is refused with a clear message, nothing they
send takes the server down, and a call running alongside goes on untouched."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import random

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from hotline.clients.client import CallerClient, origin_for
from hotline.wire.vocabulary import CloseCode
from tests.conftest import sign_in_operator, url


async def raw(server, path: str):
    return await websockets.connect(
        url(server, path), origin=origin_for(url(server, "")), max_size=None
    )


async def next_json(ws, timeout: float = 10.0) -> dict:
    while True:
        frame = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(frame, str):
            return json.loads(frame)


async def next_error(ws, timeout: float = 10.0) -> dict:
    """The next ``error`` message, past any prompts and status the call sends meanwhile."""
    while (message := await next_json(ws, timeout))["type"] != "error":
        pass
    return message


async def closed_with(ws) -> tuple[int | None, str | None]:
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    return ws.close_code, ws.close_reason


@pytest.fixture
async def call_alongside(start_server):
    """A server with a connected call on it; ``check()`` proves the call still works."""
    server = await start_server()
    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"))
    await caller.call("en")
    await caller.connected()
    turns = []

    async def check() -> None:
        text = f"Still here, turn {len(turns)}."
        turns.append(text)
        await caller.type_text(text)
        await operator.wait_for(lambda m: m["type"] == "caption" and m.get("original") == text)

    yield server, check
    await caller.close()
    await operator.close()


async def test_a_ten_megabyte_message_and_oversized_audio_are_refused(call_alongside):
    server, check = call_alongside
    ws = await raw(server, "/call")
    await ws.send(json.dumps({"type": "hello", "language": "en"}))
    assert (await next_json(ws))["type"] == "ready"
    await ws.send(b"\x00" * 200_000)
    error = await next_error(ws)
    assert error["code"] == "frame_too_large" and not error["fatal"]
    await ws.send(json.dumps({"type": "text", "text": "x" * (10 << 20)}))
    code, _ = await closed_with(ws)
    assert code == CloseCode.MESSAGE_TOO_BIG
    await check()


async def test_invalid_utf8_binary_before_hello_and_bad_rates_get_clear_answers(call_alongside):
    server, check = call_alongside
    ws = await raw(server, "/call")
    await ws.send(b"\x01\x02")
    error = await next_error(ws)
    assert error["code"] == "not_started" and "hello" in error["message"]
    await ws.send(json.dumps({"type": "hello", "sample_rate": 12345}))
    error = await next_error(ws)
    assert error["code"] == "bad_sample_rate" and error["fatal"]
    assert (await closed_with(ws))[0] == CloseCode.POLICY_VIOLATION

    ws = await raw(server, "/operator")
    await ws.send(b"\xff\xfe{not utf-8", text=True)
    code, _ = await closed_with(ws)
    assert code == 1007, "invalid UTF-8 in a text frame is refused by the websocket layer"
    await check()


async def test_a_caller_cannot_send_operator_or_supervisor_commands(call_alongside):
    server, check = call_alongside
    ws = await raw(server, "/call")
    await ws.send(json.dumps({"type": "hello", "language": "en"}))
    ready = await next_json(ws)
    for command in (
        {"type": "reply", "text": "I am the operator now"},
        {"type": "record", "fields": {"notes": "forged"}},
        {"type": "accept", "call_id": ready["call_id"]},
        {"type": "supervise", "call_id": ready["call_id"], "mode": "takeover"},
        {"type": "quick_reply", "id": "registered"},
    ):
        await ws.send(json.dumps(command))
        error = await next_error(ws)
        assert error["code"] == "unknown_type" and command["type"] in error["message"]
    await ws.close()
    await check()


async def test_floods_of_garbage_on_every_socket_leave_the_call_alongside_untouched(
    call_alongside,
):
    server, check = call_alongside
    rng = random.Random(2026)
    alphabet = '{}[]":,typehelo0123456789 \\u00ff\n'

    def garbage() -> str | bytes:
        if rng.random() < 0.3:
            return rng.randbytes(rng.randint(0, 64))
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))

    async def flood(path: str, first: str | None = None) -> None:
        ws = await websockets.connect(url(server, path), origin=origin_for(url(server, "")))
        with contextlib.suppress(ConnectionClosed):
            if first is not None:
                await ws.send(first)
            for _ in range(500):
                frame = garbage()
                if path == "/twilio" and isinstance(frame, bytes):
                    frame = json.dumps(
                        {"event": "media", "media": {"payload": base64.b64encode(frame).decode()}}
                    )
                await ws.send(frame)
        with contextlib.suppress(Exception):
            await ws.close()

    await asyncio.gather(
        flood("/call"),
        flood("/call", json.dumps({"type": "hello", "language": "en"})),
        flood("/operator"),
        flood("/supervisor"),
        flood("/asr"),
        flood("/twilio"),
    )
    await check()
    await check()
    health = await asyncio.to_thread(_get, server, "/healthz")
    assert health[0] == 200


def _get(server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


async def test_no_route_that_takes_a_name_climbs_out_of_its_folder(call_alongside):
    server, check = call_alongside
    for path in (
        "/static/../server/app.py",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static//etc/passwd",
        "/static/....//....//etc/passwd",
        "/static/wire.js/../../../pyproject.toml",
        "/../../etc/passwd",
        "/metrics/../../pyproject.toml",
        "/wall/../../../etc/passwd",
        "/api/languages/../../pyproject.toml",
    ):
        status, body = await asyncio.to_thread(_get, server, path)
        assert status == 404, path
        assert b"[project]" not in body and b"root:" not in body and b"import" not in body, path
    await check()
