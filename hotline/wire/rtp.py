"""RTP (RFC 3550) packets and RFC 4733 DTMF events, without I/O.

:func:`parse_rtp` reads one datagram into an :class:`RtpPacket` or raises
:class:`RtpPacketError`. What else arrives on an RTP port is told apart first and dropped
quietly by the receiver: STUN binding requests (linphone sends two before its media) and
RTCP (when a peer multiplexes it). :class:`DtmfReceiver` turns telephone-event packets
into one digit per key press, whichever SSRC they come on (sipp plays its DTMF from a
capture with its own SSRC). :class:`RtpStreamState` numbers what we send.
"""

from __future__ import annotations

import math
import secrets
import struct
from collections import OrderedDict, deque
from dataclasses import dataclass

__all__ = [
    "RTP_VERSION",
    "STUN_MAGIC_COOKIE",
    "EVENT_DIGITS",
    "RtpError",
    "RtpPacketError",
    "TelephoneEventError",
    "RtpPacket",
    "TelephoneEvent",
    "parse_rtp",
    "looks_like_stun",
    "looks_like_rtcp",
    "parse_telephone_event",
    "DtmfReceiver",
    "RtpStreamState",
]

RTP_VERSION = 2
STUN_MAGIC_COOKIE = b"\x21\x12\xa4\x42"
EVENT_DIGITS = "0123456789*#ABCD"
"""RFC 4733 events 0–15, by event number."""

_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")
_SEGMENT = 0xFFFF
"""The largest duration an event packet can carry; longer events go on in a new segment."""


class RtpError(ValueError):
    """Bytes on the RTP port that are not what they should be."""


class RtpPacketError(RtpError):
    """A datagram that is not an RTP packet (too short, wrong version, RTCP, bad padding)."""


class TelephoneEventError(RtpError):
    """A telephone-event payload that is not one RFC 4733 event."""


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet. Padding and any header extension are removed on parse and not
    written back; CSRCs are kept."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    def to_bytes(self) -> bytes:
        if not 0 <= self.payload_type <= 127:
            raise ValueError(f"payload type {self.payload_type} is not 0-127")
        if len(self.csrcs) > 15:
            raise ValueError("at most 15 CSRCs")
        first = (RTP_VERSION << 6) | len(self.csrcs)
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        csrcs = struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        return header + csrcs + bytes(self.payload)


def looks_like_stun(data: bytes) -> bool:
    """A STUN message (RFC 5389): top two bits 00 and the magic cookie at bytes 4–8."""
    return len(data) >= 20 and data[0] & 0xC0 == 0 and bytes(data[4:8]) == STUN_MAGIC_COOKIE


