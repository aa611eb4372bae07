"""``hotline bench quality``: how well each layer of the hotline does its job, one table per
layer, each figure with where it came from.

* **asr**: WER and CER per language with a recognizer here, on the real recordings of
  ``../shared/data/speech/<lang>/`` (``transcripts.tsv``), at 16 kHz as recorded and at 8 kHz
  as a phone leg hears it. Every clip goes through :func:`hotline.engines.transcribe`, which
  settles the engine on the file first, as ``hotline transcribe`` does.
* **mt**: chrF and BLEU (sacrebleu) per direction between the columns of
  ``hotline/bench/data/mt_references.tsv``, a multi-parallel set of city complaints written
  for this project. Each direction follows the route the router takes (direct, or through a
  pivot such as ``fr → es → en``); a direction with an engine of its own is also measured on
  the pivot route the router would take without that engine, so direct and pivot compare.
* **tts**: intelligibility by round trip: complaint sentences spoken by the voice the hotline
  uses and heard back by the recognizer for that language.
* **langid**: the share of texts the typed-text language ID names correctly, leaves unsure or
  gets wrong, on the reference columns and on ``hotline/cases/data/labelled.tsv``; speech
  language ID comes from ``hotline/bench/langid.py`` when that module is there.

Recognition reuses ``hotline bench narrowband``'s clips, phone path, normalisation and worker
processes, so the two benchmarks score alike.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib
import importlib.util
import math
import os
import subprocess
import sys
import time
import traceback
import wave
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hotline.bench.common import (
    COMPLAINTS,
    RATE,
    REPO,
    SPEECH_DIR,
    BenchError,
    machine,
    print_table,
    synthesize_lines,
    write_json,
)
from hotline.bench.narrowband import (
    KOREAN_COMPLAINTS,
    NORMALISATION,
    PAD_S,
    _decode_all,
    _real_clips,
    _recognizers,
    degrade,
    normalise,
)
from translate.base import Translator

if TYPE_CHECKING:
    from translate import Hop, Router
    from translate.identify import LanguageIdentifier
    from tts import Synthesizer

__all__ = [
    "REFERENCES",
    "SECTIONS",
    "QualityBench",
    "add_arguments",
    "markdown",
    "read_references",
    "report_quality",
    "run",
    "run_quality_bench",
    "text_language_identifier",
]

SECTIONS = ("asr", "mt", "tts", "langid")
REFERENCES = Path(__file__).resolve().parent / "data" / "mt_references.tsv"
LABELLED = REPO / "hotline" / "cases" / "data" / "labelled.tsv"
TTS_SENTENCES = {"en": COMPLAINTS, "ko": KOREAN_COMPLAINTS}
PHONE_CONDITION = "ulaw-8k"
MT_BATCH = 100
"""Sentences per engine call: far inside Apertium's 10 s answer timeout on a busy machine."""
SPEECH_LANGID_MODULE = "hotline.bench.langid"
WORDS = "words"
"""Any language ``normalise`` does not score by character: it keeps the spaces."""


# --- results ----------------------------------------------------------------------------------


@dataclass(slots=True)
class AsrScore:
    """One language's recordings through one band."""

    language: str
    engine: str
    audio: str
    clips: int
    seconds: float
    words: int
    characters: int
    wer: float
    cer: float
    hypotheses: list[str]


@dataclass(slots=True)
class AsrSection:
    speech_dir: str
    engines: dict[str, str]
    scores: list[AsrScore]
    no_recognizer: dict[str, tuple[int, float]]
    """Languages with recordings and no recognizer here: clips and seconds."""
    method: str
    normalisation: str


@dataclass(slots=True)
class MtScore:
    """One direction along one route."""

    source: str
    target: str
    path: list[str]
    taken: bool
    """The router's own route for this direction (False: the pivot it would take without the
    direct engine)."""
    engines: str
    sentences: int
    chrf: float | None
    bleu: float | None
    error: str | None
    hypotheses: list[str]

    @property
    def route(self) -> str:
        return " → ".join(self.path)

    @property
    def direct(self) -> bool:
        return len(self.path) == 2


@dataclass(slots=True)
class MtSection:
    references: str
    languages: list[str]
    sentences: int
    signatures: dict[str, str]
    scores: list[MtScore]
    no_route: list[str]


@dataclass(slots=True)
class TtsScore:
    """One voice's sentences heard back at 16 kHz."""

    language: str
    voice: str
    role: str
    recognizer: str
    sentences: int
    seconds: float
    wer: float
    cer: float
    exact: int
    hypotheses: list[str]


@dataclass(slots=True)
class TtsSection:
    voices: dict[str, str]
    scores: list[TtsScore]


