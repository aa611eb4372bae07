"""The call server: one port, websockets for callers, operators and plain ASR, plus HTTP.

Sessions only move bytes and turn protocol errors into replies; what a call does lives in
:mod:`hotline.call`, and which engines do it is :mod:`hotline.engines`' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets
from prometheus_client import start_http_server
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.accounts import FIRST_ADMIN_FILENAME, ensure_first_admin
from hotline.call.journey import CallServices
from hotline.call.metrics import CallMetrics
from hotline.call.routing import Switchboard
from hotline.call.supervision import Supervisor
from hotline.cases.catalogue import Catalogue, load_catalogue
from hotline.cases.classify import ServiceClassifier
from hotline.cases.store import AsyncCaseStore, CaseStore
from hotline.config import Config, ConfigError, SecurityConfig
from hotline.engines import Engines
from hotline.records import DEFAULT_FILENAME, AsyncRecordStore
from hotline.records.retention import keep_sweeping
from hotline.server import web
from hotline.server.asr_endpoint import serve_vosk_protocol
from hotline.server.audiosocket import AudioSocketServer
from hotline.server.caller import CallerSession
from hotline.server.dashboard import dashboard_data
from hotline.server.doors import Doors, Refused
from hotline.server.link import WebSocketLink, peer_address
from hotline.server.metrics import LiveState, metrics_response
from hotline.server.open311 import PREFIX as OPEN311_PREFIX
from hotline.server.open311 import BodyConnection, Open311Api
from hotline.server.operator import OperatorSession
from hotline.server.qa import QaSession, audio_span
from hotline.server.signin import SignIn
from hotline.server.sip import SipServer
from hotline.server.supervisor import SupervisorSession
from hotline.server.twilio import TwilioSession, check_signature, voice_webhook
from hotline.wire.messages import NewCase, Overdue, OverdueCase, ProtocolError
from hotline.wire.vocabulary import CloseCode, ErrorCode

__all__ = ["HotlineServer", "WEBSOCKET_PATHS"]

log = logging.getLogger(__name__)

WEBSOCKET_PATHS = ("/call", "/operator", "/supervisor", "/qa/ws", "/asr", "/twilio")
SOCKET_SEND_BUFFER = 64 * 1024
ASR_SESSION_LOAD = 0.5
"""An /asr session runs one recognizer, half of what a call's two legs run."""


