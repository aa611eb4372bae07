"""SIP (RFC 3261) over UDP, without I/O: the narrow profile a user agent server needs.

One datagram is one message: :func:`parse_message` turns it into a :class:`SipRequest` or
:class:`SipResponse`, or raises :class:`SipError` carrying the status to answer with;
:func:`serialize` turns a message back into bytes. The parser is tolerant where real phones
are sloppy (LF-only line ends, header folding, empty values such as baresip's
``Supported:``, padded ``Content-Length``, ``To`` without angle brackets) and strict where a
mistake would break the dialog (start line, CSeq, the five headers every request needs).
Helpers build what a UAS sends back: :func:`response_to`, the RFC 3581 response address,
tags, branches and the 2xx retransmission schedule. docs: ../shared/docs/protocols.md §6.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "ALLOW",
    "T1",
    "T2",
    "TIMER_H",
    "REASONS",
    "SipError",
    "MalformedMessage",
    "UnsupportedVersion",
    "UnsupportedUriScheme",
    "Headers",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "NameAddr",
    "Via",
    "SourceAddress",
    "parse_message",
    "serialize",
    "is_keepalive",
    "parse_uri",
    "parse_name_addr",
    "parse_via",
    "parse_cseq",
    "split_values",
    "top_via",
    "received_via",
    "response_address",
    "response_to",
    "build_request",
    "new_tag",
    "new_branch",
    "new_call_id",
    "retransmit_intervals",
]

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
T1 = 0.5
"""RTT estimate (s): the first retransmission interval."""
T2 = 4.0
"""The longest retransmission interval (s) for INVITE responses."""
TIMER_H = 64 * T1
"""How long (s) a UAS retransmits a final response to INVITE while waiting for the ACK."""

BRANCH_COOKIE = "z9hG4bK"
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}
_CLASS_REASONS = {
    1: "Provisional",
    2: "Success",
    3: "Redirection",
    4: "Client Error",
    5: "Server Error",
    6: "Global Failure",
}

COMPACT_FORMS: dict[str, str] = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
}
_CANONICAL = {long.lower(): long for long in COMPACT_FORMS.values()}

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_\-.]*[A-Za-z0-9_.])?")
_CSEQ = re.compile(r"(\d{1,10})[ \t]+(" + _TOKEN.pattern + r")")
_VIA = re.compile(
    r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*(" + _TOKEN.pattern + r")[ \t\r\n]+(.+)",
    re.IGNORECASE | re.DOTALL,
)
_USER_FORBIDDEN = re.compile(r"[\s<>\"\x00-\x1f\x7f]")

SourceAddress: TypeAlias = tuple[str, int] | tuple[str, int, int, int]
"""A datagram's source as asyncio gives it (IPv6 adds flow info and scope id)."""