@dataclass(slots=True)
class LangidScore:
    """How one language's texts of one data set were identified (shares of ``items``)."""

    data: str
    language: str
    items: int
    correct: float
    unsure: float
    wrong: float
    mistaken_for: dict[str, int]
    top_correct: float
    """Share whose most likely language is right, whatever the confidence."""


@dataclass(slots=True)
class LangidSection:
    identifier: str
    languages: list[str]
    min_confidence: float
    scores: list[LangidScore]
    speech: dict[str, Any] | None
    speech_note: str


@dataclass(slots=True)
class QualityBench:
    command: str
    measured: str
    commit: str | None
    machine: dict[str, Any]
    sections: list[str]
    limit: int | None
    asr: AsrSection | None = None
    mt: MtSection | None = None
    tts: TtsSection | None = None
    langid: LangidSection | None = None
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# --- the command --------------------------------------------------------------------------------


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quality",
        help="quality per layer: ASR WER/CER at 16 and 8 kHz, MT chrF per pair and path, "
        "TTS round trip, language ID",
    )
    p.add_argument(
        "--section",
        default=",".join(SECTIONS),
        metavar="A,B",
        help=f"sections to run (default: all of {','.join(SECTIONS)})",
    )
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="only the first N items of every set (clips, sentences, lines): a quick look, "
        "not figures to compare",
    )
    p.add_argument(
        "--languages",
        metavar="A,B",
        help="reference columns to translate between and identify (default: every column)",
    )
    p.add_argument(
        "--tts-sentences",
        type=int,
        default=20,
        metavar="N",
        help="complaint sentences per voice (default 20)",
    )
    p.add_argument(
        "--speech-dir",
        type=Path,
        default=SPEECH_DIR,
        help="recordings, one folder per language with transcripts.tsv "
        "(default: ../shared/data/speech)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--markdown", metavar="PATH", help="also write the tables as markdown (for docs/quality.md)"
    )


def run(args: argparse.Namespace) -> int:
    sections = [s.strip() for s in args.section.split(",") if s.strip()]
    languages = (
        [x.strip() for x in args.languages.split(",") if x.strip()] if args.languages else None
    )
    result = run_quality_bench(
        sections,
        limit=args.limit,
        languages=languages,
        tts_sentences=args.tts_sentences,
        speech_dir=args.speech_dir,
        command=_command(args),
    )
    report_quality(result)
    if args.json:
        write_json(args.json, "quality", result)
    if args.markdown:
        Path(args.markdown).write_text(markdown(result), encoding="utf-8")
        print(f"markdown written to {args.markdown}")
    return 0


def _command(args: argparse.Namespace) -> str:
    parts = ["hotline bench quality"]
    if args.section != ",".join(SECTIONS):
        parts.append(f"--section {args.section}")
    if args.limit is not None:
        parts.append(f"--limit {args.limit}")
    if args.languages:
        parts.append(f"--languages {args.languages}")
    if args.tts_sentences != 20:
        parts.append(f"--tts-sentences {args.tts_sentences}")
    if Path(args.speech_dir) != SPEECH_DIR:
        parts.append(f"--speech-dir {args.speech_dir}")
    return " ".join(parts)


def run_quality_bench(
    sections: Sequence[str] = SECTIONS,
    *,
    limit: int | None = None,
    languages: Sequence[str] | None = None,
    tts_sentences: int = 20,
    speech_dir: Path | None = None,
    workers: int = 2,
    command: str = "hotline bench quality",
) -> QualityBench:
    """Every requested section, in the order of :data:`SECTIONS`. The speech sections are
    skipped, with a note, when the recordings are absent."""
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise BenchError(
            f"unknown section {unknown[0] if unknown else ''!r}; known: {', '.join(SECTIONS)}"
        )
    if limit is not None and limit < 1:
        raise BenchError("--limit must be at least 1")
    if tts_sentences < 1:
        raise BenchError("--tts-sentences must be at least 1")
    speech_dir = Path(speech_dir or SPEECH_DIR)
    corpus = read_references()
    columns = list(languages) if languages else list(corpus)
    missing = [lang for lang in columns if lang not in corpus]
    if missing:
        raise BenchError(
            f"no reference column {missing[0]!r} in {REFERENCES.name} (columns: {', '.join(corpus)})"
        )
    corpus = {lang: _first(corpus[lang], limit) for lang in columns}
    result = QualityBench(
        command=command,
        measured=datetime.now(UTC).isoformat(timespec="seconds"),
        commit=_commit(),
        machine=machine(),
        sections=[s for s in SECTIONS if s in sections],
        limit=limit,
    )
    have_speech = speech_dir.is_dir()
    for section in result.sections:
        began = time.perf_counter()
        if section == "asr":
            if have_speech:
                result.asr = _measure_asr(speech_dir, limit, workers)
            else:
                result.skipped.append(f"asr: no recordings, {speech_dir} is absent")
        elif section == "mt":
            result.mt = _measure_mt(corpus)
        elif section == "tts":
            result.tts = _measure_tts(min(tts_sentences, limit or tts_sentences), workers)
        else:
            result.langid = _measure_langid(corpus, limit, speech_dir if have_speech else None)
        result.seconds[section] = round(time.perf_counter() - began, 1)
    return result


