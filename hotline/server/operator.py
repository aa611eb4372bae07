"""``/operator``: a signed-in operator on a websocket, their seat on the switchboard, and what
they do in their current call."""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.server import ServerConnection

from hotline.accounts import Session
from hotline.call.metrics import CallMetrics
from hotline.call.pipeline import Call
from hotline.call.routing import OperatorSeat, Switchboard
from hotline.records import RecordError
from hotline.server.link import WebSocketLink, check_audio, peer_address, pump_frames, read_hello
from hotline.server.signin import SignIn
from hotline.wire.messages import (
    Accept,
    Available,
    EmergencyAction,
    Hangup,
    Hello,
    OperatorReady,
    Preview,
    ProtocolError,
    Queue,
    QuickReply,
    ReadBackNow,
    RecordSaved,
    RecordUpdate,
    Reply,
    ReplySent,
    RequestUpdate,
    Settings,
    parse_message,
)
from hotline.wire.vocabulary import AccountRole, ErrorCode, Role, Status
from telephony import pcm_from_bytes

__all__ = ["OperatorSession", "answer_call"]

log = logging.getLogger(__name__)


class OperatorSession:
    """Signs an operator in, puts their seat on the switchboard, and passes what they say
    and do to the call the switchboard gives them."""

    def __init__(
        self,
        switchboard: Switchboard,
        ws: ServerConnection,
        *,
        sign_in: SignIn,
        max_frame_bytes: int,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.switchboard = switchboard
        self.ws = ws
        self.link = WebSocketLink(ws, metrics)
        self.sign_in = sign_in
        self.max_frame_bytes = max_frame_bytes
        self._queue_push: asyncio.Task | None = None

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, Role.OPERATOR)
        if hello is None:
            return
        try:
            session, languages = await self._signed_in(hello)
        except ProtocolError as error:
            await self.link.error(error)
            return
        account = session.account
        seat = OperatorSeat(
            account.name,
            languages,
            link=self.link,
            sample_rate=hello.sample_rate,
            auto_accept=hello.auto_accept,
            captions_only=hello.captions_only,
            hear_original=hello.hear_original,
            on_queue_change=self._queue_changed,
        )
        try:
            self.switchboard.sign_in(seat)
        except ValueError as exc:
            await self.link.error(ProtocolError(ErrorCode.BAD_MESSAGE, str(exc), fatal=True))
            return
        self.seat = seat
        await self.link.send(
            OperatorReady(
                seat.name,
                account.display_name,
                seat.languages,
                role=account.role,
                token=session.token,
                expires=session.expires.isoformat(timespec="seconds"),
            )
        )
        await self.link.send(Queue(self.switchboard.queue_snapshot()))
        try:
            await pump_frames(self.ws, self.link, self._frame)
        finally:
            self.switchboard.sign_out(seat)
            if seat.call is not None:
                seat.call.end(Status.DROPPED)

    async def _signed_in(self, hello: Hello) -> tuple[Session, list[str]]:
        """The session (from a token, or a name and password) and the seat's languages: the
        account's, narrowed to those the hello names if it names any."""
        session = await self.sign_in.for_hello(
            hello, peer_address(self.ws), AccountRole.OPERATOR, AccountRole.SUPERVISOR
        )
        account = session.account
        languages = [lang for lang in hello.languages if lang in account.languages]
        if hello.languages and not languages:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"operator {account.name!r} works in {', '.join(account.languages) or 'no language'}, "
                f"not {', '.join(hello.languages)}",
                fatal=True,
            )
        languages = languages or account.languages
        if not languages:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"account {account.name!r} has no languages to take calls in",
                fatal=True,
            )
        return session, languages

    def _queue_changed(self) -> None:
        if self._queue_push is None or self._queue_push.done():
            self._queue_push = asyncio.get_running_loop().create_task(
                self.link.send(Queue(self.switchboard.queue_snapshot()))
            )

    def _need_call(self) -> Call:
        if self.seat.call is None:
            raise ProtocolError(ErrorCode.NO_CALL, "there is no call in progress")
        return self.seat.call

    async def _frame(self, frame: str | bytes) -> bool | None:
        seat = self.seat
        if isinstance(frame, bytes):
            check_audio(frame, self.max_frame_bytes)
            if seat.party is not None:
                await seat.party.speaks(pcm_from_bytes(frame))
            return None
        match parse_message(Role.OPERATOR, frame):
            case Available(available=available):
                seat.available = available
                self.switchboard.dispatch()
            case Accept(call_id=call_id):
                if not self.switchboard.has_room():
                    raise ProtocolError(
                        ErrorCode.SERVER_FULL,
                        "the server is carrying all the calls it can; the call stays queued",
                    )
                if not self.switchboard.accept(seat, call_id):
                    raise ProtocolError(ErrorCode.NO_CALL, f"call {call_id} is not waiting for you")
            case (
                Hangup()
                | Reply()
                | Preview()
                | QuickReply()
                | RecordUpdate()
                | RequestUpdate()
                | ReadBackNow()
                | EmergencyAction()
            ) as action:
                await answer_call(self._need_call(), action, self.link)
            case Settings(captions_only=captions_only, hear_original=hear_original, muted=muted):
                self._settings(captions_only, hear_original, muted)
            case Hello():
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")
        return None

    def _settings(
        self, captions_only: bool | None, hear_original: bool | None, muted: bool | None
    ) -> None:
        """How the operator hears calls: kept on the seat for the next call, and applied to
        their side of the current one."""
        seat, party = self.seat, self.seat.party
        if captions_only is not None:
            seat.captions_only = captions_only
            if party is not None:
                party.captions_only = captions_only
        if hear_original is not None:
            seat.hear_original = hear_original
            if party is not None:
                party.hears_original = hear_original
        if muted is not None and party is not None:
            party.muted = muted


AnswerAction = (
    Hangup
    | Reply
    | Preview
    | QuickReply
    | RecordUpdate
    | RequestUpdate
    | ReadBackNow
    | EmergencyAction
)


async def answer_call(call: Call, action: AnswerAction, link: WebSocketLink) -> None:
    """What whoever answers a call (its operator, or a supervisor who took it over) does in
    it; answers go back on ``link``."""
    match action:
        case Hangup():
            call.end(Status.COMPLETED)
        case Reply(text=text, translation=translation):
            sent = await call.operator_reply(text, translation)
            await link.send(ReplySent.of(sent))
        case Preview(text=text):
            await link.send(await call.preview(text))
        case QuickReply(id=reply_id, params=params):
            try:
                sent = await call.quick_reply(reply_id, params)
            except KeyError:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, f"no quick reply named {reply_id!r}"
                ) from None
            await link.send(ReplySent.of(sent))
        case RecordUpdate(fields=fields):
            try:
                await call.update_record(fields)
            except RecordError as exc:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
            await link.send(RecordSaved(call.call_id))
        case RequestUpdate(service_code=service_code, place=place):
            try:
                await link.send(await call.update_request(service_code, place))
            except ValueError as exc:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
        case ReadBackNow():
            try:
                await call.read_back()
            except ValueError as exc:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
        case EmergencyAction(action=what):
            try:
                await link.send(await call.emergency_action(what))
            except ValueError as exc:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
