"""``hotline bench vad``: the energy endpointer against silero-vad, on real speech in noise.

Every clip of ``../shared/data/speech/*/`` (all languages) is brought to the same active speech
level (-26 dBFS over its reference speech), and the clips are joined with 1-2 s noise-only
stretches between them (seeded). The joined signal is then heard in several conditions: clean
(digital silence between clips), and white or fluctuating pink noise at 20, 10 and 5 dB SNR
against that speech level. Pink noise has a 1/f spectrum, like traffic and a crowd's murmur,
and its level wanders by a few dB at a syllable-to-breath pace, which an adaptive noise floor
must follow.

Both endpointers run at a call leg's settings (``asr.trailing_silence_ms`` 300, a 100 ms pause,
default minimum speech) and are fed 20 ms packets, as a phone line delivers them.

The reference is silero-vad on each clip alone, clean: with a 1 s trailing silence its
segments are the clip's utterances, its first start and last end where speech truly begins
and ends; with 100 ms, its segments are the clip's speech. It is a neural VAD's judgement, not
a hand labelling, so it leans towards silero (by some tens of milliseconds in the latencies,
and in what counts as speech lost); the split rate, the cuts made by noise, the noise
figures and the missed clips do not depend on it. Per endpointer and condition:

* missed: clips with no detected segment over their speech;
* speech lost: reference speech outside every detected segment (a gated recognizer never
  hears it);
* split: clips whose speech came out as several segments, for whatever reason;
* cut mid-utterance: clips where a segment ended inside a reference utterance and speech
  resumed inside it (pauses of 0.3-1 s, natural or not, count); cuts by noise: those cuts at
  a place where neither endpointer paused on the clean signal;
* noise: segments starting inside a noise-only stretch, per minute of such noise and as the
  share of stretches; and how much of the noise lies inside segments;
* latency: ``decided`` of the clip's first SpeechStart and last SpeechEnd, after the
  reference start and end (negative: the endpointer gave up before speech ended);
* cost: CPU seconds per second of audio, one thread.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hotline.bench.common import RATE, SPEECH_DIR, BenchError, print_table, write_json

__all__ = [
    "CONDITIONS",
    "Clip",
    "Condition",
    "VadBench",
    "VadScore",
    "add_arguments",
    "build_signal",
    "report_vad",
    "run",
    "run_vad_bench",
]

VADS = ("energy", "silero")
TRAILING_SILENCE_MS = 300
PAUSE_MS = 100
REFERENCE_TRAILING_MS = 1000
REFERENCE_SPEECH_MS = 100
PACKET = RATE // 50
ACTIVE_LEVEL_DBFS = -26.0
GAP_S = (1.0, 2.0)
LAYOUT_SEED = 20240
NOISE_SEEDS = {"white": 1, "pink": 2}
EDGE_S = 0.1
"""A start this close before a clip belongs to the clip (a frame straddling its first sample)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """Noise of one kind at one SNR against the active speech level (none: clean)."""

    noise: str | None
    snr_db: float | None = None

    @property
    def name(self) -> str:
        return "clean" if self.noise is None else f"{self.noise} {self.snr_db:g} dB"


CONDITIONS = [
    Condition(None),
    *(Condition(noise, snr) for noise in ("white", "pink") for snr in (20.0, 10.0, 5.0)),
]


@dataclass(slots=True)
class Clip:
    """One recording, levelled, with its reference utterances (pauses under 1 s bridged) and
    its reference speech (pauses over 100 ms left out), in seconds from its start."""

    name: str
    pcm: np.ndarray
    utterances: list[tuple[float, float]]
    speech: list[tuple[float, float]]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / RATE


@dataclass(slots=True)
class Layout:
    """Where each clip and each noise-only stretch lies in the joined signal (seconds)."""

    clips: list[tuple[float, float]]
    gaps: list[tuple[float, float]]


@dataclass(slots=True)
class Latency:
    count: int
    p50: float | None
    p90: float | None


@dataclass(slots=True)
class VadScore:
    """One endpointer in one condition."""

    condition: str
    vad: str
    clips: int
    missed: int
    split: int
    """Clips whose speech came out as more than one segment, for any reason."""
    cut: int
    """Clips where speech was ended inside a reference utterance and resumed in it."""
    cuts: int
    noise_cuts: int
    """Cuts where neither endpointer paused on the clean signal: made by the noise."""
    speech_lost_s: float
    """Reference speech outside every detected segment: what a gated recognizer never hears."""
    speech_s: float
    merged: int
    """Clips whose last segment ran on into the next clip's speech."""
    noise_starts: int
    noise_minutes: float
    noise_stretches: int
    noise_stretches_triggered: int
    noise_held_s: float
    """Seconds of noise-only stretches inside a detected segment."""
    start_latency: Latency
    end_latency: Latency
    start_carried: int
    """Clips already inside a segment begun in the noise before them (no start of their own)."""
    cpu_s: float
    audio_s: float

    @property
    def cpu_per_audio_s(self) -> float:
        return self.cpu_s / self.audio_s


