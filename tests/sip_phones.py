"""Phones that call the hotline's SIP port in the tests: two real SIP user agents from Debian
(baresip, whose driver is the demo's in ``hotline.clients.phone``, and linphonec); the
Python phone that loses packets on purpose is ``hotline.clients.phone.SipCaller``, each with a WAV as its microphone and a WAV of what it heard, and a
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

from telephony import read_wav, write_wav
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


def with_silence(pcm: np.ndarray, before_s: float, after_s: float) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(before_s * RATE), np.int16), pcm, np.zeros(int(after_s * RATE), np.int16)]
    )
