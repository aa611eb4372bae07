"""What every websocket session shares: sending typed messages, reading the hello, pumping
frames, and turning protocol errors into replies in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.call.metrics import CallMetrics
from hotline.wire.messages import (
    Clear,
    ErrorMessage,
    Hello,
    ProtocolError,
    ServerMessage,
    encode,
    parse_message,
)
from hotline.wire.vocabulary import RETRY_LATER_CODES, CloseCode, ErrorCode, Role
from telephony.pacing import FramePacer

__all__ = [
    "HELLO_TIMEOUT_S",
    "PacedLink",
    "peer_address",
    "WebSocketLink",
    "check_audio",
    "close_code",
    "pump_frames",
    "read_hello",
]

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 30.0
AUDIO_BACKLOG_BYTES = 16 * 1024
"""Audio waiting to leave for a peer past which new frames are dropped (and counted) rather
than queued: below the websocket's own write limit (32 KiB), so sending audio never waits
on a slow network and nothing grows without bound."""


def peer_address(ws: ServerConnection) -> str:
    """The client's IP address, as the socket sees it."""
    try:
        return str(ws.remote_address[0])
    except (TypeError, IndexError):
        return "unknown"


class WebSocketLink:
    """A party on one websocket; a peer that has gone away is noticed by its reader, not here."""

    def __init__(self, ws: ServerConnection, metrics: CallMetrics | None = None) -> None:
        self.ws = ws
        self.metrics = metrics
        self.audio_frames_dropped = 0

    async def send(self, message: ServerMessage) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(encode(message))

    async def send_audio(self, pcm: bytes) -> None:
        transport = self.ws.transport
        if transport is not None and transport.get_write_buffer_size() > AUDIO_BACKLOG_BYTES:
            self.audio_frames_dropped += 1
            if self.metrics is not None:
                self.metrics.dropped("slow_network")
            return
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(pcm)

    async def segment_sent(self, name: str) -> None:
        """The browser and the Python client learn what plays from ``say``; nothing to do."""

    async def error(self, error: ProtocolError) -> None:
        """The one place a protocol error becomes a reply (and, if fatal, a close)."""
        log.info("protocol error %s: %s", error.code, error.message)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(encode(ErrorMessage.of(error)))
            if error.fatal:
                await self.ws.close(close_code(error), error.message[:120])


def close_code(error: ProtocolError) -> CloseCode:
    """The close that ends a connection after a fatal ``error``."""
    if error.code in RETRY_LATER_CODES:
        return CloseCode.TRY_AGAIN_LATER
    return CloseCode.POLICY_VIOLATION


class PacedLink:
    """A phone line's side of a call (AudioSocket, RTP): no screen, so only audio and
    barge-in matter; audio goes out on the pacer's 20 ms clock and a clear drops what is
    waiting. The transport runs ``pacer.run()`` and gives the pacer a frame sender."""

    def __init__(self, pacer: FramePacer) -> None:
        self.pacer = pacer

    async def send(self, message: ServerMessage) -> None:
        if isinstance(message, Clear):
            self.pacer.clear()

    async def send_audio(self, pcm: bytes) -> None:
        self.pacer.push(np.frombuffer(pcm, dtype="<i2"))

    async def segment_sent(self, name: str) -> None:
        self.pacer.flush()


async def read_hello(ws: ServerConnection, link: WebSocketLink, role: Role) -> Hello | None:
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
    ws: ServerConnection,
    link: WebSocketLink,
    handle: Callable[[str | bytes], Awaitable[bool | None]],
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
