"""Redaction for QA: phone numbers, ID numbers, emails and card numbers taken out of the
transcripts and translations (both languages), and their audio replaced by a tone in the
copies QA listens to. The originals stay as they are, for the roles allowed to see them.

Recognizers write digits as words ("five five five one two …"), so runs of number words
count as digits too, in every language listed in NUMBER_WORDS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hotline.records import ComplaintRecord, UtteranceRecord
from telephony import WavWriter, read_wav

__all__ = [
    "REDACTED_DIR",
    "Found",
    "find_sensitive",
    "redact",
    "redact_recordings",
    "redacted_record",
    "redaction_spans",
    "bleep",
    "sensitive_spans",
    "tone",
]

REDACTED_DIR = "redacted"
TONE_HZ = 1000.0
TONE_LEVEL = 3000
"""About −20 dBFS: clearly a bleep, never loud."""

NUMBER_WORDS = {
    # en
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "double", "triple",
    # es, ca
    "cero", "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
    "u", "un", "quatre", "sis", "set", "vuit", "nou",
    # ko (Sino-Korean digits, as Vosk writes them)
    "공", "영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구",
}  # fmt: skip
MIN_DIGITS = 7
"""Fewer digits than this (a house number, a date) are left alone."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID = re.compile(
    r"\b(?:\d{3}-\d{2}-\d{4}"  # US social security number
    r"|\d{6}-?[1-4]\d{6}"  # Korean resident registration number
    r"|\d{17}[\dXx])\b"  # Chinese resident ID
)
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().-]{0,2}\d)+")
_NOT_PERSONAL = re.compile(
    r"H-\d{8}-\d{4}"  # the hotline's own reference numbers
    r"|\b\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"  # dates
    r"|\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:\d{4}|\d{2})\b"
)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    """``email``, ``id``, ``card`` or ``phone``."""
    start: int
    end: int


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def find_sensitive(text: str) -> list[Found]:
    """Where the phone numbers, ID numbers, emails and card numbers are in ``text``."""
    found: list[Found] = []
    public = [m.span() for m in _NOT_PERSONAL.finditer(text)]

    def free(start: int, end: int, numbers_only: bool = False) -> bool:
        """Not taken yet (and, for a run of digits, not a date or one of our references)."""
        return all(end <= f.start or start >= f.end for f in found) and (
            not numbers_only or all(end <= s or start >= e for s, e in public)
        )

    for match in _EMAIL.finditer(text):
        found.append(Found("email", *match.span()))
    for match in _ID.finditer(text):
        if free(*match.span()):
            found.append(Found("id", *match.span()))
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < MIN_DIGITS or not free(*match.span(), numbers_only=True):
            continue
        card = 13 <= len(digits) <= 19 and _luhn(digits)
        found.append(Found("card" if card else "phone", *match.span()))
    # Digits said as words: a run of number words long enough to be a phone number.
    words = list(_WORD.finditer(text))
    run: list[re.Match[str]] = []
    for word in [*words, None]:
        if word is not None and word.group().lower().strip(",.;:") in NUMBER_WORDS:
            run.append(word)
            continue
        if len(run) >= MIN_DIGITS and free(run[0].start(), run[-1].end()):
            found.append(Found("phone", run[0].start(), run[-1].end()))
        run = []
    return sorted(found, key=lambda f: f.start)


def redact(text: str | None) -> str | None:
    """``text`` with each sensitive number or address replaced by its kind: ``[phone]``."""
    if not text:
        return text
    for found in reversed(find_sensitive(text)):
        text = f"{text[: found.start]}[{found.kind}]{text[found.end :]}"
    return text


def redacted_record(record: ComplaintRecord) -> dict:
    """The record as QA may read it: transcripts and translations redacted, word timings of
    redacted words dropped."""
    data = record.to_dict()
    for utterance, row in zip(record.utterances, data["utterances"], strict=True):
        row["original"] = redact(utterance.original)
        row["translation"] = redact(utterance.translation)
        hidden = _hidden_word_indexes(utterance)
        row["words"] = [w for i, w in enumerate(row["words"]) if i not in hidden]
    return data


def _hidden_word_indexes(utterance: UtteranceRecord) -> set[int]:
    spans = find_sensitive(utterance.original)
    hidden = set()
    for index, word in enumerate(_WORD.finditer(utterance.original)):
        if any(word.start() < f.end and word.end() > f.start for f in spans):
            hidden.add(index)
    return hidden


def sensitive_spans(utterance: UtteranceRecord) -> list[tuple[float, float]]:
    """Where on the call's clock the speaker said something redacted: the recognizer's
    timings of those words, or the whole utterance when they cannot be matched."""
    if not find_sensitive(utterance.original):
        return []
    hidden = _hidden_word_indexes(utterance)
    words = utterance.words
    if words and len(words) == len(utterance.original.split()):
        return [(words[i].start_s, words[i].end_s) for i in sorted(hidden)]
    return [(utterance.start_s, utterance.end_s)]


def tone(samples: int, rate: int, offset: int = 0) -> np.ndarray:
    t = (np.arange(samples) + offset) / rate
    return (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)


def redaction_spans(record: ComplaintRecord) -> dict[str, list[tuple[float, float]]]:
    """Per recording leg, the spans to bleep: in each speaker's ``*_in`` leg where they said
    something sensitive, and in the listener's ``*_heard`` leg where its translation played."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for u in record.utterances:
        if u.speaker not in ("caller", "operator"):
            continue
        listener = "operator" if u.speaker == "caller" else "caller"
        spans.setdefault(f"{u.speaker}_in", []).extend(sensitive_spans(u))
        said = bool(find_sensitive(u.original) or find_sensitive(u.translation or ""))
        if said and u.played_start_s is not None and u.played_end_s is not None:
            spans.setdefault(f"{listener}_heard", []).append((u.played_start_s, u.played_end_s))
    return spans


def bleep(pcm: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> None:
    """Replace each span of ``pcm`` (in place) with the tone."""
    for start_s, end_s in spans:
        start, end = max(0, int(start_s * rate)), min(len(pcm), int(np.ceil(end_s * rate)))
        if end > start:
            pcm[start:end] = tone(end - start, rate, start)


def redact_recordings(record: ComplaintRecord, data_dir: Path) -> dict[str, Path]:
    """Copies of the call's recordings with every sensitive span replaced by a tone, in
    ``recordings/<call id>/redacted/`` (see :func:`redaction_spans`)."""
    spans = redaction_spans(record)
    written: dict[str, Path] = {}
    for recording in record.recordings:
        source = data_dir / recording.path
        if not source.is_file():
            continue
        pcm, rate = read_wav(source)
        pcm = pcm.copy()
        bleep(pcm, rate, spans.get(recording.leg, []))
        folder = source.parent / REDACTED_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / source.name
        with WavWriter(target, rate) as writer:
            writer.write(pcm)
        written[recording.leg] = target
    return written
