"""Every wire parser, fuzzed with Hypothesis: 10,000 cases each, random and shaped like the
real thing. Each case is either a message of the protocol or that parser's own documented
error (a clear message); any other exception is a crash, and the test fails on it.

The runs are derandomized (a fixed seed), and every crash a run has found is pinned with
``@example`` so it is tried first on every run after. ``HOTLINE_FUZZ_SEED`` (any text)
picks a fresh set for a longer hunt on a workstation.
"""

from __future__ import annotations

import json
import os
import string
import struct

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotline.wire import audiosocket, rtp, sdp, sip, twilio, vosk
from hotline.wire.messages import (
    ProtocolError,
    encode,
    parse_message,
    parse_server_message,
)
from hotline.wire.vocabulary import (
    RECORD_FIELDS,
    ClientType,
    Role,
    ServerType,
    SupervisorMode,
)

CASES = 10_000
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    derandomize="HOTLINE_FUZZ_SEED" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- values that look like JSON a client might send ------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["en", "es", "ko", "", "x" * 3000, "\u0000", "../../etc/passwd"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = [
    "type", "protocol", "sample_rate", "language", "languages", "name", "password", "token",
    "caller_id", "digit", "text", "translation", "call_id", "id", "params", "fields", "mode",
    "available", "captions_only", "hear_original", "muted", "auto_accept",
    "utterance_id", "field", "scores", "since", "until", "pair", "operator", "status",
    *RECORD_FIELDS,
]  # fmt: skip


@st.composite
def client_objects(draw: st.DrawFn) -> str:
    """A JSON object with a real (or almost real) type and fields of any kind."""
    obj = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6))
    obj["type"] = draw(st.sampled_from([*ClientType, *ServerType, "HELLO", "", 5]) | json_values)
    if draw(st.booleans()):
        obj["mode"] = draw(st.sampled_from([*SupervisorMode, "spy"]))
    if draw(st.booleans()):
        obj["sample_rate"] = draw(st.sampled_from([8000, 16000, 48000, 12345, "16000", True]))
    return json.dumps(obj)


frames = st.one_of(st.text(max_size=200), client_objects())


@FUZZ
@given(role=st.sampled_from(list(Role)), frame=frames)
@example(role=Role.SUPERVISOR, frame='{"type":"supervise","mode":[]}')  # found by CI's run
def test_caller_operator_and_supervisor_messages(role: Role, frame: str) -> None:
    try:
        message = parse_message(role, frame)
    except ProtocolError as error:
        assert error.message and error.code
        return
    again = parse_message(role, encode(message))
    assert again == message, "what parses is encoded back to the same message"


@FUZZ
@given(frame=st.one_of(st.text(max_size=200), client_objects()))
def test_server_messages_read_by_the_clients(frame: str) -> None:
    try:
        parse_server_message(frame)
    except ProtocolError as error:
        assert error.message


# --- the vosk-server protocol (/asr) ---------------------------------------------------


@st.composite
def vosk_frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=400))
    if kind == 1:
        config = draw(
            st.dictionaries(
                st.sampled_from(list(vosk.CONFIG_KEYS) + ["other"]), json_values, max_size=5
            )
        )
        return json.dumps({"config": config})
    if kind == 2:
        return draw(st.sampled_from([vosk.EOF_TEXT, vosk.RESET_TEXT, '{"eof": 1}', "config"]))
    return draw(st.text(max_size=200))


@FUZZ
@given(frame=vosk_frames())
def test_vosk_protocol_frames(frame: str | bytes) -> None:
    try:
        event = vosk.parse_frame(frame)
    except vosk.VoskProtocolError as error:
        assert str(error)
        return
    assert isinstance(event, vosk.Config | vosk.Audio | vosk.Eof | vosk.Reset)


# --- Twilio Media Streams ----------------------------------------------------------------