class HotlineServer:
    """Owns the engines, the record store and the switchboard of one process, and serves
    them on one port. Engines and a store passed in are borrowed, not closed."""

    def __init__(
        self, config: Config, engines: Engines | None = None, store: AsyncRecordStore | None = None
    ) -> None:
        self.config = config
        self.data_dir = config.data_path
        self.engines = engines
        self.store = store
        self.switchboard: Switchboard | None = None
        self.services: CallServices | None = None
        self._server: Server | None = None
        self.audiosocket: AudioSocketServer | None = None
        self.sip: SipServer | None = None
        self.sign_in: SignIn | None = None
        self.doors = Doors(config.security)
        self.metrics = CallMetrics()
        self.supervisors: dict[str, Supervisor] = {}
        try:
            self.catalogue: Catalogue = load_catalogue(
                config.cases.catalogue or None, config.cases.clocks
            )
        except ValueError as exc:
            raise ConfigError(f"cases.catalogue: {exc}") from exc
        self.cases: AsyncCaseStore | None = None
        self.open311: Open311Api | None = None
        self._metrics_http: Any = None
        self._retention: asyncio.Task[None] | None = None
        self._overdue: asyncio.Task[None] | None = None
        self._owns_engines = engines is None
        self._owns_store = store is None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        loop = asyncio.get_running_loop()
        admin_password = await loop.run_in_executor(None, ensure_first_admin, self.data_dir)
        if admin_password is not None:
            print(
                f"hotline: no accounts yet, so an 'admin' account was made with the password "
                f"{admin_password} (also in {self.data_dir / FIRST_ADMIN_FILENAME}, readable "
                "only by you); make accounts with `hotline accounts add`",
                flush=True,
            )
        self.sign_in = SignIn(self.data_dir, self.config.security)
        if self.store is None:
            self.store = await AsyncRecordStore.open(self.data_dir / DEFAULT_FILENAME)
        self.cases = AsyncCaseStore(self.store, self.catalogue)
        if self.engines is None:
            self.engines = await loop.run_in_executor(None, Engines, self.config)
            await self.engines.warm_up()
        self.capacity = self.config.call.capacity or self.engines.estimated_capacity()
        log.info(
            "capacity: %d simultaneous calls (%s)",
            self.capacity,
            "configured" if self.config.call.capacity else "measured at start",
        )
        self.switchboard = Switchboard(
            self.config.call.max_queue,
            self.engines.can_translate,
            capacity=self.capacity,
            other_load=lambda: sum(self.doors.asr_open.values()) * ASR_SESSION_LOAD,
        )
        self.services = CallServices(
            self.engines,
            self.store,
            self.switchboard,
            self.config.call,
            self.data_dir,
            metrics=self.metrics,
            cases=self.cases,
            case_settings=self.config.cases,
        )
        self.open311 = Open311Api(self.cases, self.store, self.engines, self.config.cases)
        self.open311.on_posted = self._case_posted
        # Train the service classifier now, not on the first caller's words.
        await asyncio.to_thread(ServiceClassifier.default)
        self.metrics.registry.register(
            LiveState(lambda: self.switchboard, self.engines, self.doors)
        )
        self._server = await websockets.serve(
            self._connection,
            self.config.host,
            self.config.port,
            process_request=self._http,
            create_connection=BodyConnection,
            max_size=max(1 << 20, 4 * self.config.call.max_frame_bytes),
            ping_interval=20,
            ssl=tls_context(self.config.security),
        )
        scheme = "wss" if self.config.security.tls_certfile else "ws"
        log.info("hotline serving on %s://%s:%d", scheme, self.config.host, self.port)
        if self.config.security.metrics_port:
            self._metrics_http, _ = start_http_server(
                self.config.security.metrics_port,
                addr=self.config.host,
                registry=self.metrics.registry,
            )
        if self.config.audiosocket.port:
            self.audiosocket = AudioSocketServer(
                self.services, self.config.audiosocket, self.config.host
            )
            await self.audiosocket.start()
        if self.config.sip.port:
            self.sip = SipServer(self.services, self.config.sip, self.config.host)
            await self.sip.start()
        self._overdue = asyncio.create_task(self._flag_overdue())
        if self.config.records.retention_days > 0:
            self._retention = asyncio.create_task(
                keep_sweeping(self.store, self.data_dir, self.config.records.retention_days)
            )

    async def stop(self) -> None:
        if self._overdue is not None:
            self._overdue.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._overdue
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        if self.sip is not None:
            await self.sip.stop()
        if self.audiosocket is not None:
            await self.audiosocket.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self.sign_in is not None:
            self.sign_in.close()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()
        if self._owns_store and self.store is not None:
            await self.store.close()
        if self._owns_engines and self.engines is not None:
            self.engines.close()

    async def __aenter__(self) -> HotlineServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _http(self, connection: ServerConnection, request: Any) -> Any:
        """Websocket paths go on to the handshake; everything else is a page (``web``) or
        the metrics. Twilio's requests are refused here when they are not signed."""
        path = request.path.split("?", 1)[0]
        if path.startswith(OPEN311_PREFIX) or path == OPEN311_PREFIX.rstrip("/"):
            assert self.open311 is not None
            return await self.open311.handle(connection, request, peer_address(connection))
        if request.method != "GET":
            return web.text_response(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not served here\n"
            )
        if path == "/metrics":
            return await metrics_response(request, self.metrics, self.config.security.metrics_token)
        if path == "/dashboard/data":
            assert self.store is not None and self.cases is not None and self.sign_in
            return await dashboard_data(
                request,
                self.store,
                self.cases,
                self.config.cases,
                self.sign_in,
                peer_address(connection),
            )
        if path == "/qa/audio":
            assert self.store is not None and self.sign_in is not None
            return await audio_span(
                request, self.store, self.data_dir, self.sign_in, peer_address(connection)
            )
        if path in ("/twilio", "/twilio/voice"):
            refused = check_signature(self.config.twilio, request)
            if refused is not None:
                return refused
            if path == "/twilio/voice":
                return voice_webhook(self.config.twilio, request)
        if path in WEBSOCKET_PATHS:
            refusal = self.doors.origin_refusal(
                path, request.headers.get("Origin"), request.headers.get("Host")
            )
            if refusal is not None:
                self.metrics.refused.labels("origin").inc()
                log.warning(
                    "websocket %s from %s refused: %s", path, peer_address(connection), refusal
                )
                return web.text_response(HTTPStatus.FORBIDDEN, refusal + "\n")
            return None
        return web.respond(request, self.switchboard, self.config.call.menu_languages)

    async def _flag_overdue(self) -> None:
        """Every operator's console lists the cases past a clock, on a timer (owned by the
        server, cancelled at stop; a failed check is logged and tried again)."""
        assert self.cases is not None and self.switchboard is not None
        while True:
            try:
                now = datetime.now(UTC)
                late = await self.cases.run(
                    functools.partial(CaseStore.list, overdue_at=now, limit=None)
                )
                message = overdue_message(late, self.catalogue, now)
                for seat in list(self.switchboard.seats.values()):
                    if seat.link is not None:
                        await seat.link.send(message)
            except Exception:
                log.exception("could not check for overdue cases")
            await asyncio.sleep(self.config.cases.overdue_check_s)

    async def _case_posted(self, case: Any) -> None:
        """A request posted without a call shows on every signed-in operator's console, in
        the operator's own language where it can be translated."""
        assert self.switchboard is not None and self.engines is not None
        service = self.catalogue.get(case.service_code)
        for seat in list(self.switchboard.seats.values()):
            if seat.link is None:
                continue
            language = seat.languages[0] if seat.languages else "en"
            translation, note = case.description_translated, None
            translated_language = case.translated_language
            if case.caller_language != language and translated_language != language:
                result = await self.engines.translate(
                    [case.description], case.caller_language, language
                )
                translation = result.texts[0] if result.translated else None
                translated_language = language if result.translated else None
                note = result.note or None
            elif case.caller_language == language:
                translation, translated_language = None, None
            await seat.link.send(
                NewCase(
                    case.service_request_id,
                    case.service_code,
                    service.name_in(language) if service else case.service_code,
                    case.urgency,
                    case.place,
                    case.description,
                    case.caller_language,
                    translation,
                    translated_language,
                    note,
                )
            )

    async def _connection(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0]
        _small_send_buffer(ws)
        assert self.services is not None and self.engines is not None
        max_frame_bytes = self.config.call.max_frame_bytes
        try:
            if path == "/call":
                try:
                    self.doors.call_set_up(peer_address(ws))
                except Refused as refused:
                    self.metrics.refused.labels("call_rate").inc()
                    await WebSocketLink(ws).error(
                        ProtocolError(ErrorCode.RATE_LIMITED, str(refused), fatal=True)
                    )
                    return
                await CallerSession(self.services, ws, max_frame_bytes).run()
            elif path == "/operator":
                assert self.sign_in is not None
                await OperatorSession(
                    self.services.switchboard,
                    ws,
                    sign_in=self.sign_in,
                    max_frame_bytes=max_frame_bytes,
                    metrics=self.metrics,
                ).run()
            elif path == "/supervisor":
                assert self.sign_in is not None
                await SupervisorSession(
                    self.services.switchboard,
                    self.supervisors,
                    ws,
                    sign_in=self.sign_in,
                    max_frame_bytes=max_frame_bytes,
                    metrics=self.metrics,
                ).run()
            elif path == "/qa/ws":
                assert self.sign_in is not None and self.store is not None
                await QaSession(
                    self.store, self.data_dir, ws, sign_in=self.sign_in, metrics=self.metrics
                ).run()
            elif path == "/asr":
                await self._asr(ws)
            elif path == "/twilio":
                await TwilioSession(self.services, ws).run()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("connection on %s failed", path)
            with contextlib.suppress(ConnectionClosed):
                await ws.close(CloseCode.INTERNAL_ERROR, "internal error")

    async def _asr(self, ws: ServerConnection) -> None:
        """``/asr`` for anyone within the per-address and total limits; a session token
        (``Authorization: Bearer`` or ``?token=``) lifts the per-address one, and is required
        when ``security.asr_requires_token`` is set."""
        assert self.engines is not None and self.sign_in is not None
        token = bearer_token(ws.request)
        signed_in = False
        if token is not None:
            try:
                await self.sign_in.with_token(token)
            except ProtocolError as error:
                await ws.close(CloseCode.POLICY_VIOLATION, error.message[:120])
                return
            signed_in = True
        elif self.config.security.asr_requires_token:
            await ws.close(CloseCode.POLICY_VIOLATION, "this server's /asr needs a session token")
            return
        try:
            assert self.switchboard is not None
            switchboard = self.switchboard
            with self.doors.asr_session(
                peer_address(ws),
                signed_in,
                has_room=lambda: switchboard.load() + ASR_SESSION_LOAD <= switchboard.capacity,
            ):
                await serve_vosk_protocol(ws, self.engines, self.config)
        except Refused as refused:
            self.metrics.refused.labels("asr_capacity").inc()
            log.warning("/asr from %s refused: %s", peer_address(ws), refused)
            await ws.close(CloseCode.TRY_AGAIN_LATER, str(refused)[:120])


