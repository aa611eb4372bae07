"""Filling the band a phone call lost, before a recognizer hears it."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.engines import narrowband_fill
from telephony import resample
from telephony.wideband import BandFold, HighBandNoise

RATE = 16000


def phone_band_speechlike(seconds: float = 1.0) -> np.ndarray:
    """Noise limited to 0-4 kHz, as an 8 kHz call upsampled to 16 kHz is."""
    rng = np.random.default_rng(4)
    narrow = (rng.standard_normal(int(8000 * seconds)) * 3000).astype(np.int16)
    return resample(narrow, 8000, RATE)


def energy_above_4k(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / RATE)
    return float(spectrum[freqs > 4200].sum() / spectrum.sum())


@pytest.mark.parametrize("make", [lambda: BandFold(-30.0), lambda: HighBandNoise(-50.0, seed=3)])
def test_a_fill_puts_faint_energy_above_4_khz_and_is_the_same_in_any_chunks(make):
    pcm = phone_band_speechlike()
    whole = make().process(pcm)
    fill = make()
    pieces = np.concatenate([fill.process(pcm[i : i + 317]) for i in range(0, len(pcm), 317)])
    assert np.array_equal(whole, pieces)
    assert energy_above_4k(pcm) < 1e-4
    assert 1e-5 < energy_above_4k(whole) < 0.01, "there, but far below the speech"
    low = np.fft.rfftfreq(len(pcm), 1 / RATE) < 3800
    before, after = np.fft.rfft(pcm.astype(float))[low], np.fft.rfft(whole.astype(float))[low]
    assert np.linalg.norm(after - before) / np.linalg.norm(before) < 0.01, "phone band untouched"


def test_each_engine_gets_the_fill_measured_best_for_it_and_only_on_phone_legs():
    assert isinstance(narrowband_fill("vosk", 8000), BandFold)
    assert isinstance(narrowband_fill("pocketsphinx", 8000), HighBandNoise)
    assert narrowband_fill("pocketsphinx", 16000) is None
    assert narrowband_fill("pocketsphinx", 8000, "none") is None
    assert isinstance(narrowband_fill("pocketsphinx", 8000, "fold"), BandFold)
    assert narrowband_fill("some-new-engine", 8000) is None
