"""The QA websocket and its audio spans on a real server: who may review, what a reviewer
reads and hears (redacted), what an admin does (the originals), and clear refusals."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import websockets

from hotline.clients.client import origin_for
from hotline.records import RecordStore, WordTiming
from telephony import wav_bytes, write_wav
from tests.conftest import TEST_PASSWORD, add_account, url
from tests.qa.test_redaction import speech_like, tone_share

RATE = 16000
SAID = "my number is five five five one two three four"


def plant_a_call(server) -> str:
    """A finished call whose caller gave a phone number; returns the call id."""
    words = SAID.split()
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        call = store.create_call("en")
        folder = server.data_dir / "recordings" / call.id
        folder.mkdir(parents=True)
        write_wav(folder / "caller_in.wav", speech_like(4.0), RATE)
        store.add_recording(call.id, "caller_in", f"recordings/{call.id}/caller_in.wav", RATE)
        utterance = store.add_utterance(
            call.id,
            speaker="caller",
            original=SAID,
            start_s=0.5,
            end_s=2.75,
            words=[
                WordTiming(w, 0.5 + 0.25 * i, 0.75 + 0.25 * i, 0.9) for i, w in enumerate(words)
            ],
        )
        store.set_translation(utterance, "mi número es cinco cinco cinco uno dos tres cuatro", "es")
        store.finish_call(call.id, "completed")
        return call.id


async def reviewer(server, name: str, role: str):
    add_account(server, name, ["en"], role=role)
    address = url(server, "/qa/ws")
    ws = await websockets.connect(address, origin=origin_for(address))
    await ws.send(json.dumps({"type": "hello", "name": name, "password": TEST_PASSWORD}))
    return ws, json.loads(await ws.recv())


async def ask(ws, message: dict) -> dict:
    await ws.send(json.dumps(message))
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def get(server, path: str) -> tuple[int, bytes, dict]:
    """A plain HTTP GET, off the event loop the server runs on."""

    def fetch() -> tuple[int, bytes, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    return await asyncio.to_thread(fetch)


async def test_an_operator_account_may_not_review_calls(start_server):
    server = await start_server()
    ws, answer = await reviewer(server, "olga", "operator")
    assert answer["type"] == "error" and answer["code"] == "not_allowed", answer
    await ws.close()


async def test_qa_reads_the_redacted_record_and_an_admin_the_original(start_server):
    server = await start_server()
    call_id = plant_a_call(server)
    qa, ready = await reviewer(server, "quinn", "qa")
    assert ready["type"] == "ready" and ready["token"]
    listed = await ask(qa, {"type": "calls", "pair": "en-?"})
    assert [c["id"] for c in listed["calls"]] == [call_id]
    assert (await ask(qa, {"type": "calls", "operator": "nobody"}))["calls"] == []
    detail = await ask(qa, {"type": "open_call", "call_id": call_id})
    (line,) = detail["record"]["utterances"]
    assert detail["redacted"] and line["original"] == "my number is [phone]"
    assert line["translation"] == "mi número es [phone]"
    (leg,) = detail["legs"]
    assert leg["leg"] == "caller_in" and leg["seconds"] == 4.0 and max(leg["peaks"]) > 0
    admin, _ = await reviewer(server, "ada", "admin")
    detail = await ask(admin, {"type": "open_call", "call_id": call_id})
    assert not detail["redacted"] and detail["record"]["utterances"][0]["original"] == SAID
    await qa.close()
    await admin.close()


async def test_audio_spans_need_a_reviewers_token_and_a_reviewer_hears_a_tone(start_server):
    server = await start_server()
    call_id = plant_a_call(server)
    qa, ready = await reviewer(server, "quinn", "qa")
    admin, admin_ready = await reviewer(server, "ada", "admin")
    span = f"call={call_id}&leg=caller_in&start=1.25&end=2.75"
    assert (await get(server, f"/qa/audio?{span}"))[0] == 400, "no token"
    assert (await get(server, f"/qa/audio?{span}&token=forged"))[0] == 403
    assert (await get(server, f"/qa/audio?call={call_id}&leg=caller_in&start=2&end=1&token=x"))[
        0
    ] == 400
    status, body, _ = await get(server, f"/qa/audio?{span}&token={ready['token']}")
    assert status == 200 and body[:4] == b"RIFF"
    heard = np.frombuffer(body[44:], dtype="<i2")
    assert len(heard) == int(1.5 * RATE) and tone_share(heard) > 0.95, "the number is bleeped"
    status, body, _ = await get(server, f"/qa/audio?{span}&token={admin_ready['token']}")
    assert tone_share(np.frombuffer(body[44:], dtype="<i2")) < 0.05, "an admin hears it"
    assert wav_bytes(np.zeros(3, np.int16), RATE)[:4] == b"RIFF"
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        plays = [e for e in store.audit_log() if e.action == "recording.play"]
    assert {e.who for e in plays} == {"quinn", "ada"}
    await qa.close()
    await admin.close()


async def test_bad_corrections_and_scores_get_clear_errors_and_good_ones_are_kept(start_server):
    server = await start_server()
    call_id = plant_a_call(server)
    qa, _ = await reviewer(server, "quinn", "qa")
    refused = await ask(qa, {"type": "score", "call_id": call_id, "scores": {"greeting": 9}})
    assert refused["type"] == "error" and "1-5" in refused["message"]
    refused = await ask(
        qa, {"type": "correct", "utterance_id": 99999, "field": "original", "text": "x"}
    )
    assert refused["type"] == "error" and "no utterance" in refused["message"]
    refused = await ask(qa, {"type": "open_call", "call_id": "nope"})
    assert refused["code"] == "no_call"
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        utterance_id = store.get(call_id).utterances[0].id
    fixed = await ask(
        qa,
        {
            "type": "correct",
            "utterance_id": utterance_id,
            "field": "original",
            "text": "my number is private",
        },
    )
    assert fixed == {
        "type": "corrected",
        "utterance_id": utterance_id,
        "field": "original",
        "text": "my number is private",
        "by": "quinn",
    }
    scores = dict.fromkeys(["greeting", "language", "accuracy", "courtesy", "resolution"], 4)
    scored = await ask(qa, {"type": "score", "call_id": call_id, "scores": scores})
    assert scored["type"] == "scored" and scored["scores"] == scores
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        record = store.get(call_id)
        exported = json.loads(json.dumps(record.to_dict()))
    assert record.corrected(utterance_id, "original") == "my number is private"
    assert record.utterances[0].original == SAID, "the utterance itself stays"
    assert exported["qa_scores"][0]["scores"] == scores, "scores go out with the record"
    await qa.close()


@pytest.mark.parametrize("path", ["/qa", "/static/qa.js"])
async def test_the_qa_page_is_served_with_the_security_headers(start_server, path):
    server = await start_server()
    status, _, headers = await get(server, path)
    assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