def _first(items: Sequence[Any], limit: int | None) -> Any:
    return items[:limit] if limit is not None else items


def _commit() -> str | None:
    """The commit measured, marked ``+changes`` when the tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


# --- the reference corpus -----------------------------------------------------------------------


def read_references(path: Path = REFERENCES) -> dict[str, list[str]]:
    """Each language column of the multi-parallel reference set, rows in file order."""
    with path.open(encoding="utf-8", newline="") as rows:
        table = list(csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = table[0], [row for row in table[1:] if row]
    if header[0] != "id":
        raise BenchError(f"{path}: the first column must be 'id'")
    for row in body:
        if len(row) != len(header):
            raise BenchError(f"{path}: row {row[0]!r} has {len(row)} cells, not {len(header)}")
    return {lang: [row[i] for row in body] for i, lang in enumerate(header) if i > 0}


# --- scoring ------------------------------------------------------------------------------------


def _error_rates(
    references: Sequence[str], hypotheses: Sequence[str]
) -> tuple[float, float, int, int]:
    """Corpus WER and CER (all edits over all reference units) of normalised texts: words
    split on spaces, characters with the spaces taken out."""
    import jiwer

    word_edits = words = char_edits = chars = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref_words, hyp_words = normalise(reference, WORDS), normalise(hypothesis, WORDS)
        if not ref_words:
            continue
        w = jiwer.process_words(ref_words, hyp_words)
        word_edits += w.substitutions + w.deletions + w.insertions
        words += w.hits + w.substitutions + w.deletions
        c = jiwer.process_characters(ref_words.replace(" ", ""), hyp_words.replace(" ", ""))
        char_edits += c.substitutions + c.deletions + c.insertions
        chars += c.hits + c.substitutions + c.deletions
    return word_edits / max(words, 1), char_edits / max(chars, 1), words, chars


# --- asr ----------------------------------------------------------------------------------------


def as_phone_leg(pcm: np.ndarray, engine: str) -> tuple[np.ndarray, str]:
    """``pcm`` (16 kHz) as a phone leg's recognizer hears it: to 8 kHz and G.711 µ-law and back
    through the call path's upsampler (``hotline bench narrowband``'s ``ulaw-8k``), then the
    band fill the call path gives ``engine`` (``hotline.engines.narrowband_fill``, auto)."""
    from hotline.engines import NARROWBAND_RATE, narrowband_fill

    wide = degrade(pcm, PHONE_CONDITION)
    fill = narrowband_fill(engine, NARROWBAND_RATE)
    if fill is None:
        return wide, "8 kHz µ-law"
    label = {"BandFold": "band fold", "HighBandNoise": "high-band noise"}.get(
        type(fill).__name__, type(fill).__name__
    )
    return fill.process(wide), f"8 kHz µ-law + {label}"


def _recognizer_label(language: str) -> str:
    """Engine, version and model folder recognizing ``language``, for the report."""
    from asr.registry import build_registry

    registry = build_registry()
    try:
        engine = registry.engine_for(language)
        described = engine.describe().get("languages", {}).get(language, {})
    finally:
        registry.close()
    model = Path(described.get("model") or "") if isinstance(described, dict) else Path()
    where = f"{model.parent.name}/{model.name}" if model.name else "built in"
    return f"{engine.name} {_version(engine.name)}, model {where}"


def _measure_asr(speech_dir: Path, limit: int | None, workers: int) -> AsrSection:
    installed = _recognizers()
    recorded = sorted(p.name for p in speech_dir.iterdir() if (p / "transcripts.tsv").is_file())
    clip_sets = [_real_clips(lang, speech_dir) for lang in recorded if lang in installed]
    no_recognizer = {
        lang: _listed_audio(speech_dir / lang, limit) for lang in recorded if lang not in installed
    }
    jobs, where = [], []
    for clips in clip_sets:
        engine = installed[clips.language][0]
        audio = _first(clips.audio, limit)
        for pcm in audio:
            jobs.append((clips.language, pcm, 300, None))
            where.append((clips.language, "16 kHz"))
        for pcm in audio:
            phoned, label = as_phone_leg(pcm, engine)
            jobs.append((clips.language, phoned, 300, None))
            where.append((clips.language, label))
    print(f"asr: decoding {len(jobs)} clips on {workers} worker(s) ...", flush=True)
    texts = _decode_all(jobs, workers)
    heard: dict[tuple[str, str], list[str]] = {}
    for key, text in zip(where, texts, strict=True):
        heard.setdefault(key, []).append(text)
    scores = []
    for clips in clip_sets:
        references = _first(clips.references, limit)
        audio = _first(clips.audio, limit)
        for (language, band), hypotheses in heard.items():
            if language != clips.language:
                continue
            wer, cer, words, chars = _error_rates(references, hypotheses)
            scores.append(
                AsrScore(
                    language=language,
                    engine=installed[language][0],
                    audio=band,
                    clips=len(references),
                    seconds=round(sum(len(a) for a in audio) / RATE, 1),
                    words=words,
                    characters=chars,
                    wer=wer,
                    cer=cer,
                    hypotheses=hypotheses,
                )
            )
    return AsrSection(
        speech_dir=os.path.relpath(speech_dir, REPO),
        engines={c.language: _recognizer_label(c.language) for c in clip_sets},
        scores=scores,
        no_recognizer=no_recognizer,
        method=(
            "hotline.engines.transcribe: settled on the file (as `hotline transcribe`), then "
            "streamed in 100 ms chunks through a fresh recognizer and the VAD (300 ms), 2 worker "
            "processes. 8 kHz: telephony.resample 16 → 8 kHz (libsoxr MQ), G.711 µ-law, "
            "telephony.StreamResampler 8 → 16 kHz in 20 ms frames, then the engine's band fill "
            "(hotline.engines.narrowband_fill, auto)."
        ),
        normalisation=NORMALISATION.split(" CER languages")[0]
        + " WER over words split on spaces; CER over characters with the spaces taken out.",
    )


def _listed_audio(folder: Path, limit: int | None) -> tuple[int, float]:
    """Clips listed in a folder's transcripts.tsv and their seconds."""
    names = [
        line.split("\t", 1)[0].strip()
        for line in (folder / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
        if "\t" in line
    ]
    names = _first(names, limit)
    seconds = 0.0
    for name in names:
        with wave.open(str(folder / name), "rb") as w:
            seconds += w.getnframes() / w.getframerate()
    return len(names), round(seconds, 1)


# --- mt -----------------------------------------------------------------------------------------


class _Without(Translator):
    """An engine seen without some of its directions: a router over such engines takes the
    route it would take if those directions' engines were not installed."""

    def __init__(self, engine: Translator, hidden: set[tuple[str, str]]) -> None:
        self.engine = engine
        self.name = engine.name
        self._pairs = engine.pairs() - hidden

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._pairs)

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        return self.engine.translate(texts, source, target)

    def provenance(self, source: str, target: str) -> str:
        return self.engine.provenance(source, target)

    def close(self) -> None:
        """The engine stays open: the real router owns it."""