OVERDUE_SHOWN = 20


def overdue_message(late: list[Any], catalogue: Catalogue, now: datetime) -> Overdue:
    """The overdue cases for the consoles: emergencies first, then the longest late."""

    def first_due(case: Any) -> datetime:
        clocks = case.overdue(now)
        return case.dispatch_due if "dispatch" in clocks else case.feedback_due

    ordered = sorted(late, key=lambda c: (c.urgency != "emergency", first_due(c)))
    shown = []
    for case in ordered[:OVERDUE_SHOWN]:
        service = catalogue.get(case.service_code)
        shown.append(
            OverdueCase(
                case.service_request_id,
                service.name if service else case.service_code,
                case.agency,
                case.urgency,
                case.overdue(now),
                first_due(case).isoformat(timespec="minutes"),
            )
        )
    return Overdue(shown, len(late))


def _small_send_buffer(ws: ServerConnection) -> None:
    """Live audio goes stale in a queue: a kernel send buffer of SOCKET_SEND_BUFFER (not
    the megabytes Linux grows it to) makes a slow peer show at once as a backlog that the
    link drops and counts, instead of seconds of old speech piling up."""
    sock = ws.transport.get_extra_info("socket") if ws.transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)


def tls_context(security: SecurityConfig) -> ssl.SSLContext | None:
    """``wss://`` and ``https://`` from the configured certificate (and key) files."""
    if not security.tls_certfile:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(security.tls_certfile, security.tls_keyfile or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"security.tls_certfile {security.tls_certfile!r} / tls_keyfile "
            f"{security.tls_keyfile!r}: cannot load the certificate: {exc}"
        ) from exc
    return context


def bearer_token(request: Any) -> str | None:
    """A session token from ``Authorization: Bearer …`` or the ``token`` query parameter."""
    header = request.headers.get("Authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = parse_qs(urlsplit(request.path).query)
    values = query.get("token")
    return values[0] if values else None
