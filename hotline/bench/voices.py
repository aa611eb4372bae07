"""``hotline bench voices``: the neural voices against espeak-ng, on city complaints.

English: Piper against espeak-ng. Japanese: Kokoro against espeak-ng (which reads kanji as
kana). Speed for both: time to first audio (the first chunk of ``stream_async`` on
two-sentence complaints, so the first sentence only) and real-time factor (synthesis time
over audio length), medians; ``ready`` is building the engine and speaking one warm-up
phrase (Kokoro loads its model then). Intelligibility, English only: each sentence is spoken
at 16 kHz and heard back by PocketSphinx (``transcribe``); the word error rate (jiwer) of what
it hears says how clearly the voice speaks to a machine, a rough stand-in for a caller on the
phone. No Japanese recognizer is installed, so Japanese has no such round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jiwer
import numpy as np

from hotline.bench.common import COMPLAINTS, BenchError, print_table, write_json
from hotline.engines import ASR_RATE, transcribe
from tts import EspeakSynthesizer, KokoroSynthesizer, PiperSynthesizer, Synthesizer, TtsError

__all__ = [
    "JA_COMPLAINTS",
    "VoiceResult",
    "VoicesBench",
    "add_arguments",
    "run",
    "run_voices_bench",
]

PAD_S = 0.3
NO_JA_RECOGNIZER = "n/a (no ja recognizer)"
# PocketSphinx's dictionary spells the American way.
_SPELLING = {"neighbour": "neighbor", "neighbourhood": "neighborhood", "centre": "center"}
_WARM_UP = {"en": "Warming up the voice.", "ja": "音声の準備をしています。"}

JA_COMPLAINTS = [
    "街灯が壊れています。",
    "家の前の道路に大きな穴があります。",
    "ゴミが二週間も回収されていません。",
    "公園の水道から水が漏れています。",
    "隣の工事の音がとてもうるさいです。",
    "交差点の信号機が動いていません。",
    "歩道に自転車がたくさん放置されています。",
    "下水のにおいがひどいです。",
    "バス停の屋根が壊れています。",
    "川にごみが捨てられています。",
    "駅前の階段が滑りやすくて危ないです。",
    "夜中に騒音が続いて眠れません。",
    "道路標識が倒れています。",
    "公園の遊具が錆びていて危険です。",
    "マンションの前に粗大ごみが置かれたままです。",
    "水道の水が昨日から茶色いです。",
    "街路樹の枝が電線にかかっています。",
    "側溝が詰まって雨水があふれています。",
    "空き家の窓ガラスが割れています。",
    "横断歩道の白線が消えかかっています。",
]
"""Short Japanese complaints a caller might make, written for this benchmark."""

_LINES = {"en": COMPLAINTS, "ja": JA_COMPLAINTS}


@dataclass(slots=True)
class VoiceResult:
    engine: str
    language: str
    ready_s: float
    """Building the engine and speaking one warm-up phrase (model load included)."""
    first_audio_s: float
    """Median time from asking to the first audio of a two-sentence reply."""
    real_time_factor: float
    """Median synthesis time over audio length."""
    wer: float | None
    """PocketSphinx's word error rate on the speech; None where no recognizer hears it."""
    exact: int | None
    """Sentences PocketSphinx heard word for word; None where no recognizer hears it."""
    sentences: int
    heard: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VoicesBench:
    sentences: int
    results: list[VoiceResult]


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "voices",
        help="TTS: Piper vs espeak-ng (English), Kokoro vs espeak-ng (Japanese): first audio, "
        "RTF, PocketSphinx round trip for English",
    )
    p.add_argument(
        "--sentences",
        type=int,
        default=10,
        metavar="N",
        help=f"complaint sentences per engine (default 10, at most "
        f"{min(len(lines) for lines in _LINES.values())})",
    )
    p.add_argument(
        "--language",
        choices=["en", "ja", "all"],
        default="all",
        help="which comparison to run (default all)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def run(args: argparse.Namespace) -> int:
    languages = ["en", "ja"] if args.language == "all" else [args.language]
    most = min(len(_LINES[language]) for language in languages)
    if not 2 <= args.sentences <= most:
        raise BenchError(f"--sentences must be in 2..{most}")
    result = run_voices_bench(args.sentences, languages)
    report_voices(result)
    if args.json:
        write_json(args.json, "voices", result)
    return 0


def run_voices_bench(count: int, languages: list[str] | None = None) -> VoicesBench:
    """Each language's neural voice, then espeak-ng, on the first ``count`` complaints."""
    builders: dict[str, tuple[Callable[[], Synthesizer], ...]] = {
        "en": (_piper, _espeak),
        "ja": (_kokoro, _espeak),
    }
    results = []
    for language in languages or ["en", "ja"]:
        lines = _LINES[language][:count]
        for build in builders[language]:
            started = time.perf_counter()
            with build() as engine:
                engine.synthesize(_WARM_UP[language], language, ASR_RATE)
                ready = time.perf_counter() - started
                results.append(_measure(engine, language, lines, ready))
    return VoicesBench(count, results)


def report_voices(bench: VoicesBench) -> None:
    for language, title in [
        ("en", "English voices on {n} complaint sentences (medians; WER through PocketSphinx)"),
        ("ja", "Japanese voices on {n} complaint sentences (medians)"),
    ]:
        results = [r for r in bench.results if r.language == language]
        if not results:
            continue
        rows = [
            (
                r.engine,
                f"{r.ready_s:.2f}",
                f"{r.first_audio_s * 1000:.0f}",
                f"{r.real_time_factor:.3f}",
                NO_JA_RECOGNIZER if r.wer is None else f"{r.wer:.3f}",
                NO_JA_RECOGNIZER if r.exact is None else f"{r.exact}/{r.sentences}",
            )
            for r in results
        ]
        print_table(
            title.format(n=bench.sentences),
            ["engine", "ready s", "first audio ms", "RTF", "WER", "heard exactly"],
            rows,
        )
        if language == "ja":
            print(
                "  no Japanese recognizer is installed, so intelligibility by round trip "
                "cannot be measured"
            )


def _piper() -> Synthesizer:
    try:
        return PiperSynthesizer(workers=1, cache_size=0)
    except TtsError as exc:
        raise BenchError(f"Piper cannot run here: {exc}") from exc


def _kokoro() -> Synthesizer:
    try:
        return KokoroSynthesizer(workers=1, cache_size=0)
    except TtsError as exc:
        raise BenchError(f"Kokoro cannot run here: {exc}") from exc


def _espeak() -> Synthesizer:
    return EspeakSynthesizer(workers=1, cache_size=0)


def _measure(engine: Synthesizer, language: str, lines: list[str], ready_s: float) -> VoiceResult:
    joiner = "" if language == "ja" else " "
    replies = [f"{a}{joiner}{b}" for a, b in zip(lines[::2], lines[1::2], strict=False)]
    first_audio = [asyncio.run(_first_audio(engine, reply, language)) for reply in replies]
    factors = []
    truth, heard = [], []
    pad = np.zeros(int(PAD_S * ASR_RATE), dtype=np.int16)
    for line in lines:
        started = time.perf_counter()
        pcm = engine.synthesize(line, language, ASR_RATE)
        factors.append((time.perf_counter() - started) / (pcm.size / ASR_RATE))
        if language == "en":
            finals = transcribe(np.concatenate([pad, pcm, pad]), "en", engine="pocketsphinx")
            truth.append(_words(line))
            heard.append(_words(" ".join(final.text for final in finals)))
    return VoiceResult(
        engine=engine.name,
        language=language,
        ready_s=ready_s,
        first_audio_s=statistics.median(first_audio),
        real_time_factor=statistics.median(factors),
        wer=float(jiwer.wer(truth, heard)) if truth else None,
        exact=sum(t == h for t, h in zip(truth, heard, strict=True)) if truth else None,
        sentences=len(lines),
        heard=heard,
    )


async def _first_audio(engine: Synthesizer, text: str, language: str) -> float:
    started = time.perf_counter()
    elapsed = None
    async for _chunk in engine.stream_async(text, language, ASR_RATE):
        if elapsed is None:
            elapsed = time.perf_counter() - started
    if elapsed is None:
        raise BenchError(f"{engine.name} gave no audio for {text!r}")
    return elapsed


def _words(text: str) -> str:
    words = re.sub(r"[^a-z' ]", " ", text.lower()).split()
    return " ".join(_SPELLING.get(word, word) for word in words)
