"""The caller and operator protocol without a socket: every message both ways is a typed value
that round-trips through its frame, bad frames become clear protocol errors, and the browser's
copy of the vocabulary agrees with this one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hotline.wire import javascript
from hotline.wire.messages import (
    Accept,
    Available,
    CallerReady,
    Caption,
    Clear,
    Connected,
    Dtmf,
    Ended,
    ErrorMessage,
    Hangup,
    Hello,
    Menu,
    MenuOption,
    Notice,
    OperatorReady,
    Preview,
    PreviewResult,
    ProtocolError,
    Queue,
    QueuedCall,
    QuickReply,
    RecordSaved,
    RecordSuggestion,
    RecordUpdate,
    Reply,
    ReplySent,
    Say,
    Settings,
    StatusChange,
    TypedText,
    encode,
    parse_message,
    parse_server_message,
)
from hotline.wire.vocabulary import (
    RECORD_FIELDS,
    CallState,
    ClientType,
    ErrorCode,
    Role,
    ServerType,
    Speaker,
    Status,
)

STATIC = Path(__file__).resolve().parents[2] / "hotline" / "static"

SERVER_MESSAGES = [
    ErrorMessage(ErrorCode.BAD_JSON, "malformed JSON", fatal=False),
    Menu([MenuOption("1", "en", "English"), MenuOption("2", "ko", "한국어")]),
    CallerReady("c1", "H-20261129-0001", "en", 16000),
    OperatorReady("ana", "Ana", ["es", "en"]),
    Say("Welcome", prompt="greeting"),
    Say("Gracias", utterance_id=3),
    StatusChange(CallState.QUEUED, position=2),
    StatusChange(CallState.CONNECTED, operator_language="es"),
    Caption(Speaker.CALLER, "the street", final=False),
    Caption(
        Speaker.CALLER,
        "가로등",
        final=True,
        text="가로등",
        translated=False,
        utterance_id=4,
        language="es",
        source_language="ko",
        engine="none",
        note="no engine for ko→es",
    ),
    ReplySent(Speaker.OPERATOR, "Hola", final=True, text="Hello", translated=True),
    Clear(),
    Ended("c1", "H-20261129-0001", Status.COMPLETED),
    Ended("c1", "H-20261129-0001"),
    Notice("speech recognition stopped for the caller"),
    Queue([QueuedCall("c2", "ko", 12.5)]),
    Connected("c1", "H-1", "en", "es", True, False, ["address", "registered"]),
    PreviewResult("Hola", "Hello", True),
    RecordSuggestion({"category": "noise"}),
    RecordSaved("c1"),
]


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=lambda m: type(m).__name__)
def test_every_server_message_round_trips_through_its_frame(message):
    frame = encode(message)
    body = json.loads(frame)
    assert body["type"] == message.TYPE
    assert None not in body.values(), "absent fields are left out, never sent as null"
    assert parse_server_message(frame) == message


CLIENT_MESSAGES = [
    (Role.CALLER, Hello(Role.CALLER, 8000, language="ko", caller_id="+15550100")),
    (Role.CALLER, Dtmf("#")),
    (Role.CALLER, TypedText("hello")),
    (Role.CALLER, Hangup()),
    (
        Role.OPERATOR,
        Hello(Role.OPERATOR, 48000, name="ana", languages=["es"], password="pw", auto_accept=False),
    ),
    (Role.OPERATOR, Available(False)),
    (Role.OPERATOR, Accept("c1")),
    (Role.OPERATOR, Reply("Hola", translation="Hello")),
    (Role.OPERATOR, Preview("Hola")),
    (Role.OPERATOR, QuickReply("registered", {"n": "H-1"})),
    (Role.OPERATOR, RecordUpdate({"kind": "complaint", "place": "Main St"})),
    (Role.OPERATOR, Settings(muted=True)),
]


@pytest.mark.parametrize(("role", "message"), CLIENT_MESSAGES, ids=lambda m: type(m).__name__)
def test_every_client_message_the_client_builds_is_what_the_server_parses(role, message):
    assert parse_message(role, encode(message)) == message


@pytest.mark.parametrize(
    ("role", "frame", "code", "fatal"),
    [
        (Role.CALLER, "{", ErrorCode.BAD_JSON, False),
        (Role.CALLER, "[1]", ErrorCode.BAD_MESSAGE, False),
        (Role.CALLER, '{"type": "reply", "text": "x"}', ErrorCode.UNKNOWN_TYPE, False),
        (Role.OPERATOR, '{"type": "dtmf", "digit": "1"}', ErrorCode.UNKNOWN_TYPE, False),
        (Role.CALLER, '{"type": "dtmf", "digit": "A"}', ErrorCode.BAD_MESSAGE, False),
        (Role.CALLER, '{"type": "text"}', ErrorCode.BAD_MESSAGE, False),
        (Role.CALLER, '{"type": "hello", "sample_rate": 12345}', ErrorCode.BAD_SAMPLE_RATE, True),
        (Role.CALLER, '{"type": "hello", "protocol": 2}', ErrorCode.UNSUPPORTED_VERSION, True),
        (Role.OPERATOR, '{"type": "hello", "languages": ["es"]}', ErrorCode.BAD_CREDENTIALS, True),
        (Role.OPERATOR, '{"type": "hello", "name": "ana"}', ErrorCode.BAD_CREDENTIALS, True),
        (
            Role.OPERATOR,
            '{"type": "hello", "name": "ana", "password": 5}',
            ErrorCode.BAD_MESSAGE,
            False,
        ),
        (
            Role.OPERATOR,
            '{"type": "record", "fields": {"status": "closed"}}',
            ErrorCode.BAD_MESSAGE,
            False,
        ),
        (Role.OPERATOR, '{"type": "record", "fields": {"kind": 3}}', ErrorCode.BAD_MESSAGE, False),
        (Role.OPERATOR, '{"type": "settings", "muted": "yes"}', ErrorCode.BAD_MESSAGE, False),
        (
            Role.OPERATOR,
            '{"type": "quick_reply", "id": "x", "params": []}',
            ErrorCode.BAD_MESSAGE,
            False,
        ),
        (
            Role.CALLER,
            '{"type": "text", "text": "' + "x" * 2001 + '"}',
            ErrorCode.BAD_MESSAGE,
            False,
        ),
    ],
)
def test_bad_frames_become_clear_protocol_errors(role, frame, code, fatal):
    with pytest.raises(ProtocolError) as raised:
        parse_message(role, frame)
    assert raised.value.code == code and raised.value.fatal == fatal and raised.value.message


def test_a_caller_may_send_only_caller_messages():
    for kind in ClientType:
        frame = json.dumps({"type": kind})
        if kind in {
            ClientType.HELLO,
            ClientType.DTMF,
            ClientType.TEXT,
            ClientType.HANGUP,
            ClientType.SURVEY,
        }:
            continue
        with pytest.raises(ProtocolError) as raised:
            parse_message(Role.CALLER, frame)
        assert raised.value.code == ErrorCode.UNKNOWN_TYPE


def test_the_record_form_fields_are_exactly_the_vocabulary():
    every = {name: "x" for name in RECORD_FIELDS}
    assert parse_message(Role.OPERATOR, encode(RecordUpdate(every))) == RecordUpdate(every)


def test_a_frame_the_protocol_does_not_know_is_refused_by_clients():
    with pytest.raises(ProtocolError):
        parse_server_message('{"type": "teleport"}')
    with pytest.raises(ProtocolError):
        parse_server_message('{"type": "ready"}')


def test_the_browsers_vocabulary_is_generated_from_this_one():
    committed = javascript.WIRE_JS.read_text(encoding="utf-8")
    assert committed == javascript.render(), (
        "hotline/static/wire.js is stale: run `python -m hotline.wire.javascript`"
    )


def test_every_constant_the_pages_use_exists_and_no_message_type_is_spelled_by_hand():
    names = {
        "CLIENT": {m.name for m in ClientType},
        "SERVER": {m.name for m in ServerType},
        "ERROR": {m.name for m in ErrorCode},
        "SPEAKER": {m.name for m in Speaker},
        "STATE": {m.name for m in CallState},
        "STATUS": {m.name for m in Status},
    }
    for page in ("caller.js", "console.js"):
        source = (STATIC / page).read_text(encoding="utf-8")
        for group, name in re.findall(
            r"\b(CLIENT|SERVER|ERROR|SPEAKER|STATE|STATUS)\.([A-Z_]+)", source
        ):
            assert name in names[group], f"{page}: {group}.{name} is not in the vocabulary"
        assert not re.search(r'type:\s*"', source), f"{page} spells a message type by hand"
        by_hand = "|".join(ServerType)
        assert not re.search(rf'case\s+"({by_hand})"', source), f"{page} matches a type by hand"
