"""SDP (RFC 4566) offer/answer (RFC 3264) for one G.711 audio stream, without I/O.

:func:`parse_sdp` reads an offer into a :class:`SessionDescription` or raises
:class:`SdpSyntaxError` (answer 400); :func:`negotiate` picks the caller's first offered
codec we speak (PCMU or PCMA) and the telephone-event payload type it offered at that
codec's rate, or raises :class:`SdpNegotiationError` (answer 488); :func:`answer_sdp`
writes our answer. Phones offer several telephone-event rates (linphone: 48000, 16000 and
8000) and any dynamic number for them, so the answer mirrors the offered one: a caller
keeps sending the number it offered, and a different number would lose its DTMF.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, field

__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "TELEPHONE_EVENT",
    "SdpError",
    "SdpSyntaxError",
    "SdpNegotiationError",
    "RtpMap",
    "Origin",
    "MediaDescription",
    "SessionDescription",
    "Negotiated",
    "parse_sdp",
    "negotiate",
    "answer_sdp",
    "offer_sdp",
]

TELEPHONE_EVENT = "telephone-event"
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
_PLAIN_RTP = ("RTP/AVP", "RTP/AVPF")
_LINE = re.compile(r"([a-z])=(.*)")
_DIGITS = re.compile(r"[0-9]{1,10}")


class SdpError(ValueError):
    """An offer we cannot answer; ``status`` is the SIP response for it."""

    status = 488


class SdpSyntaxError(SdpError):
    """Not SDP, or SDP with a broken line: the request is answered 400 Bad Request."""

    status = 400


class SdpNegotiationError(SdpError):
    """Well-formed SDP with nothing we can use (no audio, no common codec): 488."""

    status = 488


@dataclass(slots=True, frozen=True)
class RtpMap:
    encoding: str
    clock_rate: int
    channels: int | None = None


STATIC_PAYLOAD_TYPES: dict[int, RtpMap] = {
    0: RtpMap("PCMU", 8000),
    3: RtpMap("GSM", 8000),
    4: RtpMap("G723", 8000),
    8: RtpMap("PCMA", 8000),
    9: RtpMap("G722", 8000),
    13: RtpMap("CN", 8000),
    18: RtpMap("G729", 8000),
}
"""RFC 3551 audio payload types a peer may offer without an rtpmap line."""
_CODEC_PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}


@dataclass(slots=True)
class Origin:
    """The ``o=`` line, kept as written (session ids are often larger than 64 bits)."""

    username: str
    session_id: str
    version: str
    network_type: str
    address_type: str
    address: str


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section. ``rtpmap`` holds only the lines present; :meth:`encoding` also
    knows the static payload types. ``connection`` is this section's own ``c=`` address."""

    media: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, RtpMap] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    connection: str | None = None
    ptime: int | None = None
    direction: str = "sendrecv"
    raw_formats: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def encoding(self, payload_type: int) -> RtpMap | None:
        return self.rtpmap.get(payload_type) or STATIC_PAYLOAD_TYPES.get(payload_type)


@dataclass(slots=True)
class SessionDescription:
    origin: Origin | None
    name: str
    connection: str | None
    media: list[MediaDescription]
    attributes: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Negotiated:
    """What an offer and our answer agreed. ``ptime`` is what the caller asked to receive
    (20 when it did not say); ``direction`` is our answer's. ``offered_media`` and
    ``media_index`` let the answer keep one ``m=`` line per offered one (RFC 3264 §6)."""

    codec: str
    payload_type: int
    clock_rate: int
    dtmf_payload_type: int | None
    remote_ip: str
    remote_port: int
    ptime: int = 20
    direction: str = "sendrecv"
    media_index: int = 0
    offered_media: tuple[str, ...] = ()


def _int(text: str, what: str, low: int, high: int) -> int:
    text = text.strip()
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise SdpSyntaxError(f"bad {what}: {text[:30]!r}")
    return int(text)


def _connection(value: str) -> str:
    fields = value.split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise SdpSyntaxError(f"bad c= line: {value[:60]!r}")
    address = fields[2].split("/")[0]
    if not address:
        raise SdpSyntaxError(f"bad c= line: {value[:60]!r}")
    return address


def _media(value: str) -> MediaDescription:
    fields = value.split()
    if len(fields) < 4:
        raise SdpSyntaxError(f"bad m= line: {value[:60]!r}")
    media, port_text, proto, formats = fields[0], fields[1], fields[2], fields[3:]
    port = _int(port_text.split("/")[0], "m= port", 0, 65535)
    if "/" in port_text:
        _int(port_text.split("/", 1)[1], "m= port count", 1, 65535)
    rtp = proto.upper().startswith("RTP/")
    payload_types = [_int(fmt, "m= payload type", 0, 127) for fmt in formats] if rtp else []
    return MediaDescription(media, port, proto, payload_types, raw_formats=formats)


