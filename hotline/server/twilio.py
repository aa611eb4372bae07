"""``/twilio``: a caller on the phone network, through a Twilio Media Stream.

A thin adapter: Twilio's frames become the journey's audio, key presses and hang-up, and
what the journey sends becomes Twilio's ``media`` (µ-law, 20 ms each), ``mark`` (one after
each spoken segment) and ``clear`` (barge-in). The caller has no screen, so captions and
other text messages go nowhere. ``GET /twilio/voice`` answers Twilio's voice webhook with
the TwiML that starts the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from hotline.call.journey import CallerJourney, CallServices
from hotline.config import TwilioConfig
from hotline.server.web import text_response
from hotline.wire import twilio as wire
from hotline.wire.messages import Clear, ServerMessage
from hotline.wire.vocabulary import Channel, CloseCode
from telephony import ulaw_decode, ulaw_encode

__all__ = ["TwilioLink", "TwilioSession", "check_signature", "voice_webhook"]

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
LAST_MARK_WAIT_S = 3.0
MAX_BAD_FRAMES = 50
ULAW_SILENCE = b"\xff"
STREAM_PATH = "/twilio"
VOICE_PATH = "/twilio/voice"
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


class TwilioLink:
    """The caller's side of one Twilio stream.

    Audio leaves as 160-byte (20 ms) µ-law ``media`` frames. When a spoken segment has been
    sent, a ``mark`` named after it follows; Twilio echoes it once the caller has heard
    everything before it, or when a ``clear`` dropped it. ``played`` and ``cleared`` list
    the marks each way, so the call knows what the caller actually heard.
    """

    def __init__(self, ws: ServerConnection, stream_sid: str) -> None:
        self.ws = ws
        self.stream_sid = stream_sid
        self.pending: list[str] = []
        self.played: list[str] = []
        self.cleared: list[str] = []
        self.all_played = asyncio.Event()
        self.all_played.set()
        self._clearing: set[str] = set()
        self._rest = b""

    async def send(self, message: ServerMessage) -> None:
        if isinstance(message, Clear):
            self._rest = b""
            self._clearing.update(self.pending)
            await self._send(wire.clear_frame(self.stream_sid))

    async def send_audio(self, pcm: bytes) -> None:
        ulaw = self._rest + ulaw_encode(np.frombuffer(pcm, dtype="<i2"))
        whole = len(ulaw) - len(ulaw) % wire.FRAME_BYTES
        self._rest = ulaw[whole:]
        for i in range(0, whole, wire.FRAME_BYTES):
            await self._send(wire.media_frame(self.stream_sid, ulaw[i : i + wire.FRAME_BYTES]))

    async def segment_sent(self, name: str) -> None:
        if self._rest:
            padded = self._rest + ULAW_SILENCE * (wire.FRAME_BYTES - len(self._rest))
            self._rest = b""
            await self._send(wire.media_frame(self.stream_sid, padded))
        self.pending.append(name)
        self.all_played.clear()
        await self._send(wire.mark_frame(self.stream_sid, name))

    def marked(self, name: str) -> None:
        """Twilio echoed a mark: heard, or dropped by a clear."""
        if name not in self.pending:
            log.info("twilio stream=%s echoed a mark we did not send: %r", self.stream_sid, name)
            return
        self.pending.remove(name)
        if name in self._clearing:
            self._clearing.discard(name)
            self.cleared.append(name)
        else:
            self.played.append(name)
        if not self.pending:
            self.all_played.set()

    async def _send(self, frame: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(frame)


class TwilioSession:
    """One Twilio stream, from ``connected`` to ``stop`` (or the socket closing)."""

    def __init__(self, services: CallServices, ws: ServerConnection) -> None:
        self.services = services
        self.ws = ws
        self.bad_frames = 0

    async def run(self) -> None:
        start = await self._wait_for_start()
        if start is None:
            return
        parameters = start.custom_parameters
        language = (parameters.get("language") or "").lower() or None
        if language is not None and not _LANGUAGE.fullmatch(language):
            log.info("twilio call=%s ignores language parameter %r", start.call_sid, language)
            language = None
        link = TwilioLink(self.ws, start.stream_sid)
        journey = CallerJourney(
            self.services,
            link,
            sample_rate=wire.SAMPLE_RATE,
            language=language,
            caller_id=parameters.get("caller") or parameters.get("From"),
            channel=Channel.TWILIO,
            no_audio_timeout_s=self.services.settings.no_audio_timeout_s,
        )
        await journey.open()
        log.info(
            "twilio call=%s stream=%s is call %s",
            start.call_sid,
            start.stream_sid,
            journey.log.call_id,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                reader = tg.create_task(self._read(journey, link))
                try:
                    await journey.run()
                    # Let the last prompt play out before the stream (and so the call) ends.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(link.all_played.wait(), LAST_MARK_WAIT_S)
                finally:
                    reader.cancel()
        finally:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.close()

    async def _wait_for_start(self) -> wire.Start | None:
        """``connected`` then ``start``; anything else first refuses the stream."""
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                async for frame in self.ws:
                    try:
                        event = wire.parse_event(frame)
                    except wire.TwilioProtocolError as error:
                        await self._refuse(f"before start: {error.message}")
                        return None
                    if isinstance(event, wire.Connected):
                        continue
                    if isinstance(event, wire.Start):
                        return event
                    await self._refuse(f"expected start, got {type(event).__name__.lower()}")
                    return None
        except TimeoutError:
            await self._refuse(f"no start within {START_TIMEOUT_S:.0f} s")
        return None

    async def _read(self, journey: CallerJourney, link: TwilioLink) -> None:
        try:
            async for frame in self.ws:
                try:
                    event = wire.parse_event(frame)
                except wire.TwilioProtocolError as error:
                    self.bad_frames += 1
                    log.warning("twilio stream=%s bad frame: %s", link.stream_sid, error.message)
                    if self.bad_frames > MAX_BAD_FRAMES:
                        await self._refuse(f"more than {MAX_BAD_FRAMES} bad frames")
                        return
                    continue
                match event:
                    case wire.Media(payload=payload) if payload:
                        await journey.audio(ulaw_decode(payload))
                    case wire.Dtmf(digit=digit):
                        journey.dtmf(digit)
                    case wire.Mark(name=name):
                        link.marked(name)
                    case wire.Stop():
                        journey.hang_up()
                        return
                    case wire.Start() | wire.Connected():
                        log.warning("twilio stream=%s sent a second start", link.stream_sid)
        except ConnectionClosed:
            pass
        finally:
            journey.lost()

    async def _refuse(self, reason: str) -> None:
        log.warning("twilio stream refused: %s", reason)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.close(CloseCode.POLICY_VIOLATION, reason[:120])


def public_base(config: TwilioConfig, request: Any) -> str:
    """The server's public https base, as Twilio knows it: configured, or from ``Host``."""
    if config.public_url:
        return config.public_url.rstrip("/")
    return f"https://{request.headers.get('Host', 'localhost')}"


