"""The espeak-ng synthesizer, run for real in worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import numpy as np
import pytest

from tts import EspeakSynthesizer, Synthesizer, TtsError, VoiceNotFound, default_synthesizer
from tts.base import split_sentences

PHRASES = {
    "en": "Hello, how can I help you today?",
    "es": "Hola, ¿en qué puedo ayudarle hoy?",
    "ko": "안녕하세요, 무엇을 도와드릴까요?",
    "zh": "你好，今天我能帮你什么？",
}


@pytest.fixture(scope="module")
def synth():
    engine = EspeakSynthesizer(workers=2)
    yield engine
    engine.close()


def expected_seconds(text: str, language: str) -> float:
    """Rough speaking time: ~3 words a second, or ~4 syllables a second for ko/zh."""
    if language in ("ko", "zh"):
        return sum(ch.isalnum() for ch in text) * 0.25
    return len(text.split()) / 3.0


def assert_speech(pcm: np.ndarray, rate: int, text: str, language: str) -> None:
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    seconds = pcm.size / rate
    expected = expected_seconds(text, language)
    assert 0.3 * expected <= seconds <= 3 * expected, (seconds, expected)
    level = np.sqrt(np.mean(pcm.astype(np.float64) ** 2))
    assert level > 500, level
    frame = rate // 50
    frames = pcm[: pcm.size // frame * frame].astype(np.float64).reshape(-1, frame)
    voiced = np.sqrt(np.mean(frames**2, axis=1)) > 300
    assert voiced.mean() > 0.4, voiced.mean()


@pytest.mark.parametrize("language", sorted(PHRASES))
def test_speech_comes_out_at_every_requested_rate(synth: EspeakSynthesizer, language: str):
    text = PHRASES[language]
    durations = []
    for rate in (8000, 16000, 24000):
        pcm = synth.synthesize(text, language, rate)
        assert_speech(pcm, rate, text, language)
        durations.append(pcm.size / rate)
    assert max(durations) <= 1.1 * min(durations), durations


def test_voices_cover_the_hotline_languages(synth: EspeakSynthesizer):
    covered = {lang for voice in synth.voices() for lang in voice.languages}
    assert {"en", "es", "ko", "zh"} <= covered
    assert {"en", "es", "ko", "zh"} <= set(synth.languages())
    assert all(voice.id and voice.name for voice in synth.voices())


def test_language_without_a_voice_is_refused_with_the_available_ones(synth: EspeakSynthesizer):
    with pytest.raises(VoiceNotFound) as caught:
        synth.synthesize("Hello.", "xx")
    message = str(caught.value)
    assert "'xx'" in message
    assert "en" in caught.value.available and "zh" in caught.value.available
    assert "ko" in message and "es" in message


def test_regional_tags_pick_a_voice_of_that_language(synth: EspeakSynthesizer):
    for tag in ("en-GB", "zh_CN", "es-MX"):
        pcm = synth.synthesize("One two three.", tag)
        assert pcm.size > 0


def test_repeated_phrase_comes_from_the_cache(synth: EspeakSynthesizer):
    text = "Thank you for calling the city complaints line."
    first = synth.synthesize(text, "en", 8000)
    before = synth.stats()
    second = synth.synthesize(text, "en", 8000)
    after = synth.stats()
    assert np.array_equal(first, second)
    assert after.jobs == before.jobs
    assert after.cache_hits == before.cache_hits + 1
    second[:] = 0
    assert np.array_equal(synth.synthesize(text, "en", 8000), first)


def test_blank_text_is_silence_without_a_worker_trip(synth: EspeakSynthesizer):
    before = synth.stats().jobs
    assert synth.synthesize("  \n\t ", "en").size == 0
    assert synth.stats().jobs == before


async def test_concurrent_calls_all_get_speech_from_worker_processes(synth: EspeakSynthesizer):
    requests = [(f"{PHRASES[lang]} {n}", lang) for n, lang in enumerate(sorted(PHRASES) * 2)][:6]
    before = synth.stats().jobs
    results = await asyncio.gather(*(synth.synthesize_async(t, lang) for t, lang in requests))
    for pcm, (text, language) in zip(results, requests, strict=True):
        assert_speech(pcm, 16000, text, language)
    stats = synth.stats()
    assert stats.jobs == before + 6
    assert stats.worker_pids and os.getpid() not in stats.worker_pids


async def test_stream_yields_speech_sentence_by_sentence(synth: EspeakSynthesizer):
    text = "Your complaint has been recorded. An operator will call you back within a day."
    chunks = [chunk async for chunk in synth.stream_async(text, "en", 16000)]
    assert len(chunks) >= 2
    assert_speech(np.concatenate(chunks), 16000, text, "en")


async def test_stream_cuts_sentences_into_chunks_of_the_asked_length(synth: EspeakSynthesizer):
    text = "Please hold. We are connecting you."
    chunks = [c async for c in synth.stream_async(text, "en", 8000, chunk_ms=20)]
    assert len(chunks) > 10
    assert all(c.size <= 160 for c in chunks)


async def test_stream_in_unknown_language_raises(synth: EspeakSynthesizer):
    with pytest.raises(VoiceNotFound):
        async for _ in synth.stream_async("One. Two. Three.", "xx"):
            pass


async def test_event_loop_keeps_running_during_synthesis(synth: EspeakSynthesizer):
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    texts = [
        " ".join(f"Report {run}-{i}: the bin on Elm Street was not emptied." for i in range(25))
        for run in range(4)
    ]
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    results = await asyncio.gather(*(synth.synthesize_async(t, "en") for t in texts))
    elapsed = time.perf_counter() - started
    done.set()
    await task
    assert all(pcm.size > 16000 * 30 for pcm in results)
    gaps = np.diff(ticks)
    assert len(ticks) >= 0.25 * elapsed / 0.01, (len(ticks), elapsed)
    assert gaps.max() < max(0.5 * elapsed, 0.05), (gaps.max(), elapsed)


@pytest.mark.parametrize(
    "text",
    [
        "He said \"the light is out\" and 'left'.",
        "Line one\nline two\n\nline three",
        "<speak><prosody rate='x-slow'>a < b > c</prosody></speak>",
        "Null\x00byte and bell\x07 characters.",
        "…!?;",
    ],
)
def test_awkward_text_still_gives_audio(synth: EspeakSynthesizer, text: str):
    pcm = synth.synthesize(text, "en", 16000)
    assert pcm.dtype == np.int16 and pcm.size > 0


def test_very_long_text_gives_long_speech(synth: EspeakSynthesizer):
    text = " ".join(f"Complaint {i} is about noise after midnight." for i in range(60))
    pcm = synth.synthesize(text, "en", 8000)
    assert_speech(pcm, 8000, text, "en")


def test_killed_worker_is_replaced_and_the_request_succeeds():
    with EspeakSynthesizer(workers=1) as engine:
        engine.synthesize("Warm up.", "en")
        os.kill(engine.stats().last_worker_pid, signal.SIGKILL)
        pcm = engine.synthesize("Still here after a crash.", "en")
        assert_speech(pcm, 16000, "Still here after a crash.", "en")
        assert engine.stats().pool_restarts == 1


def test_closed_synthesizer_refuses_work():
    engine = default_synthesizer(workers=1)
    assert isinstance(engine, Synthesizer)
    engine.close()
    engine.close()
    with pytest.raises(TtsError, match="closed"):
        engine.synthesize("Hello.", "en")


def test_sentences_split_at_ends_and_line_breaks():
    assert split_sentences('Hi there. "How are you?" Fine!\nBye') == [
        "Hi there.",
        '"How are you?"',
        "Fine!",
        "Bye",
    ]
    assert split_sentences("你好。谢谢！") == ["你好。", "谢谢！"]
    assert split_sentences("It costs 3.5 dollars... ok.") == ["It costs 3.5 dollars...", "ok."]
    assert all(len(s) <= 240 for s in split_sentences("word " * 500))
    assert split_sentences(" \n ") == []