@dataclass(slots=True)
class VadBench:
    reference: str
    clips: int
    languages: list[str]
    speech_s: float
    signal_s: float
    scores: list[VadScore] = field(default_factory=list)


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vad", help="energy VAD vs. silero-vad on real speech in noise: cuts, false starts, lag"
    )
    p.add_argument(
        "--folder",
        type=Path,
        default=SPEECH_DIR,
        help="one folder of WAVs per language (default: ../shared/data/speech)",
    )
    p.add_argument(
        "--conditions",
        metavar="A,B",
        help="only these conditions, e.g. clean,'white 5 dB' (default: all)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def run(args: argparse.Namespace) -> int:
    conditions = CONDITIONS
    if args.conditions:
        wanted = {c.strip() for c in args.conditions.split(",") if c.strip()}
        conditions = [c for c in CONDITIONS if c.name in wanted]
        unknown = wanted - {c.name for c in conditions}
        if unknown:
            names = ", ".join(c.name for c in CONDITIONS)
            raise BenchError(f"unknown conditions {sorted(unknown)}: choose from {names}")
    result = run_vad_bench(args.folder, conditions)
    report_vad(result)
    if args.json:
        write_json(args.json, "vad", result)
    return 0


# --- the signal ----------------------------------------------------------------------------


def _segments(events: list, until: float) -> list[tuple[float, float, float, float]]:
    """(start.at, start.decided, end.at, end.decided) per detected segment; one still open at
    the end of the signal ends there."""
    from asr.endpoint import SpeechEnd, SpeechStart

    segments = []
    start = None
    for event in events:
        if isinstance(event, SpeechStart):
            start = event
        elif isinstance(event, SpeechEnd) and start is not None:
            segments.append((start.at, start.decided, event.at, event.decided))
            start = None
    if start is not None:
        segments.append((start.at, start.decided, until, until))
    return segments


def load_clips(folder: Path) -> tuple[list[Clip], list[str]]:
    """Every WAV of every language folder, levelled to the same active speech level."""
    from telephony import decode_audio_file

    paths = sorted(folder.glob("*/*.wav"))
    if not paths:
        raise BenchError(f"no recordings in {folder}/*/*.wav (is ../shared present?)")
    clips = []
    for path in paths:
        pcm = decode_audio_file(path, RATE)
        utterances, speech = (
            _reference(pcm, trailing_ms)
            for trailing_ms in (REFERENCE_TRAILING_MS, REFERENCE_SPEECH_MS)
        )
        if not utterances:
            raise BenchError(f"{path}: the reference finds no speech in it")
        voiced = np.concatenate([pcm[round(a * RATE) : round(b * RATE)] for a, b in speech])
        active = float(np.sqrt(np.mean(np.square(voiced.astype(np.float64)))))
        gain = 32768 * 10 ** (ACTIVE_LEVEL_DBFS / 20) / max(active, 1.0)
        gain = min(gain, 32000 / max(1, int(np.abs(pcm.astype(np.int32)).max())))
        levelled = np.clip(np.round(pcm * gain), -32768, 32767).astype(np.int16)
        clips.append(Clip(f"{path.parent.name}/{path.name}", levelled, utterances, speech))
    return clips, sorted({p.parent.name for p in paths})


def _reference(pcm: np.ndarray, trailing_ms: int) -> list[tuple[float, float]]:
    """silero-vad's segments of one clip heard alone, clean (seconds from its start)."""
    from asr.vad import SileroEndpointer

    reference = SileroEndpointer(RATE, trailing_silence_ms=trailing_ms)
    padded = np.concatenate([pcm, np.zeros(2 * RATE, dtype=np.int16)])
    events = reference.push(padded.tobytes())
    return [
        (at, min(end, len(pcm) / RATE)) for at, _, end, _ in _segments(events, len(padded) / RATE)
    ]


def build_signal(clips: list[Clip], seed: int = LAYOUT_SEED) -> tuple[np.ndarray, Layout]:
    """The clips in turn, each after a noise-only stretch of 1-2 s, and one more at the end."""
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    layout = Layout([], [])
    cursor = 0
    for clip in [*clips, None]:
        gap = round(rng.uniform(*GAP_S) * RATE)
        pieces.append(np.zeros(gap, dtype=np.int16))
        layout.gaps.append((cursor / RATE, (cursor + gap) / RATE))
        cursor += gap
        if clip is not None:
            pieces.append(clip.pcm)
            layout.clips.append((cursor / RATE, (cursor + len(clip.pcm)) / RATE))
            cursor += len(clip.pcm)
    return np.concatenate(pieces), layout


def noise(kind: str, samples: int, seed: int) -> np.ndarray:
    """Unit-RMS noise: ``white``, or ``pink`` (1/f) whose level wanders about ±4 dB."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(samples)
    if kind == "white":
        return white
    if kind != "pink":
        raise BenchError(f"unknown noise {kind!r}")
    spectrum = np.fft.rfft(white)
    frequencies = np.fft.rfftfreq(samples, 1 / RATE)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, samples)
    # A slow random envelope: 20 points a second, smoothed over ~0.3 s, then ±4 dB.
    points = rng.standard_normal(samples // (RATE // 20) + 2)
    points = np.convolve(points, np.hanning(7) / np.hanning(7).sum(), mode="same")
    points *= 4.0 / max(float(np.abs(points).max()), 1e-9)
    envelope = 10 ** (
        np.interp(np.arange(samples) / (RATE // 20), np.arange(points.size), points) / 20
    )
    pink *= envelope
    return pink / np.sqrt(np.mean(np.square(pink)))


def degrade(signal: np.ndarray, condition: Condition) -> np.ndarray:
    if condition.noise is None:
        return signal
    level = 32768 * 10 ** ((ACTIVE_LEVEL_DBFS - condition.snr_db) / 20)
    mixed = signal + level * noise(condition.noise, len(signal), NOISE_SEEDS[condition.noise])
    return np.clip(np.round(mixed), -32768, 32767).astype(np.int16)


# --- scoring -------------------------------------------------------------------------------


def _latency(values: list[float]) -> Latency:
    if not values:
        return Latency(0, None, None)
    data = np.asarray(values)
    return Latency(len(values), float(np.percentile(data, 50)), float(np.percentile(data, 90)))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def score(
    condition: str,
    vad: str,
    segments: list[tuple[float, float, float, float]],
    clips: list[Clip],
    layout: Layout,
    clean_pauses: list[tuple[float, float]],
    cpu_s: float,
    audio_s: float,
) -> VadScore:
    """Each clip's speech against the segments detected over the whole signal."""
    missed = split = cut = cuts = noise_cuts = merged = carried = 0
    lost = 0.0
    starts: list[float] = []
    ends: list[float] = []
    spans = [
        (c0 + clip.utterances[0][0], c0 + clip.utterances[-1][1])
        for clip, (c0, _) in zip(clips, layout.clips, strict=True)
    ]
    for i, (clip, (c0, _)) in enumerate(zip(clips, layout.clips, strict=True)):
        s0, s1 = spans[i]
        hits = [k for k, seg in enumerate(segments) if _overlap(seg[0], seg[2], s0, s1) > 0]
        for u0, u1 in clip.speech:
            lost += (u1 - u0) - sum(
                _overlap(segments[k][0], segments[k][2], c0 + u0, c0 + u1) for k in hits
            )
        if not hits:
            missed += 1
            continue
        split += len(hits) > 1
        clip_cuts = 0
        for k in hits[:-1]:
            ended, resumed = segments[k][2], segments[k + 1][0]
            for u0, u1 in clip.utterances:
                if c0 + u0 < ended < c0 + u1 and resumed < c0 + u1:
                    clip_cuts += 1
                    noise_cuts += not any(
                        _overlap(p0, p1, ended, resumed) > 0 for p0, p1 in clean_pauses
                    )
                    break
        cuts += clip_cuts
        cut += clip_cuts > 0
        first, last = segments[hits[0]], segments[hits[-1]]
        if first[0] >= c0 - EDGE_S:
            starts.append(first[1] - s0)
        else:
            carried += 1
        ends.append(last[3] - s1)
        if i + 1 < len(spans) and last[2] > spans[i + 1][0]:
            merged += 1
    noise = [(g0, g1 - EDGE_S if g1 < audio_s else g1) for g0, g1 in layout.gaps]
    noise_starts = sum(1 for g0, g1 in noise for seg in segments if g0 <= seg[0] < g1)
    triggered = sum(1 for g0, g1 in noise if any(g0 <= seg[0] < g1 for seg in segments))
    held = sum(_overlap(seg[0], seg[2], g0, g1) for g0, g1 in layout.gaps for seg in segments)
    return VadScore(
        condition=condition,
        vad=vad,
        clips=len(clips),
        missed=missed,
        split=split,
        cut=cut,
        cuts=cuts,
        noise_cuts=noise_cuts,
        speech_lost_s=lost,
        speech_s=sum(u1 - u0 for clip in clips for u0, u1 in clip.speech),
        merged=merged,
        noise_starts=noise_starts,
        noise_minutes=sum(g1 - g0 for g0, g1 in layout.gaps) / 60,
        noise_stretches=len(layout.gaps),
        noise_stretches_triggered=triggered,
        noise_held_s=held,
        start_latency=_latency(starts),
        end_latency=_latency(ends),
        start_carried=carried,
        cpu_s=cpu_s,
        audio_s=audio_s,
    )


def endpoint(vad: str, audio: np.ndarray) -> tuple[list, float]:
    """A call leg's endpointer over the audio in 20 ms packets: its events and CPU seconds."""
    from asr.vad import make_endpointer

    endpointer = make_endpointer(
        vad, RATE, trailing_silence_ms=TRAILING_SILENCE_MS, pause_ms=PAUSE_MS
    )
    data = audio.tobytes()
    step = PACKET * 2
    events: list = []
    began = time.process_time()
    for i in range(0, len(data), step):
        events += endpointer.push(data[i : i + step])
    return events, time.process_time() - began


def run_vad_bench(folder: Path = SPEECH_DIR, conditions: list[Condition] = CONDITIONS) -> VadBench:
    clips, languages = load_clips(folder)
    signal, layout = build_signal(clips)
    seconds = len(signal) / RATE
    result = VadBench(
        reference=(
            f"silero-vad on each clean clip alone, trailing silence {REFERENCE_TRAILING_MS} ms"
        ),
        clips=len(clips),
        languages=languages,
        speech_s=sum(clip.seconds for clip in clips),
        signal_s=seconds,
    )
    clean_pauses = [
        (a[2], b[0])
        for vad in VADS
        for a, b in itertools.pairwise(_segments(endpoint(vad, signal)[0], seconds))
    ]
    for condition in conditions:
        audio = degrade(signal, condition)
        for vad in VADS:
            events, cpu_s = endpoint(vad, audio)
            segments = _segments(events, seconds)
            result.scores.append(
                score(condition.name, vad, segments, clips, layout, clean_pauses, cpu_s, seconds)
            )
    return result


# --- report --------------------------------------------------------------------------------


def _pct(part: float, whole: float) -> str:
    return "-" if not whole else f"{100 * part / whole:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def report_vad(result: VadBench) -> None:
    print(
        f"{result.clips} clips ({', '.join(result.languages)}), {result.speech_s:.0f} s of "
        f"recordings in {result.signal_s:.0f} s of signal per condition; reference: "
        f"{result.reference}. Live-call settings: trailing silence {TRAILING_SILENCE_MS} ms, "
        f"pause {PAUSE_MS} ms, 20 ms packets."
    )
    print_table(
        "Speech found and kept whole (per clip)",
        [
            "condition",
            "vad",
            "missed",
            "speech lost",
            "split >1",
            "cut mid-utt.",
            "cuts",
            "cuts by noise",
            "merged w/ next",
        ],
        [
            (
                s.condition,
                s.vad,
                str(s.missed),
                _pct(s.speech_lost_s, s.speech_s),
                _pct(s.split, s.clips),
                _pct(s.cut, s.clips),
                str(s.cuts),
                str(s.noise_cuts),
                str(s.merged),
            )
            for s in result.scores
        ],
    )
    print_table(
        "Noise taken for speech (noise-only stretches)",
        ["condition", "vad", "starts/min", "stretches triggered", "noise held as speech"],
        [
            (
                s.condition,
                s.vad,
                f"{s.noise_starts / s.noise_minutes:.1f}",
                f"{s.noise_stretches_triggered}/{s.noise_stretches}",
                _pct(s.noise_held_s, s.noise_minutes * 60),
            )
            for s in result.scores
        ],
    )
    print_table(
        "Latency (ms after the reference start / end of a clip's speech) and cost",
        [
            "condition",
            "vad",
            "start p50",
            "start p90",
            "carried",
            "end p50",
            "end p90",
            "CPU s/s",
        ],
        [
            (
                s.condition,
                s.vad,
                _ms(s.start_latency.p50),
                _ms(s.start_latency.p90),
                str(s.start_carried),
                _ms(s.end_latency.p50),
                _ms(s.end_latency.p90),
                f"{s.cpu_per_audio_s:.4f}",
            )
            for s in result.scores
        ],
    )
