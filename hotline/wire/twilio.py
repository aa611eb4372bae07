"""Twilio Media Streams (a bidirectional ``<Connect><Stream>``), without I/O.

Twilio opens a websocket to us and sends JSON text frames with an ``event``: ``connected``,
``start`` (``customParameters`` carry what the TwiML's ``<Parameter>`` elements set),
``media`` (base64 µ-law, 8 kHz, 20 ms per frame), ``dtmf``, ``mark`` (the echo of a mark
we sent, once the audio before it has played or a ``clear`` dropped it) and ``stop``.
Numbers such as ``sequenceNumber``, ``chunk`` and ``timestamp`` arrive as strings. We send
``media``, ``mark`` and ``clear``. :func:`parse_event` turns a frame into a typed event or
raises :class:`TwilioProtocolError`; the ``*_frame`` functions build what we send. The
signature Twilio puts on the websocket upgrade is checked by :func:`valid_signature`.
../shared/docs/protocols.md §1 has the wire facts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SAMPLE_RATE",
    "FRAME_BYTES",
    "TwilioProtocolError",
    "Connected",
    "Start",
    "Media",
    "Dtmf",
    "Mark",
    "Stop",
    "TwilioEvent",
    "parse_event",
    "media_frame",
    "mark_frame",
    "clear_frame",
    "signature",
    "valid_signature",
    "twiml",
]

SAMPLE_RATE = 8000
FRAME_BYTES = 160
"""20 ms of 8 kHz µ-law: what Twilio sends per ``media`` and what we send back."""
MAX_PAYLOAD_BYTES = 16000
"""Two seconds of µ-law in one ``media``: more is not a phone call's audio."""
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class TwilioProtocolError(Exception):
    """A frame that is not Twilio's protocol; the session logs it and goes on, or, before
    the stream has started, refuses the connection."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True, frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(slots=True, frozen=True)
class Start:
    """The stream is up: who is calling and what the TwiML asked for."""

    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    tracks: tuple[str, ...] = ("inbound",)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = SAMPLE_RATE
    channels: int = 1


@dataclass(slots=True, frozen=True)
class Media:
    """Raw µ-law bytes (no header); ``timestamp`` is milliseconds since the stream began."""

    payload: bytes
    timestamp_ms: int
    chunk: int
    track: str = "inbound"


@dataclass(slots=True, frozen=True)
class Dtmf:
    digit: str


@dataclass(slots=True, frozen=True)
class Mark:
    name: str


@dataclass(slots=True, frozen=True)
class Stop:
    call_sid: str | None = None


TwilioEvent: TypeAlias = Connected | Start | Media | Dtmf | Mark | Stop


def parse_event(frame: str | bytes) -> TwilioEvent:
    """One text frame from Twilio as a typed event."""
    if isinstance(frame, bytes | bytearray | memoryview):
        raise TwilioProtocolError("Twilio sends JSON text frames, not binary ones")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise TwilioProtocolError(f"frame is not JSON: {_excerpt(frame)}") from None
    if not isinstance(message, dict):
        raise TwilioProtocolError(f"frame is not a JSON object: {_excerpt(frame)}")
    event = message.get("event")
    match event:
        case "connected":
            return Connected(_str(message, "protocol", ""), _str(message, "version", ""))
        case "start":
            start = _object(message, "start")
            media_format = start.get("mediaFormat") or {}
            if not isinstance(media_format, dict):
                raise TwilioProtocolError("start.mediaFormat must be an object")
            parameters = start.get("customParameters") or {}
            if not isinstance(parameters, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in parameters.items()
            ):
                raise TwilioProtocolError("start.customParameters must map names to strings")
            tracks = start.get("tracks", ["inbound"])
            if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
                raise TwilioProtocolError("start.tracks must be a list of strings")
            result = Start(
                stream_sid=_str(start, "streamSid", None) or _str(message, "streamSid"),
                call_sid=_str(start, "callSid"),
                account_sid=_str(start, "accountSid", ""),
                custom_parameters=dict(parameters),
                tracks=tuple(tracks),
                encoding=_str(media_format, "encoding", "audio/x-mulaw"),
                sample_rate=_int(media_format, "sampleRate", SAMPLE_RATE),
                channels=_int(media_format, "channels", 1),
            )
            if (result.encoding, result.sample_rate, result.channels) != (
                "audio/x-mulaw",
                SAMPLE_RATE,
                1,
            ):
                raise TwilioProtocolError(
                    f"media format {result.encoding} {result.sample_rate} Hz "
                    f"{result.channels} ch is not Twilio's 8 kHz mono µ-law"
                )
            return result
        case "media":
            media = _object(message, "media")
            text = _str(media, "payload")
            if len(text) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
                raise TwilioProtocolError(f"media payload of {len(text)} characters is too large")
            try:
                payload = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise TwilioProtocolError("media.payload is not base64") from None
            return Media(
                payload,
                timestamp_ms=_int(media, "timestamp", 0),
                chunk=_int(media, "chunk", 0),
                track=_str(media, "track", "inbound"),
            )
        case "dtmf":
            digit = _str(_object(message, "dtmf"), "digit")
            if digit not in DTMF_DIGITS:
                raise TwilioProtocolError(f"dtmf.digit {digit!r} is not a key")
            return Dtmf(digit)
        case "mark":
            return Mark(_str(_object(message, "mark"), "name"))
        case "stop":
            stop = message.get("stop")
            call_sid = stop.get("callSid") if isinstance(stop, dict) else None
            return Stop(call_sid if isinstance(call_sid, str) else None)
    raise TwilioProtocolError(f"unknown event {event!r}")


def media_frame(stream_sid: str, ulaw: bytes) -> str:
    """Audio for the caller: raw µ-law, no file header."""
    payload = base64.b64encode(ulaw).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark_frame(stream_sid: str, name: str) -> str:
    """Twilio echoes it once everything sent before it has played (or was cleared)."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_frame(stream_sid: str) -> str:
    """Barge-in: drop the audio Twilio still holds for the caller."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


def signature(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1, keyed by the account's auth token, of the
    URL followed by each POST parameter's name and value in name order."""
    text = url + "".join(f"{k}{v}" for k, v in sorted((params or {}).items()))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(
    auth_token: str, url: str, given: str | None, params: Mapping[str, str] | None = None
) -> bool:
    """Whether ``given`` signs ``url``. Twilio may sign the URL with or without its default
    port (443 for https/wss, 80 for http/ws), so both forms are accepted."""
    if not given:
        return False
    for candidate in _port_variants(url):
        if hmac.compare_digest(signature(auth_token, candidate, params), given):
            return True
    return False


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = 443 if parts.scheme in ("https", "wss") else 80
    host = parts.hostname or ""
    if parts.port is None:
        with_port = parts._replace(netloc=f"{parts.netloc}:{default}")
        return [url, urlunsplit(with_port)]
    if parts.port == default:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
        return [url, urlunsplit(parts._replace(netloc=netloc))]
    return [url]


