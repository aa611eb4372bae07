"""File a call under one service code from what the caller said.

A TF-IDF model over character n-grams (within words) feeding a logistic regression: it needs
no tokenizer, so one model reads English and Spanish as the recogniser writes them
(lowercase, no punctuation) or as typed, Chinese without spaces and Korean split into
syllable groups. It is trained on the labelled utterances packaged beside this module
(``data/labelled.tsv``, written for this project) in the languages it covers; a call in
another language is classified from its translation (:meth:`ServiceClassifier.classify_call`).
The model suggests, the operator decides: ``code`` is None below :data:`MIN_CONFIDENCE`.
"""

from __future__ import annotations

import csv
import functools
import random
import re
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from hotline.cases.emergency import base_language, fold_accents

__all__ = [
    "CLASSIFIER_LANGUAGES",
    "LABELLED",
    "MIN_CONFIDENCE",
    "Classification",
    "Evaluation",
    "Example",
    "ServiceClassifier",
    "evaluate",
    "holdout_split",
    "load_labelled",
    "normalise",
]

LABELLED = Path(__file__).parent / "data" / "labelled.tsv"

CLASSIFIER_LANGUAGES = frozenset({"en", "es", "zh", "ko"})
"""What the default model is trained on. The labelled set also holds Catalan, for the
emergency detector and to show the fallback to a translation."""

MIN_CONFIDENCE = 0.2
"""Below this probability the classifier names no code and the operator picks one. Measured
on the held-out third (``hotline bench classify``): 86% of answers stand above it and 87% of
those are right, against 81% for all answers; at 0.3 only 62% would be answered."""

_UNSPACED = frozenset({"zh", "ko"})
_NOT_WORD = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    language: str
    service_code: str
    emergency: bool


def load_labelled(path: Path | None = None) -> list[Example]:
    """The labelled utterances: a TSV with the header ``language, service_code, emergency,
    text``. A malformed line raises ValueError naming its line number."""
    source = path or LABELLED
    examples = []
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            try:
                text = row["text"].strip()
                emergency = {"0": False, "1": True}[row["emergency"].strip()]
                language = base_language(row["language"])
                code = row["service_code"].strip()
            except (KeyError, AttributeError) as exc:
                raise ValueError(f"{source}:{reader.line_num}: malformed line") from exc
            if not text or not code or not language:
                raise ValueError(f"{source}:{reader.line_num}: empty field")
            examples.append(Example(text, language, code, emergency))
    return examples


