"""``/call``: a caller on a websocket, handed to the same journey every transport uses."""

from __future__ import annotations

import asyncio
import contextlib

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.call.journey import CallerJourney, CallServices
from hotline.server.link import WebSocketLink, check_audio, pump_frames, read_hello
from hotline.wire.messages import (
    Dtmf,
    Hangup,
    Hello,
    ProtocolError,
    SurveyAnswer,
    TypedText,
    parse_message,
)
from hotline.wire.vocabulary import Channel, ErrorCode, Role
from telephony import pcm_from_bytes

__all__ = ["CallerSession"]


class CallerSession:
    """Moves a web caller's frames into their :class:`CallerJourney` and its replies back."""

    def __init__(self, services: CallServices, ws: ServerConnection, max_frame_bytes: int) -> None:
        self.services = services
        self.ws = ws
        self.link = WebSocketLink(ws, services.metrics)
        self.max_frame_bytes = max_frame_bytes

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, Role.CALLER)
        if hello is None:
            return
        journey = CallerJourney(
            self.services,
            self.link,
            sample_rate=hello.sample_rate,
            language=hello.language,
            caller_id=hello.caller_id,
            channel=Channel.WEB,
        )
        await journey.open()
        try:
            async with asyncio.TaskGroup() as tg:
                reader = tg.create_task(self._read(journey))
                try:
                    await journey.run()
                finally:
                    await asyncio.sleep(0)
                    reader.cancel()
        finally:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.close()

    async def _read(self, journey: CallerJourney) -> None:
        """Every frame from the caller, in every phase; a closed socket means a dropped call."""

        async def frame(data: str | bytes) -> bool | None:
            if isinstance(data, bytes):
                check_audio(data, self.max_frame_bytes)
                await journey.audio(pcm_from_bytes(data))
                return None
            match parse_message(Role.CALLER, data):
                case Hangup():
                    journey.hang_up()
                    return True
                case Dtmf(digit=digit):
                    journey.dtmf(digit)
                case SurveyAnswer(score=score):
                    # the page's buttons are the phone's keys 1-5
                    journey.dtmf(str(score))
                case TypedText(text=text):
                    await journey.typed(text)
                case Hello():
                    raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")
            return None

        try:
            await pump_frames(self.ws, self.link, frame)
        finally:
            journey.lost()
