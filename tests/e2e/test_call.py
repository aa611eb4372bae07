"""A whole call over real websockets on loopback, with the real engines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

import numpy as np
import pytest
import websockets

from hotline.clients.client import CallerClient, OperatorClient, origin_for, stream_pcm
from hotline.records import RecordStore
from hotline.wire.messages import Hello
from hotline.wire.vocabulary import Role
from telephony import read_wav
from tests.conftest import sign_in_operator, silence, url

RATE = 16000


def final_captions(client, speaker: str) -> list[dict]:
    return [
        m
        for m in client.messages
        if m["type"] == "caption" and m.get("final") and m["speaker"] == speaker
    ]


def records_of(server) -> RecordStore:
    return RecordStore(server.data_dir / "hotline.sqlite3")


async def operator_signed_in(server, name: str, languages: list[str], **options) -> OperatorClient:
    return await sign_in_operator(server, name, languages, RATE, **options)


async def test_whole_call_english_caller_spanish_operator_both_ways(start_server, make_speech):
    """English speech in; Spanish captions and speech for the operator; the operator's typed
    Spanish reply spoken to the caller in English; the record holds both languages."""
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"], hear_original=False)
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en", caller_id="+15551234567")
    assert ready["type"] == "ready" and re.fullmatch(r"H-\d{8}-\d{4}", ready["reference"])
    await caller.connected()
    connected = await operator.wait_for(lambda m: m["type"] == "connected")
    assert connected["caller_language"] == "en" and connected["operator_language"] == "es"
    assert connected["caller_asr"] is True and connected["operator_asr"] is False

    speech = np.concatenate([make_speech("The street light is broken.", "en"), silence(1.5)])
    await stream_pcm(caller, speech, speed=2.0)
    caption = await operator.wait_for(
        lambda m: m["type"] == "caption" and m.get("final") and m["speaker"] == "caller"
    )
    assert caption["translated"] is True and caption["language"] == "es"
    assert caption["text"] and caption["text"] != caption["original"]
    assert re.search(r"\b(la|el|está|roto|rota)\b", caption["text"].lower()), caption
    said = await operator.wait_for(lambda m: m["type"] == "say" and m.get("utterance_id"))
    assert said["text"] == caption["text"]
    await asyncio.sleep(1.5)
    assert len(operator.audio) > RATE * 2 * 0.5, "the operator heard the translated speech"

    start = len(caller.messages)
    await operator.reply("Gracias. Enviaremos un técnico mañana.")
    reply = await caller.wait_for(
        lambda m: m["type"] == "caption" and m["speaker"] == "operator", start=start
    )
    assert reply["text"] == "Thank you. We will send a technician tomorrow."
    assert reply["original"] == "Gracias. Enviaremos un técnico mañana."
    heard = len(caller.audio)
    await caller.wait_for(lambda m: m["type"] == "say" and m["text"] == reply["text"], start=start)
    await asyncio.sleep(1.5)
    assert len(caller.audio) - heard > RATE * 2 * 0.5, (
        "the caller heard the reply spoken in English"
    )

    await operator.update_record(kind="complaint", category="street lighting", place="Main Street")
    await operator.wait_for(lambda m: m["type"] == "record_saved")
    await caller.hangup()
    ended = await caller.wait_for(lambda m: m["type"] == "ended")
    assert ended["status"] == "completed"
    await operator.wait_for(lambda m: m["type"] == "ended")
    await caller.close()
    await operator.close()

    with records_of(server) as store:
        record = store.get(ready["reference"])
    assert record.call.status == "completed" and record.call.ended_at is not None
    assert record.call.caller_language == "en" and record.call.operator == "ana"
    assert record.call.kind == "complaint" and record.call.place == "Main Street"
    assert (
        record.call.caller_id_masked.endswith("4567")
        and "555123" not in record.call.caller_id_masked
    )
    by_speaker = {u.speaker: u for u in record.utterances}
    assert (
        by_speaker["caller"].language == "en" and by_speaker["caller"].translation_language == "es"
    )
    assert (
        by_speaker["caller"].translation == caption["text"] and by_speaker["caller"].spoken_by_tts
    )
    assert by_speaker["operator"].original == "Gracias. Enviaremos un técnico mañana."
    assert by_speaker["operator"].translation == reply["text"]
    legs = {r.leg: r for r in record.recordings}
    assert set(legs) == {"caller_in", "caller_heard", "operator_in", "operator_heard"}
    caller_in, rate = read_wav(server.data_dir / legs["caller_in"].path)
    assert rate == RATE and len(caller_in) >= len(speech)
    assert np.count_nonzero(caller_in) == np.count_nonzero(speech), "every sample said, kept"
    heard_pcm, _ = read_wav(server.data_dir / legs["caller_heard"].path)
    assert np.abs(heard_pcm).max() > 1000
    lengths = {
        leg: read_wav(server.data_dir / r.path)[0].size / r.sample_rate for leg, r in legs.items()
    }
    assert len(set(lengths.values())) == 1, f"all four legs share the call's clock: {lengths}"


async def test_routing_picks_the_operator_who_speaks_the_callers_language(
    start_server, make_speech
):
    server = await start_server()
    kim = await operator_signed_in(server, "kim", ["ko"])
    ana = await operator_signed_in(server, "ana", ["es"])
    korean = CallerClient(url(server, "/call"), RATE)
    english = CallerClient(url(server, "/call"), RATE)
    await korean.call("ko")
    await english.call("en")
    assert (await korean.connected())["operator_language"] == "ko"
    assert (await english.connected())["operator_language"] == "es"
    assert (await kim.wait_for(lambda m: m["type"] == "connected"))["caller_language"] == "ko"
    assert (await ana.wait_for(lambda m: m["type"] == "connected"))["caller_language"] == "en"
    for client in (korean, english, kim, ana):
        await client.close()


async def test_waiting_caller_hears_queue_position_then_gets_the_next_free_operator(start_server):
    server = await start_server(queue_announce_s=1.0)
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("es")
    queued = await caller.wait_for(lambda m: m["type"] == "status" and m["state"] == "queued")
    assert queued["position"] == 1
    position = await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "position")
    assert "número 1" in position["text"]
    operator = await operator_signed_in(server, "ana", ["es", "en"])
    assert (await caller.connected())["operator_language"] == "es"
    await caller.close()
    await operator.close()


async def test_full_queue_gives_busy_message_and_the_call_is_still_recorded(start_server):
    server = await start_server(max_queue=1)
    first = CallerClient(url(server, "/call"), RATE)
    await first.call("en")
    await first.wait_for(lambda m: m["type"] == "status" and m["state"] == "queued")
    second = CallerClient(url(server, "/call"), RATE)
    ready = await second.call("en")
    await second.wait_for(lambda m: m["type"] == "status" and m["state"] == "busy")
    busy = await second.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "busy")
    assert "busy" in busy["text"]
    ended = await second.wait_for(lambda m: m["type"] == "ended", timeout=30)
    assert ended["status"] == "busy"
    await first.close()
    with records_of(server) as store:
        assert store.get(ready["call_id"]).call.status == "busy"


async def test_dropped_caller_keeps_final_utterances(start_server, make_speech):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    speech = np.concatenate([make_speech("There is a lot of noise at night.", "en"), silence(1.0)])
    await stream_pcm(caller, speech, speed=4.0)
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    caller._ws.transport.abort()
    await operator.wait_for(lambda m: m["type"] == "ended")
    await operator.close()
    with records_of(server) as store:
        record = store.get(ready["call_id"])
        for _ in range(50):
            if record.call.ended_at:
                break
            await asyncio.sleep(0.1)
            record = store.get(ready["call_id"])
    assert record.call.status == "dropped"
    assert [u.speaker for u in record.utterances] == ["caller"]
    assert record.utterances[0].original and record.utterances[0].translation


async def test_language_menu_by_dtmf_digit(start_server):
    server = await start_server(menu_languages=["en", "es"])
    caller = CallerClient(url(server, "/call"), RATE)
    menu = await caller.call(None)
    assert menu["type"] == "menu"
    assert [o["language"] for o in menu["options"]] == ["en", "es"]
    await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "menu_item")
    await caller.dtmf("2")
    ready = await caller.wait_for(lambda m: m["type"] == "ready")
    assert ready["language"] == "es"
    greeting = await caller.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "greeting")
    assert greeting["text"].startswith("Bienvenido")
    await caller.close()


async def test_untranslatable_pair_shows_original_marked_untranslated(start_server):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("ko")
    await caller.connected()
    await caller.type_text("가로등이 고장났어요")
    caption = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    assert caption["translated"] is False
    assert caption["text"] == caption["original"] == "가로등이 고장났어요"
    assert caption["note"] == "no engine for ko→es"
    start = len(caller.messages)
    await operator.reply("Gracias")
    reply = await caller.wait_for(lambda m: m["type"] == "caption", start=start)
    assert reply["translated"] is False and reply["text"] == "Gracias"
    await caller.hangup()
    assert (await caller.wait_for(lambda m: m["type"] == "ended"))["status"] == "completed"


async def test_operator_previews_and_sends_an_edited_translation_and_quick_reply(start_server):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    preview = await operator.preview("La farola está rota.")
    assert preview["translated"] is True and preview["translation"]
    start = len(caller.messages)
    await operator.reply("La farola está rota.", translation="The street lamp is broken.")
    reply = await caller.wait_for(lambda m: m["type"] == "caption", start=start)
    assert reply["text"] == "The street lamp is broken."
    start = len(caller.messages)
    await operator.quick_reply("registered")
    quick = await caller.wait_for(lambda m: m["type"] == "caption", start=start)
    assert quick["text"] == f"Your complaint has been registered, number {ready['reference']}."
    await caller.close()
    await operator.close()


BAD_INPUTS = [
    ("not json at all", "bad_json"),
    (json.dumps({"type": "teleport"}), "unknown_type"),
    (b"\x00\x01" * 160, "not_started"),
]


@pytest.mark.parametrize("frame,code", BAD_INPUTS)
async def test_bad_input_before_hello_gets_a_clear_error_and_the_call_can_still_start(
    start_server, frame, code
):
    server = await start_server()
    caller = CallerClient(url(server, "/call"), RATE)
    caller._ws = await websockets.connect(url(server, "/call"), origin=origin_for(url(server, "")))
    caller._reader = asyncio.create_task(caller._read())
    await caller.send_raw(frame)
    error = await caller.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == code and error["message"] and error["fatal"] is False
    await caller.send(Hello(Role.CALLER, RATE, language="en"))
    assert (await caller.wait_for(lambda m: m["type"] == "ready"))["language"] == "en"
    await caller.close()


async def test_wrong_sample_rate_is_refused_clearly(start_server):
    server = await start_server()
    async with websockets.connect(url(server, "/call"), origin=origin_for(url(server, ""))) as ws:
        await ws.send(
            json.dumps({"type": "hello", "protocol": 1, "sample_rate": 12345, "language": "en"})
        )
        error = json.loads(await ws.recv())
        assert error["code"] == "bad_sample_rate" and "12345" in error["message"] and error["fatal"]
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()


async def test_oversized_and_odd_frames_are_refused_but_the_call_and_server_go_on(start_server):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("en")
    await caller.connected()
    await caller.send_audio(b"\x00" * 200_000)
    too_big = await caller.wait_for(lambda m: m["type"] == "error")
    assert too_big["code"] == "frame_too_large" and "200000" in too_big["message"]
    start = len(caller.messages)
    await caller.send_audio(b"\x00" * 321)
    odd = await caller.wait_for(lambda m: m["type"] == "error", start=start)
    assert odd["code"] == "bad_audio"
    await caller.send_raw("{broken")
    assert (await caller.wait_for(lambda m: m.get("code") == "bad_json"))["fatal"] is False
    await caller.type_text("Hello")
    assert (await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final")))["text"]
    other = CallerClient(url(server, "/call"), RATE)
    assert (await other.call("es"))["type"] == "ready"
    for client in (caller, other, operator):
        await client.close()


async def test_health_endpoint_answers_over_http(start_server):
    server = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await reader.read(4096)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["status"] == "ok"


async def test_partial_captions_reach_the_operator_live_and_are_translated(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("en")
    await caller.connected()
    speech = np.concatenate(
        [make_speech("There is a lot of noise at night in my street.", "en"), silence(1.2)]
    )
    await stream_pcm(caller, speech, speed=1.0)
    final = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    partials = [
        m
        for m in operator.messages
        if m["type"] == "caption" and not m["final"] and m["_at"] <= final["_at"]
    ]
    assert partials, "partial captions arrive before the final one"
    assert any(p.get("translated") and p.get("text") for p in partials), "partials are translated"
    await caller.close()
    await operator.close()


async def test_caller_speaking_stops_playback_to_the_caller(start_server, make_speech):
    """Barge-in: the caller starts talking over a long reply; the rest is not played."""
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("en")
    await caller.connected()
    long_reply = " ".join(["Gracias por llamar, vamos a revisar su queja con mucho cuidado."] * 6)
    start = len(caller.messages)
    await operator.reply(long_reply)
    await caller.wait_for(lambda m: m["type"] == "say" and m.get("utterance_id"), start=start)
    await asyncio.sleep(1.0)
    speech = np.concatenate([make_speech("Excuse me, hello?", "en"), silence(1.0)])
    await stream_pcm(caller, speech)
    await caller.wait_for(lambda m: m["type"] == "clear", start=start, timeout=10)
    heard_by_then = len(caller.audio)
    await asyncio.sleep(1.5)
    reply_seconds = (
        sum(len(m["text"].split()) for m in caller.messages[start:] if m["type"] == "say") / 3
    )
    assert (len(caller.audio) - heard_by_then) / (2 * RATE) < 1.0
    assert len(caller.audio) / (2 * RATE) < reply_seconds, "the reply was cut short"
    await caller.close()
    await operator.close()


async def test_operator_voice_is_recognized_translated_and_spoken_to_the_caller(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server, "sam", ["en"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("es")
    await caller.connected()
    await operator.wait_for(lambda m: m["type"] == "connected")
    start = len(caller.messages)
    speech = np.concatenate(
        [make_speech("We will repair the street light tomorrow.", "en"), silence(1.2)]
    )
    await stream_pcm(operator, speech, speed=2.0)
    caption = await caller.wait_for(
        lambda m: m["type"] == "caption" and m["speaker"] == "operator" and m["final"],
        start=start,
        timeout=30,
    )
    assert caption["translated"] and caption["language"] == "es"
    assert caption["text"] != caption["original"]
    await caller.wait_for(
        lambda m: m["type"] == "say" and m["text"] == caption["text"], start=start
    )
    await caller.close()
    await operator.close()


async def test_captions_only_operator_gets_text_but_no_translated_speech(start_server):
    server = await start_server()
    operator = await operator_signed_in(
        server, "ana", ["es"], captions_only=True, hear_original=False
    )
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("en")
    await caller.connected()
    await caller.type_text("The street light is broken.")
    caption = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    assert caption["text"] == "La luz de calle está rota."
    suggestion = await operator.wait_for(lambda m: m["type"] == "record_suggestion")
    assert suggestion["fields"] == {"kind": "complaint", "category": "street lighting"}
    await asyncio.sleep(1.0)
    assert operator.audio == b"" and not operator.of_type("say")
    await caller.close()
    await operator.close()


async def test_call_command_streams_a_wav_and_prints_what_the_caller_hears(
    start_server, make_speech, tmp_path
):
    import sys

    from telephony import write_wav

    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    wav = tmp_path / "caller.wav"
    write_wav(wav, make_speech("The street light is broken.", "en", 8000), 8000)
    received = tmp_path / "heard.wav"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "call",
        str(wav),
        "--lang",
        "en",
        "--url",
        url(server, "/call"),
        "--speed",
        "2",
        "--wait",
        "4",
        "-o",
        str(received),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"), timeout=60)
    await operator.reply("Gracias.")
    out, err = await asyncio.wait_for(process.communicate(), 90)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    assert "[caller hears] Welcome to the city hotline." in text
    assert "[caller sees] operator: 'Gracias.' → 'Thank you.'" in text
    pcm, rate = read_wav(received)
    assert rate == 16000 and len(pcm) > rate * 3
    await operator.close()


async def test_operator_hangs_up_and_hears_the_callers_own_voice_quietly(start_server, make_speech):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"], hear_original=True)
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    voice = make_speech("Hello, hello.", "en")
    await stream_pcm(caller, voice, speed=1.0)
    await asyncio.sleep(0.5)
    heard = operator.received_pcm()
    assert len(heard) > 0.5 * len(voice), "the caller's voice reaches the operator"
    peak = np.abs(heard[: int(0.5 * RATE)].astype(np.int32)).max()
    assert 0 < peak < 0.3 * np.abs(voice.astype(np.int32)).max(), "…at a low level"
    await operator.hangup()
    ended = await caller.wait_for(lambda m: m["type"] == "ended")
    assert ended["status"] == "completed"
    await operator.wait_for(lambda m: m["type"] == "ended")
    with records_of(server) as store:
        assert store.get(ready["call_id"]).call.status == "completed"
    await operator.close()


async def test_same_language_parties_hear_each_other_directly_without_synthesized_speech(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server, "joe", ["en"])
    caller = CallerClient(url(server, "/call"), RATE)
    await caller.call("en")
    assert (await caller.connected())["operator_language"] == "en"
    voice = np.concatenate([make_speech("The bins were not collected today.", "en"), silence(1.2)])
    await stream_pcm(caller, voice)
    caption = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    assert caption["text"] == caption["original"]
    await asyncio.sleep(0.5)
    assert not operator.of_type("say"), "no synthesized repeat of what the operator already heard"
    heard = operator.received_pcm().astype(np.int32)
    assert np.abs(heard).max() > 0.7 * np.abs(voice.astype(np.int32)).max(), "at full level"
    await caller.close()
    await operator.close()


async def test_caller_waiting_past_the_queue_timeout_hears_the_busy_message(start_server):
    server = await start_server(queue_timeout_s=1.0, queue_announce_s=0.5)
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.wait_for(lambda m: m["type"] == "status" and m["state"] == "busy", timeout=30)
    ended = await caller.wait_for(lambda m: m["type"] == "ended", timeout=30)
    assert ended["status"] == "busy"
    with records_of(server) as store:
        assert store.get(ready["call_id"]).call.status == "busy"


async def test_words_spoken_right_before_hang_up_are_still_recorded(start_server, make_speech):
    server = await start_server()
    operator = await operator_signed_in(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    speech = make_speech("There is a lot of noise at night.", "en")
    audible = np.flatnonzero(np.abs(speech) > 300)
    await stream_pcm(caller, speech[: audible[-1] + 1], speed=2.0)  # no trailing silence
    await caller.hangup()
    assert (await caller.wait_for(lambda m: m["type"] == "ended"))["status"] == "completed"
    await operator.close()
    with records_of(server) as store:
        utterances = store.get(ready["call_id"]).utterances
    assert [u.speaker for u in utterances] == ["caller"]
    assert utterances[0].original and utterances[0].translation_language == "es"


async def test_past_capacity_callers_hear_the_queue_in_their_language_then_get_through(
    start_server,
):
    server = await start_server(capacity=1)
    assert (await asyncio.to_thread(_healthz, server))["capacity"] == 1
    for name in ("ana", "bo"):
        await operator_signed_in(server, name, ["es", "en"])
    first = CallerClient(url(server, "/call"), RATE)
    await first.call("en")
    await first.connected()
    second = CallerClient(url(server, "/call"), RATE)
    await second.call("es")
    queued = await second.wait_for(lambda m: m["type"] == "status" and m["state"] == "queued")
    assert queued["position"] == 1, "an operator is free, but the server is full"
    position = await second.wait_for(lambda m: m["type"] == "say" and m.get("prompt") == "position")
    assert position["text"] == "Usted es el número 1 en la cola."

    asr = await websockets.connect(url(server, "/asr"))
    with contextlib.suppress(websockets.ConnectionClosed):
        await asyncio.wait_for(asr.recv(), 10)
    assert asr.close_code == 1013 and "full" in asr.close_reason, "/asr refuses, not slows"

    await first.hangup()
    await second.connected()
    await second.close()


def _healthz(server) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as r:
        return json.load(r)


async def test_a_caption_shows_the_path_a_pivoted_translation_took(start_server, engines):
    if not engines.can_translate("fr", "en") or ("fr", "en") in engines.translation_pairs():
        pytest.skip("needs French joined to English only through a pivot (./run installs it)")
    server = await start_server()
    operator = await sign_in_operator(server, "ana", ["en"])
    caller = CallerClient(url(server, "/call"), 16000)
    await caller.call("fr")
    await caller.connected()
    await caller.type_text("Le lampadaire de ma rue est cassé.")
    caption = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    assert caption["route"].startswith("fr → ") and caption["route"].endswith(" → en")
    assert caption["translated"] is True
    await caller.hangup()
    await caller.close()
    await operator.close()


async def test_a_caller_who_types_in_another_language_than_chosen_is_still_translated(
    start_server, engines
):
    if not engines.can_translate("fr", "es"):
        pytest.skip("needs a French route (./run installs apertium-fr-es)")
    server = await start_server()
    operator = await sign_in_operator(server, "ana", ["es"])
    caller = CallerClient(url(server, "/call"), 16000)
    await caller.call("en")
    await caller.connected()
    await caller.type_text("Le lampadaire de ma rue est cassé depuis lundi.")
    caption = await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    assert caption["source_language"] == "fr" and caption["translated"] is True
    assert "farola" in caption["text"].lower() or "lunes" in caption["text"].lower(), caption
    await caller.hangup()
    await caller.close()
    await operator.close()