def holdout_split(
    examples: Sequence[Example], fraction: float = 1 / 3, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """``(train, test)``: about ``fraction`` of each (language, service code) group held out,
    at least one from every group that has two or more, drawn with ``seed``."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        groups[(example.language, example.service_code)].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for key in sorted(groups):
        members = groups[key][:]
        if len(members) < 2:
            continue
        rng.shuffle(members)
        held.update(members[: max(1, round(len(members) * fraction))])
    train = [e for i, e in enumerate(examples) if i not in held]
    test = [e for i, e in enumerate(examples) if i in held]
    return train, test


def normalise(text: str, language: str) -> str:
    """What the model reads: lowercase, accents and punctuation gone, and no spaces in the
    scripts written without them (recognisers put spaces there that a writer would not)."""
    words = _NOT_WORD.sub(" ", fold_accents(text).lower()).split()
    return ("" if base_language(language) in _UNSPACED else " ").join(words)


@dataclass(frozen=True, slots=True)
class Classification:
    code: str | None
    """The service code, or None: no text, or no code reached :data:`MIN_CONFIDENCE`."""
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    """The three likeliest codes with their probabilities, best first."""
    language: str
    """The language of the text that was classified."""
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "confidence": round(self.confidence, 4),
            "candidates": [[code, round(p, 4)] for code, p in self.candidates],
            "language": self.language,
        }


class ServiceClassifier:
    """One trained model; classifying only reads it, so one instance serves every thread.
    Training takes about a second: do it off the event loop."""

    def __init__(self, model: Pipeline, languages: frozenset[str]) -> None:
        self._model = model
        self._codes: tuple[str, ...] = tuple(str(c) for c in model.classes_)
        self.languages = languages

    @classmethod
    def train(
        cls, examples: Iterable[Example], codes: Collection[str] | None = None
    ) -> ServiceClassifier:
        """A model of ``examples`` (only those under ``codes`` when given)."""
        chosen = [e for e in examples if codes is None or e.service_code in codes]
        if len({e.service_code for e in chosen}) < 2:
            raise ValueError("training needs examples of at least two service codes")
        model = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                ),
                ("logreg", LogisticRegression(C=10.0, solver="newton-cg", max_iter=1000)),
            ]
        )
        model.fit([normalise(e.text, e.language) for e in chosen], [e.service_code for e in chosen])
        return cls(model, frozenset(e.language for e in chosen))

    @classmethod
    def default(cls) -> ServiceClassifier:
        """The model of every packaged example in :data:`CLASSIFIER_LANGUAGES`, trained on
        first use and shared by the whole process."""
        with _DEFAULT_LOCK:
            return _default_classifier()

    @property
    def codes(self) -> tuple[str, ...]:
        return self._codes

    def covers(self, language: str) -> bool:
        return base_language(language) in self.languages

    def classify(
        self, text: str, language: str, allowed: Collection[str] | None = None
    ) -> Classification:
        """The likeliest code for ``text``, among ``allowed`` when the city's catalogue
        lacks some of the model's codes."""
        lang = base_language(language)
        clean = normalise(text, lang)
        keep = np.array([allowed is None or c in allowed for c in self._codes])
        if not clean or not keep.any():
            return Classification(None, 0.0, (), lang, text)
        probabilities = self._model.predict_proba([clean])[0] * keep
        probabilities = probabilities / probabilities.sum()
        order = np.argsort(-probabilities, kind="stable")[: min(3, int(keep.sum()))]
        candidates = tuple((self._codes[i], float(probabilities[i])) for i in order)
        best, confidence = candidates[0]
        code = best if confidence >= MIN_CONFIDENCE else None
        return Classification(code, confidence, candidates, lang, text)

    def classify_call(
        self, texts: Sequence[tuple[str, str]], allowed: Collection[str] | None = None
    ) -> Classification:
        """Classify the caller's side of a call, given as ``(text, language)`` pairs in order
        of preference (what was said, then its translations): the first one in a language
        this model covers that has any words."""
        for text, language in texts:
            if self.covers(language) and normalise(text, language):
                return self.classify(text, language, allowed)
        language = base_language(texts[0][1]) if texts else ""
        return Classification(None, 0.0, (), language, texts[0][0] if texts else "")


_DEFAULT_LOCK = threading.Lock()


@functools.cache
def _default_classifier() -> ServiceClassifier:
    examples = [e for e in load_labelled() if e.language in CLASSIFIER_LANGUAGES]
    return ServiceClassifier.train(examples)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How a model trained on one set files another. Every top answer counts, above the
    threshold or not; ``confidences`` tells how a threshold would change that."""

    accuracy: float
    per_language: dict[str, float]
    """Language → accuracy on that language's test examples."""
    counts: dict[str, int]
    """Language → test examples scored."""
    labels: list[str]
    confusion: list[list[int]]
    """Rows: the true code; columns: the code the model chose; in the order of ``labels``."""
    confidences: list[tuple[float, bool]]
    """Each test example's top probability and whether the top code was right."""

    def at_threshold(self, threshold: float) -> tuple[float, float]:
        """(share of answers at or above ``threshold``, accuracy of those)."""
        kept = [ok for p, ok in self.confidences if p >= threshold]
        if not kept:
            return 0.0, 0.0
        return len(kept) / len(self.confidences), sum(kept) / len(kept)

    def format_markdown(self) -> str:
        """The confusion matrix as a markdown table: one row per true code, one column per
        code chosen, blanks for zeros."""
        lines = [
            "| true \\ chosen | " + " | ".join(self.labels) + " |",
            "|---|" + "---:|" * len(self.labels),
        ]
        for label, row in zip(self.labels, self.confusion, strict=True):
            cells = [str(n) if n else "" for n in row]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def evaluate(train: Sequence[Example], test: Sequence[Example]) -> Evaluation:
    """Train on ``train`` and score ``test`` (its examples in languages the model covers)."""
    classifier = ServiceClassifier.train(train)
    labels = sorted({e.service_code for e in (*train, *test)})
    index = {code: i for i, code in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    scored: dict[str, list[bool]] = defaultdict(list)
    confidences = []
    for example in test:
        if not classifier.covers(example.language):
            continue
        result = classifier.classify(example.text, example.language)
        chosen = result.candidates[0][0]
        ok = chosen == example.service_code
        confusion[index[example.service_code]][index[chosen]] += 1
        scored[example.language].append(ok)
        confidences.append((result.confidence, ok))
    return Evaluation(
        accuracy=sum(ok for _, ok in confidences) / len(confidences) if confidences else 0.0,
        per_language={lang: sum(oks) / len(oks) for lang, oks in sorted(scored.items())},
        counts={lang: len(oks) for lang, oks in sorted(scored.items())},
        labels=labels,
        confusion=confusion,
        confidences=confidences,
    )
