"""The call server: one port, websockets for callers, operators and plain ASR, plus HTTP.

Connections only move bytes and turn protocol errors into replies; everything a call
does lives in :mod:`hotline.call.pipeline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.accounts import AccountError, check_sign_in
from hotline.call.pipeline import Call, Leg
from hotline.call.playout import Playout
from hotline.call.prompts import LANGUAGE_NAMES, QUICK_REPLIES, prompt
from hotline.call.routing import OperatorSeat, QueueFull, Switchboard
from hotline.config import Config
from hotline.engines import Engines
from hotline.records.store import DEFAULT_FILENAME, AsyncRecordStore, RecordError
from hotline.server import web
from hotline.wire.messages import (
    PROTOCOL_VERSION,
    Accept,
    Available,
    Dtmf,
    ErrorCode,
    Hangup,
    Hello,
    Preview,
    ProtocolError,
    QuickReply,
    RecordUpdate,
    Reply,
    Settings,
    TypedText,
    error_frame,
    parse_message,
)
from telephony import WavWriter, pcm_from_bytes

__all__ = ["HotlineServer", "Link"]

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 30.0
MENU_TIMEOUT_S = 30.0


class Link:
    """Sends to one websocket; a peer that has gone away is noticed by its reader, not here."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws

    async def send_text(self, message: dict) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(message, ensure_ascii=False))

    async def send_audio(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(data)

    async def error(self, error: ProtocolError) -> None:
        log.info("protocol error %s: %s", error.code, error.message)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(error_frame(error))
            if error.fatal:
                await self.ws.close(1008, error.message[:120])


class HotlineServer:
    def __init__(
        self, config: Config, engines: Engines | None = None, store: AsyncRecordStore | None = None
    ) -> None:
        self.config = config
        self.data_dir = config.data_path
        self.engines = engines
        self.store = store
        self.switchboard: Switchboard | None = None
        self._server: websockets.asyncio.server.Server | None = None
        self._owns_engines = engines is None
        self._owns_store = store is None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "recordings").mkdir(exist_ok=True)
        if self.store is None:
            self.store = await AsyncRecordStore.open(self.data_dir / DEFAULT_FILENAME)
        if self.engines is None:
            loop = asyncio.get_running_loop()
            self.engines = await loop.run_in_executor(None, Engines, self.config)
            await self.engines.warm_up()
        self.switchboard = Switchboard(self.config.call.max_queue, self.engines.can_translate)
        self._server = await websockets.serve(
            self._connection,
            self.config.host,
            self.config.port,
            process_request=self._http,
            max_size=max(1 << 20, 4 * self.config.call.max_frame_bytes),
            ping_interval=20,
        )
        log.info("hotline serving on ws://%s:%d", self.config.host, self.port)

    async def stop(self) -> None:
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

    # --- HTTP -------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Any) -> Any:
        """Websocket paths go on to the handshake; everything else is a page (hotline.server.web)."""
        if request.path.split("?", 1)[0] in ("/call", "/operator", "/asr"):
            return None
        return web.respond(self, connection, request)

    async def _connection(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0]
        try:
            if path == "/call":
                await CallerSession(self, ws).run()
            elif path == "/operator":
                await OperatorSession(self, ws).run()
            elif path == "/asr":
                from hotline.server.asr_endpoint import serve_vosk_protocol

                await serve_vosk_protocol(ws, self.engines, self.config)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("connection on %s failed", path)
            with contextlib.suppress(ConnectionClosed):
                await ws.close(1011, "internal error")


async def read_hello(ws: ServerConnection, link: Link, role: str) -> Hello | None:
    """The first message must be ``hello``; anything else gets a clear error and a retry."""
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S)
        except TimeoutError:
            await link.error(ProtocolError(ErrorCode.NOT_STARTED, "no hello received", fatal=True))
            return None
        if isinstance(frame, bytes):
            await link.error(
                ProtocolError(ErrorCode.NOT_STARTED, "audio before hello: send hello first")
            )
            continue
        try:
            message = parse_message(role, frame)
        except ProtocolError as error:
            await link.error(error)
            if error.fatal:
                return None
            continue
        if isinstance(message, Hello):
            return message
        await link.error(ProtocolError(ErrorCode.NOT_STARTED, "send hello first"))


async def pump_frames(
    ws: ServerConnection, link: Link, handle: Callable[[str | bytes], Awaitable[bool | None]]
) -> None:
    """Give every frame to ``handle`` until the peer goes, ``handle`` returns True (hang-up),
    or a fatal protocol error; other protocol errors are answered and the session goes on."""
    with contextlib.suppress(ConnectionClosed):
        async for frame in ws:
            try:
                if await handle(frame):
                    return
            except ProtocolError as error:
                await link.error(error)
                if error.fatal:
                    return


