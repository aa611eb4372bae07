"""Stand-ins for the phone networks that call the hotline, speaking their exact wire formats:
Twilio's Media Streams (:class:`TwilioCaller`) and Asterisk's AudioSocket
(:class:`AudioSocketCaller`). The demo (``hotline demo --via twilio|audiosocket``), the
benchmarks and the tests place calls through them.

Each plays its network's part message for message, as the network does: numbers as strings
and a sequence number on every Twilio message, 20 ms frames on a real-time clock. Each
keeps what the caller heard, as a phone would have played it: Twilio's playback clock
decides when a mark is echoed, and a ``clear`` drops what had not played yet.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed

from hotline.wire import audiosocket, rtp, sdp, sip
from hotline.wire import twilio as twilio_wire
from telephony import read_wav, resample, ulaw_decode, ulaw_encode, write_wav

__all__ = [
    "AudioSocketCaller",
    "Baresip",
    "PhoneError",
    "PhoneLine",
    "SipCaller",
    "TwilioCaller",
    "free_port",
]

FRAME_S = 0.02
BARESIP_RATE = 8000
SOUND_LEVEL = 64
"""A received frame louder than this (int16 peak) is sound, not line silence."""


class PhoneError(RuntimeError):
    """A phone this module drives could not be started or used."""


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PhoneLine:
    """A phone line's clock: one 20 ms frame every 20 ms, the caller's voice when there is
    some and silence otherwise, as a phone network streams it. ``paused`` stops the stream
    (one-way audio)."""

    def __init__(self, sample_rate: int, send: Callable[[np.ndarray], Awaitable[None]]) -> None:
        self.step = int(sample_rate * FRAME_S)
        self._send = send
        self._frames: collections.deque[np.ndarray] = collections.deque()
        self._silence = np.zeros(self.step, dtype=np.int16)
        self._spoken = asyncio.Event()
        self._spoken.set()
        self.paused = False
        self.frames_sent = 0
        self._sent_at: list[float] = []

    async def say(self, pcm: np.ndarray) -> list[float]:
        """Queue the caller's voice and wait until the line has sent it; returns when
        (``time.monotonic``) each of its 20 ms frames went out."""
        pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % self.step, dtype=np.int16)])
        frames = list(pcm.reshape(-1, self.step))
        self._sent_at = []
        self._frames.extend(frames)
        self._spoken.clear()
        await self._spoken.wait()
        return self._sent_at[: len(frames)]

    async def run(self) -> None:
        due = time.monotonic()
        while True:
            speech = bool(self._frames)
            if speech:
                frame = self._frames.popleft()
            else:
                frame = self._silence
                self._spoken.set()
            if not self.paused:
                await self._send(frame)
                self.frames_sent += 1
            if speech:
                self._sent_at.append(time.monotonic())
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))


class TwilioCaller:
    """Twilio's side of a bidirectional ``<Connect><Stream>``, as Twilio sends it."""

    def __init__(
        self,
        url: str,
        *,
        caller: str = "+15551230000",
        language: str | None = None,
        auth_token: str | None = None,
        signed_url: str | None = None,
    ) -> None:
        self.url = url
        self.parameters = {"caller": caller, **({"language": language} if language else {})}
        self.auth_token = auth_token
        self.signed_url = signed_url or url
        self.account_sid = "AC" + uuid_module.uuid4().hex
        self.call_sid = "CA" + uuid_module.uuid4().hex
        self.stream_sid = "MZ" + uuid_module.uuid4().hex
        self.received: list[dict[str, Any]] = []
        self.marks_echoed: list[str] = []
        self.clears = 0
        self.closed = asyncio.Event()
        self._heard: list[np.ndarray] = []
        self.last_sound_at = time.monotonic()
        self._playing_until = 0.0
        self._sequence = 0
        self._chunk = 0
        self._started = 0.0
        self._echoes: dict[str, asyncio.TimerHandle] = {}
        self._ws: websockets.asyncio.client.ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self.line = PhoneLine(twilio_wire.SAMPLE_RATE, self._media)
        self._line: asyncio.Task | None = None

    async def connect(self) -> None:
        """Open the stream as Twilio does (``connected``, ``start``), then keep sending."""
        headers = {}
        if self.auth_token:
            headers["X-Twilio-Signature"] = twilio_wire.signature(self.auth_token, self.signed_url)
        self._ws = await websockets.connect(self.url, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        self._started = time.monotonic()
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self._send(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": self.parameters,
                },
                "streamSid": self.stream_sid,
            }
        )
        self._line = asyncio.create_task(self.line.run())

    async def say(self, pcm: np.ndarray) -> list[float]:
        """The caller's voice (8 kHz int16), sent on the line's clock as µ-law media."""
        return await self.line.say(pcm)

    async def press(self, digit: str) -> None:
        await self._send(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": self._next(),
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def hang_up(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send(
                {
                    "event": "stop",
                    "sequenceNumber": self._next(),
                    "streamSid": self.stream_sid,
                    "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
                }
            )
        await self.close()

    async def close(self) -> None:
        if self._line is not None:
            self._line.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def send_raw(self, frame: str | bytes) -> None:
        """Anything at all, for tests of what the hotline does with bad input."""
        assert self._ws is not None
        await self._ws.send(frame)

    def heard(self) -> np.ndarray:
        """What the caller heard, at 8 kHz: the audio sent, less what a clear cut off."""
        return np.concatenate(self._heard) if self._heard else np.zeros(0, dtype=np.int16)

    def of(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("event") == event]

    async def _media(self, pcm: np.ndarray) -> None:
        ulaw = ulaw_encode(pcm)
        self._chunk += 1
        await self._send(
            {
                "event": "media",
                "sequenceNumber": self._next(),
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(int((time.monotonic() - self._started) * 1000)),
                    "payload": base64.b64encode(ulaw).decode("ascii"),
                },
                "streamSid": self.stream_sid,
            }
        )

    def _next(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(message))

    async def _read(self) -> None:
        assert self._ws is not None
        loop = asyncio.get_running_loop()
        try:
            async for frame in self._ws:
                message = json.loads(frame)
                self.received.append(message)
                now = loop.time()
                match message.get("event"):
                    case "media":
                        pcm = ulaw_decode(base64.b64decode(message["media"]["payload"]))
                        self._heard.append(pcm)
                        if pcm.size and np.abs(pcm).max() > SOUND_LEVEL:
                            self.last_sound_at = time.monotonic()
                        self._playing_until = max(now, self._playing_until) + len(pcm) / 8000
                    case "mark":
                        name = message["mark"]["name"]
                        self._echoes[name] = loop.call_at(
                            max(now, self._playing_until), self._echo, name
                        )
                    case "clear":
                        self.clears += 1
                        self._cut(now)
                        for name, handle in list(self._echoes.items()):
                            handle.cancel()
                            self._echo(name)
        except ConnectionClosed:
            pass
        finally:
            for handle in self._echoes.values():
                handle.cancel()
            self.line.paused = True
            self.closed.set()

    def _cut(self, now: float) -> None:
        """A clear: audio not yet played is never heard."""
        unplayed = int(max(0.0, self._playing_until - now) * 8000)
        while unplayed > 0 and self._heard:
            last = self._heard.pop()
            if len(last) > unplayed:
                self._heard.append(last[: len(last) - unplayed])
            unplayed -= len(last)
        self._playing_until = now

    def _echo(self, name: str) -> None:
        self._echoes.pop(name, None)
        self.marks_echoed.append(name)
        message = {
            "event": "mark",
            "sequenceNumber": self._next(),
            "streamSid": self.stream_sid,
            "mark": {"name": name},
        }
        if self._ws is not None:
            asyncio.ensure_future(self._send_quietly(message))

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send(message)


class AudioSocketCaller:
    """Asterisk's side of ``AudioSocket(uuid,host:port)``: the UUID first, then audio every
    20 ms, key presses, and a hang-up."""

    def __init__(self, host: str, port: int, sample_rate: int = 8000) -> None:
        self.host = host
        self.port = port
        self.sample_rate = sample_rate
        self.uuid = uuid_module.uuid4()
        self.hung_up_by_hotline = asyncio.Event()
        self.closed = asyncio.Event()
        self.frames_received = 0
        self.violations: list[str] = []
        self.last_sound_at = time.monotonic()
        self._heard: list[np.ndarray] = []
        self._reader_task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.line = PhoneLine(sample_rate, self._audio)
        self._line: asyncio.Task | None = None

    async def connect(self) -> None:
        """The UUID, then audio every 20 ms from the start, as Asterisk does."""
        reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(audiosocket.uuid_frame(self.uuid))
        self._reader_task = asyncio.create_task(self._read(reader))
        self._line = asyncio.create_task(self.line.run())

    async def say(self, pcm: np.ndarray) -> list[float]:
        return await self.line.say(pcm)

    async def _audio(self, pcm: np.ndarray) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send_raw(
                audiosocket.audio_frame(pcm.astype("<i2").tobytes(), self.sample_rate)
            )

    async def press(self, digit: str) -> None:
        await self.send_raw(audiosocket.dtmf_frame(digit))

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def hang_up(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send_raw(audiosocket.hangup_frame())
        await self.close()

    async def close(self) -> None:
        if self._line is not None:
            self._line.cancel()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task

    def heard(self) -> np.ndarray:
        return np.concatenate(self._heard) if self._heard else np.zeros(0, dtype=np.int16)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """What the hotline sends, checked as Asterisk would: only audio and hang-up."""
        try:
            while True:
                header = await reader.readexactly(3)
                kind, length = header[0], int.from_bytes(header[1:], "big")
                payload = await reader.readexactly(length)
                if kind == audiosocket.Kind.HANGUP:
                    self.hung_up_by_hotline.set()
                    self.line.paused = True
                    return
                if kind not in audiosocket.AUDIO_KINDS or not payload or len(payload) % 2:
                    self.violations.append(f"Asterisk refuses kind 0x{kind:02x} ({length} B)")
                    return
                self.frames_received += 1
                pcm = np.frombuffer(payload, dtype="<i2").astype(np.int16)
                self._heard.append(pcm)
                if np.abs(pcm).max() > SOUND_LEVEL:
                    self.last_sound_at = time.monotonic()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.line.paused = True
            self.closed.set()


class Baresip:
    """baresip 1.0 (Debian's baresip-core) as a headless SIP phone on loopback: no
    registrar, PCMU/PCMA, RFC 4733 keys, driven through its ``ctrl_tcp`` control socket.
    The microphone is a WAV (8 kHz), played from the moment the call starts; pad it with
    silence, because baresip 1.0 hangs up when the file ends. ``heard()`` is its decoder's
    dump (the ``sndfile`` module): what the phone played."""

    def __init__(self, microphone: np.ndarray, user: str = "+15551234567") -> None:
        if shutil.which("baresip") is None:
            raise PhoneError("baresip is not installed: ./run installs it (Debian baresip-core)")
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-baresip-"))
        self.sip_port = free_port(socket.SOCK_DGRAM)
        while self.sip_port + 1 == (ctrl := free_port(socket.SOCK_STREAM)):
            pass
        self.ctrl_port = ctrl
        rtp_low = random.randrange(30000, 39000, 2)
        mic = self.dir / "mic.wav"
        write_wav(mic, microphone, BARESIP_RATE)
        (self.dir / "config").write_text(
            "\n".join(
                [
                    "poll_method\t\tepoll",
                    f"sip_listen\t\t127.0.0.1:{self.sip_port}",
                    "net_interface\t\t127.0.0.1",
                    f"rtp_ports\t\t{rtp_low}-{rtp_low + 40}",
                    "call_local_timeout\t30",
                    f"audio_source\t\taufile,{mic}",
                    "module_path\t\t/usr/lib/baresip/modules",
                    "module\t\t\tg711.so",
                    "module\t\t\taufile.so",
                    "module\t\t\tsndfile.so",
                    "module_tmp\t\taccount.so",
                    "module_app\t\tmenu.so",
                    "module_app\t\tctrl_tcp.so",
                    f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}",
                    f"snd_path\t\t{self.dir}",
                ]
            )
            + "\n"
        )
        (self.dir / "accounts").write_text(
            f"<sip:{user}@127.0.0.1>;regint=0;audio_codecs=pcmu,pcma;answermode=manual\n"
        )
        (self.dir / "contacts").write_text("")
        self.events: list[dict] = []
        self._process: subprocess.Popen | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = b""

    async def start(self) -> None:
        self._process = subprocess.Popen(
            ["baresip", "-f", str(self.dir)],
            stdin=subprocess.DEVNULL,
            stdout=open(self.dir / "baresip.log", "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                return
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise PhoneError(f"baresip did not start: {self.log()}") from None
                await asyncio.sleep(0.1)

    async def command(self, name: str, params: str = "") -> dict:
        assert self._writer is not None
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()
        while True:
            message = await self._next()
            if message.get("response"):
                return message

    async def wait_event(self, kind: str, timeout: float = 30.0) -> dict:
        for event in self.events:
            if event.get("type") == kind:
                return event
        async with asyncio.timeout(timeout):
            while True:
                message = await self._next()
                if message.get("type") == kind:
                    return message

    async def _next(self) -> dict:
        assert self._reader is not None
        while True:
            if b":" in self._buffer:
                size, rest = self._buffer.split(b":", 1)
                if len(rest) > int(size):
                    self._buffer = rest[int(size) + 1 :]
                    message = json.loads(rest[: int(size)])
                    if "type" in message:
                        self.events.append(message)
                    return message
            data = await self._reader.read(4096)
            if not data:
                raise ConnectionError("baresip's control socket closed")
            self._buffer += data

    async def dial(self, uri: str) -> None:
        await self.command("dial", uri)

    async def press(self, digit: str) -> None:
        await self.command("sndcode", digit)

    async def hang_up(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.command("hangup")

    async def stop(self) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self.command("quit"), 5)
        if self._process is not None:
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._writer is not None:
            self._writer.close()

    def heard(self) -> np.ndarray:
        dumps = sorted(self.dir.glob("dump-*-dec.wav"))
        if not dumps:
            return np.zeros(0, dtype=np.int16)
        pcm, rate = read_wav(dumps[-1])
        return pcm if rate == BARESIP_RATE else resample(pcm, rate, BARESIP_RATE)

    def log(self) -> str:
        path = self.dir / "baresip.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class SipCaller(asyncio.DatagramProtocol):
    """A SIP phone of our own, from the wire modules: INVITE with an SDP offer, ACK, RTP
    (PCMU) on a steady 20 ms line, keys as RFC 4733 events, BYE. Unlike a real phone it can
    lose (``loss``) and delay (up to ``jitter_s``, so packets reorder) its RTP on purpose,
    for the tests and the benchmark."""

    def __init__(
        self,
        hotline: tuple[str, int],
        user: str = "en",
        *,
        caller: str = "+15550001111",
        bind_ip: str = "127.0.0.1",
        loss: float = 0.0,
        jitter_s: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.hotline = hotline
        self.user = user
        self.caller = caller
        self.bind_ip = bind_ip
        self.loss = loss
        self.jitter_s = jitter_s
        self.counts = {"sent": 0, "lost": 0}
        self.responses: list[sip.SipResponse] = []
        self.requests: list[sip.SipRequest] = []
        self.changed = asyncio.Event()
        self.hung_up_by_hotline = asyncio.Event()
        self.call_id = sip.new_call_id()
        self.tag = sip.new_tag()
        self.cseq = 1
        self.sip: asyncio.DatagramTransport | None = None
        self.media: asyncio.DatagramTransport | None = None
        self.answer: sdp.Negotiated | None = None
        self.stream = rtp.RtpStreamState(0)
        self.line = PhoneLine(BARESIP_RATE, self._rtp)
        self._line: asyncio.Task | None = None
        self._rng = random.Random(seed)
        self._heard: list[np.ndarray] = []
        self.last_sound_at = time.monotonic()

    async def open(self) -> None:
        """Bind the SIP and RTP sockets (``call`` does it too)."""
        if self.sip is not None:
            return
        loop = asyncio.get_running_loop()
        self.sip, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.bind_ip, 0)
        )
        phone = self

        class Media(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
                with contextlib.suppress(rtp.RtpError):
                    packet = rtp.parse_rtp(data)
                    if packet.payload_type == 0:
                        pcm = ulaw_decode(packet.payload)
                        phone._heard.append(pcm)
                        if pcm.size and np.abs(pcm).max() > SOUND_LEVEL:
                            phone.last_sound_at = time.monotonic()

        self.media, _ = await loop.create_datagram_endpoint(Media, local_addr=(self.bind_ip, 0))

    @property
    def local(self) -> tuple[str, int]:
        assert self.sip is not None
        return self.sip.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        with contextlib.suppress(sip.SipError):
            message = sip.parse_message(data)
            if isinstance(message, sip.SipResponse):
                self.responses.append(message)
            else:
                self.requests.append(message)
                if message.method == "BYE":
                    self.send(sip.response_to(message, 200))
                    self.line.paused = True
                    self.hung_up_by_hotline.set()
            self.changed.set()

    def send(self, message: sip.SipRequest | sip.SipResponse | bytes) -> None:
        """Anything at all to the hotline's SIP port."""
        assert self.sip is not None
        data = message if isinstance(message, bytes) else sip.serialize(message)
        self.sip.sendto(data, self.hotline)

    async def response(self, status: int, timeout: float = 10.0) -> sip.SipResponse:
        async with asyncio.timeout(timeout):
            while True:
                for response in self.responses:
                    if response.status == status:
                        return response
                self.changed.clear()
                await self.changed.wait()

    def _via(self) -> str:
        ip, port = self.local
        return f"SIP/2.0/UDP {ip}:{port};branch={sip.new_branch()};rport"

    def _from(self) -> str:
        return f"<sip:{self.caller}@{self.local[0]}>;tag={self.tag}"

    def invite(self, body: bytes | None = None) -> sip.SipRequest:
        ip, port = self.local
        assert self.media is not None
        media_port = self.media.get_extra_info("sockname")[1]
        offer = body if body is not None else sdp.offer_sdp(ip, media_port).encode()
        return sip.build_request(
            "INVITE",
            f"sip:{self.user}@{self.hotline[0]}:{self.hotline[1]}",
            via=self._via(),
            from_=self._from(),
            to=f"<sip:{self.user}@{self.hotline[0]}>",
            call_id=self.call_id,
            cseq=self.cseq,
            contact=f"<sip:phone@{ip}:{port}>",
            body=offer,
            content_type="application/sdp",
        )

    async def call(self) -> sip.SipResponse:
        """Dial, take the answer, acknowledge it, and start the line."""
        await self.open()
        self.send(self.invite())
        ok = await self.response(200)
        self.answer = sdp.negotiate(sdp.parse_sdp(ok.body))
        self.send(self._in_dialog("ACK", ok, self.cseq))
        self._line = asyncio.create_task(self.line.run())
        return ok

    def _in_dialog(self, method: str, ok: sip.SipResponse, cseq: int) -> sip.SipRequest:
        return sip.build_request(
            method,
            f"sip:{self.user}@{self.hotline[0]}:{self.hotline[1]}",
            via=self._via(),
            from_=self._from(),
            to=ok.headers.get("To") or "",
            call_id=self.call_id,
            cseq=cseq,
        )

    async def say(self, pcm: np.ndarray) -> list[float]:
        """The caller's voice (8 kHz), on the line's clock; when each frame went out."""
        return await self.line.say(pcm)

    async def press(self, digit: str) -> None:
        assert self.media is not None and self.answer is not None
        for packet in self.stream.event_packets(digit):
            self.media.sendto(packet, (self.answer.remote_ip, self.answer.remote_port))
            await asyncio.sleep(FRAME_S)

    async def hang_up(self) -> None:
        if self._line is not None:
            self._line.cancel()
        ok = next((r for r in self.responses if r.status == 200 and r.cseq[1] == "INVITE"), None)
        if ok is not None and not self.hung_up_by_hotline.is_set():
            self.cseq += 1
            self.send(self._in_dialog("BYE", ok, self.cseq))

    def close(self) -> None:
        if self._line is not None:
            self._line.cancel()
        for transport in (self.sip, self.media):
            if transport is not None:
                transport.close()

    def heard(self) -> np.ndarray:
        return np.concatenate(self._heard) if self._heard else np.zeros(0, dtype=np.int16)

    async def _rtp(self, frame: np.ndarray) -> None:
        if self.media is None or self.answer is None:
            return
        packet = self.stream.packet(ulaw_encode(frame), len(frame))
        if self._rng.random() < self.loss:
            self.counts["lost"] += 1
            return
        self.counts["sent"] += 1
        target = (self.answer.remote_ip, self.answer.remote_port)
        delay = self._rng.uniform(0, self.jitter_s) if self.jitter_s else 0.0
        if delay:
            asyncio.get_running_loop().call_later(delay, self.media.sendto, packet, target)
        else:
            self.media.sendto(packet, target)
