"""Something back in the band a phone call lost, for recognizers trained on 16 kHz audio.

A call that arrives at 8 kHz, upsampled to 16 kHz, leaves the recognizers' filterbank
channels above 4 kHz empty, which their training audio never did, and they misrecognize
badly (docs/quality.md: about twice the errors on real speech). Two streaming fills, each
measured to help one engine: :class:`BandFold` mirrors the 0-4 kHz band into 4-8 kHz, far
down (Vosk); :class:`HighBandNoise` adds faint noise there (PocketSphinx). Both work on
16 kHz int16 chunks of any size and give the same output chunked as in one piece; they
change only what the recognizer hears, never a recording.
"""

from __future__ import annotations

import numpy as np

from telephony.resample import StreamResampler

__all__ = ["BandFold", "HighBandNoise"]


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


class _Mirror:
    """Multiplying by (-1)^n maps f to 8000 - f at 16 kHz; the parity carries across chunks."""

    def __init__(self) -> None:
        self._odd = False

    def signs(self, count: int) -> np.ndarray:
        signs = np.ones(count, dtype=np.float32)
        signs[1 - int(self._odd) :: 2] = -1.0
        self._odd ^= count % 2 == 1
        return signs


class BandFold:
    """The 0-4 kHz band, mirrored into 4-8 kHz ``gain_db`` down."""

    def __init__(self, gain_db: float = -30.0) -> None:
        self.gain = 10 ** (gain_db / 20)
        self._mirror = _Mirror()

    def process(self, pcm: np.ndarray) -> np.ndarray:
        x = pcm.astype(np.float32)
        return _to_int16(x + self.gain * x * self._mirror.signs(len(x)))


class HighBandNoise:
    """White noise at ``dbfs`` RMS confined to 4-8 kHz: 8 kHz noise, upsampled (so it holds
    only 0-4 kHz), then mirrored up. Seeded, so a run can be repeated."""

    def __init__(self, dbfs: float = -50.0, seed: int = 0) -> None:
        self.level = 32768 * 10 ** (dbfs / 20)
        self._rng = np.random.default_rng(seed)
        self._upsampler = StreamResampler(8000, 16000)
        self._mirror = _Mirror()
        self._noise = np.zeros(0, dtype=np.float32)

    def process(self, pcm: np.ndarray) -> np.ndarray:
        while len(self._noise) < len(pcm):
            narrow = _to_int16(self._rng.standard_normal(max(160, len(pcm) // 2)) * self.level)
            self._noise = np.concatenate([self._noise, self._upsampler.process(narrow)])
        noise, self._noise = self._noise[: len(pcm)], self._noise[len(pcm) :]
        high = noise.astype(np.float32) * self._mirror.signs(len(pcm))
        return _to_int16(pcm.astype(np.float32) + high)
