"""``hotline bench narrowband``: what the telephone band costs the recognizers, and what wins
some of it back.

Phone callers arrive as 8 kHz G.711; the recognizers were trained on 16 kHz. Each clip is
decoded once per condition with :func:`hotline.engines.transcribe` (a fresh recognizer and
our VAD, 100 ms chunks, like a call leg):

* ``16k``: the clip as recorded (or synthesized), the web caller's path;
* ``16k-bandlimited``: down to 8 kHz and back, no codec: the bandwidth alone;
* ``ulaw-8k`` (Twilio, PCMU) and ``alaw-8k`` (PCMA): down to 8 kHz (libsoxr MQ, as a phone
  network's anti-alias filter would), through the codec, and back up with the call path's own
  ``telephony.StreamResampler`` fed 20 ms frames;
* ``ulaw-8k+...``: the µ-law path with one remedy each (another upsampler quality, a tilt
  towards the high band, something in the empty 4-8 kHz band, a longer VAD tail).

Two sets per language, reported apart: the real recordings in ``../shared/data/speech`` and
complaint sentences synthesized with espeak-ng. Korean is scored by CER, English by WER, both
over the whole set (all edits over all reference units). Engine imports stay inside
functions so that ``hotline --help`` does not pay for them.
"""

from __future__ import annotations

import asyncio
import csv
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from hotline.bench.common import (
    COMPLAINTS,
    KOREAN_LINES,
    KOREAN_WARM_UP,
    RATE,
    SPEECH_DIR,
    BenchError,
    print_table,
    synthesize_lines,
)
from telephony.wideband import BandFold, HighBandNoise

__all__ = [
    "CONDITIONS",
    "SPEECH_DIR",
    "Condition",
    "ConditionScore",
    "NarrowbandBench",
    "SetResult",
    "degrade",
    "normalise",
    "report_narrowband",
    "run_narrowband_bench",
]

PHONE_RATE = 8000
FRAME_8K = PHONE_RATE // 50  # 20 ms, as Twilio and RTP carry it
PAD_S = 0.3
CER_LANGUAGES = frozenset({"ko", "ja", "zh"})
BASELINE = "ulaw-8k"

KOREAN_COMPLAINTS = [
    *KOREAN_LINES,
    *KOREAN_WARM_UP,
    "아파트 엘리베이터가 일주일째 멈춰 있어요.",
    "공원 화장실 문이 항상 잠겨 있습니다.",
    "골목에 버려진 자동차가 몇 달째 서 있어요.",
    "밤마다 오토바이 소리가 너무 시끄러워요.",
    "횡단보도 선이 다 지워져서 위험합니다.",
    "하수구에서 냄새가 심하게 나요.",
    "눈이 치워지지 않아서 길이 미끄럽습니다.",
    "놀이터에 깨진 유리가 있어요.",
    "주차된 차들이 인도를 막고 있습니다.",
    "수도 요금이 지난달보다 두 배나 나왔어요.",
    "시장 뒤에 쥐가 너무 많습니다.",
    "버스 정류장 의자가 부서졌어요.",
    "공사 소음이 새벽 다섯 시부터 시작됩니다.",
    "도로 표지판이 잘 보이지 않아요.",
    "분리수거함이 항상 가득 차 있습니다.",
    "지하철역 계단 조명이 꺼져 있어요.",
    "개를 목줄 없이 산책시키는 사람이 많아요.",
    "다리 밑에서 수도관이 새고 있습니다.",
    "주민센터 난방이 일주일 동안 꺼져 있어요.",
    "시청 입구에 경사로가 없습니다.",
]
SENTENCES = {"en": COMPLAINTS, "ko": KOREAN_COMPLAINTS}

# The espeak voice is British, PocketSphinx's dictionary American: spelled one way on both sides.
_SPELLING = {"neighbour": "neighbor", "neighbourhood": "neighborhood", "centre": "center"}
NORMALISATION = (
    "both sides alike: lower-cased; every character that is not a letter, digit, apostrophe "
    "or space becomes a space; apostrophes at word edges dropped; British -our/-re spellings "
    "of neighbour(hood)/centre mapped to American. CER languages (ko) then drop all spaces "
    "and count characters; WER languages (en) split on spaces and count words."
)


