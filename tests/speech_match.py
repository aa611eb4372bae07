"""Does a recording contain a given sentence? For checking what a phone heard against the
hotline's own voice, where sample-exact comparison is impossible (a synthesizer's output
varies slightly from one request to the next) and narrowband speech defeats recognizers.

Both are turned into log band energies (25 ms windows, 10 ms apart, 300–3400 Hz: the phone
band), normalised per band, and the sentence is aligned to its best span of the recording
by dynamic time warping. The score is the mean distance along that path: lower is closer.
A test compares the score of the sentence that should be there with that of one that
should not."""

from __future__ import annotations

import numpy as np

BANDS = 16


def band_energies(pcm: np.ndarray, rate: int) -> np.ndarray:
    window, hop = int(0.025 * rate), int(0.010 * rate)
    x = pcm.astype(np.float64)
    if len(x) < window:
        x = np.concatenate([x, np.zeros(window - len(x))])
    count = 1 + (len(x) - window) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop][:count]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(window), axis=1)) ** 2
    freqs = np.fft.rfftfreq(window, 1 / rate)
    mel = np.linspace(_mel(300), _mel(3400), BANDS + 1)
    edges = 700 * (10 ** (mel / 2595) - 1)
    bands = np.stack(
        [
            spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ],
        axis=1,
    )
    return np.log(bands + 1e-3)


def speech_frames(features: np.ndarray) -> np.ndarray:
    """Only the frames that carry speech (within 30 dB of the loudest)."""
    level = features.max(axis=1)
    return features[level > level.max() - np.log(1e3)]


def match_score(recording: np.ndarray, sentence: np.ndarray, rate: int) -> float:
    """Mean per-frame distance of ``sentence`` at its best place in ``recording`` (open-begin,
    open-end DTW)."""
    template = speech_frames(band_energies(sentence, rate))
    heard = band_energies(recording, rate)
    mean, std = heard.mean(axis=0), heard.std(axis=0) + 1e-6
    template = (template - mean) / std
    heard = (heard - mean) / std
    cost = np.sqrt(((template[:, None, :] - heard[None, :, :]) ** 2).sum(axis=2))
    acc = cost[0].copy()
    for i in range(1, len(template)):
        row = np.empty_like(acc)
        step = np.minimum(acc, np.concatenate([[np.inf], acc[:-1]])) + cost[i]
        row[0] = step[0]
        for j in range(1, len(row)):
            row[j] = min(step[j], row[j - 1] + cost[i, j])
        acc = row
    return float(acc.min() / len(template))


def _mel(hz: float) -> float:
    return 2595 * np.log10(1 + hz / 700)
