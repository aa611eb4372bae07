"""``/supervisor``: a supervisor's websocket. They sign in like an operator (a supervisor
or admin account), see every live call on a wall with its captions, and step into one:
monitor, whisper, barge or take over (:mod:`hotline.call.supervision`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from websockets.asyncio.server import ServerConnection

from hotline.call.metrics import CallMetrics
from hotline.call.routing import Switchboard
from hotline.call.supervision import Supervisor
from hotline.server.link import WebSocketLink, check_audio, peer_address, pump_frames, read_hello
from hotline.server.operator import answer_call
from hotline.server.signin import SignIn
from hotline.wire.messages import (
    EmergencyAction,
    Hangup,
    Hello,
    OperatorReady,
    Preview,
    ProtocolError,
    QuickReply,
    ReadBackNow,
    RecordUpdate,
    Reply,
    RequestUpdate,
    Supervise,
    Wall,
    WallCall,
    Whisper,
    parse_message,
)
from hotline.wire.vocabulary import (
    AccountRole,
    CallState,
    ErrorCode,
    Role,
    Status,
    SupervisorMode,
)
from telephony import pcm_from_bytes

__all__ = ["SupervisorSession", "wall"]

log = logging.getLogger(__name__)

WALL_EVERY_S = 1.0
"""The wall is sent at most this often, and at least this often while calls are live (the
waiting times and captions move)."""


def wall(switchboard: Switchboard, supervisors: dict[str, Supervisor]) -> Wall:
    """Every waiting and connected call, oldest first."""
    watching: dict[str, list[str]] = {}
    for supervisor in supervisors.values():
        if supervisor.call is not None:
            watching.setdefault(supervisor.call.call_id, []).append(supervisor.name)
    calls = [
        WallCall(
            w.call_id,
            w.reference,
            CallState.QUEUED,
            w.language,
            round(w.waiting_s(), 1),
        )
        for w in switchboard.waiting
    ]
    loop = asyncio.get_running_loop()
    for call in switchboard.calls.values():
        operator = next(
            (s.name for s in switchboard.seats.values() if s.call is call),
            ", ".join(watching.get(call.call_id, [])) or None,
        )
        calls.append(
            WallCall(
                call.call_id,
                call.reference,
                CallState.CONNECTED,
                call.caller.language,
                round(loop.time() - call.started_at, 1),
                operator=operator,
                operator_language=call.operator.language,
                supervisors=watching.get(call.call_id, []),
                captions=list(call.recent),
            )
        )
    return Wall(calls)


class SupervisorSession:
    def __init__(
        self,
        switchboard: Switchboard,
        supervisors: dict[str, Supervisor],
        ws: ServerConnection,
        *,
        sign_in: SignIn,
        max_frame_bytes: int,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.switchboard = switchboard
        self.supervisors = supervisors
        self.ws = ws
        self.link = WebSocketLink(ws, metrics)
        self.sign_in = sign_in
        self.max_frame_bytes = max_frame_bytes
        self.supervisor: Supervisor | None = None
        self._changed = asyncio.Event()

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, Role.SUPERVISOR)
        if hello is None:
            return
        try:
            session = await self.sign_in.for_hello(
                hello, peer_address(self.ws), AccountRole.SUPERVISOR
            )
        except ProtocolError as error:
            await self.link.error(error)
            return
        account = session.account
        if account.name in self.supervisors:
            await self.link.error(
                ProtocolError(
                    ErrorCode.BAD_MESSAGE, f"{account.name!r} is already signed in", fatal=True
                )
            )
            return
        supervisor = Supervisor(account.name, self.link, hello.sample_rate, self.switchboard)
        self.supervisor = self.supervisors[account.name] = supervisor
        await self.link.send(
            OperatorReady(
                account.name,
                account.display_name,
                account.languages,
                role=account.role,
                token=session.token,
                expires=session.expires.isoformat(timespec="seconds"),
            )
        )
        self.switchboard.watchers.append(self._changed.set)
        try:
            async with asyncio.TaskGroup() as tg:
                pusher = tg.create_task(self._push_wall())
                try:
                    await pump_frames(self.ws, self.link, self._frame)
                finally:
                    pusher.cancel()
        finally:
            with contextlib.suppress(ValueError):
                self.switchboard.watchers.remove(self._changed.set)
            del self.supervisors[account.name]
            call = supervisor.call
            taken_over = supervisor.mode == SupervisorMode.TAKEOVER
            supervisor.call_ended()
            if call is not None and taken_over:
                # A supervisor who took a call over and went away: the call is dropped,
                # as it would be if its operator had gone.
                call.end(Status.DROPPED)

    async def _push_wall(self) -> None:
        """The wall now, then again on every change (at most once a second) and every
        second while calls are live."""
        while True:
            self._changed.clear()
            self._check_call()
            await self.link.send(wall(self.switchboard, self.supervisors))
            await asyncio.sleep(WALL_EVERY_S)
            if not (self.switchboard.calls or self.switchboard.waiting):
                await self._changed.wait()

    def _check_call(self) -> None:
        """A call that ended under the supervisor is let go."""
        supervisor = self.supervisor
        if supervisor is not None and supervisor.call is not None:
            if self.switchboard.calls.get(supervisor.call.call_id) is not supervisor.call:
                supervisor.call_ended()

    async def _frame(self, frame: str | bytes) -> bool | None:
        supervisor = self.supervisor
        assert supervisor is not None
        if isinstance(frame, bytes):
            check_audio(frame, self.max_frame_bytes)
            await supervisor.speaks(pcm_from_bytes(frame))
            return None
        match parse_message(Role.SUPERVISOR, frame):
            case Supervise(call_id=call_id, mode=mode):
                call = self.switchboard.calls.get(call_id)
                if call is None and mode != SupervisorMode.LEAVE:
                    raise ProtocolError(ErrorCode.NO_CALL, f"no live call {call_id}")
                try:
                    if call is None:
                        await supervisor.leave()
                    else:
                        await supervisor.supervise(call, mode)
                except ValueError as exc:
                    raise ProtocolError(ErrorCode.NOT_ALLOWED, str(exc)) from None
                self._changed.set()
            case Whisper(text=text):
                try:
                    await supervisor.whisper(text)
                except ValueError as exc:
                    raise ProtocolError(ErrorCode.NO_CALL, str(exc)) from None
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
                if supervisor.mode != SupervisorMode.TAKEOVER or supervisor.call is None:
                    raise ProtocolError(
                        ErrorCode.NOT_ALLOWED, "take the call over first to answer it"
                    )
                await answer_call(supervisor.call, action, self.link)
            case Hello():
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")
        return None
