"""The caller and operator wire protocol (version 1), without I/O.

Text frames carry JSON objects with a ``type``; binary frames carry PCM16 LE mono audio
at the sample rate the client declared in ``hello``. This module turns text frames into
typed messages and raises :class:`ProtocolError` (a code plus a human message) for
anything else; the server turns that error into an ``error`` message in one place.
docs/protocol.md is the specification.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "PROTOCOL_VERSION",
    "SAMPLE_RATES",
    "ErrorCode",
    "ProtocolError",
    "Hello",
    "Dtmf",
    "TypedText",
    "Hangup",
    "Available",
    "Accept",
    "Reply",
    "Preview",
    "QuickReply",
    "RecordUpdate",
    "Settings",
    "ClientMessage",
    "parse_message",
    "encode",
]

PROTOCOL_VERSION = 1
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
LANGUAGE_MAX = 16
TEXT_MAX = 2000


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_MESSAGE = "bad_message"
    NOT_STARTED = "not_started"
    BAD_SAMPLE_RATE = "bad_sample_rate"
    FRAME_TOO_LARGE = "frame_too_large"
    BAD_AUDIO = "bad_audio"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    NO_CALL = "no_call"
    BAD_CREDENTIALS = "bad_credentials"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """Bad input from a client. ``fatal`` errors close the connection after the reply."""

    def __init__(self, code: ErrorCode, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


@dataclass(slots=True)
class Hello:
    role: str
    sample_rate: int
    language: str | None = None
    name: str | None = None
    languages: list[str] = field(default_factory=list)
    password: str | None = None
    caller_id: str | None = None
    captions_only: bool = False
    hear_original: bool = True
    auto_accept: bool = True


@dataclass(slots=True)
class Dtmf:
    digit: str


@dataclass(slots=True)
class TypedText:
    """The caller typing instead of speaking."""

    text: str


@dataclass(slots=True)
class Hangup:
    pass


@dataclass(slots=True)
class Available:
    available: bool


@dataclass(slots=True)
class Accept:
    call_id: str


@dataclass(slots=True)
class Reply:
    """Operator's typed reply; ``translation`` is an operator-edited translation to send as is."""

    text: str
    translation: str | None = None


@dataclass(slots=True)
class Preview:
    text: str


@dataclass(slots=True)
class QuickReply:
    id: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RecordUpdate:
    fields: dict[str, str]


@dataclass(slots=True)
class Settings:
    captions_only: bool | None = None
    hear_original: bool | None = None
    muted: bool | None = None


ClientMessage = (
    Hello
    | Dtmf
    | TypedText
    | Hangup
    | Available
    | Accept
    | Reply
    | Preview
    | QuickReply
    | RecordUpdate
    | Settings
)

CALLER_TYPES = {"hello", "dtmf", "text", "hangup"}
OPERATOR_TYPES = {
    "hello",
    "hangup",
    "available",
    "accept",
    "reply",
    "preview",
    "quick_reply",
    "record",
    "settings",
}
RECORD_FIELDS = {"kind", "category", "place", "urgency", "notes", "status"}


def _text(obj: dict[str, Any], key: str, *, required: bool = True, limit: int = TEXT_MAX) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"'{obj.get('type')}' needs a '{key}' string"
            )
        return None
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a string")
    if len(value) > limit:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' is longer than {limit} characters")
    return value


def _flag(obj: dict[str, Any], key: str, default: bool | None) -> bool | None:
    value = obj.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be true or false")
    return value


def _language(value: Any, key: str = "language") -> str:
    if not isinstance(value, str) or not value or len(value) > LANGUAGE_MAX:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a language code such as 'en'")
    return value.lower()


def _hello(obj: dict[str, Any], role: str) -> Hello:
    version = obj.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version!r} is not supported; this server speaks {PROTOCOL_VERSION}",
            fatal=True,
        )
    rate = obj.get("sample_rate", 16000)
    if not isinstance(rate, int) or isinstance(rate, bool) or rate not in SAMPLE_RATES:
        raise ProtocolError(
            ErrorCode.BAD_SAMPLE_RATE,
            f"sample_rate {rate!r} is not supported; use one of {', '.join(map(str, SAMPLE_RATES))}",
            fatal=True,
        )
    language = obj.get("language")
    languages = obj.get("languages", [])
    if not isinstance(languages, list):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'languages' must be a list of language codes")
    hello = Hello(
        role=role,
        sample_rate=rate,
        language=None if language is None else _language(language),
        name=_text(obj, "name", required=False, limit=64),
        languages=[_language(v, "languages") for v in languages],
        password=_text(obj, "password", required=False, limit=256),
        caller_id=_text(obj, "caller_id", required=False, limit=32),
        captions_only=bool(_flag(obj, "captions_only", False)),
        hear_original=bool(_flag(obj, "hear_original", True)),
        auto_accept=bool(_flag(obj, "auto_accept", True)),
    )
    if role == "operator":
        if not hello.name:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "an operator hello needs a 'name'", fatal=True
            )
        if not hello.languages and hello.language:
            hello.languages = [hello.language]
        if not hello.languages and hello.password is None:
            # With a password the languages may come from the operator's account.
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "an operator hello needs 'languages'", fatal=True
            )
    return hello


def parse_message(role: str, frame: str) -> ClientMessage:
    """Parse one text frame from a ``caller`` or ``operator`` client."""
    try:
        obj = json.loads(frame)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object")
    kind = obj.get("type")
    allowed = CALLER_TYPES if role == "caller" else OPERATOR_TYPES
    if not isinstance(kind, str) or kind not in allowed:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"unknown message type {kind!r} for a {role}; expected one of {', '.join(sorted(allowed))}",
        )
    match kind:
        case "hello":
            return _hello(obj, role)
        case "dtmf":
            digit = _text(obj, "digit", limit=1)
            if digit not in set("0123456789*#"):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'digit' must be one of 0-9, * or #")
            return Dtmf(digit)
        case "text":
            return TypedText(_text(obj, "text"))
        case "hangup":
            return Hangup()
        case "available":
            return Available(bool(_flag(obj, "available", True)))
        case "accept":
            return Accept(_text(obj, "call_id", limit=64))
        case "reply":
            return Reply(_text(obj, "text"), _text(obj, "translation", required=False))
        case "preview":
            return Preview(_text(obj, "text"))
        case "quick_reply":
            params = obj.get("params", {})
            if not isinstance(params, dict) or not all(
                isinstance(v, str | int) for v in params.values()
            ):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'params' must map names to strings")
            return QuickReply(_text(obj, "id", limit=64), {k: str(v) for k, v in params.items()})
        case "record":
            fields = obj.get("fields")
            if not isinstance(fields, dict) or not set(fields) <= RECORD_FIELDS:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"'fields' must be an object with keys among {', '.join(sorted(RECORD_FIELDS))}",
                )
            if not all(isinstance(v, str) and len(v) <= TEXT_MAX for v in fields.values()):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "record fields must be strings")
            return RecordUpdate(fields)
        case "settings":
            return Settings(
                captions_only=_flag(obj, "captions_only", None),
                hear_original=_flag(obj, "hear_original", None),
                muted=_flag(obj, "muted", None),
            )
    raise AssertionError(kind)


def encode(type_: str, **fields: Any) -> str:
    """One server → client text frame."""
    return json.dumps({"type": type_, **fields}, ensure_ascii=False)


def error_frame(error: ProtocolError) -> str:
    return encode("error", code=str(error.code), message=error.message, fatal=error.fatal)


def as_dict(message: ClientMessage) -> dict[str, Any]:
    return asdict(message)
