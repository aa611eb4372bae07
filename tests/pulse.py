"""A private PulseAudio server for sound-card tests.

Two null sinks: ``speaker``, where the softphone plays and whose monitor the test records,
and ``mic``, where the test plays WAV files and whose monitor is the softphone's
microphone (the default source). PortAudio reaches it through ALSA's ``pulse`` device
(Debian ``libasound2-plugins``, a dependency of ``pulseaudio``), pointed here by
``PULSE_SERVER``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["PulseServer", "PulseUnavailable", "Recording", "start_pulse"]

SPEAKER = "speaker"
MIC = "mic"
START_TIMEOUT_S = 10.0
TOOLS = ("pulseaudio", "pactl", "paplay", "parec")


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the test process dies, so no server outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PulseUnavailable(RuntimeError):
    """PulseAudio is not installed here or would not start; the reason is the message."""


class Recording:
    """``parec`` writing raw mono int16 from a source into a file, readable while it runs."""

    def __init__(self, process: subprocess.Popen, path: Path, rate: int) -> None:
        self.process = process
        self.path = path
        self.rate = rate

    def samples(self) -> np.ndarray:
        data = self.path.read_bytes()
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int16)

    def stop(self) -> np.ndarray:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.samples()


class PulseServer:
    """One running ``pulseaudio`` process with its own runtime folder and socket."""

    def __init__(self, process: subprocess.Popen, runtime: Path, env: dict[str, str]) -> None:
        self.process = process
        self.runtime = runtime
        self.env = env
        self.speaker = SPEAKER
        self.speaker_monitor = f"{SPEAKER}.monitor"
        self.mic_sink = MIC
        self.mic_source = f"{MIC}.monitor"

    @property
    def server(self) -> str:
        return f"unix:{self.runtime / 'native'}"

    def client_env(self) -> dict[str, str]:
        """What a client process needs to reach this server (and never spawn its own)."""
        return {
            "PULSE_SERVER": self.server,
            "PULSE_CLIENTCONFIG": str(self.runtime / "client.conf"),
            "PULSE_RUNTIME_PATH": str(self.runtime),
        }

    def run(self, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def play(self, wav: Path) -> subprocess.Popen:
        """Play a WAV into the microphone, in real time; returns the ``paplay`` process."""
        return subprocess.Popen(
            ["paplay", f"--device={self.mic_sink}", str(wav)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )

    def record(self, path: Path, rate: int = 16000, source: str | None = None) -> Recording:
        """Record ``source`` (default: what the speaker plays) as raw mono int16."""
        with open(path, "wb") as out:
            process = subprocess.Popen(
                [
                    "parec",
                    f"--device={source or self.speaker_monitor}",
                    "--raw",
                    "--format=s16le",
                    "--channels=1",
                    f"--rate={rate}",
                    "--latency-msec=20",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        return Recording(process, path, rate)

    def log(self) -> str:
        path = self.runtime / "pulseaudio.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.runtime, ignore_errors=True)


def start_pulse(rate: int = 48000) -> PulseServer:
    """Start a private PulseAudio server; raises PulseUnavailable with the reason."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise PulseUnavailable(
            f"{', '.join(missing)} not installed (Debian packages pulseaudio, pulseaudio-utils)"
        )
    # A short path: the socket path must fit in sockaddr_un (108 bytes).
    runtime = Path(tempfile.mkdtemp(prefix="hotline-pulse-"))
    (runtime / "client.conf").write_text("autospawn = no\n")
    env = {
        **os.environ,
        "HOME": str(runtime),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(runtime / "config"),
        "PULSE_RUNTIME_PATH": str(runtime),
        "PULSE_STATE_PATH": str(runtime / "state"),
        "PULSE_CLIENTCONFIG": str(runtime / "client.conf"),
        "PULSE_SERVER": f"unix:{runtime / 'native'}",
    }
    command = [
        "pulseaudio",
        "--daemonize=no",
        "--system=false",
        "-n",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "--use-pid-file=false",
        "--disable-shm=true",
        "--log-target=stderr",
        f"--load=module-native-protocol-unix socket={runtime / 'native'} auth-anonymous=1",
        f"--load=module-null-sink sink_name={SPEAKER} rate={rate} "
        "sink_properties=device.description=Speaker",
        f"--load=module-null-sink sink_name={MIC} rate={rate} "
        "sink_properties=device.description=Microphone",
    ]
    with open(runtime / "pulseaudio.log", "wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    server = PulseServer(process, runtime, env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            reason = server.log().strip().splitlines()[-3:]
            server.stop()
            raise PulseUnavailable(f"pulseaudio exited with {process.returncode}: {reason}")
        if (runtime / "native").exists() and server.run("pactl", "info").returncode == 0:
            break
        if time.monotonic() > deadline:
            server.stop()
            raise PulseUnavailable(f"pulseaudio did not answer within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    for args in (("set-default-sink", SPEAKER), ("set-default-source", f"{MIC}.monitor")):
        done = server.run("pactl", *args)
        if done.returncode != 0:
            server.stop()
            raise PulseUnavailable(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return server