def looks_like_rtcp(data: bytes) -> bool:
    """An RTCP packet multiplexed on the RTP port (RFC 5761 §4): version 2 and a packet type
    of 192–223 in the second byte, which no RTP payload type plus marker can be here."""
    return len(data) >= 8 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    """One datagram → :class:`RtpPacket`, or :class:`RtpPacketError`."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise RtpPacketError(f"{len(data)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpPacketError(f"RTP version {first >> 6}, not 2")
    if looks_like_rtcp(data):
        raise RtpPacketError(f"RTCP packet type {second}, not RTP")
    offset = _HEADER.size
    count = first & 0x0F
    if len(data) < offset + 4 * count:
        raise RtpPacketError("packet ends inside its CSRC list")
    csrcs = struct.unpack_from(f"!{count}I", data, offset)
    offset += 4 * count
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpPacketError("packet ends inside its header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if len(data) < offset:
            raise RtpPacketError("packet ends inside its header extension")
    end = len(data)
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or padding > end - offset:
            raise RtpPacketError(f"bad padding count {padding}")
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=data[offset:end],
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
    )


@dataclass(slots=True, frozen=True)
class TelephoneEvent:
    """One RFC 4733 event report: ``duration`` in timestamp units since the event began."""

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        return EVENT_DIGITS[self.event] if self.event < len(EVENT_DIGITS) else None

    def to_bytes(self) -> bytes:
        if not (
            0 <= self.event <= 255 and 0 <= self.volume <= 63 and 0 <= self.duration <= _SEGMENT
        ):
            raise ValueError(f"event out of range: {self}")
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    if len(payload) != _EVENT.size:
        raise TelephoneEventError(f"a telephone-event payload is 4 bytes, got {len(payload)}")
    event, flags, duration = _EVENT.unpack(bytes(payload))
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfReceiver:
    """One digit per key press from RFC 4733 packets. An event is known by its (SSRC,
    timestamp): its updates and the three end retransmissions share both, so only the first
    packet seen of a new pair gives the digit, even when the start packets were lost. With
    ``payload_type`` set, packets of any other payload type are ignored (None)."""

    __slots__ = ("payload_type", "_seen", "_open")

    MEMORY = 64
    """How many recent events are remembered, so a late duplicate is never a new press."""

    def __init__(self, payload_type: int | None = None) -> None:
        self.payload_type = payload_type
        self._seen: deque[tuple[int, int]] = deque(maxlen=self.MEMORY)
        self._open: OrderedDict[int, tuple[int, TelephoneEvent]] = OrderedDict()

    def feed(self, packet: RtpPacket) -> str | None:
        """The digit this packet starts, or None; :class:`TelephoneEventError` if its
        payload is not an event."""
        if self.payload_type is not None and packet.payload_type != self.payload_type:
            return None
        event = parse_telephone_event(packet.payload)
        key = (packet.ssrc, packet.timestamp)
        previous = self._open.get(packet.ssrc)
        if key in self._seen:
            if previous is not None and previous[0] == packet.timestamp:
                self._remember(packet.ssrc, packet.timestamp, event)
            return None
        self._seen.append(key)
        self._remember(packet.ssrc, packet.timestamp, event)
        if previous is not None and self._continues(previous, packet, event):
            return None
        return event.digit

    def _remember(self, ssrc: int, timestamp: int, event: TelephoneEvent) -> None:
        self._open[ssrc] = (timestamp, event)
        self._open.move_to_end(ssrc)
        while len(self._open) > self.MEMORY:
            self._open.popitem(last=False)

    @staticmethod
    def _continues(
        previous: tuple[int, TelephoneEvent], packet: RtpPacket, event: TelephoneEvent
    ) -> bool:
        """A new segment of a long event (RFC 4733 §2.5.1.3), not a new press: same event,
        the old one not ended, no marker, timestamp moved on by about one full segment."""
        timestamp, before = previous
        step = (packet.timestamp - timestamp) % 2**32
        return (
            before.event == event.event
            and not before.end
            and not packet.marker
            and _SEGMENT - 2000 <= step <= _SEGMENT + 1
        )


class RtpStreamState:
    """Numbering for one stream we send: sequence (wraps at 2^16) and timestamp (wraps at
    2^32) start at random values, as RFC 3550 asks; DTMF goes on the same SSRC."""

    __slots__ = ("payload_type", "clock_rate", "ssrc", "sequence", "timestamp", "dtmf_payload_type")

    def __init__(
        self,
        payload_type: int,
        clock_rate: int = 8000,
        ssrc: int | None = None,
        *,
        dtmf_payload_type: int = 101,
        sequence: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.dtmf_payload_type = dtmf_payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self.sequence = secrets.randbits(16) if sequence is None else sequence & 0xFFFF
        self.timestamp = secrets.randbits(32) if timestamp is None else timestamp & 0xFFFFFFFF

    def _next(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> bytes:
        packet = RtpPacket(payload_type, self.sequence, timestamp, self.ssrc, payload, marker)
        self.sequence = (self.sequence + 1) & 0xFFFF
        return packet.to_bytes()

    def packet(self, payload: bytes, samples: int, marker: bool = False) -> bytes:
        """The next packet of ``samples`` samples; sequence and timestamp move on."""
        data = self._next(self.payload_type, payload, self.timestamp, marker)
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        return data

    def event_packets(self, digit: str, duration_ms: int = 160, volume: int = 10) -> list[bytes]:
        """One key press as RFC 4733 sends it: an update every 20 ms, all with the event's
        start timestamp, the first marked, then the end packet three times. The stream's
        timestamp then moves past the event."""
        if len(digit) != 1 or digit.upper() not in EVENT_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        if duration_ms <= 0:
            raise ValueError("duration_ms must be positive")
        event = EVENT_DIGITS.index(digit.upper())
        step = self.clock_rate // 50
        total = min(duration_ms * self.clock_rate // 1000, _SEGMENT)
        updates = max(1, math.ceil(total / step) - 1)
        reports = [
            TelephoneEvent(event, False, volume, min(k * step, total))
            for k in range(1, updates + 1)
        ]
        reports += [TelephoneEvent(event, True, volume, total)] * 3
        start = self.timestamp
        packets = [
            self._next(self.dtmf_payload_type, report.to_bytes(), start, index == 0)
            for index, report in enumerate(reports)
        ]
        self.timestamp = (start + total) & 0xFFFFFFFF
        return packets
