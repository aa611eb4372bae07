"""``hotline bench engines``: each engine on its own, on this machine: ASR real-time factor
(fresh and pooled recognizers, one and several streams), translation latency (kept pipe and
fresh process), and TTS time to first audio. Engine imports stay inside functions so that
``hotline --help`` does not pay for them; this is the one product module that drives engines
directly, because it measures them."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from hotline.bench.common import (
    COMPLAINTS,
    KOREAN_CLIP,
    KOREAN_LINES,
    KOREAN_WARM_UP,
    RATE,
    SPANISH_LONG,
    SPANISH_SHORT,
    Summary,
    fill_to,
    fmt,
    join_with_gaps,
    print_table,
    summarize,
    synthesize_lines,
)

if TYPE_CHECKING:
    from asr import AsrEngine, Recognizer
    from tts import Synthesizer

__all__ = ["EnginesBench", "report_engines", "run_engines_bench"]

T = TypeVar("T")

ASR_CHUNK_S = 0.1
ASR_WARM_UP_LINES = 2


# --- ASR ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StreamTiming:
    """One stream's decoding; RTF is processing time over audio duration (< 1 keeps up)."""

    audio_s: float
    processing_s: float
    rtf: float
    first_clip_rtf: float
    worst_chunk_ms: float
    finals: list[str]


@dataclass(slots=True)
class AsrRun:
    """Some streams decoded at once, each on its own recognizer and thread."""

    engine: str
    language: str
    recognizers: str
    streams: int
    acquire_ms: float
    wall_s: float
    throughput_streams: float
    per_stream: list[StreamTiming]


@dataclass(slots=True)
class AsrBench:
    audio: dict[str, str]
    first_recognizer_s: dict[str, float]
    runs: list[AsrRun]


def decode_stream(recognizer: Recognizer, pcm: np.ndarray, clip_samples: int) -> StreamTiming:
    """Feed 0.1 s chunks through an UtteranceStream with our endpointer, as a call leg does."""
    from asr import Endpointer, Final, UtteranceStream

    stream = UtteranceStream(recognizer, Endpointer(RATE))
    step = int(ASR_CHUNK_S * RATE)
    chunk_s: list[float] = []
    finals: list[str] = []
    for start in range(0, len(pcm), step):
        data = pcm[start : start + step].tobytes()
        began = time.perf_counter()
        events = stream.feed(data)
        chunk_s.append(time.perf_counter() - began)
        finals += [e.text for e in events if isinstance(e, Final)]
    began = time.perf_counter()
    finals += [e.text for e in stream.close() if isinstance(e, Final)]
    processing = sum(chunk_s) + time.perf_counter() - began
    audio_s = len(pcm) / RATE
    clip_chunks = math.ceil(min(clip_samples, len(pcm)) / step)
    return StreamTiming(
        audio_s=audio_s,
        processing_s=processing,
        rtf=processing / audio_s,
        first_clip_rtf=sum(chunk_s[:clip_chunks]) / (clip_chunks * step / RATE),
        worst_chunk_ms=max(chunk_s) * 1000,
        finals=finals,
    )


def decode_concurrently(
    recognizers: Sequence[Recognizer], pcm: np.ndarray, clip_samples: int
) -> tuple[float, list[StreamTiming]]:
    """All streams start together behind a barrier; wall time runs until the last one ends."""
    barrier = threading.Barrier(len(recognizers) + 1)

    def work(recognizer: Recognizer) -> StreamTiming:
        barrier.wait()
        return decode_stream(recognizer, pcm, clip_samples)

    with ThreadPoolExecutor(len(recognizers), thread_name_prefix="bench-asr") as pool:
        futures = [pool.submit(work, r) for r in recognizers]
        barrier.wait()
        began = time.perf_counter()
        timings = [f.result() for f in futures]
        wall = time.perf_counter() - began
    return wall, timings


@dataclass(slots=True)
class AsrAudio:
    """What one engine decodes: a stream of distinct utterances, and other speech to warm with."""

    stream: np.ndarray
    first_clip_samples: int
    warm_up: np.ndarray
    source: str


def _acquire(engine: AsrEngine, language: str, count: int) -> tuple[list[Recognizer], float]:
    began = time.perf_counter()
    recognizers = [engine.recognizer(language, RATE) for _ in range(count)]
    return recognizers, (time.perf_counter() - began) * 1000


def _timed_run(engine: AsrEngine, language: str, kind: str, count: int, audio: AsrAudio) -> AsrRun:
    recognizers, acquire_ms = _acquire(engine, language, count)
    try:
        wall, timings = decode_concurrently(recognizers, audio.stream, audio.first_clip_samples)
    finally:
        for recognizer in recognizers:
            engine.release(recognizer)
    total_audio = sum(t.audio_s for t in timings)
    return AsrRun(engine.name, language, kind, count, acquire_ms, wall, total_audio / wall, timings)


