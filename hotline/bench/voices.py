"""``hotline bench voices``: Piper against espeak-ng for English, on city complaints.

Speed: time to first audio (the first chunk of ``stream_async`` on two-sentence complaints)
and real-time factor (synthesis time over audio length), medians. Intelligibility: each
sentence is spoken at 16 kHz and heard back by PocketSphinx (``transcribe``); the word
error rate (jiwer) of what it hears says how clearly the voice speaks to a machine, a rough
stand-in for a caller on the phone.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field

import jiwer
import numpy as np

from hotline.bench.common import COMPLAINTS, BenchError, print_table, write_json
from hotline.engines import ASR_RATE, transcribe
from tts import EspeakSynthesizer, PiperSynthesizer, Synthesizer, TtsError

__all__ = ["VoiceResult", "VoicesBench", "add_arguments", "run", "run_voices_bench"]

PAD_S = 0.3
# PocketSphinx's dictionary spells the American way.
_SPELLING = {"neighbour": "neighbor", "neighbourhood": "neighborhood", "centre": "center"}


@dataclass(slots=True)
class VoiceResult:
    engine: str
    first_audio_s: float
    """Median time from asking to the first audio of a two-sentence reply."""
    real_time_factor: float
    """Median synthesis time over audio length."""
    wer: float
    exact: int
    """Sentences PocketSphinx heard word for word."""
    sentences: int
    heard: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VoicesBench:
    sentences: int
    results: list[VoiceResult]


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "voices",
        help="English TTS: Piper vs espeak-ng, time to first audio, RTF, PocketSphinx round trip",
    )
    p.add_argument(
        "--sentences",
        type=int,
        default=10,
        metavar="N",
        help=f"complaint sentences per engine (default 10, at most {len(COMPLAINTS)})",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.sentences <= len(COMPLAINTS):
        raise BenchError(f"--sentences must be in 2..{len(COMPLAINTS)}")
    result = run_voices_bench(args.sentences)
    report_voices(result)
    if args.json:
        write_json(args.json, "voices", result)
    return 0


def run_voices_bench(count: int) -> VoicesBench:
    lines = COMPLAINTS[:count]
    results = []
    for build in (_piper, lambda: EspeakSynthesizer(workers=1, cache_size=0)):
        with build() as engine:
            engine.synthesize("Warming up the voice.", "en", ASR_RATE)
            results.append(_measure(engine, lines))
    return VoicesBench(count, results)


def report_voices(bench: VoicesBench) -> None:
    rows = [
        (
            r.engine,
            f"{r.first_audio_s * 1000:.0f}",
            f"{r.real_time_factor:.3f}",
            f"{r.wer:.3f}",
            f"{r.exact}/{r.sentences}",
        )
        for r in bench.results
    ]
    print_table(
        f"English voices on {bench.sentences} complaint sentences (medians; WER through PocketSphinx)",
        ["engine", "first audio ms", "RTF", "WER", "heard exactly"],
        rows,
    )


def _piper() -> Synthesizer:
    try:
        return PiperSynthesizer(workers=1, cache_size=0)
    except TtsError as exc:
        raise BenchError(f"Piper cannot run here: {exc}") from exc


def _measure(engine: Synthesizer, lines: list[str]) -> VoiceResult:
    replies = [f"{a} {b}" for a, b in zip(lines[::2], lines[1::2], strict=False)]
    first_audio = [asyncio.run(_first_audio(engine, reply)) for reply in replies]
    factors = []
    truth, heard = [], []
    pad = np.zeros(int(PAD_S * ASR_RATE), dtype=np.int16)
    for line in lines:
        started = time.perf_counter()
        pcm = engine.synthesize(line, "en", ASR_RATE)
        factors.append((time.perf_counter() - started) / (pcm.size / ASR_RATE))
        finals = transcribe(np.concatenate([pad, pcm, pad]), "en", engine="pocketsphinx")
        truth.append(_words(line))
        heard.append(_words(" ".join(final.text for final in finals)))
    return VoiceResult(
        engine=engine.name,
        first_audio_s=statistics.median(first_audio),
        real_time_factor=statistics.median(factors),
        wer=float(jiwer.wer(truth, heard)),
        exact=sum(t == h for t, h in zip(truth, heard, strict=True)),
        sentences=len(lines),
        heard=heard,
    )


async def _first_audio(engine: Synthesizer, text: str) -> float:
    started = time.perf_counter()
    elapsed = None
    async for _chunk in engine.stream_async(text, "en", ASR_RATE):
        if elapsed is None:
            elapsed = time.perf_counter() - started
    if elapsed is None:
        raise BenchError(f"{engine.name} gave no audio for {text!r}")
    return elapsed


def _words(text: str) -> str:
    words = re.sub(r"[^a-z' ]", " ", text.lower()).split()
    return " ".join(_SPELLING.get(word, word) for word in words)
