"""The call server: one port, websockets for callers, operators and plain ASR, plus HTTP.

Sessions only move bytes and turn protocol errors into replies; what a call does lives in
:mod:`hotline.call`, and which engines do it is :mod:`hotline.engines`' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.call.journey import CallServices
from hotline.call.routing import Switchboard
from hotline.config import Config
from hotline.engines import Engines
from hotline.records import DEFAULT_FILENAME, AsyncRecordStore
from hotline.server import web
from hotline.server.asr_endpoint import serve_vosk_protocol
from hotline.server.audiosocket import AudioSocketServer
from hotline.server.caller import CallerSession
from hotline.server.operator import OperatorSession
from hotline.server.sip import SipServer
from hotline.server.twilio import TwilioSession, check_signature, voice_webhook

__all__ = ["HotlineServer", "WEBSOCKET_PATHS"]

log = logging.getLogger(__name__)

WEBSOCKET_PATHS = ("/call", "/operator", "/asr", "/twilio")
INTERNAL_ERROR = 1011


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
        self._owns_engines = engines is None
        self._owns_store = store is None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.store is None:
            self.store = await AsyncRecordStore.open(self.data_dir / DEFAULT_FILENAME)
        if self.engines is None:
            loop = asyncio.get_running_loop()
            self.engines = await loop.run_in_executor(None, Engines, self.config)
            await self.engines.warm_up()
        self.switchboard = Switchboard(self.config.call.max_queue, self.engines.can_translate)
        self.services = CallServices(
            self.engines, self.store, self.switchboard, self.config.call, self.data_dir
        )
        self._server = await websockets.serve(
            self._connection,
            self.config.host,
            self.config.port,
            process_request=self._http,
            max_size=max(1 << 20, 4 * self.config.call.max_frame_bytes),
            ping_interval=20,
        )
        log.info("hotline serving on ws://%s:%d", self.config.host, self.port)
        if self.config.audiosocket.port:
            self.audiosocket = AudioSocketServer(
                self.services, self.config.audiosocket, self.config.host
            )
            await self.audiosocket.start()
        if self.config.sip.port:
            self.sip = SipServer(self.services, self.config.sip, self.config.host)
            await self.sip.start()

    async def stop(self) -> None:
        if self.sip is not None:
            await self.sip.stop()
        if self.audiosocket is not None:
            await self.audiosocket.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._owns_store and self.store is not None:
            await self.store.close()
        if self._owns_engines and self.engines is not None:
            self.engines.close()

    async def __aenter__(self) -> HotlineServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _http(self, connection: ServerConnection, request: Any) -> Any:
        """Websocket paths go on to the handshake; everything else is a page (``web``).
        Twilio's requests are refused here when they are not signed."""
        path = request.path.split("?", 1)[0]
        if path in ("/twilio", "/twilio/voice"):
            refused = check_signature(self.config.twilio, request)
            if refused is not None:
                return refused
            if path == "/twilio/voice":
                return voice_webhook(self.config.twilio, request)
        if path in WEBSOCKET_PATHS:
            return None
        return web.respond(request, self.switchboard, self.config.call.menu_languages)

    async def _connection(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0]
        assert self.services is not None and self.engines is not None
        max_frame_bytes = self.config.call.max_frame_bytes
        try:
            if path == "/call":
                await CallerSession(self.services, ws, max_frame_bytes).run()
            elif path == "/operator":
                await OperatorSession(
                    self.services.switchboard,
                    ws,
                    data_dir=self.data_dir,
                    max_frame_bytes=max_frame_bytes,
                ).run()
            elif path == "/asr":
                await serve_vosk_protocol(ws, self.engines, self.config)
            elif path == "/twilio":
                await TwilioSession(self.services, ws).run()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("connection on %s failed", path)
            with contextlib.suppress(ConnectionClosed):
                await ws.close(INTERNAL_ERROR, "internal error")
