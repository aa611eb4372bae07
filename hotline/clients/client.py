"""Python client for the caller and operator protocols; the CLI, the demo, the softphone, the
benchmark and the tests all talk to the server through it.

Outgoing messages are built from the wire module's types; incoming ones are checked against
it (an unknown type is an error) and kept as the JSON objects they arrived as, so that tests
and scripts can read them as plain dicts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from hotline.wire.messages import (
    Accept,
    Available,
    ClientMessage,
    Dtmf,
    Hangup,
    Hello,
    Preview,
    QuickReply,
    RecordUpdate,
    Reply,
    Supervise,
    TypedText,
    Whisper,
    encode,
    parse_server_message,
)
from hotline.wire.vocabulary import CallState, Role, ServerType, SupervisorMode

__all__ = [
    "HotlineClient",
    "CallerClient",
    "OperatorClient",
    "SupervisorClient",
    "origin_for",
    "stream_pcm",
]


def origin_for(url: str) -> Origin:
    """The ``Origin`` the server's own pages send, which ``/call`` and ``/operator`` require:
    a Python client speaks for the hotline the way its pages do."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return Origin(f"{scheme}://{parts.netloc}")


class HotlineClient:
    """One websocket; a reader task collects every message and all audio received."""

    role: Role

    def __init__(
        self, url: str, sample_rate: int = 16000, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.url = url
        self.sample_rate = sample_rate
        self.ssl_context = ssl_context
        self.messages: list[dict[str, Any]] = []
        self.audio = bytearray()
        self.audio_arrivals: list[tuple[float, int]] = []
        self.closed = asyncio.Event()
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        self._ws: websockets.asyncio.client.ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Condition()

    async def connect(self, **hello: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"ssl": self.ssl_context} if self.ssl_context else {}
        self._ws = await websockets.connect(
            self.url, max_size=1 << 22, origin=origin_for(self.url), **options
        )
        self._reader = asyncio.create_task(self._read())
        with contextlib.suppress(ConnectionClosed):
            # A server that refuses the connection (a limit) says why before any hello.
            await self.send(Hello(self.role, self.sample_rate, **hello))
        return await self.wait_for(
            lambda m: m["type"] in (ServerType.READY, ServerType.MENU, ServerType.ERROR)
        )

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if isinstance(frame, bytes):
                    self.audio += frame
                    self.audio_arrivals.append((time.monotonic(), len(self.audio)))
                else:
                    parse_server_message(frame)  # a frame this protocol does not know raises
                    message = json.loads(frame)
                    message["_at"] = time.monotonic()
                    self.messages.append(message)
                    if self.on_message is not None:
                        self.on_message(message)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def send(self, message: ClientMessage) -> None:
        assert self._ws is not None
        await self._ws.send(encode(message))

    async def send_raw(self, frame: str | bytes) -> None:
        assert self._ws is not None
        await self._ws.send(frame)

    async def send_audio(self, pcm: np.ndarray | bytes) -> None:
        assert self._ws is not None
        await self._ws.send(pcm if isinstance(pcm, bytes) else pcm.astype("<i2").tobytes())

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0, start: int = 0
    ) -> dict[str, Any]:
        """The first message (from index ``start``) that matches; raises TimeoutError."""

        def find() -> dict[str, Any] | None:
            return next((m for m in self.messages[start:] if predicate(m)), None)

        async def wait() -> dict[str, Any]:
            async with self._changed:
                while (found := find()) is None:
                    if self.closed.is_set():
                        raise ConnectionError(
                            f"connection closed; got {[m['type'] for m in self.messages]}"
                        )
                    await self._changed.wait()
                return found

        return await asyncio.wait_for(wait(), timeout)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def received_pcm(self) -> np.ndarray:
        return np.frombuffer(bytes(self.audio), dtype="<i2")

    async def hangup(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.send(Hangup())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class CallerClient(HotlineClient):
    role = Role.CALLER

    async def call(self, language: str | None, caller_id: str | None = None) -> dict[str, Any]:
        hello: dict[str, Any] = {"language": language}
        if caller_id:
            hello["caller_id"] = caller_id
        return await self.connect(**hello)

    async def dtmf(self, digit: str) -> None:
        await self.send(Dtmf(digit))

    async def type_text(self, text: str) -> None:
        await self.send(TypedText(text))

    async def connected(self, timeout: float = 60.0) -> dict[str, Any]:
        return await self.wait_for(
            lambda m: m["type"] == ServerType.STATUS and m.get("state") == CallState.CONNECTED,
            timeout,
        )


class OperatorClient(HotlineClient):
    role = Role.OPERATOR

    async def sign_in(
        self, name: str, languages: list[str], password: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Sign in with an account's name and password (``languages`` may narrow the
        account's), or with ``token=`` from an earlier ``ready``."""
        return await self.connect(name=name, languages=languages, password=password, **options)

    async def reply(self, text: str, translation: str | None = None) -> None:
        await self.send(Reply(text, translation))

    async def preview(self, text: str) -> dict[str, Any]:
        start = len(self.messages)
        await self.send(Preview(text))
        return await self.wait_for(lambda m: m["type"] == ServerType.PREVIEW, start=start)

    async def quick_reply(self, reply_id: str, **params: str) -> None:
        await self.send(QuickReply(reply_id, params))

    async def update_record(self, **fields: str) -> None:
        await self.send(RecordUpdate(fields))

    async def set_available(self, available: bool) -> None:
        await self.send(Available(available))

    async def accept(self, call_id: str) -> None:
        await self.send(Accept(call_id))


class SupervisorClient(OperatorClient):
    """A supervisor: the wall of live calls, and stepping into one. After a takeover the
    operator's actions (reply, preview, quick replies, the record, hang-up) are theirs."""

    role = Role.SUPERVISOR

    async def sign_in(  # type: ignore[override]
        self, name: str, password: str | None = None, **options: Any
    ) -> dict[str, Any]:
        return await self.connect(name=name, password=password, **options)

    async def supervise(self, call_id: str, mode: str) -> dict[str, Any]:
        """Step into ``call_id`` as ``mode`` (monitor, whisper, barge, takeover, leave);
        returns the server's ``supervising`` (or ``error``) answer."""
        start = len(self.messages)
        await self.send(Supervise(call_id, SupervisorMode(mode)))
        return await self.wait_for(
            lambda m: m["type"] in (ServerType.SUPERVISING, ServerType.ERROR), start=start
        )

    async def whisper(self, text: str) -> None:
        await self.send(Whisper(text))

    def wall(self) -> list[dict[str, Any]]:
        """The calls on the latest wall."""
        walls = self.of_type(ServerType.WALL)
        return walls[-1]["calls"] if walls else []


async def stream_pcm(
    client: HotlineClient, pcm: np.ndarray, chunk_ms: int = 20, speed: float = 1.0
) -> None:
    """Send audio paced like a live microphone (``speed`` > 1 sends faster than real time)."""
    step = client.sample_rate * chunk_ms // 1000
    start = time.monotonic()
    for i in range(0, len(pcm), step):
        await client.send_audio(pcm[i : i + step])
        due = start + (i + step) / client.sample_rate / speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
