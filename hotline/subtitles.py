"""A recording's utterances as a transcript: timed lines, plain text, JSON, SRT or WebVTT.

Pure functions of a list of finals (what ``hotline transcribe`` recognized), so every format
is tested without an engine. Subtitle cues follow the usual broadcast limits: at most
:data:`MAX_CUE_LINES` lines of :data:`MAX_LINE_CHARS` characters and :data:`MAX_CUE_S`
seconds; a longer utterance is split between its words, at their timings.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.engines import Final

__all__ = [
    "FORMATS",
    "MAX_CUE_LINES",
    "MAX_CUE_S",
    "MAX_LINE_CHARS",
    "Cue",
    "cues",
    "srt_time",
    "to_json",
    "to_srt",
    "to_text",
    "to_timed",
    "to_vtt",
    "vtt_time",
]

MAX_CUE_S = 7.0
MAX_LINE_CHARS = 42
MAX_CUE_LINES = 2


@dataclass(slots=True)
class Cue:
    """One subtitle on screen: its lines, shown from `start` to `end` (seconds)."""

    start: float
    end: float
    lines: list[str]


def to_timed(finals: Sequence[Final]) -> str:
    """One line per utterance with its time span and confidence (the command's default)."""
    return "".join(
        f"[{f.start:7.2f} – {f.end:7.2f}] ({f.confidence:.2f}) {f.text}\n" for f in finals
    )


def to_text(finals: Sequence[Final]) -> str:
    """The words only, one utterance per line, for pipes."""
    return "".join(f"{f.text}\n" for f in finals if f.text.strip())


def to_json(finals: Sequence[Final]) -> str:
    """A JSON list of utterances, each with its words; times in seconds, to the millisecond."""
    return (
        json.dumps(
            [
                {
                    "start": _ms(f.start),
                    "end": _ms(f.end),
                    "text": f.text,
                    "confidence": _ms(f.confidence),
                    "words": [
                        {
                            "word": w.word,
                            "start": _ms(w.start),
                            "end": _ms(w.end),
                            "confidence": _ms(w.conf),
                        }
                        for w in f.words
                    ],
                }
                for f in finals
            ],
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )


def to_srt(finals: Sequence[Final]) -> str:
    """SubRip subtitles: numbered cues, ``00:00:01,250 --> 00:00:03,000``."""
    return "\n".join(
        f"{n}\n{srt_time(c.start)} --> {srt_time(c.end)}\n" + "".join(f"{x}\n" for x in c.lines)
        for n, c in enumerate(cues(finals), start=1)
    )


def to_vtt(finals: Sequence[Final]) -> str:
    """WebVTT subtitles: the ``WEBVTT`` header, then ``00:00:01.250 --> 00:00:03.000`` cues."""
    return "WEBVTT\n" + "".join(
        f"\n{vtt_time(c.start)} --> {vtt_time(c.end)}\n"
        + "".join(f"{_vtt_escape(x)}\n" for x in c.lines)
        for c in cues(finals)
    )


FORMATS: dict[str, Callable[[Sequence[Final]], str]] = {
    "timed": to_timed,
    "text": to_text,
    "json": to_json,
    "srt": to_srt,
    "vtt": to_vtt,
}
"""Each output format of ``hotline transcribe`` by name."""


def cues(finals: Sequence[Final]) -> list[Cue]:
    """One cue per utterance, or several when it is too long or too wordy for one and its
    word timings say where to cut. Empty utterances have no cue."""
    found: list[Cue] = []
    for final in finals:
        text = " ".join(final.text.split())
        if not text:
            continue
        lines = _wrap([text])
        if (len(lines) <= MAX_CUE_LINES and final.end - final.start <= MAX_CUE_S) or not (
            final.words
        ):
            found.append(Cue(final.start, max(final.start, final.end), lines))
            continue
        cue: Cue | None = None
        for word in final.words:
            if cue is not None:
                lines = _wrap(cue.lines + [word.word])
                if len(lines) <= MAX_CUE_LINES and word.end - cue.start <= MAX_CUE_S:
                    cue.lines, cue.end = lines, max(cue.end, word.end)
                    continue
            cue = Cue(word.start, max(word.start, word.end), [word.word])
            found.append(cue)
    return found


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm``, as SubRip writes a time."""
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm``, as WebVTT writes a time."""
    return _clock(seconds, ".")


def _clock(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _wrap(pieces: list[str]) -> list[str]:
    """The pieces' words as lines of at most MAX_LINE_CHARS (a longer word keeps its line)."""
    return textwrap.wrap(
        " ".join(pieces), MAX_LINE_CHARS, break_long_words=False, break_on_hyphens=False
    )


def _ms(value: float) -> float:
    return round(float(value), 3)


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
