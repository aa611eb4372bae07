"""Callers on the phone network: Twilio Media Streams and Asterisk AudioSocket, each driven by
a peer that speaks the network's exact wire format against a real server on loopback.

The peers stream audio every 20 ms, silence included, as the networks do. What the caller
heard is checked against the speech the hotline should have sent (the same voice, the same
words), and the records against the channel the call came in on."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable

import numpy as np
import pytest
import websockets

from hotline.clients.client import CallerClient, OperatorClient
from hotline.clients.phone import AudioSocketCaller, TwilioCaller
from hotline.engines import synthesizer
from hotline.records import RecordStore
from hotline.wire import twilio as twilio_wire
from hotline.wire.messages import Hangup
from telephony import read_wav, ulaw_decode, ulaw_encode
from tests.conftest import free_port, sign_in_operator, silence, url
from tests.speech_match import match_score

PHONE_RATE = 8000
REPLY_ES = "Gracias. Enviaremos un técnico mañana."
REPLY_EN = ["Thank you.", "We will send a technician tomorrow."]
NOT_SAID = ["Your water supply will be restored tonight.", "Please call again later."]


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def operator_signed_in(server, languages: list[str] | None = None) -> OperatorClient:
    return await sign_in_operator(server, "ana", languages or ["es"], hear_original=False)


def records(server) -> RecordStore:
    return RecordStore(server.data_dir / "hotline.sqlite3")


async def finished_calls(server) -> list:
    """The calls once the hotline has closed every record: a peer can hear the end first."""
    for _ in range(200):
        with records(server) as store:
            calls = store.list()
        if calls and all(c.status not in ("active", "queued") for c in calls):
            return calls
        await asyncio.sleep(0.05)
    raise AssertionError(f"records still open: {calls}")


async def spoken(sentences: list[str], language: str) -> list[np.ndarray]:
    """The sentences as the hotline's voice says them on a phone line: 8 kHz, through µ-law."""
    voice = synthesizer()
    try:
        out = []
        for sentence in sentences:
            pcm = await voice.synthesize_async(sentence, language, PHONE_RATE)
            out.append(ulaw_decode(ulaw_encode(pcm)))
        return out
    finally:
        voice.close()


async def assert_heard(heard: np.ndarray, sentences: list[str], language: str = "en") -> None:
    """Each sentence is in what the phone heard, much closer than sentences never said."""
    said = await spoken(sentences, language)
    unsaid = await spoken(NOT_SAID, language)
    floor = min(match_score(heard, pcm, PHONE_RATE) for pcm in unsaid)
    for sentence, pcm in zip(sentences, said, strict=True):
        score = match_score(heard, pcm, PHONE_RATE)
        assert score < 0.7 * floor, f"{sentence!r} not heard: {score:.2f} vs {floor:.2f} for unsaid"


# --- Twilio ------------------------------------------------------------------------------


