"""Open311 GeoReport v2, the city's service-request API, without I/O.

The server hands over a method and path (:func:`route`), a query string
(:func:`parse_requests_query`) or a form body (:func:`parse_new_request`) and gets typed
values back, or an :class:`Open311Error` that carries the HTTP status and the spec's error
list; the ``render_*`` functions turn plain data into the bytes of a JSON or XML answer.
The format is the path's extension, as the spec says: ``.json`` or ``.xml``.

Our extensions: a request's ``extended_attributes`` (an object in JSON, nested elements in
XML), and a ``language`` form field on POST, the language the description is written in.
docs: ../shared/docs/protocols.md §8, wiki.open311.org/GeoReport_v2.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "FORMATS",
    "SPECIFICATION",
    "DISCOVERY_FIELDS",
    "ENDPOINT_FIELDS",
    "SERVICE_FIELDS",
    "ATTRIBUTE_FIELDS",
    "VALUE_FIELDS",
    "REQUEST_FIELDS",
    "REQUEST_EXTENSION",
    "POSTED_FIELDS",
    "ERROR_FIELDS",
    "MAX_BODY_BYTES",
    "MAX_DESCRIPTION_CHARS",
    "MAX_ID_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_WINDOW",
    "Open311Error",
    "Route",
    "RequestQuery",
    "NewRequest",
    "route",
    "format_of",
    "parse_requests_query",
    "parse_new_request",
    "iso_datetime",
    "discovery_document",
    "render_discovery",
    "render_services",
    "render_service_definition",
    "render_requests",
    "render_posted",
    "render_errors",
]

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
"""The extensions we answer to and the Content-Type of each answer."""
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

DISCOVERY_FIELDS = ("changeset", "contact", "key_service", "endpoints")
ENDPOINT_FIELDS = ("specification", "url", "changeset", "type", "formats")
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)
SERVICE_DEFINITION_FIELDS = ("service_code", "attributes")
ATTRIBUTE_FIELDS = (
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
)
VALUE_FIELDS = ("key", "name")
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
REQUEST_EXTENSION = "extended_attributes"
"""Our one field beyond the spec's on a request, rendered after them when given."""
POSTED_FIELDS = ("service_request_id", "service_notice", "account_id")
ERROR_FIELDS = ("code", "description")

MAX_BODY_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 4000
MAX_ID_CHARS = 128
MAX_LIST_ITEMS = 1000
"""Most ids or codes one ``GET requests`` may name (servers commonly cap answers at 1000)."""
MAX_WINDOW = timedelta(days=90)
"""The spec's default and widest ``start_date``..``end_date`` window."""
MAX_FIELDS = 256
"""Most ``name=value`` pairs in one query or form: more is not a client of this API."""
MAX_TEXT_CHARS = 255
"""Limit for the short form fields (names, ids, email, phone...)."""
FIELD_LIMITS = {
    "description": MAX_DESCRIPTION_CHARS,
    "address_string": 1000,
    "media_url": 2048,
}
STATUSES = ("open", "closed")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_ROUTES = {
    # (first segment, has an id) -> (endpoint, allowed methods)
    ("discovery", False): ("discovery", ("GET",)),
    ("services", False): ("services", ("GET",)),
    ("services", True): ("service", ("GET",)),
    ("requests", False): ("requests", ("GET", "POST")),
    ("requests", True): ("request", ("GET",)),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}")
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")
_PLUS_AS_SPACE = re.compile(r"(.*[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)")
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """Input the API refuses: ``status`` is the HTTP status, ``errors`` the spec's list of
    ``(code, description)`` (the code is the HTTP status); render it with
    :func:`render_errors`. A 405 names the methods the path takes in ``allow``."""

    def __init__(
        self,
        status: int,
        errors: str | Sequence[tuple[int, str]],
        *,
        allow: tuple[str, ...] = (),
    ) -> None:
        listed = [(status, errors)] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(description for _, description in listed))
        self.status = status
        self.errors: list[tuple[int, str]] = listed
        self.allow = allow

    @property
    def message(self) -> str:
        return str(self)


@dataclass(slots=True, frozen=True)
class Route:
    """What a path asks for: ``endpoint`` is ``discovery``, ``services``, ``service`` (one
    service definition), ``requests`` or ``request``; ``ident`` the percent-decoded service
    code or service request id of the last two; ``fmt`` ``json`` or ``xml``."""

    endpoint: str
    ident: str | None
    fmt: str