def check_audio(frame: bytes, max_bytes: int) -> None:
    if len(frame) > max_bytes:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"audio frame of {len(frame)} bytes is larger than {max_bytes}; send at most 1 s per frame",
        )
    if len(frame) % 2:
        raise ProtocolError(ErrorCode.BAD_AUDIO, "audio frames must hold whole 16-bit samples")


class CallerSession:
    """A caller from hello to hang-up: menu, greeting, queue, the call, the record."""

    def __init__(self, server: HotlineServer, ws: ServerConnection) -> None:
        self.server = server
        self.config = server.config
        self.engines = server.engines
        self.store = server.store
        self.ws = ws
        self.link = Link(ws)
        self.call: Call | None = None
        self.hung_up = asyncio.Event()
        self.gone = asyncio.Event()
        self.dtmf: asyncio.Queue[str] = asyncio.Queue(8)
        self.call_id: str | None = None

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, "caller")
        if hello is None:
            return
        self.hello = hello
        record = await self.store.create_call(
            caller_language=hello.language, caller_id=hello.caller_id, channel="web"
        )
        self.call_id, self.reference = record.id, record.reference
        loop = asyncio.get_running_loop()
        self.started_at = loop.time()
        folder = self.server.data_dir / "recordings" / record.id
        folder.mkdir(parents=True, exist_ok=True)
        self.recorder_in = WavWriter(folder / "caller_in.wav", hello.sample_rate)
        heard = WavWriter(folder / "caller_heard.wav", hello.sample_rate)
        self.folder = folder
        for leg, writer in (("caller_in", self.recorder_in), ("caller_heard", heard)):
            await self.store.add_recording(
                record.id,
                leg,
                str(Path(writer.path).relative_to(self.server.data_dir)),
                hello.sample_rate,
            )
        self.playout = Playout(
            hello.sample_rate,
            self.link.send_audio,
            self.link.send_text,
            heard,
            self.config.call.original_voice_gain_db,
        )
        status = "dropped"
        try:
            async with asyncio.TaskGroup() as tg:
                playout = tg.create_task(self.playout.run())
                reader = tg.create_task(self._read())
                try:
                    status = await self._journey()
                finally:
                    await asyncio.sleep(0)
                    reader.cancel()
                    playout.cancel()
        finally:
            self.recorder_in.close()
            heard.close()
            await self.store.finish_call(record.id, status)
            await self.link.send_text(
                {
                    "type": "ended",
                    "call_id": record.id,
                    "reference": record.reference,
                    "status": status,
                }
            )
            with contextlib.suppress(ConnectionClosed):
                await self.ws.close()

    async def _read(self) -> None:
        """Every frame from the caller, in every phase; a closed socket means a dropped call."""
        try:
            await pump_frames(self.ws, self.link, self._frame)
        finally:
            if self.call is not None:
                self.call.end("completed" if self.hung_up.is_set() else "dropped")
            self.gone.set()

    async def _frame(self, frame: str | bytes) -> bool | None:
        if isinstance(frame, bytes):
            check_audio(frame, self.config.call.max_frame_bytes)
            if self.call is not None:
                await self.call.audio(self.call.caller, frame)
            else:
                self.recorder_in.write(pcm_from_bytes(frame))
            return
        message = parse_message("caller", frame)
        match message:
            case Hangup():
                self.hung_up.set()
                if self.call is not None:
                    self.call.end("completed")
                return True
            case Dtmf(digit=digit):
                with contextlib.suppress(asyncio.QueueFull):
                    self.dtmf.put_nowait(digit)
            case TypedText(text=text):
                if self.call is None:
                    raise ProtocolError(ErrorCode.NO_CALL, "not connected to an operator yet")
                await self.call.caller_typed(text)
            case Hello():
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")

    async def _say(self, name: str, language: str, **params: object) -> None:
        text = prompt(name, language, **params) or prompt(name, "en", **params)
        spoken_in = language if prompt(name, language) else "en"
        try:
            pcm = await self.engines.speak(text, spoken_in, self.hello.sample_rate)
        except Exception as exc:
            log.warning("call=%s cannot speak %s prompt: %s", self.call_id, name, exc)
            await self.link.send_text({"type": "say", "text": text, "prompt": name})
            return
        self.playout.play(pcm, {"type": "say", "text": text, "prompt": name})

    async def _until_gone(self, awaitable: Any, timeout: float | None = None) -> Any:
        """Await something unless the caller goes away first (then None)."""
        task = asyncio.ensure_future(awaitable)
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait(
                {task, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if task in done:
            return task.result()
        task.cancel()
        return None

    async def _choose_language(self) -> str | None:
        languages = self.config.call.menu_languages
        await self.link.send_text(
            {
                "type": "menu",
                "options": [
                    {"digit": str(i + 1), "language": lang, "name": LANGUAGE_NAMES.get(lang, lang)}
                    for i, lang in enumerate(languages)
                ],
            }
        )
        for i, language in enumerate(languages):
            await self._say("menu_item", language, digit=i + 1)
        while True:
            digit = await self._until_gone(self.dtmf.get(), MENU_TIMEOUT_S)
            if digit is None:
                return None
            if digit.isdigit() and 1 <= int(digit) <= len(languages):
                self.playout.clear()
                return languages[int(digit) - 1]

    async def _journey(self) -> str:
        language = self.hello.language
        if language is None:
            language = await self._choose_language()
            if language is None:
                return "dropped"
            await self.store.update_fields(self.call_id, caller_language=language)
        self.language = language
        await self.link.send_text(
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "call_id": self.call_id,
                "reference": self.reference,
                "language": language,
                "sample_rate": self.hello.sample_rate,
            }
        )
        await self._say("greeting", language)
        switchboard = self.server.switchboard
        try:
            waiting = switchboard.enqueue(self.call_id, language)
        except QueueFull:
            return await self._busy(language)
        try:
            seat, operator_language = None, None
            while seat is None:
                await self._until_gone(self.playout.drained(), 30)
                if self.gone.is_set():
                    return "completed" if self.hung_up.is_set() else "dropped"
                if not waiting.assigned.done():
                    position = switchboard.position(waiting)
                    await self.link.send_text(
                        {"type": "status", "state": "queued", "position": position}
                    )
                    await self._say("position", language, position=position)
                result = await self._until_gone(
                    asyncio.shield(waiting.assigned), self.config.call.queue_announce_s
                )
                if self.gone.is_set():
                    return "completed" if self.hung_up.is_set() else "dropped"
                if result is not None:
                    seat, operator_language = result
                elif waiting.waiting_s() >= self.config.call.queue_timeout_s:
                    switchboard.leave(waiting)
                    return await self._busy(language)
        finally:
            switchboard.leave(waiting)
        return await self._connected(seat, operator_language)

    async def _busy(self, language: str) -> str:
        """No operator now (queue full or waited too long): say so; the call stays recorded."""
        await self.link.send_text({"type": "status", "state": "busy"})
        await self._say("busy", language)
        await self._until_gone(self.playout.drained(), 30)
        return "busy"

    async def _connected(self, seat: OperatorSeat, operator_language: str) -> str:
        operator: OperatorSession = seat.connection
        rate = operator.hello.sample_rate
        await self.store.set_operator(self.call_id, seat.name, operator_language)
        operator_in = WavWriter(self.folder / "operator_in.wav", rate)
        operator_heard = WavWriter(self.folder / "operator_heard.wav", rate)
        for leg, writer in (("operator_in", operator_in), ("operator_heard", operator_heard)):
            await self.store.add_recording(
                self.call_id, leg, str(Path(writer.path).relative_to(self.server.data_dir)), rate
            )
        operator_playout = Playout(
            rate,
            operator.link.send_audio,
            operator.link.send_text,
            operator_heard,
            self.config.call.original_voice_gain_db,
        )
        operator_playout.under_enabled = operator.hear_original
        caller_leg = Leg(
            "caller",
            self.language,
            self.hello.sample_rate,
            self.link.send_text,
            self.playout,
            self.recorder_in,
        )
        operator_leg = Leg(
            "operator",
            operator_language,
            rate,
            operator.link.send_text,
            operator_playout,
            operator_in,
            captions_only=operator.captions_only,
        )
        call = Call(
            self.call_id,
            self.reference,
            self.engines,
            self.store,
            caller_leg,
            operator_leg,
            self.started_at,
        )
        seat.call = call
        operator.call = call
        self.call = call
        await self.store.set_status(self.call_id, "active")
        await operator.link.send_text(
            {
                "type": "connected",
                "call_id": self.call_id,
                "reference": self.reference,
                "caller_language": self.language,
                "operator_language": operator_language,
                "caller_asr": self.language in self.engines.asr_languages(),
                "operator_asr": operator_language in self.engines.asr_languages(),
                "quick_replies": sorted(QUICK_REPLIES),
            }
        )
        await self.link.send_text(
            {"type": "status", "state": "connected", "operator_language": operator_language}
        )
        await self._say("connected", self.language)
        try:
            status = await call.run()
        finally:
            operator_in.close()
            operator_heard.close()
            operator.call = None
            self.server.switchboard.release(seat)
            await operator.link.send_text(
                {"type": "ended", "call_id": self.call_id, "reference": self.reference}
            )
        return status


class OperatorSession:
    """A signed-in operator: availability, the queue, and their current call."""

    def __init__(self, server: HotlineServer, ws: ServerConnection) -> None:
        self.server = server
        self.ws = ws
        self.link = Link(ws)
        self.call: Call | None = None
        self.display_name: str | None = None
        self._queue_push: asyncio.Task | None = None

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, "operator")
        if hello is None:
            return
        self.hello = hello
        self.captions_only = hello.captions_only
        self.hear_original = hello.hear_original
        languages = await self._sign_in(hello)
        if languages is None:
            return
        switchboard = self.server.switchboard
        seat = OperatorSeat(hello.name, languages, auto_accept=hello.auto_accept)
        seat.connection = self
        seat.on_queue_change = self._queue_changed
        try:
            switchboard.sign_in(seat)
        except ValueError as exc:
            await self.link.error(ProtocolError(ErrorCode.BAD_MESSAGE, str(exc), fatal=True))
            return
        self.seat = seat
        await self.link.send_text(
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "operator": seat.name,
                "display_name": self.display_name or seat.name,
                "languages": seat.languages,
            }
        )
        await self.link.send_text({"type": "queue", "calls": switchboard.queue_snapshot()})
        try:
            await pump_frames(self.ws, self.link, self._frame)
        finally:
            switchboard.sign_out(seat)
            if self.call is not None:
                self.call.end("dropped")

    async def _sign_in(self, hello: Hello) -> list[str] | None:
        """The seat's languages, or None after a fatal error. Once the data folder holds
        operator accounts, the name and password must match one, and the languages come from
        the account (narrowed to those the hello names, if it names any); with no accounts,
        sign-in stays open and the hello's languages are used."""
        loop = asyncio.get_running_loop()
        try:
            account = await loop.run_in_executor(
                None, check_sign_in, self.server.data_dir, hello.name, hello.password
            )
        except AccountError as exc:
            log.info("operator sign-in refused for %r: %s", hello.name, exc)
            await self.link.error(ProtocolError(ErrorCode.BAD_CREDENTIALS, str(exc), fatal=True))
            return None
        if account is None:
            if not hello.languages:
                await self.link.error(
                    ProtocolError(
                        ErrorCode.BAD_MESSAGE, "an operator hello needs 'languages'", fatal=True
                    )
                )
                return None
            return hello.languages
        languages = [lang for lang in hello.languages if lang in account.languages]
        if hello.languages and not languages:
            await self.link.error(
                ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"operator {account.name!r} works in {', '.join(account.languages)}, "
                    f"not {', '.join(hello.languages)}",
                    fatal=True,
                )
            )
            return None
        self.display_name = account.display_name
        return languages or account.languages

    def _queue_changed(self) -> None:
        if self._queue_push is None or self._queue_push.done():
            self._queue_push = asyncio.get_running_loop().create_task(
                self.link.send_text(
                    {"type": "queue", "calls": self.server.switchboard.queue_snapshot()}
                )
            )

    def _need_call(self) -> Call:
        if self.call is None:
            raise ProtocolError(ErrorCode.NO_CALL, "there is no call in progress")
        return self.call

    async def _frame(self, frame: str | bytes) -> bool | None:
        if isinstance(frame, bytes):
            check_audio(frame, self.server.config.call.max_frame_bytes)
            if self.call is not None:
                await self.call.audio(self.call.operator, frame)
            return
        message = parse_message("operator", frame)
        switchboard = self.server.switchboard
        match message:
            case Available(available=available):
                self.seat.available = available
                switchboard.dispatch()
            case Accept(call_id=call_id):
                if not switchboard.accept(self.seat, call_id):
                    raise ProtocolError(ErrorCode.NO_CALL, f"call {call_id} is not waiting for you")
            case Hangup():
                self._need_call().end("completed")
            case Reply(text=text, translation=translation):
                sent = await self._need_call().operator_reply(text, translation)
                await self.link.send_text({**sent, "type": "reply_sent"})
            case Preview(text=text):
                await self.link.send_text(await self._need_call().preview(text))
            case QuickReply(id=reply_id, params=params):
                try:
                    sent = await self._need_call().quick_reply(reply_id, params)
                except KeyError:
                    raise ProtocolError(
                        ErrorCode.BAD_MESSAGE, f"no quick reply named {reply_id!r}"
                    ) from None
                await self.link.send_text({**sent, "type": "reply_sent"})
            case RecordUpdate(fields=fields):
                call = self._need_call()
                try:
                    await self.server.store.update_fields(call.call_id, **fields)
                except RecordError as exc:
                    raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
                await self.link.send_text({"type": "record_saved", "call_id": call.call_id})
            case Settings(captions_only=captions_only, hear_original=hear_original, muted=muted):
                if captions_only is not None:
                    self.captions_only = captions_only
                    if self.call is not None:
                        self.call.operator.captions_only = captions_only
                if hear_original is not None:
                    self.hear_original = hear_original
                    if self.call is not None:
                        self.call.operator.playout.under_enabled = hear_original
                if muted is not None and self.call is not None:
                    self.call.operator.muted = muted
            case Hello():
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")