async def test_twilio_caller_has_the_whole_translated_call_and_a_twilio_record(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server)
    caller = TwilioCaller(url(server, "/twilio"), caller="+15551234567", language="en")
    await caller.connect()
    connected = await operator.wait_for(lambda m: m["type"] == "connected")
    assert (connected["caller_language"], connected["operator_language"]) == ("en", "es")
    await until(lambda: any(n.endswith("-connected") for n in caller.marks_echoed))
    assert caller.marks_echoed[:2] == ["1-greeting", "2-connected"], "marks come back in order"

    await caller.say(
        np.concatenate(
            [make_speech("The street light is broken.", "en", PHONE_RATE), silence(1.0, PHONE_RATE)]
        )
    )
    caption = await operator.wait_for(
        lambda m: m["type"] == "caption" and m.get("final") and m["speaker"] == "caller"
    )
    assert caption["original"] and caption["translated"] and caption["language"] == "es"

    marks = len(caller.marks_echoed)
    await operator.reply(REPLY_ES)
    await until(lambda: len(caller.marks_echoed) >= marks + len(REPLY_EN))
    assert "-utterance-" in caller.marks_echoed[marks]
    await assert_heard(caller.heard(), REPLY_EN)

    media = caller.of("media")
    assert media and all(set(m) == {"event", "streamSid", "media"} for m in media)
    assert {m["streamSid"] for m in media} == {caller.stream_sid}
    assert {len(base64.b64decode(m["media"]["payload"])) for m in media} == {160}
    sent_marks = [m["mark"]["name"] for m in caller.of("mark")]
    assert sent_marks == caller.marks_echoed

    await caller.hang_up()
    await operator.wait_for(lambda m: m["type"] == "ended")
    await operator.close()
    (call,) = await finished_calls(server)
    with records(server) as store:
        record = store.get(call.id)
    assert (record.call.channel, record.call.status) == ("twilio", "completed")
    assert record.call.caller_id_masked == "+*******4567"
    assert {u.speaker for u in record.utterances} == {"caller", "operator"}
    legs = {r.leg: r for r in record.recordings}
    assert legs["caller_in"].sample_rate == legs["caller_heard"].sample_rate == PHONE_RATE
    caller_in, rate = read_wav(server.data_dir / legs["caller_in"].path)
    assert rate == PHONE_RATE and len(caller_in) > PHONE_RATE * 3