def bench_asr_engine(
    engine_name: str, language: str, audio: AsrAudio, streams: Sequence[int]
) -> list[AsrRun]:
    """For each stream count: freshly built recognizers, then pooled ones after `Reset()`.

    A new registry has empty pools, so its recognizers are new. The reused ones first decode
    different speech (as if they had served an earlier call), so both kinds meet the measured
    audio for the first time.
    """
    from asr.registry import build_registry

    runs = []
    for count in streams:
        engine = build_registry().engine(engine_name)
        runs.append(_timed_run(engine, language, "fresh", count, audio))
        engine = build_registry().engine(engine_name)
        recognizers, _ = _acquire(engine, language, count)
        try:
            decode_concurrently(recognizers, audio.warm_up, len(audio.warm_up))
        finally:
            for recognizer in recognizers:
                engine.release(recognizer)
        runs.append(_timed_run(engine, language, "reused", count, audio))
    return runs


def first_recognizer_s(engine_name: str, language: str) -> float:
    """Time to the first recognizer in this process, model loading included."""
    from asr.registry import build_registry

    began = time.perf_counter()
    engine = build_registry().engine(engine_name)
    engine.release(engine.recognizer(language, RATE))
    return time.perf_counter() - began


async def asr_audio(synthesizer: Synthesizer, seconds: float) -> dict[str, AsrAudio]:
    """Korean: the real clip (when present) then espeak-ng sentences; English: espeak-ng."""
    from telephony import decode_audio_file

    korean = await synthesize_lines(synthesizer, KOREAN_LINES, "ko")
    source = f"espeak-ng ({len(KOREAN_LINES)} sentences)"
    if KOREAN_CLIP.is_file():
        korean.insert(0, decode_audio_file(KOREAN_CLIP, RATE))
        source = f"{KOREAN_CLIP.name}, then {source}"
    english = await synthesize_lines(synthesizer, COMPLAINTS[:-ASR_WARM_UP_LINES], "en")
    audio = {}
    for language, parts, warm_lines, label in (
        ("ko", korean, KOREAN_WARM_UP, source),
        ("en", english, COMPLAINTS[-ASR_WARM_UP_LINES:], "espeak-ng complaint sentences"),
    ):
        stream, used = fill_to(parts, seconds)
        warm = join_with_gaps(await synthesize_lines(synthesizer, warm_lines, language), 0.5)
        repeats = f", repeated {used / len(parts):.1f}x" if used > len(parts) else ""
        label = f"{label}, {min(used, len(parts))} utterances{repeats}"
        audio[language] = AsrAudio(stream, len(parts[0]) + RATE // 2, warm, label)
    return audio


def bench_asr(seconds: float) -> AsrBench:
    from tts import default_synthesizer

    with default_synthesizer(workers=1) as synthesizer:
        audio = asyncio.run(asr_audio(synthesizer, seconds))
    plan = [("vosk", "ko"), ("pocketsphinx", "en")]
    setup = {name: first_recognizer_s(name, language) for name, language in plan}
    runs: list[AsrRun] = []
    for name, language in plan:
        runs += bench_asr_engine(name, language, audio[language], (1, 2))
    return AsrBench({lang: a.source for lang, a in audio.items()}, setup, runs)


# --- translation --------------------------------------------------------------------------


@dataclass(slots=True)
class TranslationBench:
    pair: str
    pipeline_start_ms: float
    piped_ms: Summary
    fresh_process_ms: Summary
    fresh_over_piped: float | None
    example: dict[str, str]


def _timed_ms(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return (time.perf_counter() - began) * 1000


def bench_translation(
    sentences: Sequence[str] = COMPLAINTS, fresh_count: int = 10
) -> TranslationBench:
    """One long-lived null-flush pipeline per sentence vs a whole `apertium` run per sentence."""
    from translate.apertium import ApertiumTranslator

    source, target = "en", "es"
    translator = ApertiumTranslator()
    try:
        start_ms = _timed_ms(lambda: translator.translate([sentences[0]], source, target))
        piped = [
            _timed_ms(lambda s=s: translator.translate([s], source, target)) for s in sentences
        ]
        fresh = [
            _timed_ms(lambda s=s: translator.translate_fresh_process(s, source, target))
            for s in sentences[:fresh_count]
        ]
        example = {sentences[0]: translator.translate([sentences[0]], source, target)[0]}
    finally:
        translator.close()
    piped_summary, fresh_summary = summarize(piped), summarize(fresh)
    ratio = (
        fresh_summary.p50 / piped_summary.p50
        if fresh_summary.p50 is not None and piped_summary.p50
        else None
    )
    return TranslationBench(
        f"{source}->{target}", start_ms, piped_summary, fresh_summary, ratio, example
    )


# --- TTS ----------------------------------------------------------------------------------


@dataclass(slots=True)
class TtsBench:
    language: str
    workers: int
    construct_ms: float
    cold_first_audio_ms: float
    short_first_audio_ms: Summary
    long_first_audio_ms: Summary
    long_total_ms: Summary
    synthesis_rtf: Summary


async def first_audio(synthesizer: Synthesizer, text: str, language: str) -> tuple[float, float]:
    """Seconds to the first chunk of ``stream_async`` and to the last, draining it all."""
    began = time.perf_counter()
    first: float | None = None
    async for _ in synthesizer.stream_async(text, language, RATE):
        if first is None:
            first = time.perf_counter() - began
    total = time.perf_counter() - began
    return (total if first is None else first), total


async def synthesis_rtf(synthesizer: Synthesizer, text: str, language: str) -> float:
    began = time.perf_counter()
    pcm = await synthesizer.synthesize_async(text, language, RATE)
    return (time.perf_counter() - began) / max(len(pcm) / RATE, 1e-6)


async def bench_tts(language: str = "es", workers: int = 2, rounds: int = 2) -> TtsBench:
    """Warm figures use a synthesizer without a phrase cache, so every request is synthesized."""
    from tts import default_synthesizer

    began = time.perf_counter()
    synthesizer = default_synthesizer(workers=workers, cache_size=0)
    construct_ms = (time.perf_counter() - began) * 1000
    try:
        cold, _ = await first_audio(synthesizer, SPANISH_SHORT[0], language)
        short = [
            (await first_audio(synthesizer, text, language))[0]
            for _ in range(rounds)
            for text in SPANISH_SHORT
        ]
        long = [
            await first_audio(synthesizer, text, language)
            for _ in range(rounds)
            for text in SPANISH_LONG
        ]
        rtf = [await synthesis_rtf(synthesizer, text, language) for text in SPANISH_SHORT]
    finally:
        synthesizer.close()
    return TtsBench(
        language,
        workers,
        construct_ms,
        cold * 1000,
        summarize(s * 1000 for s in short),
        summarize(first * 1000 for first, _ in long),
        summarize(total * 1000 for _, total in long),
        summarize(rtf),
    )


# --- engines: running and reporting ---------------------------------------------------------


@dataclass(slots=True)
class EnginesBench:
    asr: AsrBench
    translation: TranslationBench
    tts: TtsBench


def run_engines_bench(seconds: float) -> EnginesBench:
    return EnginesBench(bench_asr(seconds), bench_translation(), asyncio.run(bench_tts()))


def report_engines(result: EnginesBench) -> None:
    asr = result.asr
    print("ASR audio: " + "; ".join(f"{lang}: {src}" for lang, src in asr.audio.items()))
    print(
        "first recognizer (model load included): "
        + ", ".join(f"{name} {s:.2f} s" for name, s in asr.first_recognizer_s.items())
    )
    rows = []
    for run in asr.runs:
        rtfs = [t.rtf for t in run.per_stream]
        rows.append(
            [
                run.engine,
                run.language,
                run.recognizers,
                str(run.streams),
                fmt(run.per_stream[0].audio_s, 1),
                fmt(run.acquire_ms, 1),
                " / ".join(fmt(r) for r in rtfs),
                " / ".join(fmt(t.first_clip_rtf) for t in run.per_stream),
                fmt(max(t.worst_chunk_ms for t in run.per_stream), 0),
                fmt(run.throughput_streams, 1),
            ]
        )
    print_table(
        "ASR real-time factor (processing / audio per stream; 0.1 s chunks, threads)",
        [
            "engine",
            "lang",
            "recognizer",
            "streams",
            "audio s",
            "acquire ms",
            "RTF",
            "first-clip RTF",
            "worst chunk ms",
            "RT streams",
        ],
        rows,
    )
    mt = result.translation
    print_table(
        f"Apertium {mt.pair} latency per sentence (ms)",
        ["mode", "n", "p50", "p95", "max"],
        [
            [
                "piped",
                str(mt.piped_ms.count),
                fmt(mt.piped_ms.p50),
                fmt(mt.piped_ms.p95),
                fmt(mt.piped_ms.max),
            ],
            [
                "fresh process",
                str(mt.fresh_process_ms.count),
                fmt(mt.fresh_process_ms.p50),
                fmt(mt.fresh_process_ms.p95),
                fmt(mt.fresh_process_ms.max),
            ],
        ],
    )
    print(
        f"pipeline start (first sentence) {mt.pipeline_start_ms:.1f} ms; "
        f"fresh / piped median = {fmt(mt.fresh_over_piped, 0)}x"
    )
    tts = result.tts
    print_table(
        f"TTS ({tts.language}, {tts.workers} workers, no phrase cache)",
        ["metric", "n", "p50", "p95", "max"],
        [
            _summary_row("first audio, short text (ms)", tts.short_first_audio_ms),
            _summary_row("first audio, 3 sentences (ms)", tts.long_first_audio_ms),
            _summary_row("all audio, 3 sentences (ms)", tts.long_total_ms),
            _summary_row("synthesis RTF", tts.synthesis_rtf, 4),
        ],
    )
    print(
        f"cold: synthesizer built in {tts.construct_ms:.1f} ms, "
        f"first audio of the first request {tts.cold_first_audio_ms:.1f} ms"
    )


def _summary_row(name: str, summary: Summary, digits: int = 1) -> list[str]:
    return [
        name,
        str(summary.count),
        fmt(summary.p50, digits),
        fmt(summary.p95, digits),
        fmt(summary.max, digits),
    ]
