"""Replay a recorded call: its own legs, back through recognition, translation and speech.

Each ``*_in`` recording is on the call's clock (see ``hotline.call.recording``), so what the
recognizer hears again lines up, by time, with what it heard in the call. Every utterance
of the record is reported beside what today's engines (or the ones given) make of the
same audio, with each stage's latency, and scored against references when there are any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotline.engines import ASR_RATE, Engines, Final
from hotline.qa.scoring import DiffOp, chrf, error_rate, word_diff
from hotline.records import ComplaintRecord, UtteranceRecord
from hotline.wire.vocabulary import RecordingLeg, Speaker
from telephony import StreamResampler, read_wav

__all__ = ["LEG_OF", "ReplayOptions", "ReplayReport", "ReplayedLine", "replay_call"]

log = logging.getLogger(__name__)

LEG_OF = {Speaker.CALLER: RecordingLeg.CALLER_IN, Speaker.OPERATOR: RecordingLeg.OPERATOR_IN}
MATCH_SLACK_S = 0.3
"""A new transcript belongs to a recorded utterance when their spans overlap, give or take
this much (endpointing may place an utterance's edges a little differently)."""
STAGES = ("asr_final_s", "translation_s", "tts_first_byte_s")


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    realtime: bool = False
    """Feed the audio at the pace it was spoken (else as fast as the engines go)."""
    speak: bool = True
    """Synthesize each translation too, to measure the voice's first byte."""
    chunk_s: float = 0.02
    """The frames a transport hands the call (20 ms): the recognizer hears the same pieces."""


@dataclass(slots=True)
class _Heard:
    """One final transcript of the replay, with its stages' wall-clock latencies."""

    text: str
    start_s: float
    end_s: float
    confidence: float
    asr_final_s: float
    translation: str | None = None
    translated: bool = False
    engine: str | None = None
    translation_s: float | None = None
    tts_first_byte_s: float | None = None


@dataclass(slots=True)
class ReplayedLine:
    """One utterance: as the call had it, and as the replay has it."""

    speaker: str
    language: str | None
    target_language: str | None
    start_s: float
    end_s: float
    typed: bool
    utterance_id: int | None
    original: str | None
    new: str | None
    original_translation: str | None
    new_translation: str | None
    original_engine: str | None
    new_engine: str | None
    original_latency: dict[str, float | None]
    new_latency: dict[str, float | None]
    diff: list[DiffOp] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (self.original or "") != (self.new or "")

    @property
    def translation_changed(self) -> bool:
        return (self.original_translation or "") != (self.new_translation or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "language": self.language,
            "target_language": self.target_language,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "typed": self.typed,
            "utterance_id": self.utterance_id,
            "original": self.original,
            "new": self.new,
            "changed": self.changed,
            "diff": [op.to_list() for op in self.diff],
            "original_translation": self.original_translation,
            "new_translation": self.new_translation,
            "translation_changed": self.translation_changed,
            "original_engine": self.original_engine,
            "new_engine": self.new_engine,
            "original_latency": self.original_latency,
            "latency": self.new_latency,
        }


@dataclass(slots=True)
class ReplayReport:
    call: dict[str, Any]
    engines: dict[str, str]
    lines: list[ReplayedLine]
    scores: dict[str, Any]
    speed: dict[str, float]
    legs: dict[str, str]
    """The ``*_in`` recordings replayed, by speaker (paths), for the report's timeline."""
    options: dict[str, Any]

    @property
    def pair(self) -> str:
        return (
            f"{self.call.get('caller_language') or '?'}→{self.call.get('operator_language') or '?'}"
        )

    def latencies(self, stage: str) -> list[float]:
        return [v for line in self.lines if (v := line.new_latency.get(stage)) is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "engines": self.engines,
            "options": self.options,
            "speed": self.speed,
            "summary": {
                "utterances": len(self.lines),
                "changed": sum(line.changed for line in self.lines),
                "translations_changed": sum(line.translation_changed for line in self.lines),
                **self.scores,
            },
            "utterances": [line.to_dict() for line in self.lines],
        }


async def replay_call(
    engines: Engines,
    record: ComplaintRecord,
    data_dir: Path,
    options: ReplayOptions | None = None,
    references: Sequence[str] | None = None,
    reference_translations: Sequence[str] | None = None,
) -> ReplayReport:
    """Run one recorded call's legs through ``engines``; raises LookupError when the call
    has no recording to replay."""
    options = options or ReplayOptions()
    call = record.call
    languages = {Speaker.CALLER: call.caller_language, Speaker.OPERATOR: call.operator_language}
    recordings = {r.leg: r for r in record.recordings}
    started = time.perf_counter()
    jobs: dict[Speaker, asyncio.Task[list[_Heard]]] = {}
    legs: dict[str, str] = {}
    audio_s = 0.0
    used: dict[str, str] = {}
    async with asyncio.TaskGroup() as tg:
        for speaker, leg in LEG_OF.items():
            language = languages[speaker]
            recording = recordings.get(str(leg))
            if recording is None or language is None:
                continue
            path = data_dir / recording.path
            pcm, rate = await asyncio.to_thread(read_wav, path)
            if call.connected_s is not None:
                # The call recognized each leg from the connection on; so does the replay.
                pcm = pcm.copy()
                pcm[: round(call.connected_s * rate)] = 0
            legs[str(speaker)] = str(path)
            audio_s = max(audio_s, len(pcm) / rate)
            other = languages[_other(speaker)]
            if not engines.can_recognize(language):
                used[f"asr {language}"] = "none: no speech recognizer for this language"
                continue
            used[f"asr {language}"] = engines.recognizer_provenance(language)
            jobs[speaker] = tg.create_task(
                _replay_leg(engines, pcm, rate, language, other, options)
            )
    if not legs:
        raise LookupError(f"call {call.reference} has no recording to replay")
    heard = {speaker: job.result() for speaker, job in jobs.items()}
    lines = []
    for speaker in LEG_OF:
        said = [u for u in record.utterances if u.speaker == speaker]
        lines += _match(speaker, said, heard.get(speaker, []), languages)
    for line in lines:
        if line.typed and line.original and line.original_engine != "operator":
            await _retranslate(engines, line)
        if line.new_engine and line.language and line.target_language:
            used.setdefault(f"mt {line.language}→{line.target_language}", line.new_engine)
    lines.sort(key=lambda line: (line.start_s, line.speaker))
    wall_s = time.perf_counter() - started
    return ReplayReport(
        call={
            "id": call.id,
            "reference": call.reference,
            "started_at": call.started_at.isoformat(timespec="seconds"),
            "channel": str(call.channel),
            "status": str(call.status),
            "operator": call.operator,
            "caller_language": call.caller_language,
            "operator_language": call.operator_language,
            "kind": str(call.kind) if call.kind else None,
            "duration_s": round(audio_s, 2),
        },
        engines=dict(sorted(used.items())),
        lines=lines,
        scores=_scores(lines, call.caller_language, references, reference_translations)
        or _scores_from_corrections(lines, record, call.caller_language),
        speed={
            "audio_s": round(audio_s, 2),
            "wall_s": round(wall_s, 3),
            "realtime_factor": round(audio_s / wall_s, 2) if wall_s > 0 else 0.0,
        },
        legs=legs,
        options={"realtime": options.realtime, "speak": options.speak},
    )


def _other(speaker: Speaker) -> Speaker:
    return Speaker.OPERATOR if speaker == Speaker.CALLER else Speaker.CALLER


async def _replay_leg(
    engines: Engines,
    pcm: np.ndarray,
    rate: int,
    language: str,
    target: str | None,
    options: ReplayOptions,
) -> list[_Heard]:
    """Recognize one leg as the call did (same recognizer settings, same endpointing), then
    translate and voice each final transcript, timing every stage."""
    stream = await engines.open_stream(language, rate)
    resampler = StreamResampler(rate, ASR_RATE)
    step = max(1, int(options.chunk_s * rate))
    heard: list[_Heard] = []
    fed_at: list[tuple[float, float]] = []  # (audio fed up to, s; wall clock before feeding)
    began = time.perf_counter()

    def finals(events: list[Any]) -> None:
        now = time.perf_counter()
        for event in events:
            if isinstance(event, Final) and event.text.strip():
                handed = next((wall for upto, wall in fed_at if upto >= event.end), now)
                heard.append(
                    _Heard(
                        event.text,
                        event.start,
                        event.end,
                        event.confidence,
                        asr_final_s=round(now - handed, 4),
                    )
                )

    try:
        for i in range(0, len(pcm), step):
            part = pcm[i : i + step]
            fed_at.append(((i + len(part)) / rate, time.perf_counter()))
            finals(await stream.feed(resampler.process(part).tobytes()))
            if options.realtime:
                await asyncio.sleep(max(0.0, began + (i + len(part)) / rate - time.perf_counter()))
        tail = resampler.flush()
        events = await stream.feed(tail.tobytes()) if tail.size else []
        finals(events + await stream.close())
    finally:
        stream.release()
    for item in heard:
        if target is not None:
            await _translate(engines, item, language, target, options)
    return heard


async def _translate(
    engines: Engines, item: _Heard, source: str, target: str, options: ReplayOptions
) -> None:
    asked = time.perf_counter()
    result = await engines.translate([item.text], source, target)
    item.translation_s = round(time.perf_counter() - asked, 4) if source != target else None
    item.translation, item.translated = result.texts[0], result.translated
    item.engine = result.provenance or result.engine
    if not (options.speak and result.translated and source != target):
        return
    asked = time.perf_counter()
    chunks = aiter(engines.speak_stream(item.translation, target, ASR_RATE))
    try:
        await anext(chunks)
        item.tts_first_byte_s = round(time.perf_counter() - asked, 4)
    except Exception as exc:  # a voice missing for the language is reported, not fatal
        log.info("no speech for %s: %s", target, exc)
    finally:
        with contextlib.suppress(Exception):
            await chunks.aclose()  # type: ignore[attr-defined]


async def _retranslate(engines: Engines, line: ReplayedLine) -> None:
    """Typed text has no audio to recognize again, but today's engines translate it anew."""
    if not (line.original and line.language and line.target_language):
        return
    item = _Heard(line.original, line.start_s, line.end_s, 1.0, asr_final_s=0.0)
    await _translate(engines, item, line.language, line.target_language, ReplayOptions(speak=False))
    line.new_translation, line.new_engine = item.translation, item.engine
    line.new_latency = {"translation_s": item.translation_s}


def _original_latency(u: UtteranceRecord) -> dict[str, float | None]:
    """The call's own stage times, from the record (None where the record has none)."""

    def gap(later: float | None, earlier: float | None) -> float | None:
        return round(later - earlier, 4) if later is not None and earlier is not None else None

    return {
        "asr_final_s": gap(u.asr_final_s, u.end_s) if not u.typed else None,
        "translation_s": gap(u.translated_s, u.asr_final_s if not u.typed else u.end_s),
        "first_audio_s": gap(u.played_start_s, u.translated_s),
    }


def _match(
    speaker: Speaker,
    said: list[UtteranceRecord],
    heard: list[_Heard],
    languages: dict[Speaker, str | None],
) -> list[ReplayedLine]:
    """Pair the replay's transcripts with the record's utterances by time: each new one goes
    to the spoken utterance it overlaps most; the rest stand alone."""
    spoken = [u for u in said if not u.typed]
    claimed: dict[int, list[_Heard]] = {u.id: [] for u in spoken}
    alone: list[_Heard] = []
    for item in heard:
        best, overlap = None, -MATCH_SLACK_S
        for u in spoken:
            shared = min(u.end_s, item.end_s) - max(u.start_s, item.start_s)
            if shared > overlap:
                best, overlap = u, shared
        if best is None:
            alone.append(item)
        else:
            claimed[best.id].append(item)
    language, target = languages[speaker], languages[_other(speaker)]
    lines = []
    for u in said:
        items = claimed.get(u.id, [])
        new = " ".join(i.text for i in items) if not u.typed else u.original
        lines.append(
            ReplayedLine(
                speaker=str(speaker),
                language=u.language or language,
                target_language=u.translation_language or target,
                start_s=u.start_s,
                end_s=u.end_s,
                typed=u.typed,
                utterance_id=u.id,
                original=u.original,
                new=new,
                original_translation=u.translation,
                # Typed lines keep their translation unless an engine made it (then it is
                # made again below); an operator's own translation stays theirs.
                new_translation=" ".join(i.translation or "" for i in items).strip() or None
                if not u.typed
                else u.translation,
                original_engine=u.engine,
                new_engine=next((i.engine for i in items if i.engine), None)
                if not u.typed
                else u.engine,
                original_latency=_original_latency(u),
                new_latency=_latency(items),
                diff=word_diff(u.original, new),
            )
        )
    for item in alone:
        lines.append(
            ReplayedLine(
                speaker=str(speaker),
                language=language,
                target_language=target,
                start_s=item.start_s,
                end_s=item.end_s,
                typed=False,
                utterance_id=None,
                original=None,
                new=item.text,
                original_translation=None,
                new_translation=item.translation,
                original_engine=None,
                new_engine=item.engine,
                original_latency={},
                new_latency=_latency([item]),
                diff=word_diff("", item.text),
            )
        )
    return lines


def _latency(items: list[_Heard]) -> dict[str, float | None]:
    if not items:
        return {}
    last = items[-1]
    return {
        "asr_final_s": last.asr_final_s,
        "translation_s": last.translation_s,
        "tts_first_byte_s": last.tts_first_byte_s,
    }


def _scores_from_corrections(
    lines: list[ReplayedLine], record: ComplaintRecord, language: str | None
) -> dict[str, Any]:
    """With no reference file, QA reviewers' corrections are the references: the corrected
    caller lines are scored, the call's transcript and the replay's alike."""
    scores: dict[str, Any] = {}
    caller = [x for x in lines if x.speaker == Speaker.CALLER and x.utterance_id is not None]
    said = [(x, fix) for x in caller if (fix := record.corrected(x.utterance_id, "original"))]
    if said:
        truth = [fix for _, fix in said]
        before = error_rate(truth, [x.original or "" for x, _ in said], language)
        after = error_rate(truth, [x.new or "" for x, _ in said], language)
        if before is not None and after is not None:
            scores["transcript"] = {
                "metric": after.metric,
                "original": round(before.value, 4),
                "new": round(after.value, 4),
                "units": after.reference_units,
                "basis": "qa corrections",
            }
    meant = [(x, fix) for x in caller if (fix := record.corrected(x.utterance_id, "translation"))]
    if meant:
        truth = [fix for _, fix in meant]
        before_chrf = chrf(truth, [x.original_translation or "" for x, _ in meant])
        after_chrf = chrf(truth, [x.new_translation or "" for x, _ in meant])
        if before_chrf is not None and after_chrf is not None:
            scores["translation"] = {
                "metric": "chrf",
                "original": before_chrf,
                "new": after_chrf,
                "basis": "qa corrections",
            }
    return scores


def _scores(
    lines: list[ReplayedLine],
    language: str | None,
    references: Sequence[str] | None,
    reference_translations: Sequence[str] | None,
) -> dict[str, Any]:
    """The caller's side of the call, as a whole, against what a person says was said (and
    meant): the call's own transcript and the replay's, scored the same way."""
    caller = [line for line in lines if line.speaker == Speaker.CALLER and not line.typed]
    scores: dict[str, Any] = {}
    if references:
        truth = [" ".join(r.strip() for r in references if r.strip())]
        before = error_rate(truth, [" ".join(line.original or "" for line in caller)], language)
        after = error_rate(truth, [" ".join(line.new or "" for line in caller)], language)
        if before is not None and after is not None:
            scores["transcript"] = {
                "metric": after.metric,
                "original": round(before.value, 4),
                "new": round(after.value, 4),
                "units": after.reference_units,
            }
    if reference_translations:
        truth = [" ".join(r.strip() for r in reference_translations if r.strip())]
        before_chrf = chrf(truth, [" ".join(line.original_translation or "" for line in caller)])
        after_chrf = chrf(truth, [" ".join(line.new_translation or "" for line in caller)])
        if before_chrf is not None and after_chrf is not None:
            scores["translation"] = {"metric": "chrf", "original": before_chrf, "new": after_chrf}
    return scores