def _pivot_instead(router: Router, source: str, target: str) -> list[Hop] | None:
    """The route the router would take from ``source`` to ``target`` with no direct engine."""
    from translate import NoEngineForPair
    from translate import Router as RouterClass

    hidden = {(source, target)}
    without = RouterClass([_Without(e, hidden) for e in router.engines])
    try:
        return without.route(source, target)
    except NoEngineForPair:
        return None


@dataclass(slots=True)
class _Plan:
    source: str
    target: str
    hops: list[Hop]
    taken: bool

    @property
    def path(self) -> tuple[str, ...]:
        return (self.hops[0].source, *(hop.target for hop in self.hops))


def _measure_mt(corpus: dict[str, list[str]]) -> MtSection:
    from sacrebleu.metrics import BLEU, CHRF

    from hotline.engines import translation_router
    from translate import NoEngineForPair

    languages = list(corpus)
    router = translation_router()
    try:
        plans, no_route = [], []
        for source in languages:
            for target in languages:
                if source == target:
                    continue
                try:
                    hops = router.route(source, target)
                except NoEngineForPair:
                    no_route.append(f"{source}→{target}")
                    continue
                plans.append(_Plan(source, target, hops, True))
                if len(hops) == 1:
                    pivot = _pivot_instead(router, source, target)
                    if pivot:
                        plans.append(_Plan(source, target, pivot, False))
        print(f"mt: {len(plans)} routes between {', '.join(languages)} ...", flush=True)
        outputs = _translate_routes(plans, corpus)
    finally:
        router.close()
    chrf, bleu = CHRF(), BLEU()
    scores = []
    for plan in plans:
        references = corpus[plan.target]
        out = outputs[plan.path]
        failed = isinstance(out, str)
        scores.append(
            MtScore(
                source=plan.source,
                target=plan.target,
                path=list(plan.path),
                taken=plan.taken,
                engines=" + ".join(h.engine.provenance(h.source, h.target) for h in plan.hops),
                sentences=len(references),
                chrf=None if failed else chrf.corpus_score(out, [references]).score,
                bleu=None if failed else bleu.corpus_score(out, [references]).score,
                error=out if failed else None,
                hypotheses=[] if failed else list(out),
            )
        )
    scored = any(s.chrf is not None for s in scores)
    return MtSection(
        references=str(REFERENCES.relative_to(REPO)),
        languages=languages,
        sentences=len(next(iter(corpus.values()))),
        signatures={
            "chrF": str(chrf.get_signature()) if scored else "",
            "BLEU": str(bleu.get_signature()) if scored else "",
        },
        scores=scores,
        no_route=no_route,
    )


