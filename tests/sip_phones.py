"""Phones that call the hotline's SIP port in the tests: two real SIP user agents from Debian
(baresip, whose driver is the demo's in ``hotline.clients.phone``, and linphonec), each with a WAV as its microphone and a WAV of what it heard, and a
small Python phone for what real phones cannot be made to do (lose and delay packets on
purpose, send RTP from a stranger's address).

The real phones are driven as a person would: baresip through its ``ctrl_tcp`` control
socket, linphonec through its console. Both need a recording padded with silence, because
they hang up (baresip) or stop sending (linphonec) when their microphone file ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hotline.wire import rtp, sdp, sip
from telephony import read_wav, ulaw_decode, ulaw_encode, write_wav
from tests.conftest import free_port

RATE = 8000


def free_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (./run test installs it from Debian)")
    return path


class Linphone:
    """linphonec 5 as a headless phone: ``soundcard use files`` with a WAV to play and a WAV
    to record, driven through its console; a line holding only a digit sends that key."""

    def __init__(self, microphone: np.ndarray) -> None:
        need("linphonec")
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-linphone-"))
        home = self.dir / "home"
        (home / ".local" / "share" / "linphone").mkdir(parents=True)
        self.env = {**os.environ, "HOME": str(home)}
        self.mic = self.dir / "mic.wav"
        self.heard_path = self.dir / "heard.wav"
        write_wav(self.mic, microphone, RATE)
        (self.dir / "linphonerc").write_text(
            "[sip]\n"
            f"sip_port={free_udp_port()}\nsip_tcp_port=0\nsip_tls_port=0\ndefault_proxy=-1\n"
            "ipv6_migration_done=1\nuse_ipv6=0\ncontact=sip:+15557654321@127.0.0.1\n"
            "[rtp]\nbind_address=127.0.0.1\n"
            f"audio_rtp_port={random.randrange(40000, 49000, 2)}\n"
            "[video]\nautomatically_initiate=0\nautomatically_accept=0\n"
        )
        self.output: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reading: asyncio.Task | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            "linphonec",
            "-c",
            str(self.dir / "linphonerc"),
            "-d",
            "0",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
        )
        self._reading = asyncio.create_task(self._read())
        await asyncio.sleep(2.0)  # its core takes a moment before it listens to commands
        for line in ("soundcard use files", f"play {self.mic}", f"record {self.heard_path}"):
            await self.type(line)

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    async def type(self, line: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(line.encode() + b"\n")
        await self._process.stdin.drain()

    async def wait_for(self, fragment: str, timeout: float = 30.0) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for line in self.output:
                    if fragment in line:
                        return line
                await asyncio.sleep(0.1)

    async def dial(self, uri: str) -> None:
        await self.type(f"call {uri}")

    async def press(self, digit: str) -> None:
        await self.type(digit)

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            await self.type("terminate")
            await asyncio.sleep(0.5)
            await self.type("quit")
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()

    def heard(self) -> np.ndarray:
        if not self.heard_path.exists():
            return np.zeros(0, dtype=np.int16)
        pcm, rate = read_wav(self.heard_path)
        if rate != RATE:
            from telephony import resample

            pcm = resample(pcm, rate, RATE)
        return pcm


class PythonPhone(asyncio.DatagramProtocol):
    """A minimal SIP phone of our own (the wire modules, plus sockets): it can lose, delay
    and reorder its RTP on purpose, which no real phone here can be told to do."""

    def __init__(self, hotline: tuple[str, int], user: str = "en", bind_ip: str = "127.0.0.1"):
        self.hotline = hotline
        self.user = user
        self.bind_ip = bind_ip
        self.responses: list[sip.SipResponse] = []
        self.requests: list[sip.SipRequest] = []
        self.received_audio: list[np.ndarray] = []
        self.changed = asyncio.Event()
        self.call_id = sip.new_call_id()
        self.tag = sip.new_tag()
        self.cseq = 1
        self.sip: asyncio.DatagramTransport | None = None
        self.media: asyncio.DatagramTransport | None = None
        self.answer: sdp.Negotiated | None = None
        self.stream = rtp.RtpStreamState(0)

    async def open(self) -> None:
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
                        phone.received_audio.append(ulaw_decode(packet.payload))

        self.media, _ = await loop.create_datagram_endpoint(Media, local_addr=(self.bind_ip, 0))

    @property
    def local(self) -> tuple[str, int]:
        assert self.sip is not None
        return self.sip.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        message = sip.parse_message(data)
        if isinstance(message, sip.SipResponse):
            self.responses.append(message)
        else:
            self.requests.append(message)
            if message.method == "BYE":
                self.send(sip.response_to(message, 200))
        self.changed.set()

    def send(self, message: sip.SipRequest | sip.SipResponse | bytes) -> None:
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

    def invite(self, body: bytes | None = None) -> sip.SipRequest:
        ip, port = self.local
        assert self.media is not None
        media_port = self.media.get_extra_info("sockname")[1]
        offer = body if body is not None else sdp.offer_sdp(ip, media_port).encode()
        return sip.build_request(
            "INVITE",
            f"sip:{self.user}@{self.hotline[0]}:{self.hotline[1]}",
            via=f"SIP/2.0/UDP {ip}:{port};branch={sip.new_branch()};rport",
            from_=f"<sip:+15550001111@{ip}>;tag={self.tag}",
            to=f"<sip:{self.user}@{self.hotline[0]}>",
            call_id=self.call_id,
            cseq=self.cseq,
            contact=f"<sip:phone@{ip}:{port}>",
            body=offer,
            content_type="application/sdp",
        )

    async def call(self) -> sip.SipResponse:
        self.send(self.invite())
        ok = await self.response(200)
        self.answer = sdp.negotiate(sdp.parse_sdp(ok.body))
        ip, port = self.local
        self.send(
            sip.build_request(
                "ACK",
                f"sip:{self.user}@{self.hotline[0]}:{self.hotline[1]}",
                via=f"SIP/2.0/UDP {ip}:{port};branch={sip.new_branch()};rport",
                from_=f"<sip:+15550001111@{ip}>;tag={self.tag}",
                to=ok.headers.get("To") or "",
                call_id=self.call_id,
                cseq=self.cseq,
            )
        )
        return ok

    async def speak(
        self, pcm: np.ndarray, *, loss: float = 0.0, jitter_s: float = 0.0, seed: int = 1
    ) -> dict[str, int]:
        """Send ``pcm`` as 20 ms PCMU packets on a real-time clock; each packet is lost with
        probability ``loss`` or delayed by up to ``jitter_s`` (so some arrive out of order)."""
        assert self.media is not None and self.answer is not None
        rng = random.Random(seed)
        loop = asyncio.get_running_loop()
        target = (self.answer.remote_ip, self.answer.remote_port)
        frames = pcm[: len(pcm) - len(pcm) % 160].reshape(-1, 160)
        start = loop.time()
        counts = {"sent": 0, "lost": 0}
        for i, frame in enumerate(frames):
            packet = self.stream.packet(ulaw_encode(frame), 160)
            if rng.random() < loss:
                counts["lost"] += 1
            else:
                counts["sent"] += 1
                delay = rng.uniform(0, jitter_s)
                loop.call_later(delay, self.media.sendto, packet, target)
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
        return counts

    async def hang_up(self) -> None:
        ip, port = self.local
        self.cseq += 1
        ok = next(r for r in self.responses if r.status == 200 and r.cseq[1] == "INVITE")
        self.send(
            sip.build_request(
                "BYE",
                f"sip:{self.user}@{self.hotline[0]}:{self.hotline[1]}",
                via=f"SIP/2.0/UDP {ip}:{port};branch={sip.new_branch()};rport",
                from_=f"<sip:+15550001111@{ip}>;tag={self.tag}",
                to=ok.headers.get("To") or "",
                call_id=self.call_id,
                cseq=self.cseq,
            )
        )

    def close(self) -> None:
        for transport in (self.sip, self.media):
            if transport is not None:
                transport.close()


def with_silence(pcm: np.ndarray, before_s: float, after_s: float) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(before_s * RATE), np.int16), pcm, np.zeros(int(after_s * RATE), np.int16)]
    )