async def test_caller_speaking_over_a_reply_gets_a_clear_and_the_rest_is_never_played(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server)
    caller = TwilioCaller(url(server, "/twilio"), language="en")
    await caller.connect()
    await operator.wait_for(lambda m: m["type"] == "connected")
    await until(lambda: any(n.endswith("-connected") for n in caller.marks_echoed))
    long_reply = (
        # The first sentence is long, so that the caller's barge-in lands inside it even
        # on a loaded machine.
        "Gracias por su llamada y por su paciencia, hemos registrado su queja sobre la "
        "farola de la calle mayor con todos los detalles que nos ha dado. Un técnico irá "
        "mañana por la mañana. Le llamaremos esta semana para confirmar la visita."
    )
    before, marks = len(caller.heard()), len(caller.marks_echoed)
    await operator.reply(long_reply)
    await until(lambda: len(caller.heard()) > before + PHONE_RATE // 2)
    await caller.say(make_speech("Hello, excuse me.", "en", PHONE_RATE))
    await until(lambda: caller.clears > 0)
    await asyncio.sleep(2.0)
    heard_of_reply = (len(caller.heard()) - before) / PHONE_RATE
    assert heard_of_reply < 4.0, f"{heard_of_reply:.1f} s of an 8 s reply played after the clear"
    assert len(caller.marks_echoed) == marks, "no segment of the reply was heard to its end"
    await caller.hang_up()
    await operator.close()


async def test_a_key_press_chooses_the_language_on_the_twilio_menu(start_server):
    server = await start_server(menu_languages=["en", "es", "ko"])
    operator = await operator_signed_in(server, ["es"])
    caller = TwilioCaller(url(server, "/twilio"))
    await caller.connect()
    await until(lambda: len(caller.of("media")) > 50)
    await caller.press("2")
    connected = await operator.wait_for(lambda m: m["type"] == "connected")
    assert connected["caller_language"] == "es"
    await caller.hang_up()
    await operator.close()


async def test_an_unsigned_or_wrongly_signed_twilio_request_is_refused(start_server):
    def signed(config):
        config.twilio.auth_token = "s3cret-token"
        config.twilio.public_url = "https://hotline.example.org"

    server = await start_server(configure=signed)
    stream_url = "wss://hotline.example.org/twilio"
    forged = TwilioCaller(url(server, "/twilio"), auth_token="wrong", signed_url=stream_url)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await forged.connect()
    assert refused.value.response.status_code == 403
    assert b"X-Twilio-Signature is wrong" in refused.value.response.body

    genuine = TwilioCaller(
        url(server, "/twilio"), auth_token="s3cret-token", signed_url=stream_url, language="en"
    )
    await genuine.connect()
    await until(lambda: len(genuine.of("media")) > 10)
    await genuine.hang_up()

    webhook = f"http://127.0.0.1:{server.port}/twilio/voice?From=%2B15550100"
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        await asyncio.to_thread(urllib.request.urlopen, webhook)
    assert unsigned.value.code == 403
    signature = twilio_wire.signature(
        "s3cret-token", "https://hotline.example.org/twilio/voice?From=%2B15550100"
    )
    request = urllib.request.Request(webhook, headers={"X-Twilio-Signature": signature})
    with await asyncio.to_thread(urllib.request.urlopen, request) as answer:
        twiml = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/xml")
    assert f'<Stream url="{stream_url}">' in twiml
    assert '<Parameter name="caller" value="+15550100"/>' in twiml


async def test_bad_twilio_frames_are_skipped_and_the_call_and_a_parallel_call_go_on(
    start_server, make_speech
):
    server = await start_server()
    operator = await operator_signed_in(server)
    caller = TwilioCaller(url(server, "/twilio"), language="en")
    await caller.connect()
    for frame in (
        "{",
        '{"event": "teleport"}',
        '{"event": "media", "media": {"payload": "@@not base64@@"}}',
        b"\x00\x01binary",
        json.dumps({"event": "media", "media": {"payload": "A" * 40000}}),
    ):
        await caller.send_raw(frame)
    web = CallerClient(url(server, "/call"), 16000)
    assert (await web.call("en"))["type"] == "ready"
    await operator.wait_for(lambda m: m["type"] == "connected")
    await until(lambda: any(n.endswith("-connected") for n in caller.marks_echoed))
    await caller.say(
        np.concatenate([make_speech("Hello.", "en", PHONE_RATE), silence(1.0, PHONE_RATE)])
    )
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    await caller.hang_up()
    await web.hangup()
    await web.close()
    await operator.close()


async def test_a_stream_that_does_not_start_with_start_is_closed_clearly(start_server):
    server = await start_server()
    async with websockets.connect(url(server, "/twilio")) as ws:
        await ws.send(json.dumps({"event": "media", "media": {"payload": "AAAA"}}))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1008 and "expected start" in ws.close_reason


async def test_a_twilio_line_gone_one_way_is_ended_and_recorded_as_such(start_server):
    server = await start_server(no_audio_timeout_s=1.0)
    caller = TwilioCaller(url(server, "/twilio"), language="en")
    await caller.connect()
    await until(lambda: len(caller.of("media")) > 5)
    caller.line.paused = True
    await asyncio.wait_for(caller.closed.wait(), 15)
    (call,) = await finished_calls(server)
    assert call.status == "dropped" and call.end_reason.startswith("one-way audio")


# --- AudioSocket -------------------------------------------------------------------------


def with_audiosocket(language: str = ""):
    def configure(config):
        config.audiosocket.port = free_port()
        config.audiosocket.language = language

    return configure


async def test_asterisk_caller_has_a_translated_call_with_byte_exact_framing(
    start_server, make_speech
):
    server = await start_server(configure=with_audiosocket())
    operator = await operator_signed_in(server)
    caller = AudioSocketCaller("127.0.0.1", server.audiosocket.port)
    await caller.connect()
    await until(lambda: caller.frames_received > 20)
    await caller.press("1")  # menu_languages[0] is English
    connected = await operator.wait_for(lambda m: m["type"] == "connected")
    assert connected["caller_language"] == "en"

    await caller.say(
        np.concatenate(
            [make_speech("The bins were not emptied.", "en", PHONE_RATE), silence(1.0, PHONE_RATE)]
        )
    )
    caption = await operator.wait_for(
        lambda m: m["type"] == "caption" and m.get("final") and m["speaker"] == "caller"
    )
    assert caption["translated"] and caption["language"] == "es"

    before = len(caller.heard())
    await operator.reply(REPLY_ES)
    sent = await operator.wait_for(lambda m: m["type"] == "reply_sent")
    assert sent["text"] == " ".join(REPLY_EN)
    await until(lambda: len(caller.heard()) > before + 2.5 * PHONE_RATE)
    await asyncio.sleep(1.0)
    await assert_heard(caller.heard()[before:], REPLY_EN)

    await operator.send(Hangup())
    await asyncio.wait_for(caller.hung_up_by_hotline.wait(), 10)
    assert caller.violations == [], "the hotline sent only audio and a hang-up"
    await caller.close()
    await operator.close()
    (call,) = await finished_calls(server)
    with records(server) as store:
        record = store.get(call.id)
    assert (record.call.channel, record.call.status) == ("audiosocket", "completed")
    assert record.call.caller_id_masked is None


async def test_asterisk_at_16_khz_is_answered_at_16_khz(start_server, make_speech):
    server = await start_server(configure=with_audiosocket("en"))
    operator = await operator_signed_in(server, ["en"])
    caller = AudioSocketCaller("127.0.0.1", server.audiosocket.port, sample_rate=16000)
    await caller.connect()
    await operator.wait_for(lambda m: m["type"] == "connected")
    await caller.say(np.concatenate([make_speech("Hello there.", "en", 16000), silence(1.0)]))
    await operator.wait_for(lambda m: m["type"] == "caption" and m.get("final"))
    await caller.hang_up()
    await operator.wait_for(lambda m: m["type"] == "ended")
    await operator.close()
    (call,) = await finished_calls(server)
    with records(server) as store:
        record = store.get(call.id)
    assert {r.sample_rate for r in record.recordings if r.leg.startswith("caller")} == {16000}


async def test_bad_audiosocket_input_ends_only_that_call_and_says_why(start_server):
    server = await start_server(configure=with_audiosocket("en"))
    port = server.audiosocket.port

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x10\x00\x02\x00\x00")  # audio before the UUID
    assert await asyncio.wait_for(reader.read(), 10) == b"\x00\x00\x00", "refused with a hang-up"
    writer.close()

    steady = AudioSocketCaller("127.0.0.1", port)
    await steady.connect()
    broken = AudioSocketCaller("127.0.0.1", port)
    await broken.connect()
    await until(lambda: broken.frames_received > 5 and steady.frames_received > 5)
    await broken.send_raw(b"\x42\x00\x00")
    await asyncio.wait_for(broken.closed.wait(), 10)
    truncated = AudioSocketCaller("127.0.0.1", port)
    await truncated.connect()
    await until(lambda: truncated.frames_received > 5)
    truncated.line.paused = True
    await truncated.send_raw(b"\x10\x01\x40" + b"\x00" * 10)  # 320 bytes announced, 10 sent
    await truncated.close()
    frames = steady.frames_received
    await until(lambda: steady.frames_received > frames + 10)
    assert not steady.closed.is_set(), "the other call goes on"
    await steady.hang_up()
    await broken.close()

    await asyncio.sleep(1.0)
    with records(server) as store:
        calls = store.list()
    ended = {c.end_reason for c in calls if c.status == "dropped"}
    assert "AudioSocket protocol error: unknown message kind 0x42" in ended
    assert sorted(c.status for c in calls) == ["completed", "dropped", "dropped"]


async def test_an_audiosocket_line_gone_one_way_is_hung_up(start_server):
    server = await start_server(configure=with_audiosocket("en"), no_audio_timeout_s=1.0)
    caller = AudioSocketCaller("127.0.0.1", server.audiosocket.port)
    await caller.connect()
    await until(lambda: caller.frames_received > 5)
    caller.line.paused = True
    await asyncio.wait_for(caller.hung_up_by_hotline.wait(), 15)
    await caller.close()
    (call,) = await finished_calls(server)
    assert call.status == "dropped" and re.match(
        r"one-way audio: no audio .* for \d", call.end_reason
    )
