"""Supervisor tools on a real server: the wall of live calls with captions, listening in,
whispering to the operator, barging in, and taking a call over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from hotline.clients.client import CallerClient, SupervisorClient
from hotline.records import RecordStore
from tests.conftest import TEST_PASSWORD, add_account, sign_in_operator, url

RATE = 16000


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def voice(seconds: float) -> np.ndarray:
    """A supervisor's voice stand-in: a steady tone, loud enough to measure where it goes."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


async def talk(client, pcm: np.ndarray) -> None:
    for i in range(0, len(pcm), RATE // 50):
        await client.send_audio(pcm[i : i + RATE // 50])
        await asyncio.sleep(0.02)


def loudness_since(client, start_bytes: int) -> float:
    """Seconds of clearly audible audio the client received after ``start_bytes``."""
    pcm = np.frombuffer(bytes(client.audio[start_bytes - start_bytes % 2 :]), dtype="<i2")
    frames = pcm[: len(pcm) // 320 * 320].reshape(-1, 320).astype(np.float32)
    return float((np.sqrt((frames**2).mean(axis=1)) > 1000).sum() * 0.02) if len(frames) else 0.0


async def supervisor_signed_in(server) -> SupervisorClient:
    add_account(server, "sam", ["es"], role="supervisor")
    supervisor = SupervisorClient(url(server, "/supervisor"), RATE)
    ready = await supervisor.sign_in("sam", password=TEST_PASSWORD)
    assert ready["type"] == "ready" and ready["role"] == "supervisor", ready
    return supervisor


async def test_supervisor_sees_the_wall_listens_in_whispers_and_barges_in(start_server):
    server = await start_server()
    supervisor = await supervisor_signed_in(server)
    await supervisor.wait_for(lambda m: m["type"] == "wall")
    assert supervisor.wall() == []

    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en", caller_id="+1 555 123 4567")
    await caller.connected()
    await until(lambda: [c["state"] for c in supervisor.wall()] == ["connected"])
    (on_wall,) = supervisor.wall()
    assert on_wall["reference"] == ready["reference"] and on_wall["operator"] == "ana"
    assert (on_wall["caller_language"], on_wall["operator_language"]) == ("en", "es")

    await caller.type_text("The street light is broken.")
    await until(lambda: any(c["captions"] for c in supervisor.wall()))
    assert supervisor.wall()[0]["captions"][0]["original"] == "The street light is broken."

    answer = await supervisor.supervise(ready["call_id"], "monitor")
    assert answer == {**answer, "type": "supervising", "mode": "monitor"}
    heard_before = len(supervisor.audio)
    await caller.type_text("It has been dark for a week.")
    caption = await supervisor.wait_for(
        lambda m: m["type"] == "caption" and m["original"] == "It has been dark for a week."
    )
    assert caption["translated"] and caption["language"] == "es"
    await until(lambda: loudness_since(supervisor, heard_before) > 0.5)
    assert not [m for m in operator.of_type("notice") if "supervisor" in m["text"]], (
        "listening in is silent"
    )

    await supervisor.supervise(ready["call_id"], "whisper")
    await supervisor.whisper("Ask for the street number.")
    await operator.wait_for(
        lambda m: (
            m["type"] == "notice" and m["text"] == "sam (supervisor): Ask for the street number."
        )
    )
    await asyncio.sleep(1.0)
    operator_before, caller_before = len(operator.audio), len(caller.audio)
    await talk(supervisor, voice(1.0))
    await until(lambda: loudness_since(operator, operator_before) > 0.6)
    await asyncio.sleep(0.5)
    assert loudness_since(caller, caller_before) < 0.1, "the caller never hears a whisper"
    assert not [m for m in caller.of_type("notice") if "supervisor" in m["text"]]

    await supervisor.supervise(ready["call_id"], "barge")
    await caller.wait_for(
        lambda m: m["type"] == "notice" and m["text"] == "a supervisor joined the call"
    )
    await asyncio.sleep(1.0)
    operator_before, caller_before = len(operator.audio), len(caller.audio)
    await talk(supervisor, voice(1.0))
    await until(lambda: loudness_since(caller, caller_before) > 0.6)
    await until(lambda: loudness_since(operator, operator_before) > 0.6)
    await until(lambda: supervisor.wall()[0]["supervisors"] == ["sam"])

    await supervisor.supervise(ready["call_id"], "leave")
    await caller.hangup()
    await caller.closed.wait()
    await until(lambda: supervisor.wall() == [])
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        record = records.get(ready["call_id"])
        audit = records.audit_log(who="sam")
    said = [u.original for u in record.utterances if u.speaker == "system"]
    assert any("whispered to the operator: Ask for the street number." in s for s in said)
    assert "supervisor sam joined the conversation" in said
    assert [(a.action, a.target) for a in audit] == [("call.monitor", ready["call_id"])]
    for client in (operator, supervisor):
        await client.close()


async def test_a_supervisor_takes_a_call_over_and_the_operator_is_free_again(start_server):
    server = await start_server()
    supervisor = await supervisor_signed_in(server)
    operator = await sign_in_operator(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    await until(lambda: bool(supervisor.wall()))

    answer = await supervisor.supervise(ready["call_id"], "takeover")
    assert answer["mode"] == "takeover"
    await operator.wait_for(
        lambda m: m["type"] == "notice" and m["text"] == "supervisor sam took over the call"
    )
    await operator.wait_for(lambda m: m["type"] == "ended" and m["call_id"] == ready["call_id"])

    await supervisor.reply("Enviaremos a alguien mañana.")
    sent = await supervisor.wait_for(lambda m: m["type"] == "reply_sent")
    assert sent["text"] and sent["text"] != "Enviaremos a alguien mañana.", "translated"
    await caller.wait_for(lambda m: m["type"] == "caption" and m["original"] == sent["original"])
    await caller.type_text("Thank you very much.")
    await supervisor.wait_for(
        lambda m: m["type"] == "caption" and m["original"] == "Thank you very much."
    )
    said_before = len(supervisor.audio)
    await until(lambda: loudness_since(supervisor, said_before) > 0.3)

    second = CallerClient(url(server, "/call"), RATE)
    await second.call("en")
    await second.connected()
    await operator.wait_for(lambda m: m["type"] == "connected" and m["call_id"] != ready["call_id"])

    await supervisor.send_raw('{"type": "hangup"}')
    await caller.wait_for(lambda m: m["type"] == "ended")
    await supervisor.wait_for(lambda m: m["type"] == "ended" and m["call_id"] == ready["call_id"])
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        record = records.get(ready["call_id"])
    assert record.call.status == "completed"
    assert "supervisor sam took over the call; it is yours" in [
        u.original for u in record.utterances if u.speaker == "system"
    ]
    assert "Enviaremos a alguien mañana." in [u.original for u in record.utterances]
    for client in (second, operator, supervisor):
        await client.close()


async def test_only_supervisors_open_the_wall_and_steps_need_a_live_call(start_server):
    server = await start_server()
    add_account(server, "ana", ["es"])
    intruder = SupervisorClient(url(server, "/supervisor"), RATE)
    error = await intruder.sign_in("ana", password=TEST_PASSWORD)
    assert error["code"] == "not_allowed" and error["fatal"]
    await intruder.close()

    supervisor = await supervisor_signed_in(server)
    answer = await supervisor.supervise("no-such-call", "monitor")
    assert answer["code"] == "no_call"
    start = len(supervisor.messages)
    await supervisor.whisper("hello?")
    error = await supervisor.wait_for(lambda m: m["type"] == "error", start=start)
    assert "step into a call first" in error["message"]
    await supervisor.send_raw('{"type": "reply", "text": "hola"}')
    error = await supervisor.wait_for(lambda m: m["type"] == "error" and m["code"] == "not_allowed")
    assert "take the call over first" in error["message"]
    await supervisor.close()