def _translate_routes(
    plans: list[_Plan], corpus: dict[str, list[str]]
) -> dict[tuple[str, ...], list[str] | str]:
    """Every route's translations (or why it failed), hop by hop as ``Router.translate`` runs
    them. A route's prefix is translated once for every route that shares it, and each
    direction's sentences of one hop level go to its engine together; its Apertium pipeline is
    then closed, since forty open pipelines hold gigabytes."""
    from translate import TranslationError

    done: dict[tuple[str, ...], list[str] | str] = {
        (lang,): texts for lang, texts in corpus.items()
    }
    for level in range(max((len(p.hops) for p in plans), default=0)):
        work: dict[tuple[str, str], dict[tuple[str, ...], Hop]] = {}
        for plan in plans:
            if len(plan.hops) > level:
                hop = plan.hops[level]
                work.setdefault((hop.source, hop.target), {})[plan.path[: level + 2]] = hop
        for (source, target), prefixes in work.items():
            todo = [p for p in prefixes if p not in done]
            ready = [p for p in todo if not isinstance(done[p[:-1]], str)]
            for p in todo:
                if p not in ready:
                    done[p] = done[p[:-1]]
            if not ready:
                continue
            engine = prefixes[ready[0]].engine
            texts = [text for p in ready for text in done[p[:-1]]]
            try:
                out: list[str] = []
                for i in range(0, len(texts), MT_BATCH):
                    out += engine.translate(texts[i : i + MT_BATCH], source, target)
            except TranslationError as exc:
                reason = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                for p in ready:
                    done[p] = f"{engine.name} {source}→{target}: {reason}"
            else:
                at = 0
                for p in ready:
                    count = len(done[p[:-1]])
                    done[p], at = out[at : at + count], at + count
            finally:
                _close_pipelines(engine)
    return done


def _close_pipelines(engine: Any) -> None:
    close_idle = getattr(getattr(engine, "engine", engine), "close_idle", None)
    if close_idle is not None:
        close_idle(now=math.inf)


# --- tts ----------------------------------------------------------------------------------------


def _voice_label(voice: Synthesizer, language: str) -> str:
    """The engine and voice that speak ``language``, with its version."""
    described = voice.describe()
    engine_for = getattr(voice, "engine_for", None)
    name = engine_for(language) if engine_for is not None else voice.name
    info = described.get("engines", {}).get(name, described)
    if name == "piper":
        return f"Piper {info.get('voice', '')} (piper-tts {info.get('piper-tts', '?')})"
    return f"espeak-ng (pyttsx3 {info.get('pyttsx3', '?')})"


