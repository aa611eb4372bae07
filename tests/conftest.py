"""Shared fixtures: real recordings from ../shared/data, and speech made with espeak-ng."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

REPO = Path(__file__).resolve().parents[1]
SHARED_SPEECH = REPO.parent / "shared" / "data" / "speech"


@pytest.fixture(scope="session")
def shared_speech() -> Path:
    """Folder of real recordings (one folder per language, with transcripts.tsv)."""
    if not SHARED_SPEECH.is_dir():
        pytest.skip(f"real recordings not present: {SHARED_SPEECH} is absent (fresh clone)")
    return SHARED_SPEECH


def read_transcripts(folder: Path) -> dict[str, str]:
    lines = (folder / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def read_wav_int16(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            pcm = pcm.reshape(-1, w.getnchannels())[:, 0]
        return pcm.copy(), w.getframerate()


def espeak_speech(text: str, voice: str, rate: int = 16000, tmp: Path | None = None) -> np.ndarray:
    """Speech made by the espeak-ng command, resampled to `rate` (mono int16)."""
    import soxr

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    import io

    with wave.open(io.BytesIO(out), "rb") as w:
        native = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if native != rate:
        pcm = soxr.resample(pcm, native, rate)
    return np.ascontiguousarray(pcm, dtype=np.int16)


@pytest.fixture(scope="session")
def make_speech():
    """Factory: make_speech(text, voice, rate=16000) -> int16 mono speech from espeak-ng."""
    return espeak_speech


def silence(seconds: float, rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


# --- a real call server on a loopback port, engines loaded once per session ---------


@pytest.fixture(scope="session")
def engines():
    from hotline.config import load_config
    from hotline.engines import Engines

    loaded = Engines(load_config())
    asyncio.run(loaded.warm_up())
    yield loaded
    loaded.close()


@pytest_asyncio.fixture
async def start_server(engines, tmp_path) -> AsyncIterator:
    """Factory: ``await start_server(**config_overrides)`` → a running HotlineServer."""
    servers: list = []

    from hotline.config import load_config
    from hotline.server.app import HotlineServer

    async def start(configure=None, **call_settings):
        """``configure(config)`` may change any section; keywords set ``config.call``."""
        config = load_config(environ={}, port=0, data_dir=str(tmp_path / f"data{len(servers)}"))
        # Room for every call a test makes at once (admission control has tests of its own).
        config.call.capacity = 100
        # Callers are not held for the survey after the operator hangs up (the survey has
        # tests of its own, which turn it on).
        config.cases.survey = False
        for key, value in call_settings.items():
            setattr(config.call, key, value)
        if configure is not None:
            configure(config)
        server = HotlineServer(config, engines=engines)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        with contextlib.suppress(Exception):
            await server.stop()


def url(server, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on now (TCP by default, UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


TEST_PASSWORD = "test-pass-123"


def add_account(server, name: str, languages: list[str], role: str = "operator") -> None:
    """An account in the server's data folder (sign-in is never open), if not there yet."""
    from hotline.accounts import AccountStore

    with AccountStore.in_data_dir(server.data_dir) as store:
        if store.get(name) is None:
            store.add(name, TEST_PASSWORD, languages, role=role)


async def sign_in_operator(server, name: str, languages: list[str], rate: int = 16000, **options):
    """An operator signed in with a fresh account of those languages."""
    from hotline.clients.client import OperatorClient

    add_account(server, name, languages)
    operator = OperatorClient(url(server, "/operator"), rate)
    ready = await operator.sign_in(name, languages, password=TEST_PASSWORD, **options)
    assert ready["type"] == "ready", ready
    return operator