@dataclass(slots=True, frozen=True)
class RequestQuery:
    """The filters of ``GET requests``. With ``service_request_ids`` the spec says they
    override every other argument: the rest is then empty and ``start``/``end`` are None.
    Otherwise ``start`` and ``end`` are always set, in UTC, at most 90 days apart."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    jurisdiction_id: str | None = None


@dataclass(slots=True, frozen=True)
class NewRequest:
    """A ``POST requests`` form, checked for shape; whether ``api_key`` is valid and
    ``service_code`` exists is the server's to check. Empty fields are None."""

    api_key: str
    service_code: str
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str = ""
    media_url: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    """``attribute[CODE]=value`` by CODE."""
    language: str | None = None
    """Our extension: the ISO 639 code (``es``) of the language of ``description``."""


# --- routing ---------------------------------------------------------------------------


def route(method: str, path: str, prefix: str = "/open311/v2/") -> Route:
    """The endpoint, id and format a request's path names, or 404 (no such path or
    format) or 405 (a method the path does not take)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith(prefix):
        raise Open311Error(404, f"no Open311 endpoint at {_excerpt(path)}")
    segments = path[len(prefix) :].split("/")
    if len(segments) > 2:
        raise Open311Error(404, f"no Open311 endpoint at {_excerpt(path)}")
    stem, dot, fmt = segments[-1].rpartition(".")
    if not dot:
        stem, fmt = segments[-1], ""
    name = segments[0] if len(segments) == 2 else stem
    found = _ROUTES.get((name, len(segments) == 2))
    if found is None:
        raise Open311Error(404, f"no Open311 endpoint at {_excerpt(path)}")
    endpoint, methods = found
    if fmt not in FORMATS:
        offered = " or ".join(f".{known}" for known in FORMATS)
        said = f"format .{_excerpt(fmt)} is not offered" if dot else "the path names no format"
        raise Open311Error(404, f"{said}: end it in {offered}")
    ident = None
    if len(segments) == 2:
        ident = _path_id(stem)
        if ident is None:
            what = "service_code" if endpoint == "service" else "service_request_id"
            raise Open311Error(404, f"no such {what}: {_excerpt(stem)}")
    if method not in methods:
        raise Open311Error(
            405,
            f"{_excerpt(method)} is not allowed here: use {' or '.join(methods)}",
            allow=methods,
        )
    return Route(endpoint, ident, fmt)


def format_of(path: str) -> str:
    """The format an answer to ``path`` should take, even when :func:`route` refused it
    (for the error body): ``xml`` when the path ends in ``.xml``, else ``json``."""
    return "xml" if path.split("?", 1)[0].endswith(".xml") else "json"


def _path_id(raw: str) -> str | None:
    try:
        ident = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None
    return ident if _valid_id(ident) else None


def _valid_id(ident: str) -> bool:
    return 0 < len(ident) <= MAX_ID_CHARS and "/" not in ident and not _CONTROL.search(ident)


# --- GET requests ----------------------------------------------------------------------


def parse_requests_query(query: str, now: datetime) -> RequestQuery:
    """The filters of a ``GET requests`` query string. Lists are comma-separated; dates are
    ISO 8601 with a zone; the window defaults to, and may not exceed, 90 days (``now``, an
    aware datetime, ends the default one). The first of repeated parameters counts, unknown
    ones are ignored; two different ``jurisdiction_id`` are refused."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    params = _pairs(query.removeprefix("?"), "query")
    jurisdiction = _jurisdiction(params)
    first = _first(params)
    errors: list[str] = []
    ids = _list(first.get("service_request_id", ""), "service_request_id", errors)
    for ident in ids:
        if not _valid_id(ident):
            errors.append(f"service_request_id is not an id: {_excerpt(ident)}")
            break
    if ids and not errors:
        return RequestQuery(service_request_ids=ids, jurisdiction_id=jurisdiction)
    codes = _list(first.get("service_code", ""), "service_code", errors)
    for code in codes:
        if not _valid_id(code):
            errors.append(f"service_code is not a code: {_excerpt(code)}")
            break
    statuses = tuple(s.lower() for s in _list(first.get("status", ""), "status", errors))
    for status in statuses:
        if status not in STATUSES:
            errors.append(f"status must be open or closed, not {_excerpt(status)}")
            break
    start = _date(first.get("start_date", ""), "start_date", errors)
    end = _date(first.get("end_date", ""), "end_date", errors)
    if errors:
        raise Open311Error(400, [(400, error) for error in errors])
    try:
        if start is None and end is None:
            end = now.astimezone(UTC)
            start = end - MAX_WINDOW
        elif start is None:
            assert end is not None
            start = end - MAX_WINDOW
        elif end is None:
            end = start + MAX_WINDOW
    except OverflowError:
        raise Open311Error(400, "the dates are out of range") from None
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    return RequestQuery(
        service_codes=codes,
        start=start,
        end=end,
        statuses=tuple(dict.fromkeys(statuses)),
        jurisdiction_id=jurisdiction,
    )