def _measure_tts(count: int, workers: int) -> TtsSection:
    from hotline.engines import synthesizer
    from tts import EspeakSynthesizer

    for language, lines in TTS_SENTENCES.items():
        if count > len(lines):
            raise BenchError(f"--tts-sentences {count}: only {len(lines)} {language} sentences")
    recognizers = _recognizers()
    voice = synthesizer()
    espeak = EspeakSynthesizer(workers=1, cache_size=0)
    pad = np.zeros(int(PAD_S * RATE), dtype=np.int16)
    sets: list[tuple[str, str, str, list[np.ndarray]]] = []
    labels: dict[str, str] = {}

    async def speak(engine: Synthesizer, language: str, role: str) -> None:
        label = _voice_label(engine, language)
        lines = TTS_SENTENCES[language][:count]
        pcm = await synthesize_lines(engine, lines, language)
        sets.append((language, label, role, [np.concatenate([pad, p, pad]) for p in pcm]))
        labels[f"{language} {role}"] = label

    async def speak_all() -> None:
        for language in TTS_SENTENCES:
            if language not in recognizers:
                continue
            await speak(voice, language, "default")
            if _voice_label(voice, language) != _voice_label(espeak, language):
                await speak(espeak, language, "fallback")

    try:
        asyncio.run(speak_all())
    finally:
        voice.close()
        espeak.close()
    jobs = [(language, pcm, 300, None) for language, _, _, audio in sets for pcm in audio]
    print(f"tts: hearing {len(jobs)} sentences back on {workers} worker(s) ...", flush=True)
    texts = iter(_decode_all(jobs, workers))
    scores = []
    for language, label, role, audio in sets:
        lines = TTS_SENTENCES[language][:count]
        heard = [next(texts) for _ in audio]
        wer, cer, _, _ = _error_rates(lines, heard)
        scores.append(
            TtsScore(
                language=language,
                voice=label,
                role=role,
                recognizer=recognizers[language][0],
                sentences=len(lines),
                seconds=round(sum(len(a) for a in audio) / RATE, 1),
                wer=wer,
                cer=cer,
                exact=sum(
                    normalise(line, language) == normalise(h, language)
                    for line, h in zip(lines, heard, strict=True)
                ),
                hypotheses=heard,
            )
        )
    return TtsSection(voices=labels, scores=scores)


# --- langid -------------------------------------------------------------------------------------


def text_language_identifier() -> LanguageIdentifier:
    """The typed-text language ID as ``Engines.identify_language`` builds it: restricted to the
    call menu's languages, the recognizers' and every translation pair's."""
    from hotline.config import load_config
    from hotline.engines import translation_router
    from translate.identify import LanguageIdentifier

    languages = {*load_config().call.menu_languages, *_recognizers()}
    router = translation_router()
    try:
        for source, target in router.pairs():
            languages |= {source, target}
    finally:
        router.close()
    return LanguageIdentifier(languages)


def _labelled(limit: int | None) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    with LABELLED.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_language.setdefault(row["language"], []).append(row["text"])
    return {lang: _first(texts, limit) for lang, texts in by_language.items()}


def _measure_langid(
    corpus: dict[str, list[str]], limit: int | None, speech_dir: Path | None
) -> LangidSection:
    from translate.identify import MIN_CONFIDENCE

    identifier = text_language_identifier()
    scores = []
    for data, sets in (
        (REFERENCES.name, corpus),
        (LABELLED.name, _labelled(limit)),
    ):
        for language, texts in sets.items():
            answers = Counter(identifier.identify(text).language for text in texts)
            top = sum(identifier.identify(text, 0.0).language == language for text in texts)
            n = len(texts)
            scores.append(
                LangidScore(
                    data=data,
                    language=language,
                    items=n,
                    correct=answers[language] / n,
                    unsure=answers[None] / n,
                    wrong=(n - answers[language] - answers[None]) / n,
                    mistaken_for={
                        str(k): v for k, v in answers.most_common() if k not in (language, None)
                    },
                    top_correct=top / n,
                )
            )
    speech, note = _speech_langid(speech_dir)
    return LangidSection(
        identifier=f"translate.identify.LanguageIdentifier (py3langid {_version('py3langid')})",
        languages=identifier.languages,
        min_confidence=MIN_CONFIDENCE,
        scores=scores,
        speech=speech,
        speech_note=note,
    )


def _speech_langid(speech_dir: Path | None) -> tuple[dict[str, Any] | None, str]:
    """Speech language ID from ``hotline/bench/langid.py`` (``measure_speech_langid``), written
    apart from this module; "not measured" while it is not there. Its failure is reported (and
    its traceback printed) without losing the figures of the other sections."""
    if speech_dir is None:
        return None, "speech language ID: not measured (no recordings)"
    if importlib.util.find_spec(SPEECH_LANGID_MODULE) is None:
        return None, "speech language ID: not measured"
    source = f"{SPEECH_LANGID_MODULE}.measure_speech_langid"
    try:
        module = importlib.import_module(SPEECH_LANGID_MODULE)
        if not hasattr(module, "measure_speech_langid"):
            return None, "speech language ID: not measured"
        print("langid: speech language ID ...", flush=True)
        return module.measure_speech_langid(speech_dir), f"speech language ID: {source}"
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"speech language ID: {source} failed ({type(exc).__name__}: {reason})"


# --- the report ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _share(value: float) -> str:
    return f"{value * 100:.0f}%"