def _rtpmap(value: str) -> tuple[int, RtpMap]:
    pt_text, _, spec = value.strip().partition(" ")
    parts = spec.strip().split("/")
    if len(parts) not in (2, 3) or not parts[0]:
        raise SdpSyntaxError(f"bad rtpmap: {value[:60]!r}")
    payload_type = _int(pt_text, "rtpmap payload type", 0, 127)
    clock = _int(parts[1], "rtpmap clock rate", 1, 10**7)
    channels = _int(parts[2], "rtpmap channels", 1, 255) if len(parts) == 3 else None
    return payload_type, RtpMap(parts[0], clock, channels)


def _ptime(value: str) -> int:
    try:
        ptime = round(float(value.strip()))
    except (ValueError, OverflowError):
        ptime = 0
    if not 0 < ptime <= 1000:
        raise SdpSyntaxError(f"bad ptime: {value[:30]!r}")
    return ptime


def parse_sdp(text: str | bytes) -> SessionDescription:
    """An SDP body → :class:`SessionDescription`; LF or CRLF line ends; :class:`SdpSyntaxError`
    for anything broken. Unknown line types and attributes are kept or skipped, not refused.
    Session-level ``a=ptime`` and direction apply to every stream that does not set its own."""
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise SdpSyntaxError("SDP is not UTF-8") from None
    lines = [line.rstrip() for line in text.split("\n") if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        raise SdpSyntaxError("SDP must start with v=0")
    session = SessionDescription(origin=None, name="", connection=None, media=[])
    session_ptime: int | None = None
    session_direction = "sendrecv"
    current: MediaDescription | None = None
    for line in lines[1:]:
        match = _LINE.fullmatch(line)
        if not match:
            raise SdpSyntaxError(f"bad SDP line: {line[:60]!r}")
        kind, value = match.groups()
        if kind == "v":
            raise SdpSyntaxError("a second v= line")
        if kind == "m":
            current = _media(value)
            current.direction, current.ptime = session_direction, session_ptime
            session.media.append(current)
        elif kind == "c":
            address = _connection(value)
            if current is None:
                session.connection = session.connection or address
            elif current.connection is None:
                current.connection = address
        elif kind == "o" and current is None:
            fields = value.split()
            if len(fields) != 6:
                raise SdpSyntaxError(f"bad o= line: {value[:60]!r}")
            session.origin = Origin(*fields)
        elif kind == "s" and current is None:
            session.name = value
        elif kind == "a":
            name, colon, attribute = value.partition(":")
            if not name:
                raise SdpSyntaxError(f"bad a= line: {line[:60]!r}")
            if current is None:
                if name in DIRECTIONS:
                    session_direction = name
                elif name == "ptime":
                    session_ptime = _ptime(attribute)
                session.attributes.append((name, attribute if colon else None))
            else:
                _media_attribute(current, name, attribute if colon else None)
    return session


def _media_attribute(media: MediaDescription, name: str, value: str | None) -> None:
    rtp = media.proto.upper().startswith("RTP/")
    if name in DIRECTIONS:
        media.direction = name
    elif name == "ptime":
        media.ptime = _ptime(value or "")
    elif name == "rtpmap" and rtp:
        payload_type, rtpmap = _rtpmap(value or "")
        media.rtpmap.setdefault(payload_type, rtpmap)
    elif name == "fmtp" and rtp:
        pt_text, _, params = (value or "").strip().partition(" ")
        media.fmtp.setdefault(_int(pt_text, "fmtp payload type", 0, 127), params.strip())
    else:
        media.attributes.append((name, value))


def negotiate(
    offer: SessionDescription, supported: tuple[str, ...] = ("PCMU", "PCMA")
) -> Negotiated:
    """Choose from an offer: the first plain-RTP audio stream with a port, the first of its
    formats we support (offer order is the caller's preference), and the telephone-event
    payload type offered at that codec's clock rate. The address must be an IP literal:
    resolving a host name is I/O, and phones send addresses."""
    wanted = {name.upper() for name in supported}
    index = next(
        (
            i
            for i, media in enumerate(offer.media)
            if media.media == "audio" and media.port != 0 and media.proto.upper() in _PLAIN_RTP
        ),
        None,
    )
    if index is None:
        raise SdpNegotiationError("no plain RTP audio stream offered")
    media = offer.media[index]
    chosen: tuple[int, RtpMap] | None = None
    for payload_type in media.formats:
        encoding = media.encoding(payload_type)
        if (
            encoding is not None
            and encoding.encoding.upper() in wanted
            and encoding.clock_rate == 8000
            and encoding.channels in (None, 1)
        ):
            chosen = payload_type, encoding
            break
    if chosen is None:
        offered = ", ".join(_describe(media, pt) for pt in media.formats)
        raise SdpNegotiationError(f"no common codec: offered {offered}")
    payload_type, encoding = chosen
    dtmf = next(
        (
            pt
            for pt in media.formats
            if (event := media.encoding(pt)) is not None
            and event.encoding.lower() == TELEPHONE_EVENT
            and event.clock_rate == encoding.clock_rate
        ),
        None,
    )
    remote_ip = media.connection or offer.connection
    if not remote_ip:
        raise SdpNegotiationError("no connection address (c=) for the audio stream")
    try:
        remote_ip = str(ipaddress.ip_address(remote_ip))
    except ValueError:
        raise SdpNegotiationError(f"connection address {remote_ip[:60]!r} is not an IP") from None
    return Negotiated(
        codec=encoding.encoding.upper(),
        payload_type=payload_type,
        clock_rate=encoding.clock_rate,
        dtmf_payload_type=dtmf,
        remote_ip=remote_ip,
        remote_port=media.port,
        ptime=media.ptime or 20,
        direction=_ANSWER_DIRECTION[media.direction],
        media_index=index,
        offered_media=tuple(
            f"{m.media} 0 {m.proto} {' '.join(m.raw_formats)}" for m in offer.media
        ),
    )


def _describe(media: MediaDescription, payload_type: int) -> str:
    encoding = media.encoding(payload_type)
    if encoding is None:
        return str(payload_type)
    return f"{payload_type} {encoding.encoding}/{encoding.clock_rate}"


def _session_lines(local_ip: str, session_id: int | None) -> list[str]:
    if not local_ip or any(char.isspace() for char in local_ip):
        raise ValueError(f"bad local address {local_ip!r}")
    family = "IP6" if ":" in local_ip else "IP4"
    session = session_id if session_id is not None else secrets.randbelow(2**31)
    return [
        "v=0",
        f"o=hotline {session} {session} IN {family} {local_ip}",
        "s=-",
        f"c=IN {family} {local_ip}",
        "t=0 0",
    ]


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"bad RTP port {port}")