def _list(value: str, name: str, errors: list[str]) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    if len(items) > MAX_LIST_ITEMS:
        errors.append(f"{name} names more than {MAX_LIST_ITEMS} values")
    return items


def _date(value: str, name: str, errors: list[str]) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > 64:
        errors.append(f"{name} is not an ISO 8601 date and time")
        return None
    # An unescaped '+' in a query string reads as a space: take "...T13:15:30 08:00" back.
    spaced = _PLUS_AS_SPACE.fullmatch(value)
    if spaced:
        value = f"{spaced[1]}+{spaced[2]}"
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        errors.append(
            f"{name} is not an ISO 8601 date and time: {_excerpt(value)} "
            "(e.g. 2026-11-29T13:15:30Z)"
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors.append(
            f"{name} has no time zone: give one, as in 2026-11-29T13:15:30Z "
            "or 2026-11-29T13:15:30+08:00"
        )
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        errors.append(f"{name} is out of range")
        return None


# --- POST requests ---------------------------------------------------------------------

_TEXT_FIELDS = (
    "jurisdiction_id",
    "address_string",
    "address_id",
    "media_url",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
)


def parse_new_request(body: bytes, content_type: str) -> NewRequest:
    """A ``POST requests`` body: a UTF-8 ``application/x-www-form-urlencoded`` form of at
    most 64 KiB (415 for another type, 413 for a bigger body). A missing ``api_key`` is a
    403, as the spec has it; every other fault is a 400, listed together."""
    if len(body) > MAX_BODY_BYTES:
        raise Open311Error(413, f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    _check_content_type(content_type)
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise Open311Error(400, "the body is not UTF-8") from None
    params = _pairs(text, "body")
    jurisdiction = _jurisdiction(params)
    first = _first(params)
    api_key = first.get("api_key", "").strip()
    if not api_key:
        raise Open311Error(403, "api_key is required")
    errors: list[str] = []
    if len(api_key) > MAX_TEXT_CHARS or _CONTROL.search(api_key):
        raise Open311Error(403, "Invalid api_key")
    service_code = first.get("service_code", "").strip()
    if not service_code:
        errors.append("service_code is required")
    elif not _valid_id(service_code):
        errors.append(f"service_code is not a code: {_excerpt(service_code)}")
    fields = {name: _text(first, name, errors) for name in _TEXT_FIELDS}
    description = _text(first, "description", errors) or ""
    lat = _coordinate(first.get("lat", ""), "lat", 90.0, errors)
    long = _coordinate(first.get("long", ""), "long", 180.0, errors)
    has_lat, has_long = bool(first.get("lat", "").strip()), bool(first.get("long", "").strip())
    if has_lat != has_long:
        errors.append("lat and long go together: give both or neither")
    elif not (has_lat or fields["address_string"] or fields["address_id"]):
        errors.append("a location is required: lat and long, address_string or address_id")
    if fields["media_url"] is not None and not _web_url(fields["media_url"]):
        errors.append("media_url must be an http or https URL")
    language = first.get("language", "").strip() or None
    if language is not None:
        if _LANGUAGE.fullmatch(language):
            language = language.lower()
        else:
            errors.append(f"language must be a 2 or 3 letter code like es: {_excerpt(language)}")
    attributes = _attributes(params, errors)
    if errors:
        raise Open311Error(400, [(400, error) for error in errors])
    return NewRequest(
        api_key=api_key,
        service_code=service_code,
        jurisdiction_id=jurisdiction,
        lat=lat,
        long=long,
        address_string=fields["address_string"],
        address_id=fields["address_id"],
        description=description,
        media_url=fields["media_url"],
        email=fields["email"],
        device_id=fields["device_id"],
        account_id=fields["account_id"],
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        phone=fields["phone"],
        attributes=attributes,
        language=language,
    )


def _check_content_type(content_type: str) -> None:
    kind, *params = (content_type or "").split(";")
    if kind.strip().lower() != FORM_CONTENT_TYPE:
        raise Open311Error(
            415, f"send the form as {FORM_CONTENT_TYPE}, not {_excerpt(kind.strip()) or 'nothing'}"
        )
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise Open311Error(415, f"send the form in UTF-8, not {_excerpt(charset)}")


def _text(first: Mapping[str, str], name: str, errors: list[str]) -> str | None:
    value = first.get(name, "").strip()
    if not value:
        return None
    limit = FIELD_LIMITS.get(name, MAX_TEXT_CHARS)
    if len(value) > limit:
        errors.append(f"{name} is longer than {limit} characters")
    elif _CONTROL.search(value):
        errors.append(f"{name} contains control characters")
    return value


def _coordinate(value: str, name: str, bound: float, errors: list[str]) -> float | None:
    value = value.strip()
    if not value:
        return None
    number = float(value) if len(value) <= 64 and _NUMBER.fullmatch(value) else math.nan
    if not -bound <= number <= bound:
        errors.append(f"{name} must be a number from {-bound:g} to {bound:g}: {_excerpt(value)}")
        return None
    return number


def _web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _attributes(params: list[tuple[str, str]], errors: list[str]) -> dict[str, str]:
    """``attribute[CODE]=value`` (the first counts) and ``attribute[CODE][]=value``, repeated
    for a multivaluelist, whose values are joined with commas."""
    single: dict[str, str] = {}
    multiple: dict[str, list[str]] = {}
    for key, value in params:
        found = _ATTRIBUTE.fullmatch(key)
        if found is None:
            continue
        code, listed = found.group(1).strip(), found.group(2)
        if not _valid_id(code):
            errors.append(f"attribute code is not a code: {_excerpt(code)}")
            continue
        value = value.strip()
        if len(value) > MAX_DESCRIPTION_CHARS or _CONTROL.search(value):
            errors.append(f"attribute[{code}] is too long or contains control characters")
        elif listed:
            multiple.setdefault(code, []).append(value)
        else:
            single.setdefault(code, value)
    for code, values in multiple.items():
        single.setdefault(code, ",".join(v for v in values if v))
    return single


# --- both: form and query strings ------------------------------------------------------


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise Open311Error(400, f"the {what} has percent-escapes that are not UTF-8") from None
    except ValueError:
        raise Open311Error(400, f"the {what} has more than {MAX_FIELDS} fields") from None


def _first(params: list[tuple[str, str]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for key, value in params:
        first.setdefault(key, value)
    return first


def _jurisdiction(params: list[tuple[str, str]]) -> str | None:
    given = {value.strip() for key, value in params if key == "jurisdiction_id"} - {""}
    if len(given) > 1:
        raise Open311Error(400, "jurisdiction_id is given twice with different values")
    jurisdiction = given.pop() if given else None
    if jurisdiction is not None and not _valid_id(jurisdiction):
        raise Open311Error(400, f"jurisdiction_id is not an id: {_excerpt(jurisdiction)}")
    return jurisdiction


def _excerpt(text: str, limit: int = 60) -> str:
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[:limit] + "…"


# --- answers ---------------------------------------------------------------------------


def iso_datetime(moment: datetime) -> str:
    """An aware datetime as the spec writes it: ISO 8601 to the second, ``Z`` for UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: Open311 times carry one")
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def discovery_document(url: str, changeset: datetime, contact: str, key_service: str) -> dict:
    """The discovery answer for one production endpoint at ``url`` (its ``/open311/v2/``)."""
    endpoint = {
        "specification": SPECIFICATION,
        "url": url,
        "changeset": changeset,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [endpoint],
    }


def render_discovery(doc: Mapping[str, Any], fmt: str) -> bytes:
    """``GET discovery``: an object in JSON, ``<discovery>`` in XML."""
    plain = _fields(doc, DISCOVERY_FIELDS, "discovery")
    plain["endpoints"] = [
        _fields(endpoint, ENDPOINT_FIELDS, "endpoint") for endpoint in doc.get("endpoints") or ()
    ]
    return _render(plain, "discovery", fmt)


def render_services(services: Sequence[Mapping[str, Any]], fmt: str) -> bytes:
    """``GET services``: a list in JSON, ``<services><service>…`` in XML."""
    plain = [_fields(service, SERVICE_FIELDS, "service") for service in services]
    return _render(plain, "services", fmt)


def render_service_definition(
    code: str, attributes: Sequence[Mapping[str, Any]], fmt: str
) -> bytes:
    """``GET services/{code}``: ``{service_code, attributes}`` in JSON,
    ``<service_definition>`` with ``<attributes><attribute>…`` in XML."""
    plain_attributes = []
    for attribute in attributes:
        plain = _fields(attribute, ATTRIBUTE_FIELDS, "attribute")
        plain["values"] = [
            _fields(value, VALUE_FIELDS, "value") for value in attribute.get("values") or ()
        ]
        plain_attributes.append(plain)
    return _render(
        {"service_code": code, "attributes": plain_attributes}, "service_definition", fmt
    )


def render_requests(requests: Sequence[Mapping[str, Any]], fmt: str) -> bytes:
    """``GET requests`` and ``GET requests/{id}``: a list in JSON,
    ``<service_requests><request>…`` in XML, each with the spec's fields in the spec's order
    and then, when the dict has one, ``extended_attributes`` (lists in XML become repeated
    elements named in the singular: ``<recordings><recording>``)."""
    plain = []
    for request in requests:
        fields = _fields(request, (*REQUEST_FIELDS, REQUEST_EXTENSION), "request")
        if fields["status"] not in STATUSES:
            raise ValueError(f"a request's status is open or closed, not {fields['status']!r}")
        if fields[REQUEST_EXTENSION] is None:
            del fields[REQUEST_EXTENSION]
        plain.append(fields)
    return _render(plain, "service_requests", fmt)


def render_posted(items: Sequence[Mapping[str, Any]], fmt: str) -> bytes:
    """The answer to ``POST requests``: a list of one ``{service_request_id,
    service_notice, account_id}``; in XML ``<service_requests><request>…``."""
    plain = [_fields(item, POSTED_FIELDS, "posted request") for item in items]
    return _render(plain, "service_requests", fmt)


def render_errors(errors: Sequence[tuple[int, str]], fmt: str) -> bytes:
    """The spec's error list: ``[{"code": 403, "description": "…"}]`` in JSON,
    ``<errors><error><code>…</code><description>…</description></error></errors>`` in XML."""
    plain = [{"code": int(code), "description": str(text)} for code, text in errors]
    return _render(plain, "errors", fmt)


def _fields(data: Mapping[str, Any], names: Sequence[str], what: str) -> dict[str, Any]:
    """``data`` with exactly ``names``, in that order; a missing one is None (empty)."""
    unknown = set(data) - set(names)
    if unknown:
        raise ValueError(f"not {what} fields in Open311: {sorted(unknown)}")
    return {name: data.get(name) for name in names}


def _render(data: Any, root: str, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(
            _plain(data), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")
    if fmt == "xml":
        element = ET.Element(root)
        _fill(element, _plain(data))
        return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")
    raise ValueError(f"Open311 formats are {sorted(FORMATS)}, not {fmt!r}")


def _plain(value: Any) -> Any:
    """Datetimes as ISO 8601 strings, tuples as lists, the rest as JSON has it."""
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"Open311 cannot carry a {type(value).__name__}: {value!r}")


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, _xml_name(key)), item)
    elif isinstance(value, list):
        child = _singular(element.tag)
        for item in value:
            _fill(ET.SubElement(element, child), item)
    elif value is None:
        pass
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, float):
        element.text = repr(value)
    else:
        element.text = _NOT_XML_CHAR.sub("\ufffd", str(value))


def _xml_name(key: str) -> str:
    if not _XML_NAME.fullmatch(key) or key.lower().startswith("xml"):
        raise ValueError(f"{key!r} cannot be an XML element name")
    return key


def _singular(tag: str) -> str:
    """The element of one item of a list: ``service_requests`` → ``request``,
    ``recordings`` → ``recording``, ``overdue`` → ``item``."""
    special = {"service_requests": "request", "errors": "error"}
    if tag in special:
        return special[tag]
    if tag.endswith("ies"):
        return tag[:-3] + "y"
    if tag.endswith("s") and not tag.endswith("ss"):
        return tag[:-1]
    return "item"
