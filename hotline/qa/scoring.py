"""Scores for transcripts and translations, from the libraries the field uses: jiwer for word
and character error rates, sacrebleu for chrF. Nothing here is hand-rolled but the diff."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
from sacrebleu.metrics import CHRF

__all__ = ["DiffOp", "ErrorRate", "chrf", "error_rate", "normalize", "uses_characters", "word_diff"]

CHARACTER_LANGUAGES = frozenset({"ja", "ko", "th", "zh"})
"""Scored by characters (CER): no spaces between words, or (Korean) spacing that varies
between writers far more than the words do."""

_PUNCTUATION = re.compile(r"[^\w\s']", re.UNICODE)


def uses_characters(language: str | None) -> bool:
    return (language or "").split("-")[0] in CHARACTER_LANGUAGES


def normalize(text: str) -> str:
    """Lower case, no punctuation, single spaces: recognizers do not write punctuation, so
    neither side is scored on it."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class ErrorRate:
    metric: str
    """``wer`` or ``cer``."""
    value: float
    reference_units: int
    """Words (or characters) in the reference."""

    def to_dict(self) -> dict[str, float | int | str]:
        return {"metric": self.metric, "value": self.value, "units": self.reference_units}


def error_rate(
    references: Sequence[str], hypotheses: Sequence[str], language: str | None
) -> ErrorRate | None:
    """WER, or CER for the languages in CHARACTER_LANGUAGES, over the texts as one corpus
    (each text normalized; pairs whose reference is empty are skipped). None when there is
    nothing to score."""
    pairs = [(normalize(r), normalize(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        return None
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    if uses_characters(language):
        refs = [r.replace(" ", "") for r in refs]
        hyps = [h.replace(" ", "") for h in hyps]
        return ErrorRate("cer", jiwer.cer(refs, hyps), sum(len(r) for r in refs))
    return ErrorRate("wer", jiwer.wer(refs, hyps), sum(len(r.split()) for r in refs))


def chrf(references: Sequence[str], hypotheses: Sequence[str]) -> float | None:
    """chrF (0–100) of the translations as one corpus, as sacrebleu computes it."""
    pairs = [(r, h) for r, h in zip(references, hypotheses, strict=True) if r.strip()]
    if not pairs:
        return None
    score = CHRF().corpus_score([h for _, h in pairs], [[r for r, _ in pairs]])
    return round(float(score.score), 2)


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One run of words: kept (``=``), only in the first text (``-``), only in the second
    (``+``)."""

    op: str
    text: str

    def to_list(self) -> list[str]:
        return [self.op, self.text]


def word_diff(before: str, after: str) -> list[DiffOp]:
    """The words of ``after`` against ``before``, for highlighting (case and punctuation
    count as they are written)."""
    a, b = before.split(), after.split()
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(DiffOp("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            ops.append(DiffOp("-", " ".join(a[i1:i2])))
        if j2 > j1:
            ops.append(DiffOp("+", " ".join(b[j1:j2])))
    return ops