def answer_sdp(
    negotiated: Negotiated, local_ip: str, local_port: int, session_id: int | None = None
) -> str:
    """Our answer: the chosen codec and the mirrored telephone-event, 20 ms packets."""
    _check_port(local_port)
    formats = [negotiated.payload_type]
    audio = [f"a=rtpmap:{negotiated.payload_type} {negotiated.codec}/{negotiated.clock_rate}"]
    if negotiated.dtmf_payload_type is not None:
        formats.append(negotiated.dtmf_payload_type)
        audio += [
            f"a=rtpmap:{negotiated.dtmf_payload_type} {TELEPHONE_EVENT}/{negotiated.clock_rate}",
            f"a=fmtp:{negotiated.dtmf_payload_type} 0-16",
        ]
    audio = [
        f"m=audio {local_port} RTP/AVP {' '.join(map(str, formats))}",
        *audio,
        "a=ptime:20",
        f"a={negotiated.direction}",
    ]
    lines = _session_lines(local_ip, session_id)
    if not negotiated.offered_media:
        lines += audio
    for index, rejected in enumerate(negotiated.offered_media):
        lines += audio if index == negotiated.media_index else [f"m={rejected}"]
    return "\r\n".join(lines) + "\r\n"


def offer_sdp(
    local_ip: str,
    local_port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    dtmf_payload_type: int | None = 101,
    session_id: int | None = None,
) -> str:
    """An offer such as a phone sends, for our own test peers."""
    _check_port(local_port)
    payload_types = []
    for codec in codecs:
        if codec.upper() not in _CODEC_PAYLOAD_TYPES:
            raise ValueError(f"cannot offer {codec!r}: only {', '.join(_CODEC_PAYLOAD_TYPES)}")
        payload_types.append(_CODEC_PAYLOAD_TYPES[codec.upper()])
    formats = [*payload_types, *([dtmf_payload_type] if dtmf_payload_type is not None else [])]
    lines = _session_lines(local_ip, session_id)
    lines.append(f"m=audio {local_port} RTP/AVP {' '.join(map(str, formats))}")
    lines += [f"a=rtpmap:{pt} {STATIC_PAYLOAD_TYPES[pt].encoding}/8000" for pt in payload_types]
    if dtmf_payload_type is not None:
        lines += [
            f"a=rtpmap:{dtmf_payload_type} {TELEPHONE_EVENT}/8000",
            f"a=fmtp:{dtmf_payload_type} 0-16",
        ]
    lines += ["a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"