def twiml(stream_url: str, parameters: Mapping[str, str] | None = None) -> str:
    """The TwiML that connects a call to the hotline's ``/twilio`` stream. ``<Parameter>``
    carries the caller's number (and a language, if the number is a language's own line);
    Twilio drops query strings from stream URLs, so nothing may ride on the URL."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<Response>",
        "  <Connect>",
        f'    <Stream url="{_xml(stream_url)}">',
    ]
    for name, value in (parameters or {}).items():
        lines.append(f'      <Parameter name="{_xml(name)}" value="{_xml(value)}"/>')
    lines += ["    </Stream>", "  </Connect>", "</Response>"]
    return "\n".join(lines) + "\n"


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise TwilioProtocolError(f"'{message.get('event')}' needs a '{key}' object")
    return value


_REQUIRED = object()


def _str(obj: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
    value = obj.get(key, default)
    if value is _REQUIRED or (value is None and default is _REQUIRED):
        raise TwilioProtocolError(f"missing '{key}'")
    if value is not None and not isinstance(value, str):
        raise TwilioProtocolError(f"'{key}' must be a string, got {type(value).__name__}")
    return value


def _int(obj: dict[str, Any], key: str, default: int) -> int:
    """Twilio sends most numbers as strings ("52"), a few as numbers (sampleRate)."""
    value = obj.get(key, default)
    if isinstance(value, bool):
        raise TwilioProtocolError(f"'{key}' must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    raise TwilioProtocolError(f"'{key}' must be a whole number, got {value!r}")


def _excerpt(text: str | bytes, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