# --- the conditions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One way a clip reaches the recognizer."""

    name: str
    description: str
    codec: str | None = None  # "ulaw", "alaw", "pcm" (8 kHz, no codec) or None (16 kHz as is)
    upsampler: str = "MQ"  # libsoxr quality for 8 -> 16 kHz; MQ is telephony.StreamResampler
    pre_emphasis: float = 0.0
    fold_db: float | None = None
    noise_dbfs: float | None = None
    trailing_silence_ms: int = 300


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in [
        Condition("16k", "16 kHz as recorded: the web caller's path (reference)"),
        Condition("16k-bandlimited", "16 -> 8 -> 16 kHz, no codec: the bandwidth alone", "pcm"),
        Condition("ulaw-8k", "µ-law 8 kHz (Twilio, PCMU), call path's MQ upsampler", "ulaw"),
        Condition("alaw-8k", "A-law 8 kHz (PCMA), call path's MQ upsampler", "alaw"),
        Condition("ulaw-8k+vhq", "µ-law, upsampled with soxr VHQ instead of MQ", "ulaw", "VHQ"),
        Condition(
            "ulaw-8k+tilt",
            "µ-law, pre-emphasis 0.5 on the 8 kHz band (-6 dB at 0 Hz, +3.5 dB at 4 kHz)",
            "ulaw",
            pre_emphasis=0.5,
        ),
        Condition(
            "ulaw-8k+fold",
            "µ-law, 0-4 kHz band mirrored into the empty 4-8 kHz band at -30 dB",
            "ulaw",
            fold_db=-30.0,
        ),
        Condition(
            "ulaw-8k+noise",
            "µ-law, white noise at -50 dBFS in the empty 4-8 kHz band",
            "ulaw",
            noise_dbfs=-50.0,
        ),
        Condition(
            "ulaw-8k+vad500",
            "µ-law, VAD trailing silence 500 ms instead of 300",
            "ulaw",
            trailing_silence_ms=500,
        ),
    ]
}


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