def _provenance(result: QualityBench) -> list[str]:
    """Where every figure came from, one line each."""
    m = result.machine
    lines = [
        f"command: `{result.command}`",
        f"measured {result.measured} at commit {result.commit or 'unknown'} on {m['cpus']} "
        f"CPUs, {m['platform']}, Python {m['python']}"
        + (f"; only the first {result.limit} items of every set" if result.limit else ""),
    ]
    if result.asr is not None:
        a = result.asr
        clips = sum(s.clips for s in a.scores if s.audio == "16 kHz")
        engines = "; ".join(f"{lang}: {label}" for lang, label in a.engines.items())
        lines.append(
            f"asr: {clips} real recordings with transcripts.tsv in {a.speech_dir} ({engines}). "
            f"{a.method}"
        )
    if result.mt is not None:
        t = result.mt
        lines.append(
            f"mt: {t.sentences} city-complaint sentences in each of {', '.join(t.languages)} "
            f"from {t.references} (multi-parallel, written for this project); "
            "hotline.engines.translation_router() (every installed engine: Apertium modes in "
            "/usr/share/apertium/modes), routes chosen by Router.route, no glossary; "
            f"sacrebleu {_version('sacrebleu')} chrF [{t.signatures['chrF']}] and BLEU "
            f"[{t.signatures['BLEU']}], corpus level."
        )
    if result.tts is not None:
        voices = "; ".join(f"{k}: {v}" for k, v in result.tts.voices.items())
        lines.append(
            "tts: the first complaint sentences of hotline.bench.common.COMPLAINTS (en) and "
            "hotline.bench.narrowband.KOREAN_COMPLAINTS (ko), spoken at 16 kHz by "
            f"hotline.engines.synthesizer() ({voices}), 0.3 s of silence each side, heard back "
            "by hotline.engines.transcribe."
        )
    if result.langid is not None:
        g = result.langid
        lines.append(
            f"langid: {g.identifier}, restricted to the {len(g.languages)} languages the hotline "
            f"hears, speaks or translates ({', '.join(g.languages)}), as "
            f"Engines.identify_language; unsure below confidence {g.min_confidence}; on the "
            f"columns of {REFERENCES.name} and the lines of hotline/cases/data/{LABELLED.name}."
        )
    return lines


def _tables(result: QualityBench) -> list[_Table]:
    tables = []
    if result.asr is not None:
        a = result.asr
        rows = [
            [
                s.language,
                s.engine,
                s.audio,
                str(s.clips),
                f"{s.seconds:.1f}",
                f"{_f(s.wer)} ({s.words})",
                f"{_f(s.cer)} ({s.characters})",
            ]
            for s in a.scores
        ]
        rows += [
            [lang, "no recognizer", "-", str(clips), f"{seconds:.1f}", "-", "-"]
            for lang, (clips, seconds) in a.no_recognizer.items()
        ]
        tables.append(
            _Table(
                "ASR: error rates on real recordings (lower is better; reference words and "
                "characters in brackets)",
                ["language", "engine", "audio", "clips", "seconds", "WER (words)", "CER (chars)"],
                rows,
                [
                    f"text normalisation: {a.normalisation}",
                    "Korean is read by CER: its spaced units (eojeol) are split differently by "
                    "speakers and recognizers, so its WER overstates the errors",
                ],
            )
        )
    if result.mt is not None:
        tables += _mt_tables(result.mt)
    if result.tts is not None:
        rows = [
            [
                s.language,
                s.voice,
                s.role,
                s.recognizer,
                str(s.sentences),
                f"{s.seconds:.1f}",
                _f(s.wer),
                _f(s.cer),
                f"{s.exact}/{s.sentences}",
            ]
            for s in result.tts.scores
        ]
        tables.append(
            _Table(
                "TTS: intelligibility by round trip, spoken at 16 kHz and heard back by the "
                "recognizer (lower is better)",
                [
                    "language",
                    "voice",
                    "role",
                    "heard by",
                    "sentences",
                    "seconds",
                    "WER",
                    "CER",
                    "heard exactly",
                ],
                rows,
                [
                    "the recognizers' own errors are part of each figure: compare voices within a "
                    "language, not across languages"
                ],
            )
        )
    if result.langid is not None:
        tables += _langid_tables(result.langid)
    return tables


