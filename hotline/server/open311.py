"""Open311 GeoReport v2 at ``/open311/v2/`` on the server's port: the catalogue, the cases
filed from calls, and requests posted by other channels (a city website, an app) in any
language. The wire format is ``hotline.wire.open311``; this module only reads and writes the
case store.

A request posted in a language other than the operators' is translated for them, and the
description keeps both languages, as a call's does.

Websockets parses only body-less requests, so :class:`BodyConnection` takes a POST's form
body off the stream before the handshake parser sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from hotline.cases.models import Case, CaseError
from hotline.cases.store import AsyncCaseStore, CaseStore
from hotline.config import CasesConfig
from hotline.engines import Engines
from hotline.records import AsyncRecordStore
from hotline.server.web import CONTENT_SECURITY_POLICY
from hotline.wire import open311
from hotline.wire.open311 import Open311Error

__all__ = ["PREFIX", "BodyConnection", "Open311Api"]

log = logging.getLogger(__name__)

PREFIX = "/open311/v2/"
MAX_HEAD_BYTES = 16 * 1024
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*(?=\r?$)")


class BodyConnection(ServerConnection):
    """A server connection that keeps a request's body (``body``) for the HTTP handler and
    hands websockets the head alone, with ``Content-Length: 0``. A body larger than
    ``open311.MAX_BODY_BYTES`` is dropped unread and ``body_too_large`` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body = b""
        self.body_too_large = False
        self._head: bytearray | None = bytearray()
        self._body_left = 0
        self._discard = False

    def data_received(self, data: bytes) -> None:
        if self._head is None:
            if self._discard:
                return
            super().data_received(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD_BYTES:
                self._pass_through(bytes(self._head))
            return
        head, rest = bytes(self._head[: end + 4]), bytes(self._head[end + 4 :])
        found = _CONTENT_LENGTH.search(head)
        length = int(found.group(1)) if found else 0
        if length == 0:
            self._pass_through(bytes(self._head))
            return
        bare = _CONTENT_LENGTH.sub(b"Content-Length: 0", head)
        if length > open311.MAX_BODY_BYTES:
            self.body_too_large = True
            self._discard = True
            self._head = None
            super().data_received(bare)
            return
        if len(rest) < length:
            return
        self.body = rest[:length]
        self._head = None
        super().data_received(bare + rest[length:])

    def _pass_through(self, data: bytes) -> None:
        self._head = None
        super().data_received(data)


def _response(status: int, fmt: str, body: bytes, allow: tuple[str, ...] = ()) -> Response:
    headers = Headers(
        [
            ("Content-Type", open311.FORMATS[fmt]),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            # Open311 is a public API: any site may read it from a browser.
            ("Access-Control-Allow-Origin", "*"),
        ]
    )
    if allow:
        headers["Allow"] = ", ".join(allow)
    return Response(int(status), HTTPStatus(status).phrase, headers, body)


class Open311Api:
    """The GeoReport v2 endpoints over the case store."""

    def __init__(
        self,
        cases: AsyncCaseStore,
        store: AsyncRecordStore,
        engines: Engines,
        settings: CasesConfig,
        operator_language: str = "en",
    ) -> None:
        self.cases = cases
        self.store = store
        self.engines = engines
        self.settings = settings
        self.operator_language = operator_language
        """What a posted description is translated into for the operators."""
        self.changeset = datetime.now(UTC).replace(microsecond=0)
        self.on_posted: Callable[[Case], Awaitable[None]] | None = None
        """Called with each case posted (the server shows it on the operators' consoles)."""

    async def handle(self, connection: ServerConnection, request: Any, address: str) -> Response:
        fmt = open311.format_of(request.path.split("?", 1)[0])
        try:
            return await self._handle(connection, request, fmt, address)
        except Open311Error as error:
            return _response(
                error.status, fmt, open311.render_errors(error.errors, fmt), error.allow
            )
        except Exception:
            log.exception("open311 %s %s failed", request.method, request.path)
            return _response(500, fmt, open311.render_errors([(500, "internal error")], fmt))

    async def _handle(
        self, connection: ServerConnection, request: Any, fmt: str, address: str
    ) -> Response:
        parts = urlsplit(request.path)
        route = open311.route(request.method, parts.path, PREFIX)
        self._check_jurisdiction(parts.query)
        if route.endpoint == "discovery":
            doc = open311.discovery_document(
                url=self._base(request),
                changeset=self.changeset,
                contact=self.settings.open311_contact,
                key_service="api_key from the city's hotline administrators",
            )
            return _response(200, route.fmt, open311.render_discovery(doc, route.fmt))
        if route.endpoint == "services":
            services = [self._service(s) for s in self.cases.catalogue.services]
            return _response(200, route.fmt, open311.render_services(services, route.fmt))
        if route.endpoint == "service":
            if self.cases.catalogue.get(route.ident or "") is None:
                raise Open311Error(404, f"no service with service_code {route.ident}")
            body = open311.render_service_definition(route.ident or "", [], route.fmt)
            return _response(200, route.fmt, body)
        if route.endpoint == "request":
            case = await self.cases.run(lambda s: s.get(route.ident or ""))
            if case is None:
                raise Open311Error(404, f"no service request {route.ident}")
            rendered = await self._rendered([case])
            return _response(200, route.fmt, open311.render_requests(rendered, route.fmt))
        if request.method == "POST":
            return await self._post(connection, route.fmt, address)
        return await self._list(parts.query, route.fmt)

    def _check_jurisdiction(self, query: str) -> None:
        given = parse_qs(query).get("jurisdiction_id")
        wanted = self.settings.jurisdiction_id
        if given and wanted and given[0] != wanted:
            raise Open311Error(404, f"no jurisdiction {given[0]}; this server is {wanted}")

    @staticmethod
    def _base(request: Any) -> str:
        host = request.headers.get("Host", "localhost")
        return f"http://{host}{PREFIX}"

    def _service(self, service: Any) -> dict[str, Any]:
        return {
            "service_code": service.code,
            "service_name": service.name,
            "description": service.description,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(service.keywords),
            "group": service.group,
        }

    async def _list(self, query: str, fmt: str) -> Response:
        wanted = open311.parse_requests_query(query, datetime.now(UTC))
        codes = [c for c in wanted.service_codes if self.cases.catalogue.get(c) is None]
        if codes:
            raise Open311Error(400, f"unknown service_code {', '.join(codes)}")

        def find(store: CaseStore) -> list[Case]:
            if wanted.service_request_ids:
                return store.list(ids=wanted.service_request_ids, limit=open311.MAX_LIST_ITEMS)
            return store.list(
                service_codes=wanted.service_codes,
                start=wanted.start,
                end=wanted.end,
                statuses=wanted.statuses,
                limit=open311.MAX_LIST_ITEMS,
            )

        found = await self.cases.run(find)
        rendered = await self._rendered(found)
        return _response(200, fmt, open311.render_requests(rendered, fmt))

    async def _post(self, connection: ServerConnection, fmt: str, address: str) -> Response:
        body_too_large = getattr(connection, "body_too_large", False)
        if body_too_large:
            raise Open311Error(413, "the request body is too large")
        content_type = (
            connection.request.headers.get("Content-Type", "") if connection.request else ""
        )
        new = open311.parse_new_request(getattr(connection, "body", b""), content_type)
        if new.api_key not in self.settings.api_keys:
            raise Open311Error(403, "Invalid api_key")
        if self.cases.catalogue.get(new.service_code) is None:
            raise Open311Error(404, f"no service with service_code {new.service_code}")
        # The form may say the description's language (our extension); otherwise it is
        # identified from the text, and only then assumed to be the operators'.
        language = new.language
        if language is None and new.description:
            language = self.engines.identify_language(new.description).language
        language = language or self.operator_language
        translated, translated_language = None, None
        if new.description and language != self.operator_language:
            result = await self.engines.translate(
                [new.description], language, self.operator_language
            )
            if result.translated:
                translated, translated_language = result.texts[0], self.operator_language
        contact = {
            k: v
            for k, v in (
                ("email", new.email),
                ("first_name", new.first_name),
                ("last_name", new.last_name),
                ("phone", new.phone),
                ("device_id", new.device_id),
                ("account_id", new.account_id),
                ("media_url", new.media_url),
            )
            if v
        }
        try:
            case = await self.cases.run(
                lambda s: s.post(
                    new.service_code,
                    new.description,
                    language,
                    who=f"open311:{new.api_key[:6]}…",
                    place=new.address_string or new.address_id,
                    lat=new.lat,
                    long=new.long,
                    contact=contact,
                    description_translated=translated,
                    translated_language=translated_language,
                )
            )
        except CaseError as exc:
            raise Open311Error(400, str(exc)) from None
        await self.store.audit(
            f"open311:{new.api_key[:6]}…",
            "case.post",
            target=case.service_request_id,
            address=address,
        )
        if self.on_posted is not None:
            await self.on_posted(case)
        posted = {
            "service_request_id": case.service_request_id,
            "service_notice": self._notice(case),
            "account_id": new.account_id,
        }
        return _response(201, fmt, open311.render_posted([posted], fmt))

    def _notice(self, case: Case) -> str:
        return f"{case.agency} will dispatch it by {open311.iso_datetime(case.dispatch_due)}"

    async def _rendered(self, found: list[Case]) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        recordings = await self.cases.run(lambda s: [s.recordings(c) for c in found])
        return [
            self._request(case, links, now) for case, links in zip(found, recordings, strict=True)
        ]

    def _request(self, case: Case, recordings: list[str], now: datetime) -> dict[str, Any]:
        service = self.cases.catalogue.get(case.service_code)
        notes = f"{case.status}" + (f": {case.history[-1].note}" if case.history else "")
        return {
            "service_request_id": case.service_request_id,
            "status": "closed" if case.done else "open",
            "status_notes": notes,
            "service_name": service.name if service else case.service_code,
            "service_code": case.service_code,
            "description": case.description,
            "agency_responsible": case.agency,
            "service_notice": self._notice(case),
            "requested_datetime": case.requested_at,
            "updated_datetime": case.updated_at,
            "expected_datetime": case.feedback_due,
            "address": case.place,
            "address_id": None,
            "zipcode": None,
            "lat": case.lat,
            "long": case.long,
            "media_url": case.contact.get("media_url"),
            "extended_attributes": {
                "detailed_status": str(case.status),
                "caller_language": case.caller_language,
                "description_translated": case.description_translated,
                "translated_language": case.translated_language,
                "channel": case.channel,
                "urgency": case.urgency,
                "emergency": case.emergency,
                "duplicate_of": case.duplicate_of,
                "dispatch_due": open311.iso_datetime(case.dispatch_due),
                "overdue": case.overdue(now),
                "readback_confirmed": case.readback_confirmed,
                "satisfaction": case.satisfaction,
                "follow_up": case.follow_up,
                "recordings": recordings,
            },
        }
