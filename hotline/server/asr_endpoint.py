"""The ``/asr`` endpoint: plain speech recognition over the vosk-server protocol.

Existing vosk-server clients work unchanged: one optional config message, then PCM16 chunks
each answered by exactly one ``partial`` or final (lock-step), ``{"eof" : 1}`` for the last
final and a close, ``{"reset" : 1}`` for a final mid-stream. Differences from the peer, all
invisible in message shapes:

* the recognizer is picked by the config's ``language`` (else ``asr.asr_endpoint_language``)
  and comes warm from the engine's pool, which it goes back to when the connection ends;
* audio is always decoded at :data:`DECODE_RATE`, resampled from the client's rate (default
  8000 Hz like ``VOSK_SAMPLE_RATE``), so every session shares the pool's recognizers and
  engines that only take 16 kHz (PocketSphinx) serve 8 kHz clients too;
* a partial is recomputed at most once per ``partial_interval_s`` of audio (default 0.2 s);
  replies in between repeat the last partial text. 0 recomputes on every chunk;
* ``max_alternatives`` > 0, ``model`` and speaker models are refused with an error.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from dataclasses import dataclass

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hotline.config import Config
from hotline.engines import ASR_RATE, AsrError, Engines, Final, Recognizer, RecognizerLoan
from hotline.wire import vosk as wire
from telephony import StreamResampler, pcm_from_bytes, pcm_to_bytes

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "DECODE_RATE",
    "PARTIAL_INTERVAL_S",
    "StreamSettings",
    "VoskStream",
    "serve_vosk_protocol",
]

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 8000
"""Client audio rate when the config names none: vosk-server's ``VOSK_SAMPLE_RATE`` default."""

DECODE_RATE = ASR_RATE
"""Rate the recognizers run at, the same as on the call path, so they share one pool."""

PARTIAL_INTERVAL_S = 0.2
"""Audio between two partial recomputations: caption rate; 0 makes every reply fresh."""


@dataclass(slots=True)
class StreamSettings:
    """What one connection asked for; config messages update it until the first audio."""

    language: str
    sample_rate: int = DEFAULT_SAMPLE_RATE
    phrases: list[str] | None = None
    words: bool = True

    def apply(self, config: wire.Config) -> None:
        if config.max_alternatives:
            raise wire.BadConfig(
                "max_alternatives is not supported by this server: leave it out or send 0"
            )
        if config.language is not None:
            self.language = config.language
        if config.sample_rate is not None:
            self.sample_rate = config.sample_rate
        if config.phrase_list is not None:
            self.phrases = list(config.phrase_list)
        if config.words is not None:
            self.words = config.words


class VoskStream:
    """A pooled recognizer answering chunks the way vosk-server does; blocking, so run it in
    the ASR executor. Finals come from the engine's own endpointing, as in vosk-server."""

    def __init__(
        self,
        recognizer: Recognizer,
        client_rate: int,
        words: bool,
        partial_interval_s: float = PARTIAL_INTERVAL_S,
    ) -> None:
        self.recognizer = recognizer
        self.words = words
        self._resampler = StreamResampler(client_rate, recognizer.sample_rate)
        # Wire bytes go to the recognizer as they are when no conversion is needed.
        self._pass_through = client_rate == recognizer.sample_rate and sys.byteorder == "little"
        self._partial_every = max(0, round(partial_interval_s * recognizer.sample_rate))
        self._fed = 0
        self._last_partial_at = 0
        self._last_partial = wire.PartialReply("")

    def feed(self, data: bytes) -> wire.FinalReply | wire.PartialReply:
        """Decode one chunk; between recomputations the same PartialReply object is returned,
        so the session can reuse its serialized text."""
        if self._pass_through:
            pcm, samples = data, len(data) // 2
        else:
            converted = self._resampler.process(pcm_from_bytes(data))
            pcm, samples = pcm_to_bytes(converted), converted.size
        endpoint = bool(samples) and self.recognizer.accept(pcm)
        self._fed += samples
        if endpoint:
            return self._final(self.recognizer.result())
        if self._fed - self._last_partial_at >= self._partial_every:
            self._last_partial_at = self._fed
            text = self.recognizer.partial()
            if text != self._last_partial.text:
                self._last_partial = wire.PartialReply(text)
        return self._last_partial

    def finish(self) -> wire.FinalReply:
        """The final of everything not yet finalized, including the resampler's held-back tail."""
        tail = self._resampler.flush()
        self._fed += tail.size
        ended = None
        if tail.size and self.recognizer.accept(pcm_to_bytes(tail)):
            ended = self.recognizer.result()
        rest = self.recognizer.finish()
        if ended is not None:
            rest = Final(
                " ".join(t for t in (ended.text, rest.text) if t), ended.words + rest.words
            )
        return self._final(rest)

    def _final(self, final: Final) -> wire.FinalReply:
        self._last_partial = wire.PartialReply("")
        self._last_partial_at = self._fed
        return wire.FinalReply(final.text, tuple(final.words) if self.words else None)


