"""The narrowband benchmark on synthesized speech (espeak-ng): the phone path really goes
through 8 kHz, and the scores it reports are well formed. ASR quality itself is not asserted."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.bench.narrowband import (
    BASELINE,
    CONDITIONS,
    BandFold,
    degrade,
    normalise,
    run_narrowband_bench,
)
from hotline.engines import synthesizer


def _share_above(pcm: np.ndarray, hz: float, rate: int = 16000) -> float:
    power = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    return float(power[freqs > hz].sum() / power.sum())


@pytest.fixture(scope="module")
def synthetic_sentence() -> np.ndarray:
    voice = synthesizer()
    try:
        return voice.synthesize("The street light in front of my house is broken.", "en")
    finally:
        voice.close()


def test_synthetic_speech_through_mu_law_loses_everything_above_4_khz(synthetic_sentence):
    assert _share_above(synthetic_sentence, 4100) > 0.005
    for name in (BASELINE, "alaw-8k", "16k-bandlimited"):
        degraded = degrade(synthetic_sentence, name)
        assert abs(len(degraded) - len(synthetic_sentence)) <= 2
        assert _share_above(degraded, 4100) < 1e-4, name


def test_band_fold_fills_the_high_band_the_same_in_chunks_as_at_once(synthetic_sentence):
    narrow = degrade(synthetic_sentence, BASELINE)
    whole = BandFold(-30.0).process(narrow)
    fold = BandFold(-30.0)
    chunked = np.concatenate(
        [fold.process(narrow[i : i + 317]) for i in range(0, len(narrow), 317)]
    )
    np.testing.assert_array_equal(whole, chunked)
    assert _share_above(whole, 4100) > 1e-4


def test_normalisation_is_the_same_for_both_sides():
    assert normalise("Mr. Quilter's NEIGHBOUR, 'said' he.", "en") == "mr quilter's neighbor said he"
    assert normalise("우리 집 앞, 가로등이!", "ko") == "우리집앞가로등이"


def test_two_synthetic_sentences_score_on_the_16k_and_mu_law_paths():
    result = run_narrowband_bench(
        ["en"], synthetic=2, real=False, conditions=["16k", BASELINE], workers=1
    )
    assert [(s.language, s.kind, s.metric, s.clips) for s in result.sets] == [
        ("en", "synthetic", "WER", 2)
    ]
    (found,) = result.sets
    assert found.units > 10
    assert [score.condition for score in found.scores] == ["16k", BASELINE]
    assert set(result.conditions) == {"16k", BASELINE}
    assert result.conditions[BASELINE] == CONDITIONS[BASELINE].description
    for score in found.scores:
        assert 0.0 <= score.error_rate <= 2.0
        assert score.edits == round(score.error_rate * found.units)
        assert len(score.hypotheses) == 2
        assert score.better + score.worse <= 2
    assert found.scores[0].change is None or found.scores[0].change == 0.0