@st.composite
def twilio_frames(draw: st.DrawFn) -> str:
    event = draw(st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop", "x"]))
    message: dict = {"event": event, "sequenceNumber": draw(json_values), "streamSid": "MZ1"}
    if draw(st.booleans()):
        message["start"] = draw(
            st.fixed_dictionaries(
                {
                    "streamSid": st.text(max_size=8) | json_values,
                    "callSid": st.text(max_size=8),
                    "mediaFormat": st.fixed_dictionaries(
                        {
                            "encoding": st.sampled_from(["audio/x-mulaw", "audio/l16"])
                            | json_values,
                            "sampleRate": st.sampled_from([8000, 16000]) | json_values,
                            "channels": st.sampled_from([1, 2]) | json_values,
                        }
                    ),
                    "customParameters": json_values,
                }
            )
        )
    if draw(st.booleans()):
        payload = draw(st.binary(max_size=200))
        import base64

        message["media"] = {
            "payload": draw(st.sampled_from([base64.b64encode(payload).decode(), "%%%", ""])),
            "track": draw(st.sampled_from(["inbound", "outbound", 3])),
            "timestamp": draw(json_values),
        }
    if draw(st.booleans()):
        message["dtmf"] = {"digit": draw(st.text(max_size=2) | json_values)}
    if draw(st.booleans()):
        message["mark"] = {"name": draw(json_values)}
    return json.dumps(message)


@FUZZ
@given(frame=st.one_of(twilio_frames(), st.text(max_size=200), st.binary(max_size=100)))
@example(frame='{"event":"media","streamSid":"MZ1","media":{"payload":null}}')
def test_twilio_media_stream_events(frame: str | bytes) -> None:
    try:
        twilio.parse_event(frame)
    except twilio.TwilioProtocolError as error:
        assert str(error)


# --- Asterisk AudioSocket --------------------------------------------------------------


@st.composite
def audiosocket_streams(draw: st.DrawFn) -> list[bytes]:
    """A TCP stream as chunks: mostly well-formed messages, some not, split anywhere."""
    data = b""
    if draw(st.booleans()):
        data += audiosocket.uuid_frame(
            __import__("uuid").UUID(int=draw(st.integers(0, 2**128 - 1)))
        )
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from([0x00, 0x01, 0x03, 0x10, 0x11, 0x12, 0x13, 0x16, 0xFF, 0x42]))
        payload = draw(st.binary(max_size=64))
        data += struct.pack(">BH", kind, len(payload)) + payload
    data += draw(st.binary(max_size=16))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@FUZZ
@given(chunks=audiosocket_streams())
def test_audiosocket_streams(chunks: list[bytes]) -> None:
    parser = audiosocket.AudioSocketParser()
    try:
        for chunk in chunks:
            parser.feed(chunk)
    except audiosocket.AudioSocketError as error:
        assert str(error)
    assert parser.pending < 3 + 65536, "an incomplete message is bounded by its length field"


# --- SIP, SDP, RTP ------------------------------------------------------------------------

SIP_METHODS = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "FOO"]
SIP_HEADERS = ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Type",
               "Content-Length", "Max-Forwards", "v", "f", "t", "i", "l", "X-Odd"]  # fmt: skip
header_text = st.text(alphabet=string.printable, max_size=60)


@st.composite
def sip_datagrams(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    method = draw(st.sampled_from(SIP_METHODS))
    first = draw(
        st.sampled_from(
            [
                f"{method} sip:hotline@127.0.0.1 SIP/2.0",
                f"{method} tel:+15551234 SIP/2.0",
                "SIP/2.0 200 OK",
                f"{method} sip:x SIP/3.0",
            ]
        )
        | header_text
    )
    lines = [first]
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.sampled_from(SIP_HEADERS))
        lines.append(f"{name}: {draw(header_text)}")
    body = draw(st.binary(max_size=120) | st.just(b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n"))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@FUZZ
@given(datagram=sip_datagrams())
def test_sip_messages(datagram: bytes) -> None:
    try:
        sip.parse_message(datagram)
    except sip.SipError as error:
        assert str(error)


SDP_LINES = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
             "a=ptime:20", "a=sendrecv", "m=video 0 RTP/AVP 31", "c=IN IP6 ::1"]  # fmt: skip


@FUZZ
@given(
    body=st.lists(st.sampled_from(SDP_LINES) | header_text, max_size=12).map("\r\n".join)
    | st.binary(max_size=200)
)
def test_sdp_bodies(body: str | bytes) -> None:
    try:
        sdp.parse_sdp(body)
    except sdp.SdpError as error:
        assert str(error)


@st.composite
def rtp_packets(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    first = draw(st.integers(0, 255)) | 0x80 if draw(st.booleans()) else draw(st.integers(0, 255))
    header = struct.pack(
        ">BBHII",
        first,
        draw(st.integers(0, 255)),
        draw(st.integers(0, 65535)),
        draw(st.integers(0, 2**32 - 1)),
        draw(st.integers(0, 2**32 - 1)),
    )
    return header + draw(st.binary(max_size=200))


@FUZZ
@given(packet=rtp_packets())
def test_rtp_packets_and_telephone_events(packet: bytes) -> None:
    try:
        parsed = rtp.parse_rtp(packet)
    except rtp.RtpError as error:
        assert str(error)
        return
    try:
        rtp.parse_telephone_event(parsed.payload)
    except rtp.RtpError as error:
        assert str(error)