def _mt_tables(t: MtSection) -> list[_Table]:
    by_direction: dict[tuple[str, str], list[MtScore]] = {}
    for s in t.scores:
        by_direction.setdefault((s.source, s.target), []).append(s)

    def cells(s: MtScore | None) -> list[str]:
        if s is None:
            return ["-", "-", "-"]
        if s.error:
            return [s.route, "failed", "-"]
        return [s.route, _f(s.chrf, 1), _f(s.bleu, 1)]

    paired, pivoted, deltas = [], [], []
    failures: dict[str, list[str]] = {}
    for (source, target), scores in by_direction.items():
        taken = next(s for s in scores if s.taken)
        other = next((s for s in scores if not s.taken), None)
        for s in scores:
            if s.error:
                hop, _, reason = s.error.partition(": ")
                failures.setdefault(f"{hop} ({reason.split(': ')[0]})", []).append(s.route)
        if taken.direct:
            delta = "-"
            if other and taken.chrf is not None and other.chrf is not None:
                deltas.append(taken.chrf - other.chrf)
                delta = f"{taken.chrf - other.chrf:+.1f}"
            paired.append(
                [f"{source}→{target}", *cells(taken)[1:], *cells(other), delta, taken.engines]
            )
        else:
            pivoted.append([f"{source}→{target}", *cells(taken), taken.engines])
    notes = [f"{t.sentences} sentences per direction; chrF and BLEU 0-100, higher is better"]
    if deltas:
        notes.append(
            f"direct minus pivot chrF over {len(deltas)} directions: mean {np.mean(deltas):+.1f}, "
            f"direct better in {sum(d > 0 for d in deltas)}"
        )
    notes += [f"failed: {hop}, so {', '.join(routes)}" for hop, routes in failures.items()]
    if t.no_route:
        notes.append(f"no route at all: {', '.join(t.no_route)}")
    tables = [
        _Table(
            "MT: directions with an engine of their own: direct (the router's route) against the "
            "pivot the router would take without it",
            [
                "direction",
                "chrF",
                "BLEU",
                "pivot instead",
                "chrF",
                "BLEU",
                "direct − pivot",
                "engine",
            ],
            paired,
        ),
        _Table(
            "MT: directions with no engine of their own: through the router's pivot",
            ["direction", "route", "chrF", "BLEU", "engines"],
            pivoted,
            notes,
        ),
    ]
    return tables


def _langid_tables(g: LangidSection) -> list[_Table]:
    rows = [
        [
            s.data,
            s.language,
            str(s.items),
            _share(s.correct),
            _share(s.unsure),
            _share(s.wrong),
            ", ".join(f"{k} {v}" for k, v in s.mistaken_for.items()) or "-",
            _share(s.top_correct),
        ]
        for s in g.scores
    ]
    tables = [
        _Table(
            "Language ID of typed text: share named correctly, left unsure, named wrong",
            [
                "data",
                "language",
                "texts",
                "correct",
                "unsure",
                "wrong",
                "taken for",
                "top answer right",
            ],
            rows,
            [
                f"unsure: confidence below {g.min_confidence} or too few letters, and the "
                "language is left open; top answer right: the most likely language, whatever "
                "its confidence",
                *([] if g.speech is not None else [g.speech_note]),
            ],
        )
    ]
    if g.speech is not None:
        tables.append(_speech_table(g.speech, g.speech_note))
    return tables


def _speech_table(speech: dict[str, Any], note: str) -> _Table:
    """Whatever ``measure_speech_langid`` returned, as a table: rows of a ``rows`` list, or one
    row per key (its fields as columns when it maps to a dict), else key and value."""
    rows_in = speech.get("rows")
    if isinstance(rows_in, list) and rows_in and all(isinstance(r, dict) for r in rows_in):
        headers = list(dict.fromkeys(k for r in rows_in for k in r))
        rows = [[_cell(r.get(h)) for h in headers] for r in rows_in]
    elif speech and all(isinstance(v, dict) for v in speech.values()):
        fields = list(dict.fromkeys(k for v in speech.values() for k in v))
        headers = ["", *fields]
        rows = [[str(k), *(_cell(v.get(f)) for f in fields)] for k, v in speech.items()]
    else:
        headers = ["", "value"]
        rows = [[str(k), _cell(v)] for k, v in speech.items()]
    return _Table("Language ID of speech", headers, rows, [note])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def report_quality(result: QualityBench) -> None:
    """The provenance, then one table per layer."""
    print("\nhotline bench quality")
    for line in _provenance(result):
        print(f"  {line}")
    for table in _tables(result):
        print_table(table.title, table.headers, table.rows)
        for note in table.notes:
            print(f"  {note}")
    for note in result.skipped:
        print(f"\nskipped {note}")
    spent = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(f"\n{spent}")


def markdown(result: QualityBench) -> str:
    """The same tables as markdown, with where each figure came from, for docs/quality.md."""
    out = ["Where the figures come from:", ""]
    out += [f"- {line}" for line in _provenance(result)]
    for table in _tables(result):
        out += ["", f"#### {table.title}", ""]
        out.append("| " + " | ".join(h or " " for h in table.headers) + " |")
        out.append("|" + "|".join("---" for _ in table.headers) + "|")
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table.rows]
        if table.notes:
            out.append("")
            out += [f"- {note}" for note in table.notes]
    for note in result.skipped:
        out += ["", f"Skipped {note}."]
    return "\n".join(out) + "\n"
