"""silero-vad as our endpointer: same events as the energy one, speech found, noise ignored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from asr import (
    Final,
    ModelNotFound,
    PocketSphinxEngine,
    SpeechEnd,
    SpeechPause,
    SpeechStart,
    UtteranceStream,
)
from asr.endpoint import Endpointer
from asr.vad import VAD_KINDS, SileroEndpointer, make_endpointer
from hotline import config as hotline_config
from hotline.config import ConfigError, load_config
from tests.conftest import read_wav_int16, silence

RATE = 16000

needs_silero = pytest.mark.skipif(
    importlib.util.find_spec("silero_vad") is None,
    reason="silero-vad is not installed (pip install silero-vad; it is in the 'neural' extra)",
)


@pytest.fixture(scope="module")
def english_speech(make_speech) -> np.ndarray:
    """espeak-ng English trimmed to where it is audible, so the silences we add are exact."""
    speech = make_speech("the street light in front of my house is broken", "en")
    audible = np.flatnonzero(np.abs(speech) > 300)
    return speech[audible[0] : audible[-1] + 1]


def white_noise(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(int(seconds * RATE)) * rms


def mix(*parts: np.ndarray) -> np.ndarray:
    return np.clip(np.round(sum(parts)), -32768, 32767).astype(np.int16)


@needs_silero
def test_silero_endpointer_brackets_speech_with_one_start_and_one_end(english_speech):
    length = len(english_speech) / RATE
    audio = np.concatenate([silence(0.5), english_speech, silence(0.8)])
    events = SileroEndpointer(RATE, trailing_silence_ms=300).push(audio.tobytes())
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    start, end = events
    assert start.at == pytest.approx(0.5, abs=0.1)
    assert end.at == pytest.approx(0.5 + length, abs=0.15)
    assert start.at < start.decided < end.at < end.decided
    assert end.decided - end.at == pytest.approx(0.3, abs=0.04)


@needs_silero
def test_pushes_of_any_length_give_the_same_events(english_speech):
    audio = np.concatenate([silence(0.5), english_speech, silence(0.8)]).tobytes()
    whole = SileroEndpointer(RATE, pause_ms=100).push(audio)
    endpointer = SileroEndpointer(RATE, pause_ms=100)
    pieces = [e for i in range(0, len(audio), 334) for e in endpointer.push(audio[i : i + 334])]
    assert pieces == whole
    assert [type(e) for e in whole] == [SpeechStart, SpeechPause, SpeechEnd]
    endpointer.reset()
    assert not endpointer.in_speech
    assert endpointer.push(audio) == whole


@needs_silero
def test_a_pause_is_reported_once_and_the_end_after_the_trailing_silence(english_speech):
    audio = np.concatenate(
        [silence(0.5), english_speech, silence(0.5), english_speech, silence(1.5)]
    )
    events = SileroEndpointer(RATE, trailing_silence_ms=1000, pause_ms=100).push(audio.tobytes())
    assert [type(e) for e in events] == [SpeechStart, SpeechPause, SpeechPause, SpeechEnd]
    first_pause, last_pause, end = events[1:]
    assert first_pause.at == pytest.approx(0.5 + len(english_speech) / RATE, abs=0.15)
    assert last_pause.at == end.at


@needs_silero
def test_loud_white_noise_alone_starts_no_speech_but_speech_in_it_is_found(english_speech):
    """Loud noise that sets in mid-call (a passing truck) is speech to the energy endpointer
    until its noise floor catches up; silero-vad does not start on it at all."""
    noise = white_noise(5.0, rms=8000)
    assert SileroEndpointer(RATE).push(mix(noise).tobytes()) == []
    onset = np.concatenate([silence(1.0), mix(noise)])
    assert SileroEndpointer(RATE).push(onset.tobytes()) == []
    assert any(isinstance(e, SpeechStart) for e in Endpointer(RATE).push(onset.tobytes()))
    speech_rms = float(np.sqrt(np.mean(np.square(english_speech.astype(float)))))
    padded = np.concatenate([silence(1.5), english_speech, silence(1.0)]).astype(float)
    noisy = mix(padded, white_noise(len(padded) / RATE, rms=speech_rms / 3.16, seed=1))
    events = SileroEndpointer(RATE).push(noisy.tobytes())
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    assert events[0].at == pytest.approx(1.5, abs=0.15)


@needs_silero
def test_streams_share_one_model_but_each_keeps_its_own_state(english_speech):
    """Calls at once on threads: every leg gets the events it would get alone."""
    from concurrent.futures import ThreadPoolExecutor

    speech = np.concatenate([silence(0.5), english_speech, silence(0.8)]).tobytes()
    noise = mix(np.concatenate([silence(1.0), white_noise(3.0, rms=8000)])).tobytes()
    alone = {audio: SileroEndpointer(RATE).push(audio) for audio in (speech, noise)}

    def leg(audio: bytes) -> list:
        endpointer = SileroEndpointer(RATE)
        return [e for i in range(0, len(audio), 640) for e in endpointer.push(audio[i : i + 640])]

    legs = [speech, noise] * 4
    with ThreadPoolExecutor(max_workers=len(legs)) as pool:
        heard = list(pool.map(leg, legs))
    assert heard == [alone[audio] for audio in legs]
    assert alone[speech] and not alone[noise]


@needs_silero
def test_silero_runs_at_the_phone_rate_too(make_speech):
    speech = make_speech("the street light is broken", "en", rate=8000)
    audio = np.concatenate([np.zeros(4000, np.int16), speech, np.zeros(8000, np.int16)])
    endpointer = SileroEndpointer(8000)
    assert endpointer.frame_samples == 256
    assert [type(e) for e in endpointer.push(audio.tobytes())] == [SpeechStart, SpeechEnd]
    with pytest.raises(ValueError, match="8000 or 16000"):
        SileroEndpointer(44100)


@needs_silero
def test_pocketsphinx_behind_the_silero_endpointer_yields_the_words(english_speech):
    engine = PocketSphinxEngine()
    recognizer = engine.recognizer("en", RATE)
    try:
        stream = UtteranceStream(
            recognizer, SileroEndpointer(RATE, pause_ms=100), gate_preroll_s=0.5
        )
        audio = np.concatenate([silence(1.0), english_speech, silence(1.0)]).tobytes()
        events = []
        for i in range(0, len(audio), RATE // 5):
            events += stream.feed(audio[i : i + RATE // 5])
        events += stream.close()
    finally:
        engine.release(recognizer)
        engine.close()
    [final] = [e for e in events if isinstance(e, Final)]
    assert {"street", "light", "broken"} & set(final.text.split()), final.text
    assert final.start >= 0.5


@pytest.fixture(scope="module")
def clear_english() -> np.ndarray:
    """Piper's English, which PocketSphinx hears word for word from a cold decoder
    (espeak-ng's comes out garbled, its words shifting with where decoding starts)."""
    from tts.piper import PiperSynthesizer, piper_installed

    if not piper_installed():
        pytest.skip("piper-tts is not installed: espeak-ng's speech is too garbled for this")
    with PiperSynthesizer(workers=1, cache_size=0) as voice:
        speech = voice.synthesize("the street light in front of my house is broken", "en", RATE)
    audible = np.flatnonzero(np.abs(speech) > 300)
    return speech[audible[0] : audible[-1] + 1]


@needs_silero
def test_asr_vad_silero_in_the_configuration_reaches_the_call_leg(clear_english):
    import asyncio

    from hotline.engines import Engines

    config = load_config(
        environ={"HOTLINE_ASR_VAD": "silero"},
        asr={"sphinx_processes": 0},
        translate={"apertium": False, "use_added_models": False},
    )
    assert config.asr.vad == "silero"
    engines = Engines(config)

    async def call_leg() -> list:
        leg = await engines.open_stream("en")
        try:
            assert isinstance(leg._stream.stream.endpointer, SileroEndpointer)
            audio = np.concatenate([silence(1.0), clear_english, silence(1.0)]).tobytes()
            events = []
            for i in range(0, len(audio), 640):
                events += await leg.feed(audio[i : i + 640])
            return events + await leg.close()
        finally:
            leg.release()

    try:
        events = asyncio.run(call_leg())
    finally:
        engines.close()
    [final] = [e for e in events if isinstance(e, Final)]
    assert {"street", "light", "broken"} & set(final.text.split()), final.text


@needs_silero
def test_transcribe_with_the_silero_vad_gives_the_words(english_speech):
    from hotline.engines import transcribe

    audio = np.concatenate([silence(0.7), english_speech, silence(0.7)])
    finals = transcribe(audio, "en", engine="pocketsphinx", vad="silero")
    assert {"street", "light", "broken"} & set(" ".join(f.text for f in finals).split())


def test_an_unknown_vad_is_a_configuration_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"asr\.vad.*'webrtc'"):
        load_config(environ={"HOTLINE_ASR_VAD": "webrtc"})
    path = tmp_path / "hotline.toml"
    path.write_text('[asr]\nvad = "Silero"\n')
    with pytest.raises(ConfigError, match=r"asr\.vad"):
        load_config(path, environ={})
    assert load_config(environ={}).asr.vad == "silero", "the default: measured the better"