class SipError(Exception):
    """A message we cannot use. ``status`` and ``reason`` are what a server answers with
    when it can; ``request`` is the request as far as it was read, when its Via, From, To,
    Call-ID and CSeq were readable enough to build that answer (else None)."""

    status = 400

    def __init__(
        self, reason: str, status: int | None = None, *, request: SipRequest | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status
        self.request = request


class MalformedMessage(SipError):
    """Broken syntax: answered with 400 Bad Request."""


class UnsupportedVersion(SipError):
    """A SIP version other than 2.0: answered with 505."""

    status = 505


class UnsupportedUriScheme(SipError):
    """A well-formed URI whose scheme is not sip or sips: answered with 416."""

    status = 416


def _key(name: str) -> str:
    lowered = name.strip().lower()
    expanded = COMPACT_FORMS.get(lowered)
    return expanded.lower() if expanded else lowered


def _canonical_name(name: str) -> str:
    name = name.strip()
    expanded = COMPACT_FORMS.get(name.lower())
    if expanded:
        return expanded
    return _CANONICAL.get(name.lower(), name)


class Headers:
    """Ordered, case-insensitive multi-map of header lines. Compact names (``v``, ``i``, …)
    are stored under their full name, so ``get("Via")`` finds a ``v:`` line."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items:
            self.add(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = _key(name)
        for have, value in self._items:
            if _key(have) == key:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        key = _key(name)
        return [value for have, value in self._items if _key(have) == key]

    def add(self, name: str, value: str) -> None:
        self._items.append((_canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one, where the first one was (or at the end)."""
        key = _key(name)
        kept: list[tuple[str, str]] = []
        placed = False
        for have, old in self._items:
            if _key(have) != key:
                kept.append((have, old))
            elif not placed:
                kept.append((_canonical_name(name), value))
                placed = True
        if not placed:
            kept.append((_canonical_name(name), value))
        self._items = kept

    def remove(self, name: str) -> None:
        key = _key(name)
        self._items = [(have, value) for have, value in self._items if _key(have) != key]

    def copy(self) -> Headers:
        return Headers(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(_key(n), v) for n, v in self._items] == [(_key(n), v) for n, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class SipMessage:
    """What requests and responses share: the dialog identifiers read from their headers."""

    __slots__ = ()
    headers: Headers

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None or not value.strip():
            raise MalformedMessage(f"missing {name} header")
        return value.strip()

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method)."""
        return parse_cseq(self._required("CSeq"))

    @property
    def from_tag(self) -> str | None:
        return _header_params(self._required("From")).get("tag")

    @property
    def to_tag(self) -> str | None:
        return _header_params(self._required("To")).get("tag")


@dataclass(slots=True)
class SipRequest(SipMessage):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""


@dataclass(slots=True)
class SipResponse(SipMessage):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""


def is_keepalive(data: bytes) -> bool:
    """A CRLF keep-alive (RFC 5626 §3.5.1): nothing but line ends. Not an error; ignore it."""
    return bool(data) and not data.strip(b"\r\n")


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """One UDP datagram → one message, or :class:`SipError` with the status to answer."""
    data = bytes(data).lstrip(b"\r\n")
    if not data:
        raise MalformedMessage("empty message")
    end = _HEADER_END.search(data)
    head_bytes, rest = (data[: end.start()], data[end.end() :]) if end else (data, b"")
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("headers are not UTF-8") from None
    lines = [line.removesuffix("\r") for line in head.split("\n")]
    headers = _parse_header_lines(lines[1:])
    message = _parse_start_line(lines[0], headers)
    try:
        _check_dialog_headers(headers)
        _, method = parse_cseq(headers.get("CSeq") or "")
        if isinstance(message, SipRequest) and method != message.method:
            raise MalformedMessage(f"CSeq method {method} does not match {message.method}")
        message.body = _body(headers, rest)
    except SipError as error:
        if isinstance(message, SipRequest) and _answerable(headers):
            error.request = message
        raise
    return message


def _parse_header_lines(lines: list[str]) -> Headers:
    items: list[list[str]] = []
    for line in lines:
        if _CONTROL.search(line):
            raise MalformedMessage("control character in a header")
        if line[:1] in (" ", "\t"):
            if not items:
                raise MalformedMessage("continuation line before any header")
            folded = line.strip()
            items[-1][1] = f"{items[-1][1]} {folded}" if items[-1][1] else folded
            continue
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            raise MalformedMessage(f"bad header line {line[:40]!r}")
        items.append([name, value.strip()])
    return Headers((name, value) for name, value in items)


def _parse_start_line(line: str, headers: Headers) -> SipRequest | SipResponse:
    if _CONTROL.search(line):
        raise MalformedMessage("control character in the start line")
    if line[:4].upper() == "SIP/":
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise MalformedMessage(f"bad status line {line[:60]!r}")
        if parts[0].upper() != "SIP/2.0":
            raise UnsupportedVersion(f"unsupported version {parts[0][:20]!r}")
        code = parts[1]
        if not (len(code) == 3 and code.isascii() and code.isdigit() and "1" <= code[0] <= "6"):
            raise MalformedMessage(f"bad status code {code[:10]!r}")
        return SipResponse(int(code), parts[2].strip() if len(parts) > 2 else "", headers)
    parts = line.split()
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[2][:4].upper() == "SIP/":
        raise MalformedMessage(f"bad request line {line[:60]!r}")
    request = SipRequest(parts[0], parts[1], headers)
    if parts[2].upper() != "SIP/2.0":
        answerable = request if _answerable(headers) else None
        raise UnsupportedVersion(f"unsupported version {parts[2][:20]!r}", request=answerable)
    return request


def _check_dialog_headers(headers: Headers) -> None:
    """The headers every message needs, readable: a response copies them, and the top Via
    says where it goes."""
    for name in MANDATORY:
        if not (headers.get(name) or "").strip():
            raise MalformedMessage(f"missing {name} header")
    parse_cseq(headers.get("CSeq") or "")
    parse_via(headers.get("Via") or "")
    _header_params(headers.get("From") or "")
    _header_params(headers.get("To") or "")


def _answerable(headers: Headers) -> bool:
    """Whether a 4xx can be built and routed for this request."""
    try:
        _check_dialog_headers(headers)
    except SipError:
        return False
    return True


def _body(headers: Headers, rest: bytes) -> bytes:
    lengths = headers.get_all("Content-Length")
    if not lengths:
        return rest
    values = {value.strip() for value in lengths}
    if len(values) != 1:
        raise MalformedMessage("conflicting Content-Length headers")
    text = values.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise MalformedMessage(f"bad Content-Length {text[:20]!r}")
    length = int(text)
    if len(rest) < length:
        raise MalformedMessage(f"body is {len(rest)} bytes, Content-Length says {length}")
    return rest[:length]


def parse_cseq(value: str) -> tuple[int, str]:
    """``"46133 INVITE"`` → ``(46133, "INVITE")``; the number must fit 32 bits."""
    match = _CSEQ.fullmatch(value.strip())
    if not match or int(match.group(1)) >= 2**32:
        raise MalformedMessage(f"bad CSeq {value[:40]!r}")
    return int(match.group(1)), match.group(2)


def serialize(message: SipRequest | SipResponse) -> bytes:
    """A message → one datagram: CRLF line ends, Content-Length always from the body."""
    if isinstance(message, SipRequest):
        start = f"{message.method} {message.uri} SIP/2.0"
    else:
        start = f"SIP/2.0 {message.status} {message.reason}".rstrip()
    lines = [start]
    for name, value in message.headers:
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            raise ValueError(f"header {name[:40]!r} cannot be written on one line")
        if _key(name) != "content-length":
            lines.append(f"{name}: {value}" if value else f"{name}:")
    if _CONTROL.search(start):
        raise ValueError("the start line contains a line break or control character")
    lines.append(f"Content-Length: {len(message.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + message.body


# --- URIs, name-addrs, Via ---------------------------------------------------------------


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside double quotes or angle brackets."""
    parts, current = [], []
    quoted = escaped = False
    angle = 0
    for char in text:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char == "<":
            angle += 1
        elif char == ">":
            angle = max(0, angle - 1)
        elif char == separator and not angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise MalformedMessage("unterminated quoted string")
    parts.append("".join(current))
    return parts


def split_values(value: str) -> list[str]:
    """One header line with comma-separated values (``Via: a, b``) → its values."""
    return [part.strip() for part in _split_outside_quotes(value, ",") if part.strip()]


def _parse_params(text: str) -> dict[str, str | None]:
    """``;a=1;b`` → ``{"a": "1", "b": None}``; names lower-cased, values kept as written
    (a quoted value keeps its quotes, so it renders back unchanged)."""
    params: dict[str, str | None] = {}
    text = text.strip()
    if not text:
        return params
    if not text.startswith(";"):
        raise MalformedMessage(f"expected ';' before parameters in {text[:40]!r}")
    for part in _split_outside_quotes(text[1:], ";"):
        if not part.strip():
            continue
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if not _TOKEN.fullmatch(name):
            raise MalformedMessage(f"bad parameter {part[:40]!r}")
        if equals:
            quoted = len(value) >= 2 and value[0] == value[-1] == '"'
            if not value or (not quoted and _USER_FORBIDDEN.search(value)):
                raise MalformedMessage(f"bad parameter value {part[:40]!r}")
        params[name.lower()] = value if equals else None
    return params


def _render_params(params: dict[str, str | None]) -> str:
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in params.items()
    )


