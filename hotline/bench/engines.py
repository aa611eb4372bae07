"""``hotline bench``: how fast the engines and whole translated calls run on this machine.

Benchmarks are the one place timings are measured; they report and never assert. Results
always print as tables and, with ``--json PATH``, are written out for comparison across
machines and commits. Engine imports stay inside functions so that ``hotline --help`` and
every other sub-command do not pay for them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from asr import AsrEngine, Recognizer
    from tts import Synthesizer

__all__ = ["BenchError", "add_arguments", "main", "run_engines_bench"]

T = TypeVar("T")

RATE = 16000
ASR_CHUNK_S = 0.1
SPEECH_THRESHOLD = 328

KOREAN_CLIP = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "speech"
    / "ko"
    / "pv_leopard_test_ko.wav"
)
KOREAN_LINES = [
    "우리 집 앞 가로등이 고장 났어요.",
    "쓰레기가 이 주일 동안 수거되지 않았습니다.",
    "학교 근처 도로에 큰 구멍이 있어요.",
    "오늘 아침 버스가 사십 분 늦게 왔습니다.",
    "이웃이 매일 밤 늦게까지 음악을 크게 틀어요.",
    "어제부터 수돗물이 갈색으로 나옵니다.",
    "어젯밤 폭풍으로 나무가 인도에 쓰러졌어요.",
    "광장 신호등이 작동하지 않습니다.",
]
KOREAN_WARM_UP = [
    "도서관 벽에 누군가 낙서를 했어요.",
    "공원에 밤에 켜지는 전등이 없습니다.",
]
ASR_WARM_UP_LINES = 2
COMPLAINTS = [
    "The street light in front of my house is broken.",
    "Nobody has collected the garbage on our street for two weeks.",
    "There is a large hole in the road near the school.",
    "The bus to the city centre was forty minutes late this morning.",
    "My neighbour plays loud music every night after midnight.",
    "The water from my tap has been brown since yesterday.",
    "A tree fell on the pavement during the storm last night.",
    "The traffic light at the main square does not work.",
    "Someone painted graffiti on the wall of the public library.",
    "The park near my home has no working lights at night.",
    "Cars park on the pavement and block the way for wheelchairs.",
    "The heating in the community centre has been off for a week.",
    "There are rats in the courtyard behind the market.",
    "The recycling bins on my street are always full.",
    "A water pipe is leaking under the bridge on River Street.",
    "The pedestrian crossing near the hospital has faded paint.",
    "The elevator at the metro station has been broken for a month.",
    "Dogs are left without a leash in the children's playground.",
    "The sewer smells very bad in front of the bakery.",
    "Construction work starts at five in the morning every day.",
    "The bench in the square is broken and dangerous.",
    "There is no ramp at the entrance of the town hall.",
    "The snow was not cleared from the sidewalk on Oak Avenue.",
    "Trucks drive too fast through our quiet neighbourhood.",
    "The public toilets in the central park are always closed.",
    "An abandoned car has been parked on my street for months.",
    "The fountain in the old town is full of rubbish.",
    "My water bill is twice as high as last month.",
    "The night bus did not stop at my station yesterday.",
    "The road signs near the airport are hard to read.",
]
SPANISH_SHORT = [
    "La farola está rota.",
    "Gracias por su llamada.",
    "Enviaremos un técnico mañana.",
    "¿Dónde está el problema?",
    "Su queja ha sido registrada.",
    "Un momento, por favor.",
    "¿Puede repetir la dirección?",
    "El camión pasará el lunes.",
]
SPANISH_LONG = [
    "Gracias por su llamada. Hemos registrado su queja. Un técnico irá mañana por la mañana.",
    "La calle estará cerrada hasta el viernes. Puede usar la avenida del parque. Disculpe las molestias.",
    "El autobús llegó tarde por un accidente. Ya hemos avisado a la empresa. Le llamaremos esta semana.",
    "Necesito su dirección completa. También necesito un número de teléfono. Así podremos avisarle.",
    "El agua volverá esta tarde. Los técnicos ya están trabajando. Gracias por su paciencia.",
]


COST_CURVE_TITLE = "hotline: cost and latency of simultaneous translated calls (2-core machine)"


class BenchError(RuntimeError):
    """A benchmark could not run to the end; the message says which step failed and why."""


# --- statistics and output ----------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """The distribution of one metric; percentiles are None when nothing was measured."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None


