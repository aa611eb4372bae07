"""The vosk-server websocket protocol (alphacep/vosk-server ``asr_server.py``), without I/O.

Client frames become typed events: :class:`Config`, :class:`Audio`, :class:`Eof` and
:class:`Reset`; replies are serialized from :class:`PartialReply`, :class:`FinalReply` and
:class:`ErrorReply`. The peer's quirks are kept so its clients work unchanged: any text
frame containing ``config`` is a config message, and ``{"eof" : 1}`` / ``{"reset" : 1}``
are recognized as exact strings; unlike the peer, their JSON equivalents (``{"eof": 1}``)
are accepted too, and anything else raises a :class:`VoskProtocolError` instead of
dropping the connection. docs: ../shared/docs/protocols.md §3.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from hotline.wire.vocabulary import CloseCode

__all__ = [
    "EOF_TEXT",
    "RESET_TEXT",
    "MIN_SAMPLE_RATE",
    "MAX_SAMPLE_RATE",
    "CloseCode",
    "VoskProtocolError",
    "BadMessage",
    "BadAudio",
    "BadConfig",
    "Config",
    "Audio",
    "Eof",
    "Reset",
    "ClientEvent",
    "PartialReply",
    "FinalReply",
    "ErrorReply",
    "Reply",
    "parse_frame",
    "parse_config",
    "serialize",
]

EOF_TEXT = '{"eof" : 1}'
RESET_TEXT = '{"reset" : 1}'
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
CONFIG_KEYS = ("sample_rate", "phrase_list", "words", "max_alternatives", "language")


class VoskProtocolError(Exception):
    """Bad input from a client. ``fatal`` errors close the connection after the error reply."""

    fatal = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadMessage(VoskProtocolError):
    """A text frame that is neither config, eof nor reset; it is answered and the session goes on."""


class BadAudio(VoskProtocolError):
    """A binary frame that is not whole 16-bit samples; it is answered, dropped, and the session goes on."""


class BadConfig(VoskProtocolError):
    """A config the server cannot honour. Fatal: config gets no reply in the protocol, so going
    on would decode with the wrong settings and put lock-step clients one reply out of step."""

    fatal = True


@dataclass(slots=True, frozen=True)
class Config:
    """The keys of one ``{"config": {...}}`` message; None where the client left a key out."""

    sample_rate: int | None = None
    phrase_list: tuple[str, ...] | None = None
    words: bool | None = None
    max_alternatives: int | None = None
    language: str | None = None


@dataclass(slots=True, frozen=True)
class Audio:
    """Raw PCM16 little-endian mono at the configured sample rate."""

    data: bytes


@dataclass(slots=True, frozen=True)
class Eof:
    """Finish the remaining audio, reply with its final, close."""


@dataclass(slots=True, frozen=True)
class Reset:
    """Finish the remaining audio, reply with its final, keep the session."""


ClientEvent: TypeAlias = Config | Audio | Eof | Reset


class Word(Protocol):
    """One recognized word with its timing, as any recognizer gives it."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(slots=True, frozen=True)
class PartialReply:
    text: str


@dataclass(slots=True, frozen=True)
class FinalReply:
    """A final result; ``words`` None leaves out the ``result`` list (words disabled)."""

    text: str
    words: tuple[Word, ...] | None = None


@dataclass(slots=True, frozen=True)
class ErrorReply:
    message: str


Reply: TypeAlias = PartialReply | FinalReply | ErrorReply


def parse_frame(frame: str | bytes) -> ClientEvent:
    """One websocket frame as an event; raises a VoskProtocolError subclass for bad input."""
    if isinstance(frame, bytes | bytearray | memoryview):
        data = bytes(frame)
        if len(data) % 2:
            raise BadAudio(
                f"audio frame of {len(data)} bytes is not whole 16-bit samples; "
                "send raw PCM16 little-endian mono with an even number of bytes"
            )
        return Audio(data)
    if "config" in frame:
        return parse_config(frame)
    if frame == EOF_TEXT:
        return Eof()
    if frame == RESET_TEXT:
        return Reset()
    try:
        message = json.loads(frame)
    except ValueError:
        raise BadMessage(
            f"text frame is not JSON: {_excerpt(frame)}; expected a config message, "
            f"{EOF_TEXT} or {RESET_TEXT}"
        ) from None
    if _is_command(message, "eof"):
        return Eof()
    if _is_command(message, "reset"):
        return Reset()
    raise BadMessage(
        f"unknown message {_excerpt(frame)}; expected a config message, {EOF_TEXT} or {RESET_TEXT}"
    )


def parse_config(text: str) -> Config:
    """A ``{"config": {...}}`` message; unknown keys are ignored, as vosk-server does."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise BadConfig(f"config message is not valid JSON ({exc}): {_excerpt(text)}") from None
    if not isinstance(message, dict) or not isinstance(message.get("config"), dict):
        raise BadConfig(
            f'a config message must look like {{"config": {{...}}}}, got {_excerpt(text)}'
        )
    body: dict[str, Any] = message["config"]
    if "model" in body:
        raise BadConfig(
            'config key "model" is not supported here: choose the model with "language"'
        )
    return Config(
        sample_rate=_sample_rate(body["sample_rate"]) if "sample_rate" in body else None,
        phrase_list=_phrase_list(body["phrase_list"]) if "phrase_list" in body else None,
        words=_words(body["words"]) if "words" in body else None,
        max_alternatives=(
            _max_alternatives(body["max_alternatives"]) if "max_alternatives" in body else None
        ),
        language=_language(body["language"]) if "language" in body else None,
    )


def serialize(reply: Reply) -> str:
    """The JSON text frame for a reply, in vosk-server's shapes."""
    match reply:
        case PartialReply(text=text):
            body: dict[str, Any] = {"partial": text}
        case FinalReply(text=text, words=words):
            body = {}
            if words:
                body["result"] = [
                    {
                        "conf": round(w.conf, 6),
                        "end": round(w.end, 3),
                        "start": round(w.start, 3),
                        "word": w.word,
                    }
                    for w in words
                ]
            body["text"] = text
        case ErrorReply(message=message):
            body = {"error": message}
        case _:
            raise TypeError(f"not a vosk protocol reply: {reply!r}")
    return json.dumps(body, ensure_ascii=False)


def _is_command(message: object, name: str) -> bool:
    return (
        isinstance(message, dict)
        and list(message) == [name]
        and type(message[name]) in (int, float)
        and message[name] == 1
    )


def _sample_rate(value: object) -> int:
    # vosk-server reads float(value), so numeric strings such as "16000" are accepted too.
    rate: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    elif isinstance(value, str):
        try:
            rate = float(value)
        except ValueError:
            rate = None
    if rate is None or not math.isfinite(rate) or rate != int(rate):
        raise BadConfig(f"sample_rate must be a whole number of Hz, got {value!r}")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise BadConfig(
            f"sample_rate {int(rate)} Hz is out of range: "
            f"use {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz"
        )
    return int(rate)


def _phrase_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise BadConfig(f"phrase_list must be a list of strings, got {_excerpt(json.dumps(value))}")
    if not any(p.strip() for p in value):
        raise BadConfig("phrase_list is empty: leave it out to recognize free speech")
    return tuple(value)


def _words(value: object) -> bool:
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise BadConfig(f"words must be true or false, got {value!r}")


def _max_alternatives(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadConfig(f"max_alternatives must be a whole number >= 0, got {value!r}")
    return value


def _language(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 16:
        raise BadConfig(f'language must be a language code such as "ko" or "en", got {value!r}')
    return value.strip()


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
