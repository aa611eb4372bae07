"""Closed doors: origins, per-address limits, caps on /asr, security headers and TLS. Each
refusal comes with its documented close code (or HTTP status) and a reason in words."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import subprocess
import urllib.request
from http import HTTPStatus

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hotline.clients.client import CallerClient, OperatorClient, origin_for
from hotline.config import SecurityConfig
from hotline.records import PhoneNumberFilter, mask_phones_in
from hotline.server.doors import Doors, Refused
from hotline.wire.vocabulary import CloseCode
from tests.conftest import TEST_PASSWORD, add_account, url

# --- the rules, without sockets -------------------------------------------------------


def test_same_origin_pages_may_open_every_websocket_and_other_sites_none():
    doors = Doors(SecurityConfig())
    for path in ("/call", "/operator", "/asr", "/twilio"):
        assert doors.origin_refusal(path, "http://127.0.0.1:8765", "127.0.0.1:8765") is None
        refusal = doors.origin_refusal(path, "https://evil.example", "127.0.0.1:8765")
        assert refusal == f"a page from https://evil.example may not open {path}"
    assert doors.origin_refusal("/operator", "null", "127.0.0.1:8765") is not None


def test_only_clients_that_are_not_browsers_may_leave_out_the_origin():
    doors = Doors(SecurityConfig())
    assert doors.origin_refusal("/asr", None, "h:1") is None
    assert doors.origin_refusal("/twilio", None, "h:1") is None
    for path in ("/call", "/operator"):
        assert "no Origin header" in doors.origin_refusal(path, None, "h:1")


def test_an_allow_list_replaces_same_origin():
    doors = Doors(SecurityConfig(allowed_origins=["https://hotline.city.example/"]))
    host = "hotline.city.example"
    assert doors.origin_refusal("/operator", "https://hotline.city.example", host) is None
    assert doors.origin_refusal("/operator", "HTTPS://Hotline.City.Example", host) is None
    # DNS rebinding: an attacker's name pointed at the server passes a same-origin check.
    assert doors.origin_refusal("/operator", "http://rebound.example:80", "rebound.example:80")


def test_call_set_ups_per_address_are_limited_per_minute():
    now = [0.0]
    doors = Doors(SecurityConfig(calls_per_minute_per_address=3), clock=lambda: now[0])
    for _ in range(3):
        doors.call_set_up("10.0.0.1")
    with pytest.raises(Refused, match=r"too many calls from your address; try again in 60 s"):
        doors.call_set_up("10.0.0.1")
    doors.call_set_up("10.0.0.2")
    now[0] = 60.5
    doors.call_set_up("10.0.0.1")


def test_asr_sessions_are_capped_per_address_and_in_all():
    doors = Doors(SecurityConfig(asr_sessions_per_address=2, asr_sessions_max=3))
    with doors.asr_session("a"), doors.asr_session("a"):
        with pytest.raises(Refused, match="from your address"), doors.asr_session("a"):
            pass
        with doors.asr_session("a", signed_in=True):
            with pytest.raises(Refused, match="full"), doors.asr_session("b"):
                pass
    assert doors.asr_open == {}, "every slot is given back"


def test_phone_numbers_are_masked_in_log_lines():
    assert mask_phones_in("INVITE from +1 (555) 123-4567 on line 2") == (
        "INVITE from +*******4567 on line 2"
    )
    assert mask_phones_in("GET /twilio/voice?From=%2B15551234567") == (
        "GET /twilio/voice?From=+*******4567"
    )
    assert mask_phones_in("caller 01012345678 waited") == "caller *******5678 waited"
    kept = "call 3f2a at 2026-11-29 17:20:01 from 127.0.0.1:5060, 4 of 12"
    assert mask_phones_in(kept) == kept
    record = logging.LogRecord("x", logging.INFO, "f", 1, "From %s", ("+82 10-1234-5678",), None)
    assert PhoneNumberFilter().filter(record) and record.getMessage() == "From +********5678"


# --- the doors on a running server -----------------------------------------------------


async def test_operator_socket_without_origin_or_from_another_site_is_refused(start_server):
    server = await start_server()
    for origin in (None, "https://evil.example"):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url(server, "/operator"), origin=origin)
        assert refused.value.response.status_code == HTTPStatus.FORBIDDEN
        assert b"may not open /operator" in refused.value.response.body or (
            b"no Origin header" in refused.value.response.body
        )
    add_account(server, "ana", ["es"])
    ana = OperatorClient(url(server, "/operator"))
    assert (await ana.sign_in("ana", [], password=TEST_PASSWORD))["type"] == "ready"
    await ana.close()


async def test_too_many_call_set_ups_from_one_address_are_refused_with_try_again_later(
    start_server,
):
    def strict(config):
        config.security.calls_per_minute_per_address = 2

    server = await start_server(strict)
    for _ in range(2):
        caller = CallerClient(url(server, "/call"))
        assert (await caller.connect(language="en"))["type"] != "error"
        await caller.close()
    refused = CallerClient(url(server, "/call"))
    error = await refused.connect(language="en")
    assert error["type"] == "error" and error["code"] == "rate_limited" and error["fatal"]
    await refused.closed.wait()
    assert refused._ws.close_code == CloseCode.TRY_AGAIN_LATER
    assert "too many calls from your address" in refused._ws.close_reason


async def _asr_refusal(server, **connect) -> tuple[int | None, str | None]:
    ws = await websockets.connect(url(server, "/asr"), **connect)
    try:
        await asyncio.wait_for(ws.recv(), 10)
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


async def test_asr_refuses_new_sessions_past_its_caps_instead_of_slowing_them(start_server):
    def caps(config):
        config.security.asr_sessions_per_address = 1
        config.security.asr_sessions_max = 2

    server = await start_server(caps)
    first = await websockets.connect(url(server, "/asr"))
    await first.send(json.dumps({"config": {"sample_rate": 16000}}))
    code, reason = await _asr_refusal(server)
    assert code == CloseCode.TRY_AGAIN_LATER and "from your address" in reason

    operator = OperatorClient(url(server, "/operator"))
    add_account(server, "ana", ["es"])
    token = (await operator.sign_in("ana", [], password=TEST_PASSWORD))["token"]
    await operator.close()
    signed_in = await websockets.connect(
        url(server, "/asr"), additional_headers={"Authorization": f"Bearer {token}"}
    )
    await signed_in.send(json.dumps({"config": {"sample_rate": 16000}}))
    code, reason = await _asr_refusal(server, additional_headers={"Authorization": "Bearer x"})
    assert code == CloseCode.POLICY_VIOLATION and "sign in again" in reason
    code, reason = await _asr_refusal(
        server, additional_headers={"Authorization": f"Bearer {token}"}
    )
    assert code == CloseCode.TRY_AGAIN_LATER and "full" in reason

    await first.send(b"\x00" * 96002)
    error = json.loads(await asyncio.wait_for(first.recv(), 10))
    assert "larger than 96000" in error["error"], "an oversized frame is answered, not fatal"
    await first.send('{"eof" : 1}')
    final = json.loads(await asyncio.wait_for(first.recv(), 30))
    assert "text" in final
    await first.close()
    await signed_in.close()


async def test_asr_can_require_a_session_token(start_server):
    def locked(config):
        config.security.asr_requires_token = True

    server = await start_server(locked)
    code, reason = await _asr_refusal(server)
    assert code == CloseCode.POLICY_VIOLATION and "needs a session token" in reason


async def test_pages_carry_security_headers(start_server):
    server = await start_server()

    def get(path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as reply:
            return reply.headers

    for path in ("/", "/caller", "/static/console.js", "/healthz"):
        headers = await asyncio.to_thread(get, path)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"


def _self_signed(folder) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(cert), str(key)


async def test_tls_serves_wss_and_https_from_the_configured_certificate(start_server, tmp_path):
    cert, key = _self_signed(tmp_path)

    def tls(config):
        config.security.tls_certfile, config.security.tls_keyfile = cert, key

    server = await start_server(tls)
    trusting = ssl.create_default_context(cafile=cert)
    add_account(server, "ana", ["es"])
    operator = OperatorClient(f"wss://127.0.0.1:{server.port}/operator", ssl_context=trusting)
    ready = await operator.sign_in("ana", [], password=TEST_PASSWORD)
    assert ready["type"] == "ready"
    await operator.close()

    def healthz() -> dict:
        with urllib.request.urlopen(
            f"https://127.0.0.1:{server.port}/healthz", context=trusting, timeout=10
        ) as reply:
            return json.load(reply)

    assert (await asyncio.to_thread(healthz))["status"] == "ok"
    with pytest.raises(ssl.SSLCertVerificationError):
        await websockets.connect(
            f"wss://127.0.0.1:{server.port}/call",
            origin=origin_for(f"wss://127.0.0.1:{server.port}"),
            ssl=ssl.create_default_context(),
        )
