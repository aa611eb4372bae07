"""``hotline bench classify``: how well the service classifier files calls and how the live
emergency detector does, on the packaged labelled utterances.

The classifier is trained on two thirds of the labelled set (stratified by language and
service code) and scored on the other third; the split is repeated over a few seeds to show
how much one split moves the figure. The detector has no training, so it is measured on
the whole set: every emergency it misses and every other line it raises an alert on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from hotline.bench.common import BenchError, print_table, write_json
from hotline.cases.classify import (
    CLASSIFIER_LANGUAGES,
    MIN_CONFIDENCE,
    ServiceClassifier,
    evaluate,
    holdout_split,
    load_labelled,
)
from hotline.cases.emergency import EmergencyDetector, measure

__all__ = ["ClassifyBench", "add_arguments", "report_classify", "run", "run_classify_bench"]

THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


@dataclass(slots=True)
class ClassifyBench:
    seed: int
    labelled: dict[str, dict[str, int]]
    """Language → service code → utterances (``emergency`` → the emergencies)."""
    train_examples: int
    test_examples: int
    train_s: float
    train_all_s: float
    accuracy: float
    per_language: dict[str, float]
    per_language_count: dict[str, int]
    seeds: list[int]
    accuracy_per_seed: list[float]
    thresholds: list[tuple[float, float, float]]
    """(threshold, share answered, accuracy of those answered) on the held-out third."""
    labels: list[str]
    confusion: list[list[int]]
    confusion_markdown: str
    detector: dict[str, dict[str, int]]
    detector_missed: list[str] = field(default_factory=list)
    detector_false_alarms: list[str] = field(default_factory=list)
    detector_check_us: float = 0.0


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="service classifier accuracy on a held-out third; emergency detector misses",
    )
    p.add_argument("--seed", type=int, default=0, help="the held-out split's seed (default 0)")
    p.add_argument(
        "--seeds",
        type=int,
        default=5,
        metavar="N",
        help="also repeat the split over seeds 0..N-1 for the spread (default 5)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def run_classify_bench(seed: int = 0, seeds: int = 5) -> ClassifyBench:
    examples = load_labelled()
    covered = [e for e in examples if e.language in CLASSIFIER_LANGUAGES]
    train, test = holdout_split(covered, seed=seed)
    started = time.perf_counter()
    ServiceClassifier.train(train)
    train_s = time.perf_counter() - started
    result = evaluate(train, test)
    started = time.perf_counter()
    ServiceClassifier.train(covered)
    train_all_s = time.perf_counter() - started
    per_seed = [evaluate(*holdout_split(covered, seed=s)).accuracy for s in range(seeds)]

    thresholds = []
    for threshold in THRESHOLDS:
        kept = [ok for p, ok in result.confidences if p >= threshold]
        share = len(kept) / len(result.confidences)
        thresholds.append((threshold, share, sum(kept) / len(kept) if kept else 0.0))

    labelled: dict[str, dict[str, int]] = {}
    for e in examples:
        row = labelled.setdefault(e.language, Counter())
        row[e.service_code] += 1
        row["emergency"] += e.emergency
    detector = EmergencyDetector()
    missed, false_alarms = [], []
    started = time.perf_counter()
    for e in examples:
        alert = detector.check(e.text, e.language)
        if e.emergency and alert is None:
            missed.append(f"{e.language}: {e.text}")
        elif not e.emergency and alert is not None:
            false_alarms.append(f"{e.language}: {e.text} ({', '.join(alert.words)})")
    check_us = (time.perf_counter() - started) / len(examples) * 1e6

    return ClassifyBench(
        seed=seed,
        labelled={lang: dict(row) for lang, row in labelled.items()},
        train_examples=len(train),
        test_examples=len(test),
        train_s=train_s,
        train_all_s=train_all_s,
        accuracy=result.accuracy,
        per_language=result.per_language,
        per_language_count=result.counts,
        seeds=list(range(seeds)),
        accuracy_per_seed=per_seed,
        thresholds=thresholds,
        labels=result.labels,
        confusion=result.confusion,
        confusion_markdown=result.format_markdown(),
        detector=measure(examples, detector),
        detector_missed=missed,
        detector_false_alarms=false_alarms,
        detector_check_us=check_us,
    )


def report_classify(result: ClassifyBench) -> None:
    languages = list(result.labelled)
    codes = sorted({c for row in result.labelled.values() for c in row} - {"emergency"})
    totals = [
        sum(n for c, n in result.labelled[lang].items() if c != "emergency") for lang in languages
    ]
    print_table(
        "Labelled utterances per language and service (hotline/cases/data/labelled.tsv)",
        ["service", *languages],
        [
            *([c, *(str(result.labelled[lang].get(c, 0)) for lang in languages)] for c in codes),
            ["(emergencies)", *(str(result.labelled[lang]["emergency"]) for lang in languages)],
            ["total", *(str(n) for n in totals)],
        ],
    )
    print_table(
        f"Service classifier: trained on {result.train_examples}, scored on the held-out "
        f"{result.test_examples} (seed {result.seed}); top answer, threshold or not",
        ["language", "examples", "accuracy"],
        [
            *(
                [lang, str(result.per_language_count[lang]), f"{acc:.1%}"]
                for lang, acc in result.per_language.items()
            ),
            ["all", str(result.test_examples), f"{result.accuracy:.1%}"],
        ],
    )
    spread = result.accuracy_per_seed
    if spread:
        print(
            f"over seeds {result.seeds[0]}..{result.seeds[-1]}: mean {statistics.mean(spread):.1%}, "
            f"min {min(spread):.1%}, max {max(spread):.1%}"
        )
    print_table(
        f"Confidence threshold (MIN_CONFIDENCE is {MIN_CONFIDENCE}): below it no code is named",
        ["threshold", "answered", "accuracy of answered"],
        [[f"{t:.2f}", f"{share:.0%}", f"{acc:.1%}"] for t, share, acc in result.thresholds],
    )
    print("\nConfusion matrix (held-out third; rows: true code, columns: chosen code)\n")
    print(result.confusion_markdown)
    print_table(
        "Emergency detector on the whole labelled set",
        ["language", "emergencies", "missed", "non-emergencies", "false alarms"],
        [
            [
                lang,
                str(row["emergencies"]),
                str(row["missed"]),
                str(row["non_emergencies"]),
                str(row["false_alarms"]),
            ]
            for lang, row in result.detector.items()
        ],
    )
    for line in result.detector_missed:
        print(f"  missed: {line}")
    for line in result.detector_false_alarms:
        print(f"  false alarm: {line}")
    print(
        f"\ntraining: {result.train_s:.2f} s on {result.train_examples} utterances, "
        f"{result.train_all_s:.2f} s on all {result.train_examples + result.test_examples} "
        f"(the default model); detector: {result.detector_check_us:.1f} µs per utterance"
    )


def run(args: argparse.Namespace) -> int:
    if args.seeds < 0:
        raise BenchError("--seeds must not be negative")
    result = run_classify_bench(args.seed, args.seeds)
    report_classify(result)
    if args.json:
        write_json(args.json, "classify", result)
    return 0