def summarize(values: Iterable[float]) -> Summary:
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return Summary(0, None, None, None)
    return Summary(
        int(data.size),
        float(np.percentile(data, 50)),
        float(np.percentile(data, 95)),
        float(data.max()),
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def machine() -> dict[str, Any]:
    """Enough about the machine to tell results from different ones apart."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": platform.python_version(),
    }


def write_json(path: str, kind: str, result: Any) -> None:
    payload = {"benchmark": kind, "machine": machine(), "result": asdict(result)}
    Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    print(f"\nresults written to {path}")


# --- speech to feed the recognizers and the calls -------------------------------------------


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def speech_bounds(pcm: np.ndarray) -> tuple[int, int]:
    """First and one-past-last sample above -40 dBFS: where speech starts and ends in a clip."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SPEECH_THRESHOLD)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


async def synthesize_lines(
    synthesizer: Synthesizer, lines: Sequence[str], language: str
) -> list[np.ndarray]:
    """Each line spoken, trimmed to its speech so that where speech ends is known exactly."""
    out = []
    for line in lines:
        pcm = await synthesizer.synthesize_async(line, language, RATE)
        start, end = speech_bounds(pcm)
        out.append(pcm[start:end])
    return out


def join_with_gaps(parts: Sequence[np.ndarray], gap_s: float) -> np.ndarray:
    pieces: list[np.ndarray] = []
    for part in parts:
        pieces += [part, silence(gap_s)]
    return np.concatenate(pieces)


def fill_to(parts: Sequence[np.ndarray], seconds: float) -> tuple[np.ndarray, int]:
    """Utterances in turn, 0.5 s apart, until `seconds` of audio; also how many were used.

    Audio repeats only when the utterances run out: a recognizer decodes repeated audio far
    faster than new audio (its graph cache already holds the path), which would flatter it.
    """
    wanted = int(seconds * RATE)
    pieces: list[np.ndarray] = []
    total = used = 0
    while total < wanted or not pieces:
        part = np.concatenate([parts[used % len(parts)], silence(0.5)])
        pieces.append(part)
        total += len(part)
        used += 1
    return np.concatenate(pieces)[: max(wanted, len(pieces[0]))], used


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
                _fmt(run.per_stream[0].audio_s, 1),
                _fmt(run.acquire_ms, 1),
                " / ".join(_fmt(r) for r in rtfs),
                " / ".join(_fmt(t.first_clip_rtf) for t in run.per_stream),
                _fmt(max(t.worst_chunk_ms for t in run.per_stream), 0),
                _fmt(run.throughput_streams, 1),
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
                _fmt(mt.piped_ms.p50),
                _fmt(mt.piped_ms.p95),
                _fmt(mt.piped_ms.max),
            ],
            [
                "fresh process",
                str(mt.fresh_process_ms.count),
                _fmt(mt.fresh_process_ms.p50),
                _fmt(mt.fresh_process_ms.p95),
                _fmt(mt.fresh_process_ms.max),
            ],
        ],
    )
    print(
        f"pipeline start (first sentence) {mt.pipeline_start_ms:.1f} ms; "
        f"fresh / piped median = {_fmt(mt.fresh_over_piped, 0)}x"
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
        _fmt(summary.p50, digits),
        _fmt(summary.p95, digits),
        _fmt(summary.max, digits),
    ]


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `hotline bench` sub-commands."""
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("engines", help="ASR real-time factor, translation and TTS latency")
    p.add_argument(
        "--seconds", type=float, default=20.0, help="seconds of speech per ASR stream (default 20)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p = sub.add_parser(
        "call", help="latency, CPU and memory of simultaneous translated calls on hotline serve"
    )
    p.add_argument("--calls", type=int, default=1, help="simultaneous calls (default 1)")
    p.add_argument(
        "--max-calls",
        type=int,
        metavar="M",
        help="step 1, 2, 3, 4, 6, 8, ... up to M calls and report the most that meet the targets",
    )
    p.add_argument(
        "--all-steps",
        action="store_true",
        help="with --max-calls, go on after a step that misses a target (for the cost curve)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="rounds of calls per step, each with other sentences (default 1)",
    )
    _server_env_argument(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--svg", metavar="PATH", help="also draw the cost curve as an SVG line chart")
    p = sub.add_parser("soak", help="calls back to back for minutes; the server's RSS over time")
    p.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    p.add_argument("--calls", type=int, default=2, help="calls at once (default 2)")
    _server_env_argument(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    from hotline.bench import asr_peer as bench_asr

    bench_asr.add_arguments(sub)


def _server_env_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="HOTLINE_KEY=VALUE",
        help="configuration for the server under test, as an environment variable (repeatable)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        if args.bench == "asr-peer":
            from hotline.bench import asr_peer as bench_asr

            return bench_asr.main(args)
        if args.bench == "engines":
            if args.seconds <= 0:
                raise BenchError("--seconds must be positive")
            engines = run_engines_bench(args.seconds)
            report_engines(engines)
            if args.json:
                write_json(args.json, "engines", engines)
        elif args.bench == "call":
            from hotline.bench import calls as bench_calls

            if min(args.calls, args.repeat, args.max_calls or 1) < 1:
                raise BenchError("--calls, --max-calls and --repeat must be at least 1")
            calls = asyncio.run(
                bench_calls.run_call_bench(
                    args.calls, args.max_calls, args.server_env, args.all_steps, args.repeat
                )
            )
            bench_calls.report_calls(calls)
            if args.json:
                write_json(args.json, "call", calls)
            if args.svg:
                Path(args.svg).write_text(bench_calls.cost_curve_svg(calls, COST_CURVE_TITLE))
                print(f"cost curve drawn in {args.svg}")
        else:
            from hotline.bench import calls as bench_calls

            if args.calls < 1 or args.minutes <= 0:
                raise BenchError("--calls must be at least 1 and --minutes positive")
            soak = asyncio.run(bench_calls.run_soak(args.minutes, args.calls, args.server_env))
            bench_calls.report_soak(soak)
            if args.json:
                write_json(args.json, "soak", soak)
    except BenchError as exc:
        print(f"hotline bench: {exc}", file=sys.stderr)
        return 1
    return 0
