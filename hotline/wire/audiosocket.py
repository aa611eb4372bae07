"""Asterisk AudioSocket, without I/O.

Asterisk connects over TCP and both sides send messages of ``kind (1 byte) | length
(2 bytes, big-endian) | payload``. The first message from Asterisk is the call's UUID
(kind 0x01, 16 raw bytes); then signed-linear audio (kind 0x10 at 8 kHz, and the kinds for
higher rates on newer Asterisk), DTMF (0x03, one ASCII byte), hang-up (0x00) and error
(0xff). Audio samples are little-endian although the length is big-endian. We send only
audio and hang-up: Asterisk treats anything else as an error and ends the call.

:class:`AudioSocketParser` takes bytes as they arrive (in any pieces) and gives typed
events, or raises :class:`AudioSocketError`. ../shared/docs/protocols.md §2 has the facts.
"""

from __future__ import annotations

import struct
import uuid as uuid_module
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

__all__ = [
    "AudioSocketError",
    "Kind",
    "AUDIO_KINDS",
    "Uuid",
    "Audio",
    "Dtmf",
    "Hangup",
    "Error",
    "AudioSocketEvent",
    "AudioSocketParser",
    "audio_frame",
    "hangup_frame",
    "uuid_frame",
    "dtmf_frame",
    "kind_for_rate",
]

HEADER = struct.Struct(">BH")


class AudioSocketError(Exception):
    """Bytes that are not AudioSocket; the connection cannot go on after one."""


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN_8K = 0x10
    SLIN_12K = 0x11
    SLIN_16K = 0x12
    SLIN_24K = 0x13
    SLIN_32K = 0x14
    SLIN_44K = 0x15
    SLIN_48K = 0x16
    SLIN_96K = 0x17
    SLIN_192K = 0x18
    ERROR = 0xFF


AUDIO_KINDS: dict[int, int] = {
    Kind.SLIN_8K: 8000,
    Kind.SLIN_12K: 12000,
    Kind.SLIN_16K: 16000,
    Kind.SLIN_24K: 24000,
    Kind.SLIN_32K: 32000,
    Kind.SLIN_44K: 44100,
    Kind.SLIN_48K: 48000,
    Kind.SLIN_96K: 96000,
    Kind.SLIN_192K: 192000,
}
"""Audio kinds and their rates, as current Asterisk documents them. One older header made
0x11 mean 16 kHz; the kinds are kept as the current documentation has them."""
DTMF_DIGITS = frozenset(b"0123456789*#ABCD")


@dataclass(slots=True, frozen=True)
class Uuid:
    uuid: uuid_module.UUID


@dataclass(slots=True, frozen=True)
class Audio:
    """PCM16 little-endian mono bytes at ``sample_rate``."""

    pcm: bytes
    sample_rate: int


@dataclass(slots=True, frozen=True)
class Dtmf:
    digit: str


@dataclass(slots=True, frozen=True)
class Hangup:
    pass


@dataclass(slots=True, frozen=True)
class Error:
    """Asterisk reports a failure; ``code`` is its bit-packed reason (0x01 caller hung up)."""

    code: int | None


AudioSocketEvent: TypeAlias = Uuid | Audio | Dtmf | Hangup | Error


class AudioSocketParser:
    """Bytes in, events out. The UUID must come first; after a hang-up nothing more is
    taken."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._got_uuid = False
        self._done = False

    def feed(self, data: bytes) -> list[AudioSocketEvent]:
        if self._done:
            if data:
                raise AudioSocketError("bytes after a hang-up")
            return []
        self._buffer += data
        events: list[AudioSocketEvent] = []
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            if len(self._buffer) < HEADER.size + length:
                break
            payload = bytes(self._buffer[HEADER.size : HEADER.size + length])
            del self._buffer[: HEADER.size + length]
            event = self._event(kind, payload)
            events.append(event)
            if isinstance(event, Hangup | Error):
                self._done = True
                if self._buffer:
                    raise AudioSocketError("bytes after a hang-up")
                break
        return events

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message still waiting for the rest."""
        return len(self._buffer)

    def _event(self, kind: int, payload: bytes) -> AudioSocketEvent:
        if not self._got_uuid and kind != Kind.UUID:
            raise AudioSocketError(f"the first message must be the UUID (0x01), got 0x{kind:02x}")
        if kind == Kind.UUID:
            if self._got_uuid:
                raise AudioSocketError("a second UUID message")
            if len(payload) != 16:
                raise AudioSocketError(f"a UUID is 16 bytes, got {len(payload)}")
            self._got_uuid = True
            return Uuid(uuid_module.UUID(bytes=payload))
        if kind in AUDIO_KINDS:
            if not payload or len(payload) % 2:
                raise AudioSocketError(f"audio of {len(payload)} bytes is not whole 16-bit samples")
            return Audio(payload, AUDIO_KINDS[kind])
        if kind == Kind.DTMF:
            if len(payload) != 1 or payload[0] not in DTMF_DIGITS:
                raise AudioSocketError(f"DTMF must be one key, got {payload!r}")
            return Dtmf(chr(payload[0]))
        if kind == Kind.HANGUP:
            return Hangup()
        if kind == Kind.ERROR:
            return Error(payload[0] if payload else None)
        raise AudioSocketError(f"unknown message kind 0x{kind:02x}")


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"an AudioSocket message holds at most 65535 bytes, not {len(payload)}")
    return HEADER.pack(kind, len(payload)) + payload


def kind_for_rate(sample_rate: int) -> Kind:
    for kind, rate in AUDIO_KINDS.items():
        if rate == sample_rate:
            return Kind(kind)
    raise ValueError(f"AudioSocket has no audio kind for {sample_rate} Hz")


def audio_frame(pcm: bytes, sample_rate: int = 8000) -> bytes:
    """PCM16 little-endian mono bytes at ``sample_rate`` as one audio message."""
    if not pcm or len(pcm) % 2:
        raise ValueError("audio must be whole 16-bit samples, and not empty")
    return _frame(kind_for_rate(sample_rate), pcm)


def hangup_frame() -> bytes:
    return _frame(Kind.HANGUP, b"")


def uuid_frame(call: uuid_module.UUID) -> bytes:
    """What Asterisk sends first (for test peers)."""
    return _frame(Kind.UUID, call.bytes)


def dtmf_frame(digit: str) -> bytes:
    """A key press as Asterisk sends it (for test peers)."""
    return _frame(Kind.DTMF, digit.encode("ascii"))
