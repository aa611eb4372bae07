"""Asterisk AudioSocket: callers from a PBX, over TCP (``hotline serve --audiosocket-port``).

A thin adapter: Asterisk's messages become the journey's audio, key presses and hang-up;
what the journey says goes back as audio messages paced at 20 ms, and the end of the call
as a hang-up message. The dialplan line that sends a call here is
``same => n,AudioSocket(${UUID()},hotline.example.org:9092)`` after ``Answer()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import numpy as np

from hotline.call.journey import CallerJourney, CallServices
from hotline.config import AudioSocketConfig
from hotline.server.link import PacedLink
from hotline.wire import audiosocket as wire
from hotline.wire.vocabulary import Channel
from telephony.pacing import FramePacer

__all__ = ["AudioSocketLink", "AudioSocketServer"]

log = logging.getLogger(__name__)

UUID_TIMEOUT_S = 10.0
FIRST_AUDIO_TIMEOUT_S = 2.0
DEFAULT_RATE = 8000
READ_BYTES = 65536
STOP_GRACE_S = 5.0


class AudioSocketLink(PacedLink):
    """The caller's side of one AudioSocket connection: audio out in 20 ms messages."""

    def __init__(self, writer: asyncio.StreamWriter, sample_rate: int) -> None:
        super().__init__(FramePacer(sample_rate, self._write_frame))
        self.writer = writer
        self.sample_rate = sample_rate

    async def _write_frame(self, frame: np.ndarray) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(wire.audio_frame(frame.astype("<i2").tobytes(), self.sample_rate))
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def hang_up(self) -> None:
        """Tell Asterisk the call is over, once what is queued has played."""
        while self.pacer.queued_s > 0 and not self.writer.is_closing():
            await asyncio.sleep(self.pacer.frame_s)
        if not self.writer.is_closing():
            self.writer.write(wire.hangup_frame())
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()


class AudioSocketServer:
    """Listens for Asterisk; one journey per connection."""

    def __init__(self, services: CallServices, config: AudioSocketConfig, host: str) -> None:
        self.services = services
        self.host = config.host or host
        self.requested_port = config.port
        self.language = config.language or None
        self._server: asyncio.Server | None = None
        self._sessions: dict[asyncio.Task, AudioSocketSession] = {}

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.requested_port)
        log.info("AudioSocket listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening; calls in progress end (recorded as dropped, with the reason),
        given a few seconds to close their records before they are cancelled."""
        if self._server is None:
            return
        self._server.close()
        for session in self._sessions.values():
            session.end("the server stopped")
        if self._sessions:
            _, late = await asyncio.wait(list(self._sessions), timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        session = AudioSocketSession(self.services, reader, writer, self.language)
        self._sessions[task] = session
        peer = writer.get_extra_info("peername")
        try:
            await session.run()
        except asyncio.CancelledError:
            log.warning("AudioSocket call from %s cut off at shutdown", peer)
        except Exception:
            log.exception("AudioSocket connection from %s failed", peer)
        finally:
            self._sessions.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class AudioSocketSession:
    """One Asterisk channel: the UUID, then audio both ways until someone hangs up."""

    def __init__(
        self,
        services: CallServices,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        language: str | None,
    ) -> None:
        self.services = services
        self.reader = reader
        self.writer = writer
        self.language = language
        self.parser = wire.AudioSocketParser()
        self.peer = writer.get_extra_info("peername")
        self.journey: CallerJourney | None = None
        self._early: list[wire.AudioSocketEvent] = []

    def end(self, reason: str) -> None:
        if self.journey is not None:
            self.journey.end_reason = reason
            self.journey.lost()

    async def run(self) -> None:
        try:
            call_uuid = await self._uuid()
            rate = await self._first_audio_rate()
        except (wire.AudioSocketError, TimeoutError, ConnectionError) as error:
            log.warning("AudioSocket from %s refused: %s", self.peer, _describe(error))
            self.writer.write(wire.hangup_frame())
            return
        link = AudioSocketLink(self.writer, rate)
        journey = CallerJourney(
            self.services,
            link,
            sample_rate=rate,
            language=self.language,
            channel=Channel.AUDIOSOCKET,
            no_audio_timeout_s=self.services.settings.no_audio_timeout_s,
        )
        await journey.open()
        self.journey = journey
        log.info("AudioSocket %s from %s is call %s", call_uuid, self.peer, journey.log.call_id)
        async with asyncio.TaskGroup() as tg:
            pacing = tg.create_task(link.pacer.run())
            reader = tg.create_task(self._read(journey))
            try:
                await journey.run()
                await link.hang_up()
            finally:
                reader.cancel()
                pacing.cancel()

    async def _uuid(self) -> str:
        async with asyncio.timeout(UUID_TIMEOUT_S):
            while True:
                events = await self._events()
                if events:
                    first, self._early = events[0], events[1:]
                    assert isinstance(first, wire.Uuid)
                    return str(first.uuid)

    async def _first_audio_rate(self) -> int:
        """The call's rate is the first audio message's; Asterisk sends audio at once."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_AUDIO_TIMEOUT_S):
                while not any(isinstance(e, wire.Audio) for e in self._early):
                    self._early += await self._events()
        for event in self._early:
            if isinstance(event, wire.Audio):
                return event.sample_rate
        return DEFAULT_RATE

    async def _events(self) -> list[wire.AudioSocketEvent]:
        data = await self.reader.read(READ_BYTES)
        if not data:
            raise ConnectionError("Asterisk closed the connection")
        return self.parser.feed(data)

    async def _read(self, journey: CallerJourney) -> None:
        rate = journey.sample_rate
        try:
            events, self._early = self._early, []
            while True:
                for event in events:
                    match event:
                        case wire.Audio(pcm=pcm, sample_rate=event_rate):
                            if event_rate != rate:
                                raise wire.AudioSocketError(
                                    f"audio changed from {rate} Hz to {event_rate} Hz mid-call"
                                )
                            await journey.audio(np.frombuffer(pcm, dtype="<i2").copy())
                        case wire.Dtmf(digit=digit):
                            journey.dtmf(digit)
                        case wire.Hangup():
                            journey.hang_up()
                            return
                        case wire.Error(code=code):
                            log.warning(
                                "AudioSocket call=%s: Asterisk reports error %s",
                                journey.log.call_id,
                                code,
                            )
                            journey.hang_up()
                            return
                events = await self._events()
        except ConnectionError:
            pass
        except wire.AudioSocketError as error:
            journey.end_reason = f"AudioSocket protocol error: {error}"
            log.warning("AudioSocket call=%s: %s", journey.log.call_id, journey.end_reason)
        finally:
            journey.lost()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no UUID within {UUID_TIMEOUT_S:.0f} s"
    return str(error) or type(error).__name__