class VoskSession:
    """One ``/asr`` connection: settings, then a pooled recognizer fed in lock-step."""

    def __init__(
        self,
        ws: ServerConnection,
        engines: Engines,
        config: Config,
        partial_interval_s: float,
    ) -> None:
        self.ws = ws
        self.engines = engines
        self.settings = StreamSettings(language=config.asr.asr_endpoint_language)
        self.partial_interval_s = partial_interval_s
        self.max_frame_bytes = config.call.max_frame_bytes
        self.id = uuid.uuid4().hex[:8]
        self.stream: VoskStream | None = None
        self._loan: RecognizerLoan | None = None
        self._last_reply: wire.Reply | None = None
        self._last_text = ""

    async def run(self) -> None:
        log.info("asr session=%s opened from %s", self.id, _peer(self.ws))
        try:
            async for frame in self.ws:
                try:
                    if isinstance(frame, bytes) and len(frame) > self.max_frame_bytes:
                        raise wire.BadAudio(
                            f"audio frame of {len(frame)} bytes is larger than "
                            f"{self.max_frame_bytes}; send at most 1 s per frame"
                        )
                    event = wire.parse_frame(frame)
                    reply = await self._handle(event)
                except wire.VoskProtocolError as error:
                    log.info("asr session=%s error: %s", self.id, error.message)
                    await self.ws.send(wire.serialize(wire.ErrorReply(error.message)))
                    if error.fatal:
                        await self.ws.close(wire.CloseCode.POLICY_VIOLATION, error.message[:120])
                        return
                    continue
                if reply is not None:
                    await self.ws.send(self._serialized(reply))
                if isinstance(event, wire.Eof):
                    await self.ws.close(wire.CloseCode.NORMAL)
                    return
        except ConnectionClosed:
            pass
        finally:
            self._give_back()
            log.info("asr session=%s closed", self.id)

    async def _handle(self, event: wire.ClientEvent) -> wire.Reply | None:
        match event:
            case wire.Config():
                if self.stream is not None:
                    log.info("asr session=%s ignores a config after audio started", self.id)
                    return None
                self.settings.apply(event)
                self._check_language(self.settings.language)
                return None
            case wire.Audio(data=data):
                stream = await self._stream()
                assert self._loan is not None
                return await self._loan.run(stream.feed, data)
            case wire.Eof() | wire.Reset():
                if self.stream is None or self._loan is None:
                    return wire.FinalReply("", () if self.settings.words else None)
                return await self._loan.run(self.stream.finish)
        raise TypeError(f"unhandled vosk protocol event {event!r}")

    def _serialized(self, reply: wire.Reply) -> str:
        """The reply's JSON; a repeated partial (the same object) is not serialized again."""
        if reply is not self._last_reply:
            self._last_reply, self._last_text = reply, wire.serialize(reply)
        return self._last_text

    def _check_language(self, language: str) -> None:
        try:
            self.engines.check_recognizer(language)
        except AsrError as exc:
            raise wire.BadConfig(str(exc)) from None

    async def _stream(self) -> VoskStream:
        """The session's recognizer, borrowed from the pool on the first audio frame."""
        if self.stream is None:
            settings = self.settings
            self._check_language(settings.language)
            try:
                loan = await self.engines.lend_recognizer(
                    settings.language, settings.phrases, settings.words
                )
            except (AsrError, RuntimeError, ValueError) as exc:
                raise wire.BadConfig(
                    f"cannot start a {settings.language!r} recognizer: {exc}"
                ) from exc
            self._loan = loan
            self.stream = VoskStream(
                loan.recognizer, settings.sample_rate, settings.words, self.partial_interval_s
            )
            log.info(
                "asr session=%s engine=%s language=%s sample_rate=%d phrases=%s words=%s",
                self.id,
                loan.engine_name,
                settings.language,
                settings.sample_rate,
                len(settings.phrases) if settings.phrases is not None else "-",
                settings.words,
            )
        return self.stream

    def _give_back(self) -> None:
        """Return the recognizer to its pool once no decode is using it any more."""
        self.stream = None
        if self._loan is not None:
            self._loan.give_back()


async def serve_vosk_protocol(
    ws: ServerConnection,
    engines: Engines,
    config: Config,
    *,
    partial_interval_s: float = PARTIAL_INTERVAL_S,
) -> None:
    """Serve one ``/asr`` websocket until eof, a fatal error or the client leaving."""
    await VoskSession(ws, engines, config, partial_interval_s).run()


def _peer(ws: ServerConnection) -> str:
    with contextlib.suppress(Exception):
        host, port = ws.remote_address[:2]
        return f"{host}:{port}"
    return "unknown"