def test_without_silero_vad_installed_calls_endpoint_on_energy_and_say_so(monkeypatch, caplog):
    import asr.vad

    def missing() -> Path:
        raise ModelNotFound("asr.vad = 'silero' needs the silero-vad package")

    monkeypatch.setattr(asr.vad, "silero_model_path", missing)
    with caplog.at_level("WARNING", logger="asr.vad"):
        assert asr.vad.usable_vad("silero") == "energy"
    assert "silero-vad package" in caplog.text and "energy instead" in caplog.text
    assert asr.vad.usable_vad("energy") == "energy"


def test_make_endpointer_builds_either_kind_and_names_the_choices_otherwise():
    assert hotline_config.VAD_KINDS == VAD_KINDS
    energy = make_endpointer("energy", RATE, trailing_silence_ms=500, pause_ms=100)
    assert isinstance(energy, Endpointer)
    with pytest.raises(ValueError, match="energy, silero"):
        make_endpointer("webrtc", RATE)


@needs_silero
def test_silero_finds_the_speech_of_every_real_recording_clean_and_in_noise(shared_speech):
    """All seven languages, each clip after 1.5 s of noise: speech found, the noise left alone."""
    clips = sorted(shared_speech.glob("*/*.wav"))
    assert {clip.parent.name for clip in clips} >= {"en", "es", "fr", "ja", "ko", "ru", "zh"}
    for clip in clips:
        pcm, rate = read_wav_int16(clip)
        assert rate == RATE, clip
        level = float(np.sqrt(np.mean(np.square(pcm.astype(float)))))
        audio = np.concatenate([silence(1.5), pcm, silence(1.0)]).astype(float)
        for noise_rms in (0.0, level / 3.16):
            noisy = mix(audio, white_noise(len(audio) / RATE, noise_rms, seed=len(pcm)))
            events = SileroEndpointer(RATE).push(noisy.tobytes())
            starts = [e.at for e in events if isinstance(e, SpeechStart)]
            assert starts, (clip.name, noise_rms)
            assert min(starts) >= 1.5 - 0.1, (clip.name, noise_rms, starts)
