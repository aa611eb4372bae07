"""Twilio Media Streams without a socket: Twilio's own messages parse to typed events, ours
are built as Twilio expects, and signatures match Twilio's published vectors."""

from __future__ import annotations

import base64
import json
import random

import pytest

from hotline.wire import twilio as wire

# Verbatim from a capture Twilio published (twilio/media-streams, node/connect-basic).
CONNECTED = '{"event":"connected","protocol":"Call","version":"1.0.0"}'
START = json.dumps(
    {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": "AC18fb0000000000000000000000000000",
            "streamSid": "9e7ee906-377b-408f-a852-eebfb834422a",
            "callSid": "CA3c950000000000000000000000000000",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"aCutomParameter": "aCustomValue that was set in TwiML"},
        },
        "streamSid": "9e7ee906-377b-408f-a852-eebfb834422a",
    }
)


def media(payload: bytes, chunk: str = "1", timestamp: str = "52") -> str:
    body = {"track": "inbound", "chunk": chunk, "timestamp": timestamp}
    body["payload"] = base64.b64encode(payload).decode()
    return json.dumps({"event": "media", "sequenceNumber": "2", "media": body, "streamSid": "MZ1"})


def test_twilios_messages_parse_to_typed_events_with_numbers_from_strings():
    assert wire.parse_event(CONNECTED) == wire.Connected("Call", "1.0.0")
    start = wire.parse_event(START)
    assert isinstance(start, wire.Start)
    assert start.stream_sid == "9e7ee906-377b-408f-a852-eebfb834422a"
    assert start.call_sid.startswith("CA") and start.tracks == ("inbound",)
    assert start.custom_parameters == {"aCutomParameter": "aCustomValue that was set in TwiML"}
    frame = bytes(range(160))
    assert wire.parse_event(media(frame, "7", "140")) == wire.Media(frame, 140, 7, "inbound")
    dtmf = '{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}'
    assert wire.parse_event(dtmf) == wire.Dtmf("1")
    mark = '{"event":"mark","sequenceNumber":"103","streamSid":"MZ1","mark":{"name":"2-greeting"}}'
    assert wire.parse_event(mark) == wire.Mark("2-greeting")
    stop = '{"event":"stop","sequenceNumber":"9","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}'
    assert wire.parse_event(stop) == wire.Stop("CA1")


def test_what_we_send_is_shaped_as_twilio_expects():
    assert json.loads(wire.media_frame("MZ1", b"\xff" * 160)) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": base64.b64encode(b"\xff" * 160).decode()},
    }
    assert json.loads(wire.mark_frame("MZ1", "3-connected")) == {
        "event": "mark",
        "streamSid": "MZ1",
        "mark": {"name": "3-connected"},
    }
    assert json.loads(wire.clear_frame("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"\x00\x01", "binary"),
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"event": "teleport"}', "unknown event"),
        ('{"event": "media", "media": {"payload": "@@@"}}', "not base64"),
        ('{"event": "media"}', "needs a 'media' object"),
        ('{"event": "media", "media": {"payload": "AA==", "timestamp": "soon"}}', "whole number"),
        ('{"event": "dtmf", "dtmf": {"digit": "X"}}', "not a key"),
        (
            '{"event": "start", "start": {"streamSid": "MZ", "callSid": "CA", "mediaFormat": {"encoding": "audio/L16", "sampleRate": 16000}}}',
            "not Twilio's 8 kHz",
        ),
        (
            '{"event": "start", "start": {"streamSid": "MZ", "callSid": "CA", "customParameters": {"a": 1}}}',
            "customParameters",
        ),
        ('{"event": "mark", "mark": {"name": 5}}', "must be a string"),
    ],
)
def test_frames_that_are_not_twilios_protocol_are_refused_clearly(frame, fragment):
    with pytest.raises(wire.TwilioProtocolError, match=fragment):
        wire.parse_event(frame)


def test_random_and_mutated_frames_parse_or_raise_the_protocol_error():
    rng = random.Random(9)
    seeds = [CONNECTED, START, media(b"\x7f" * 160)]
    for _ in range(3000):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            text[rng.randrange(len(text))] = rng.choice('{}[]":,0aZ\\ é')
        try:
            wire.parse_event("".join(text))
        except wire.TwilioProtocolError:
            pass


def test_signature_matches_twilios_documented_vector():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert wire.signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert wire.valid_signature("12345", url, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", params)


def test_a_stream_upgrade_is_signed_over_the_wss_url_with_or_without_its_port():
    url = "wss://hotline.example.org/twilio"
    given = wire.signature("12345", url)
    assert given == "/07yzYF5Mda5D6ZTnT466N8eBds="
    assert wire.valid_signature("12345", "wss://hotline.example.org:443/twilio", given)
    assert not wire.valid_signature("12345", "https://hotline.example.org/twilio", given)
    assert not wire.valid_signature("wrong", url, given)
    assert not wire.valid_signature("12345", url, None)


def test_twiml_connects_the_call_to_the_stream_with_its_parameters_escaped():
    twiml = wire.twiml("wss://h.example/twilio", {"caller": "+1555", "note": 'a<b&"c'})
    assert '<Stream url="wss://h.example/twilio">' in twiml
    assert '<Parameter name="caller" value="+1555"/>' in twiml
    assert 'value="a&lt;b&amp;&quot;c"' in twiml
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Connect>')