def _parse_hostport(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        inner, bracket, after = text[1:].partition("]")
        try:
            host = str(ipaddress.IPv6Address(inner))
        except ValueError:
            host = ""
        if not bracket or not host:
            raise MalformedMessage(f"bad IPv6 host {text[:60]!r}")
        after = after.strip()
        if after and not after.startswith(":"):
            raise MalformedMessage(f"bad host {text[:60]!r}")
        has_port, port_text = bool(after), after[1:]
    else:
        host, colon, port_text = (piece.strip() for piece in text.partition(":"))
        has_port = bool(colon)
        if not _HOSTNAME.fullmatch(host):
            raise MalformedMessage(f"bad host {text[:60]!r}")
    if not has_port:
        return host, None
    port_text = port_text.strip()
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        raise MalformedMessage(f"bad port in {text[:60]!r}")
    if not 0 < int(port_text) < 65536:
        raise MalformedMessage(f"bad port in {text[:60]!r}")
    return host, int(port_text)


def _render_host(host: str, port: int | None) -> str:
    rendered = f"[{host}]" if ":" in host else host
    return rendered if port is None else f"{rendered}:{port}"


@dataclass(slots=True)
class SipUri:
    """``sip:user@host:port;params?headers``. ``user`` keeps its escapes (and any
    ``:password``) as written; ``host`` is bare, IPv6 without brackets."""

    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None

    def __str__(self) -> str:
        user = "" if self.user is None else f"{self.user}@"
        headers = "" if self.headers is None else f"?{self.headers}"
        return (
            f"{self.scheme}:{user}{_render_host(self.host, self.port)}"
            f"{_render_params(self.params)}{headers}"
        )


def parse_uri(text: str) -> SipUri:
    """A sip: or sips: URI; :class:`UnsupportedUriScheme` (416) for tel: and the like."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        raise MalformedMessage(f"not a URI: {text[:60]!r}")
    scheme = scheme.lower()
    if scheme not in ("sip", "sips"):
        raise UnsupportedUriScheme(f"unsupported URI scheme {scheme[:20]!r}")
    rest, question, headers = rest.partition("?")
    user: str | None = None
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
        if not user or _USER_FORBIDDEN.search(user):
            raise MalformedMessage(f"bad user part in {text[:60]!r}")
    hostport, semicolon, params = rest.partition(";")
    host, port = _parse_hostport(hostport)
    if _USER_FORBIDDEN.search(headers):
        raise MalformedMessage(f"bad URI headers in {text[:60]!r}")
    return SipUri(
        scheme, user, host, port, _parse_params(semicolon + params), headers if question else None
    )


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body, flags=re.DOTALL)


@dataclass(slots=True)
class NameAddr:
    """A From, To or Contact value: optional display name, URI, header parameters."""

    display: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{_render_params(self.params)}"


def _split_name_addr(value: str) -> tuple[str | None, str, str]:
    """(display, uri text, params text), with or without angle brackets."""
    value = value.strip()
    if not value:
        raise MalformedMessage("empty address")
    display: str | None = None
    rest = value
    if rest.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"', rest, re.DOTALL)
        if not match:
            raise MalformedMessage(f"unterminated display name in {value[:60]!r}")
        display = _unquote(match.group(0))
        rest = rest[match.end() :].lstrip()
        if not rest.startswith("<"):
            raise MalformedMessage(f"expected <uri> after the display name in {value[:60]!r}")
    if "<" in rest:
        before, _, after = rest.partition("<")
        if before.strip():
            if display is not None or '"' in before or ">" in before:
                raise MalformedMessage(f"bad display name in {value[:60]!r}")
            display = " ".join(before.split())
        uri, bracket, params = after.partition(">")
        if not bracket:
            raise MalformedMessage(f"missing '>' in {value[:60]!r}")
        return display, uri, params
    if ">" in rest:
        raise MalformedMessage(f"unexpected '>' in {value[:60]!r}")
    uri, semicolon, params = rest.partition(";")
    if any(char.isspace() for char in uri):
        raise MalformedMessage(f"bad address {value[:60]!r}")
    return display, uri, semicolon + params


def parse_name_addr(value: str) -> NameAddr:
    """``"Bob" <sip:bob@host>;tag=1`` or ``sip:bob@host;tag=1`` (parameters after a bare
    URI belong to the header, RFC 3261 §20)."""
    display, uri, params = _split_name_addr(value)
    return NameAddr(display, parse_uri(uri), _parse_params(params))


def _header_params(value: str) -> dict[str, str | None]:
    """Header parameters of a From/To value, whatever the URI's scheme (tel: too)."""
    return _parse_params(_split_name_addr(value)[2])


@dataclass(slots=True)
class Via:
    """One Via value: where the request came from and how to route the response."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def wants_rport(self) -> bool:
        """The client asked for symmetric response routing (RFC 3581)."""
        return "rport" in self.params

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {_render_host(self.host, self.port)}{_render_params(self.params)}"


def parse_via(value: str) -> Via:
    """The first (topmost) Via in a header value; whitespace around ``/`` and ``:`` allowed."""
    values = split_values(value)
    if not values:
        raise MalformedMessage("empty Via")
    match = _VIA.fullmatch(values[0])
    if not match:
        raise MalformedMessage(f"bad Via {values[0][:60]!r}")
    transport, rest = match.group(1).upper(), match.group(2)
    sent_by, semicolon, params = rest.partition(";")
    host, port = _parse_hostport(sent_by)
    return Via(transport, host, port, _parse_params(semicolon + params))


def top_via(message: SipMessage) -> Via:
    """The Via the response goes back along: the first value of the first Via line."""
    return parse_via(message._required("Via"))


def received_via(value: str, source: SourceAddress) -> str:
    """The first Via of a header value with ``received`` and a filled ``rport`` added, as a
    server stamps it (RFC 3261 §18.2.1, RFC 3581 §4); other values are left as they were."""
    values = split_values(value)
    via = parse_via(value)
    ip, port = str(source[0]), int(source[1])
    if via.wants_rport:
        via.params["received"] = ip
        via.params["rport"] = str(port)
    elif via.host != ip:
        via.params["received"] = ip
    return ", ".join([str(via), *values[1:]])


def response_address(via: Via, source: SourceAddress) -> tuple[str, int]:
    """Where a UDP response goes (RFC 3261 §18.2.2, RFC 3581 §4), from the top Via as
    received or as stamped by :func:`received_via`: to ``maddr`` if present; with rport,
    to the ``received`` address (else the source IP) at the filled rport (else the source
    port); otherwise to the ``received`` address (else the source IP, which is what
    ``received`` would say) at the Via's port, 5060 when it has none."""
    default = 5061 if via.transport == "TLS" else 5060
    maddr = via.params.get("maddr")
    if maddr:
        return maddr, via.port or default
    host = via.received or str(source[0])
    if via.wants_rport:
        rport = via.params["rport"]
        if rport and rport.isascii() and rport.isdigit() and 0 < int(rport[:6]) < 65536:
            return host, int(rport)
        return host, int(source[1])
    return host, via.port or default


# --- building messages -------------------------------------------------------------------


def _with_tag(value: str, tag: str) -> str:
    if "tag" in _header_params(value):
        return value
    return f"{value};tag={tag}"


def response_to(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    source: SourceAddress | None = None,
) -> SipResponse:
    """The response a UAS sends (RFC 3261 §8.2.6): every Via in order, From, To (with
    ``to_tag`` added unless it has one), Call-ID and CSeq copied. With ``source`` (the
    request's source address) the top Via is stamped with ``received``/``rport``."""
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} is not a SIP status code")
    out = Headers()
    for index, via in enumerate(request.headers.get_all("Via")):
        out.add("Via", received_via(via, source) if index == 0 and source else via)
    out.add("From", request._required("From"))
    to = request._required("To")
    out.add("To", _with_tag(to, to_tag) if to_tag else to)
    out.add("Call-ID", request.call_id)
    out.add("CSeq", request._required("CSeq"))
    if status == 100 and (timestamp := request.headers.get("Timestamp")) is not None:
        out.add("Timestamp", timestamp)
    if request.method == "INVITE" and 100 < status < 300:
        for route in request.headers.get_all("Record-Route"):
            out.add("Record-Route", route)
    for name, value in headers:
        out.add(name, value)
    if content_type is not None:
        out.set("Content-Type", content_type)
    reason = reason if reason is not None else REASONS.get(status, _CLASS_REASONS[status // 100])
    return SipResponse(status, reason, out, body)


def build_request(
    method: str,
    uri: str,
    *,
    via: str,
    from_: str,
    to: str,
    call_id: str,
    cseq: int,
    contact: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> SipRequest:
    """A request we originate (an in-dialog BYE, or a test phone's INVITE)."""
    out = Headers(
        [
            ("Via", via),
            ("Max-Forwards", "70"),
            ("From", from_),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
    )
    if contact is not None:
        out.add("Contact", contact)
    if content_type is not None:
        out.add("Content-Type", content_type)
    for name, value in headers:
        out.add(name, value)
    return SipRequest(method, uri, out, body)


def new_tag() -> str:
    return secrets.token_hex(8)


def new_branch() -> str:
    """A branch with the RFC 3261 magic cookie, so peers match transactions by it."""
    return BRANCH_COOKIE + secrets.token_hex(10)


def new_call_id() -> str:
    return secrets.token_hex(16)


def retransmit_intervals(t1: float = T1, t2: float = T2, limit: float = TIMER_H) -> Iterator[float]:
    """Waits between sends of a 2xx to INVITE until its ACK (RFC 3261 §13.3.1.4): T1,
    doubling up to T2; the last is cut so that they add up to exactly ``limit``."""
    total, interval = 0.0, t1
    while total < limit:
        wait = min(interval, limit - total)
        yield wait
        total += wait
        interval = min(interval * 2, t2)