def stream_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}"


def check_signature(config: TwilioConfig, request: Any) -> Response | None:
    """With an auth token configured, a request Twilio did not sign is refused (403) before
    anything else happens; None lets it through."""
    if not config.auth_token:
        return None
    base = public_base(config, request)
    path = request.path.split("?", 1)[0]
    if path == STREAM_PATH:
        url = stream_url(base)
    else:
        url = base + request.path
    given = request.headers.get("X-Twilio-Signature")
    if wire.valid_signature(config.auth_token, url, given):
        return None
    log.warning(
        "refused %s: X-Twilio-Signature %s for %s", path, "wrong" if given else "missing", url
    )
    return text_response(
        HTTPStatus.FORBIDDEN,
        f"X-Twilio-Signature is {'wrong' if given else 'missing'} for {url}; "
        "check twilio.auth_token and twilio.public_url\n",
    )


def voice_webhook(config: TwilioConfig, request: Any) -> Response:
    """Twilio's voice webhook (configure it as HTTP GET): the TwiML that streams the call
    here, with the caller's number and, when the URL asks for one, the language's line."""
    query = dict(parse_qsl(urlsplit(request.path).query))
    parameters = {"caller": query.get("From", "")}
    language = query.get("language", "").lower()
    if _LANGUAGE.fullmatch(language):
        parameters["language"] = language
    body = wire.twiml(stream_url(public_base(config, request)), parameters)
    return text_response(HTTPStatus.OK, body, "text/xml; charset=utf-8")