def _upsample(pcm8k: np.ndarray, quality: str) -> np.ndarray:
    """8 -> 16 kHz in 20 ms frames; MQ goes through the call path's own StreamResampler."""
    if quality == "MQ":
        from telephony import StreamResampler

        resampler = StreamResampler(PHONE_RATE, RATE)
        parts = [resampler.process(pcm8k[i : i + FRAME_8K]) for i in range(0, len(pcm8k), FRAME_8K)]
        return np.concatenate([*parts, resampler.flush()])
    import soxr

    stream = soxr.ResampleStream(PHONE_RATE, RATE, 1, dtype=np.float32, quality=quality)
    parts = [
        stream.resample_chunk(pcm8k[i : i + FRAME_8K].astype(np.float32))
        for i in range(0, len(pcm8k), FRAME_8K)
    ]
    parts.append(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return _to_int16(np.concatenate(parts))


def degrade(pcm: np.ndarray, condition: str | Condition, seed: int = 0) -> np.ndarray:
    """``pcm`` (int16, 16 kHz) as the recognizer hears it under ``condition``, at 16 kHz."""
    cond = CONDITIONS[condition] if isinstance(condition, str) else condition
    if cond.codec is None:
        return pcm
    from telephony import alaw_decode, alaw_encode, resample, ulaw_decode, ulaw_encode

    narrow = resample(pcm, RATE, PHONE_RATE)
    if cond.codec == "ulaw":
        narrow = ulaw_decode(ulaw_encode(narrow))
    elif cond.codec == "alaw":
        narrow = alaw_decode(alaw_encode(narrow))
    if cond.pre_emphasis:
        x = narrow.astype(np.float32)
        x[1:] -= cond.pre_emphasis * narrow[:-1].astype(np.float32)
        narrow = _to_int16(x)
    wide = _upsample(narrow, cond.upsampler)
    if cond.fold_db is not None:
        fold = BandFold(cond.fold_db)
        step = RATE // 50
        wide = np.concatenate([fold.process(wide[i : i + step]) for i in range(0, len(wide), step)])
    if cond.noise_dbfs is not None:
        noise = HighBandNoise(cond.noise_dbfs, seed)
        step = RATE // 50
        wide = np.concatenate(
            [noise.process(wide[i : i + step]) for i in range(0, len(wide), step)]
        )
    return wide


# --- scoring ----------------------------------------------------------------------------------


def normalise(text: str, language: str) -> str:
    """The text both sides are scored on (see NORMALISATION)."""
    text = re.sub(r"[^\w\s']|_", " ", text.lower())
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    words = [_SPELLING.get(w, w) for w in text.split()]
    return "".join(words) if language in CER_LANGUAGES else " ".join(words)


def _edits(reference: str, hypothesis: str, language: str) -> tuple[int, int]:
    """Edits (substitutions + deletions + insertions) and reference units of one clip."""
    import jiwer

    if language in CER_LANGUAGES:
        out = jiwer.process_characters(reference, hypothesis)
    else:
        out = jiwer.process_words(reference, hypothesis)
    edits = out.substitutions + out.deletions + out.insertions
    return edits, out.hits + out.substitutions + out.deletions


# --- results ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ConditionScore:
    """One condition on one set; ``change`` is relative to 16 kHz; ``better``/``worse`` count
    the clips with fewer/more edits than under µ-law 8 kHz as is."""

    condition: str
    error_rate: float
    edits: int
    change: float | None
    better: int
    worse: int
    hypotheses: list[str]


@dataclass(slots=True)
class SetResult:
    """One language's clips of one kind: ``real`` recordings or ``synthetic`` espeak-ng."""

    language: str
    kind: str
    engine: str
    metric: str
    clips: int
    units: int
    audio_s: float
    files: list[str]
    references: list[str]
    scores: list[ConditionScore] = field(default_factory=list)

    def score(self, condition: str) -> ConditionScore | None:
        return next((s for s in self.scores if s.condition == condition), None)


@dataclass(slots=True)
class NarrowbandBench:
    conditions: dict[str, str]
    sets: list[SetResult]
    missing: list[str]
    normalisation: str
    workers: int
    wall_s: float


# --- the clips --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Clips:
    language: str
    kind: str
    files: list[str]
    references: list[str]
    audio: list[np.ndarray]


def _real_clips(language: str, speech_dir: Path) -> _Clips:
    from telephony import read_wav, resample

    folder = speech_dir / language
    table = folder / "transcripts.tsv"
    if not table.is_file():
        raise BenchError(
            f"no real {language} recordings: {table} is missing (the shared speech data lives "
            f"in {speech_dir}, beside the repository)"
        )
    files, references, audio = [], [], []
    with table.open(encoding="utf-8", newline="") as rows:
        for row in csv.reader(rows, delimiter="\t"):
            if len(row) < 2 or not row[0].strip():
                continue
            path = folder / row[0].strip()
            if not path.is_file():
                raise BenchError(f"{table} names {path.name}, which is missing")
            pcm, rate = read_wav(path)
            files.append(path.name)
            references.append(row[1].strip())
            audio.append(resample(pcm, rate, RATE))
    if not files:
        raise BenchError(f"no real {language} recordings listed in {table}")
    return _Clips(language, "real", files, references, audio)


def _synthetic_clips(languages: Sequence[str], count: int) -> list[_Clips]:
    from hotline.engines import synthesizer

    voice = synthesizer()
    pad = np.zeros(int(PAD_S * RATE), dtype=np.int16)

    async def speak(language: str) -> _Clips:
        lines = SENTENCES[language][:count]
        pcm = await synthesize_lines(voice, lines, language)
        audio = [np.concatenate([pad, p, pad]) for p in pcm]
        names = [f"espeak-{language}-{i + 1:02d}" for i in range(len(lines))]
        return _Clips(language, "synthetic", names, list(lines), audio)

    async def speak_all() -> list[_Clips]:
        return [await speak(language) for language in languages]

    try:
        return asyncio.run(speak_all())
    finally:
        voice.close()


# --- decoding ---------------------------------------------------------------------------------


_Job = tuple[str, np.ndarray, int, str | None]


def _decode(job: _Job) -> str:
    """One clip through a fresh recognizer and our VAD; the text of its Finals."""
    from hotline.engines import transcribe

    language, pcm, trailing_silence_ms, model = job
    finals = transcribe(pcm, language, model=model, trailing_silence_ms=trailing_silence_ms)
    return " ".join(f.text for f in finals if f.text)


def _decode_batch(jobs: list[_Job]) -> list[str]:
    return [_decode(job) for job in jobs]


def _decode_all(jobs: list[_Job], workers: int) -> list[str]:
    """In worker processes (PocketSphinx holds the GIL while it decodes), each given a fixed
    share of the jobs in a fixed order: a Vosk model keeps state between recognizers that
    can tip a near-tie, so results repeat only when each process decodes the same sequence."""
    from hotline.engines import ENGINE_ERRORS

    try:
        if workers <= 1:
            return _decode_batch(jobs)
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
            shares = [pool.submit(_decode_batch, jobs[k::workers]) for k in range(workers)]
            done = [share.result() for share in shares]
    except ENGINE_ERRORS as exc:
        raise BenchError(f"speech recognition failed: {exc}") from exc
    texts = [""] * len(jobs)
    for k, share in enumerate(done):
        texts[k::workers] = share
    return texts


def _recognizers() -> dict[str, list[str]]:
    """Each language with a recognizer here, and the engines for it, best first."""
    from asr.registry import build_registry

    registry = build_registry()
    try:
        return registry.languages()
    finally:
        registry.close()


# --- the benchmark ----------------------------------------------------------------------------


def run_narrowband_bench(
    languages: Sequence[str] = ("ko", "en"),
    synthetic: int = 20,
    *,
    real: bool = True,
    conditions: Sequence[str] | None = None,
    workers: int | None = None,
    speech_dir: Path | None = None,
    models: dict[str, str] | None = None,
) -> NarrowbandBench:
    """Decode every clip under every condition and score it. A missing real set is noted in
    ``missing`` (and on stderr) and the synthetic set still runs. ``models`` maps a language
    to a Vosk model folder (a narrowband one, say) used instead of the installed engine."""
    names = list(conditions) if conditions else list(CONDITIONS)
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown:
        raise BenchError(f"unknown condition {unknown[0]!r}; known: {', '.join(CONDITIONS)}")
    for needed in ("16k", BASELINE):
        if needed not in names:
            names.insert(0 if needed == "16k" else 1, needed)
    if synthetic < 0:
        raise BenchError("--synthetic must be 0 or more")
    models = dict(models or {})
    installed = _recognizers()
    for language, folder in models.items():
        from asr.vosk_engine import model_problem

        problem = model_problem(Path(folder).expanduser())
        if problem:
            raise BenchError(f"--model {language}: {problem}")
        installed[language] = [f"vosk ({Path(folder).name})"]
    for language in languages:
        if language not in installed:
            have = ", ".join(installed) or "none"
            raise BenchError(f"no speech recognizer for {language!r} here (installed: {have})")
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    speech_dir = speech_dir or SPEECH_DIR
    began = time.perf_counter()

    clip_sets: list[_Clips] = []
    missing: list[str] = []
    if real:
        for language in languages:
            try:
                clip_sets.append(_real_clips(language, speech_dir))
            except BenchError as exc:
                missing.append(str(exc))
                print(f"hotline bench: {exc}; going on with the synthetic set", file=sys.stderr)
    if synthetic:
        with_lines = [lang for lang in languages if lang in SENTENCES]
        for language in languages:
            if language not in SENTENCES:
                missing.append(f"no synthetic sentences for {language!r}")
            elif synthetic > len(SENTENCES[language]):
                raise BenchError(
                    f"--synthetic {synthetic}: only {len(SENTENCES[language])} {language} sentences"
                )
        clip_sets += _synthetic_clips(with_lines, synthetic)
    if not clip_sets:
        raise BenchError("nothing to measure: " + "; ".join(missing or ["no clips"]))

    jobs, where = [], []
    for s, clips in enumerate(clip_sets):
        for name in names:
            cond = CONDITIONS[name]
            for c, pcm in enumerate(clips.audio):
                jobs.append(
                    (
                        clips.language,
                        degrade(pcm, cond, seed=c),
                        cond.trailing_silence_ms,
                        models.get(clips.language),
                    )
                )
                where.append((s, name))
    print(
        f"decoding {len(jobs)} clips ({sum(len(c.audio) for c in clip_sets)} clips × "
        f"{len(names)} conditions) on {workers} worker(s) ...",
        flush=True,
    )
    texts = _decode_all(jobs, workers)

    hypotheses: dict[tuple[int, str], list[str]] = {}
    for key, text in zip(where, texts, strict=True):
        hypotheses.setdefault(key, []).append(text)
    sets = [
        _score_set(clips, names, {n: hypotheses[(s, n)] for n in names}, installed)
        for s, clips in enumerate(clip_sets)
    ]
    return NarrowbandBench(
        conditions={n: CONDITIONS[n].description for n in names},
        sets=sets,
        missing=missing,
        normalisation=NORMALISATION,
        workers=workers,
        wall_s=time.perf_counter() - began,
    )


def _score_set(
    clips: _Clips,
    names: list[str],
    hypotheses: dict[str, list[str]],
    installed: dict[str, list[str]],
) -> SetResult:
    language = clips.language
    refs = [normalise(r, language) for r in clips.references]
    per_clip = {
        name: [_edits(r, normalise(h, language), language) for r, h in zip(refs, hyps, strict=True)]
        for name, hyps in hypotheses.items()
    }
    units = sum(u for _, u in per_clip[names[0]])
    result = SetResult(
        language=language,
        kind=clips.kind,
        engine=installed[language][0],
        metric="CER" if language in CER_LANGUAGES else "WER",
        clips=len(refs),
        units=units,
        audio_s=round(sum(len(a) for a in clips.audio) / RATE, 2),
        files=clips.files,
        references=clips.references,
    )
    base = sum(e for e, _ in per_clip["16k"]) / units
    phone = [e for e, _ in per_clip[BASELINE]]
    for name in names:
        edits = [e for e, _ in per_clip[name]]
        rate = sum(edits) / units
        result.scores.append(
            ConditionScore(
                condition=name,
                error_rate=rate,
                edits=sum(edits),
                change=(rate - base) / base if base > 0 else None,
                better=sum(e < p for e, p in zip(edits, phone, strict=True)),
                worse=sum(e > p for e, p in zip(edits, phone, strict=True)),
                hypotheses=hypotheses[name],
            )
        )
    return result


# --- the report -------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 100:+.0f}%"


def _rate(score: ConditionScore | None) -> str:
    return "-" if score is None else f"{score.error_rate:.3f}"


def report_narrowband(result: NarrowbandBench) -> None:
    """Error rates per set and condition, then each remedy against µ-law 8 kHz as is."""
    names = list(result.conditions)
    rows = []
    for s in result.sets:
        base = s.score(BASELINE)
        rows.append(
            [
                s.language,
                s.kind,
                s.engine,
                str(s.clips),
                f"{s.metric} ({s.units})",
                *(_rate(s.score(n)) for n in names),
                _percent(base.change if base else None),
            ]
        )
    print_table(
        "Error rate per condition (lower is better); real = recordings, synthetic = espeak-ng",
        ["lang", "set", "engine", "clips", "metric (units)", *names, "µ-law vs 16k"],
        rows,
    )
    remedies = [n for n in names if n not in ("16k", BASELINE)]
    rows = []
    for s in result.sets:
        base = s.score(BASELINE)
        if base is None:
            continue
        cells = []
        for n in remedies:
            sc = s.score(n)
            if sc is None:
                cells.append("-")
                continue
            delta = (sc.error_rate - base.error_rate) / base.error_rate if base.error_rate else None
            cells.append(f"{_percent(delta)} ({sc.better}↑ {sc.worse}↓)")
        rows.append([s.language, s.kind, f"{base.error_rate:.3f}", *cells])
    print_table(
        "Each condition against µ-law 8 kHz as is: relative change in error rate "
        "(clips better↑ / worse↓)",
        ["lang", "set", BASELINE, *remedies],
        rows,
    )
    print("\nconditions:")
    for name, description in result.conditions.items():
        print(f"  {name:16} {description}")
    print(f"\ntext normalisation: {result.normalisation}")
    for note in result.missing:
        print(f"not measured: {note}")
    print(f"\n{result.wall_s:.0f} s on {result.workers} worker(s)")
