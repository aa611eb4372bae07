"""Raw PCM at the edges of the call path: bytes to int16 arrays, fixed-size frames, levels.

All PCM in hotline is mono int16 in native byte order; the wire is int16 little-endian.
"""

from __future__ import annotations

import math

import numpy as np

SILENCE_DBFS = -120.0
"""Level reported for digital silence, so meters and VAD never see -inf."""


class AudioFormatError(ValueError):
    """Audio that enters hotline in a shape or encoding we cannot use."""


def as_pcm(pcm: np.ndarray) -> np.ndarray:
    """Check that `pcm` is mono int16 and return it unchanged, so mistakes fail where they enter."""
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 1:
        shape = (
            f"{pcm.dtype}{list(pcm.shape)}" if isinstance(pcm, np.ndarray) else type(pcm).__name__
        )
        raise AudioFormatError(f"expected mono int16 PCM as a 1-D numpy array, got {shape}")
    return pcm


def pcm_from_bytes(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Wire bytes (int16 little-endian) to a writable native int16 array."""
    if len(data) % 2:
        raise AudioFormatError(f"16-bit PCM needs an even number of bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def pcm_to_bytes(pcm: np.ndarray) -> bytes:
    """Int16 array to wire bytes (int16 little-endian)."""
    return as_pcm(pcm).astype("<i2", copy=False).tobytes()


def rms_dbfs(pcm: np.ndarray) -> float:
    """RMS level relative to int16 full scale (a full-scale sine is about -3 dBFS)."""
    pcm = as_pcm(pcm)
    if pcm.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(pcm, dtype=np.float64))))
    if rms == 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0))


class Framer:
    """Cut a stream of arbitrary-sized chunks into fixed frames, as ASR, VAD and RTP expect."""

    def __init__(self, sample_rate: int, frame_ms: int = 20) -> None:
        samples, rest = divmod(sample_rate * frame_ms, 1000)
        if samples <= 0 or rest:
            raise ValueError(f"{frame_ms} ms at {sample_rate} Hz is not a whole number of samples")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self._frame_samples = samples
        self._pending = np.zeros(0, dtype=np.int16)

    @property
    def frame_samples(self) -> int:
        return self._frame_samples

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        """Add audio; return every complete frame now available and keep the remainder."""
        buffer = np.concatenate((self._pending, as_pcm(pcm)))
        whole = len(buffer) - len(buffer) % self._frame_samples
        self._pending = buffer[whole:].copy()
        return list(buffer[:whole].reshape(-1, self._frame_samples))

    def flush(self, pad: bool = True) -> np.ndarray | None:
        """Return the remainder (zero-padded to a full frame when `pad`), or None if there is none."""
        rest, self._pending = self._pending, np.zeros(0, dtype=np.int16)
        if rest.size == 0:
            return None
        if pad:
            rest = np.concatenate((rest, np.zeros(self._frame_samples - rest.size, np.int16)))
        return rest
