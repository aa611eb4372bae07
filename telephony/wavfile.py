"""WAV files for prompts, test audio and call recordings, and decoding of any other audio file.

Recordings are written so that the header is always valid: a crash mid-call leaves a file
that any WAV reader opens with every sample written so far.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np

from telephony.frames import AudioFormatError, as_pcm, pcm_from_bytes, pcm_to_bytes
from telephony.resample import resample

_PCM = 0x0001
_EXTENSIBLE = 0xFFFE
_HEADER_BYTES = 44
_MAX_DATA_BYTES = 0xFFFFFFFF - (_HEADER_BYTES - 8)
_DECODE_TIMEOUT_S = 600


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as mono int16 (channels averaged) and its sample rate.

    A data chunk longer than the file, as left by a writer that died, is read up to the end.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioFormatError(f"{path}: not a RIFF/WAVE file")
    fmt: tuple[int, int] | None = None
    pos = 12
    while pos + 8 <= len(raw):
        chunk_id, size = struct.unpack_from("<4sI", raw, pos)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(path, raw[body : body + size])
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError(f"{path}: data chunk comes before the fmt chunk")
            channels, rate = fmt
            data = raw[body : body + size]
            usable = len(data) - len(data) % (2 * channels)
            pcm = pcm_from_bytes(data[:usable])
            if channels > 1:
                pcm = _to_int16_mean(pcm.reshape(-1, channels))
            return pcm, rate
        pos = body + size + (size & 1)
    raise AudioFormatError(f"{path}: WAV file has no data chunk")


def _parse_fmt(path: str | os.PathLike[str], body: bytes) -> tuple[int, int]:
    """Channels and rate of a 16-bit PCM fmt chunk; anything else is refused."""
    if len(body) < 16:
        raise AudioFormatError(f"{path}: WAV fmt chunk is truncated")
    code, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if code == _EXTENSIBLE and len(body) >= 26:
        code = struct.unpack_from("<H", body, 24)[0]
    if code != _PCM or bits != 16:
        raise AudioFormatError(
            f"{path}: WAV is format 0x{code:04X} with {bits}-bit samples; need 16-bit PCM"
        )
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"{path}: WAV declares {channels} channels at {rate} Hz")
    return channels, rate


def _to_int16_mean(frames: np.ndarray) -> np.ndarray:
    return np.rint(frames.mean(axis=1)).astype(np.int16)


def wav_bytes(pcm: np.ndarray, sample_rate: int) -> bytes:
    """Mono int16 PCM as the bytes of a 16-bit WAV file (to send, not to keep)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm_to_bytes(as_pcm(pcm)))
    return buffer.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 PCM as a 16-bit WAV file."""
    with WavWriter(path, sample_rate) as writer:
        writer.write(pcm)


class WavWriter:
    """Append-only mono 16-bit WAV for call recordings; the header is patched after every write.

    Data reaches the operating system on every `write`, so a crash of this process loses
    nothing; `close()` also fsyncs so the file survives a power loss once the call is over.
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._data_bytes = 0
        # Unbuffered, written with pwrite: two system calls per write (the samples, then the
        # header), no seeking, and nothing held in a user-space buffer a crash could lose.
        self._fd: int | None = os.open(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600
        )
        os.pwrite(self._fd, self._header(), 0)

    @property
    def samples_written(self) -> int:
        return self._data_bytes // 2

    def _header(self) -> bytes:
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            _HEADER_BYTES - 8 + self._data_bytes,
            b"WAVE",
            b"fmt ",
            16,
            _PCM,
            1,
            self.sample_rate,
            self.sample_rate * 2,
            2,
            16,
            b"data",
            self._data_bytes,
        )

    def write(self, pcm: np.ndarray) -> None:
        """Append samples and make the file valid again before returning."""
        if self._fd is None:
            raise ValueError(f"{self.path}: recording is already closed")
        data = pcm_to_bytes(as_pcm(pcm))
        if self._data_bytes + len(data) > _MAX_DATA_BYTES:
            raise AudioFormatError(f"{self.path}: recording would exceed the 4 GiB WAV limit")
        os.pwrite(self._fd, data, _HEADER_BYTES + self._data_bytes)
        self._data_bytes += len(data)
        os.pwrite(self._fd, self._header(), 0)

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def decode_audio_file(path: str | os.PathLike[str], sample_rate: int = 16000) -> np.ndarray:
    """Any audio file ffmpeg or sox can read, as mono int16 at `sample_rate`."""
    file = Path(path)
    if not file.is_file():
        raise AudioFormatError(f"{file}: no such audio file")
    try:
        pcm, rate = read_wav(file)
    except AudioFormatError:
        pass
    else:
        return resample(pcm, rate, sample_rate)
    failures = []
    for name, command in _decoders(file.resolve(), sample_rate):
        if shutil.which(name) is None:
            failures.append(f"{name}: not installed")
            continue
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=_DECODE_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: timed out after {_DECODE_TIMEOUT_S} s")
            continue
        if done.returncode == 0:
            data = done.stdout
            return pcm_from_bytes(data[: len(data) - len(data) % 2])
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        failures.append(f"{name}: {lines[-1] if lines else f'exit status {done.returncode}'}")
    raise AudioFormatError(f"{file}: cannot decode audio ({'; '.join(failures)})")


def _decoders(file: Path, sample_rate: int) -> list[tuple[str, list[str]]]:
    rate = str(sample_rate)
    return [
        (
            "ffmpeg",
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(file)]
            + ["-f", "s16le", "-ac", "1", "-ar", rate, "-"],
        ),
        (
            "sox",
            ["sox", "-q", str(file), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L"]
            + ["-c", "1", "-r", rate, "-"],
        ),
    ]
