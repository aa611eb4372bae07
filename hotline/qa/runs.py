"""Many calls replayed at once (``hotline replay --all``): a table per language pair, kept run
after run in ``DATA_DIR/replays/``, and what got worse since the previous run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hotline.qa.replay import STAGES, ReplayReport
from hotline.qa.scoring import chrf, error_rate
from hotline.wire.vocabulary import Speaker

__all__ = ["REPLAYS_DIR", "compare_runs", "load_history", "pair_table", "save_run"]

REPLAYS_DIR = "replays"
WORSE_ERROR = 0.005
WORSE_CHRF = 0.5
WORSE_LATENCY = (1.25, 0.02)
"""A stage's p95 is worse when it grew by a quarter and by at least 20 ms."""


def pair_table(
    reports: Sequence[ReplayReport], references: dict[str, list[str]] | None = None
) -> list[dict[str, Any]]:
    """One row per language pair. The error rate and chrF are against references where a
    call has them, else against the call's own transcript and translation (how far the
    replay moved from what the call had); ``basis`` says which."""
    by_pair: dict[str, list[ReplayReport]] = {}
    for report in reports:
        by_pair.setdefault(report.pair, []).append(report)
    rows = []
    for pair, group in sorted(by_pair.items()):
        language = group[0].call.get("caller_language")
        truths, hyps, said, meant, translated = [], [], [], [], []
        for report in group:
            caller = [x for x in report.lines if x.speaker == Speaker.CALLER and not x.typed]
            hypothesis = " ".join(x.new or "" for x in caller)
            reference = (references or {}).get(report.call["reference"])
            if reference:
                truths.append(" ".join(reference))
                hyps.append(hypothesis)
            said.append(" ".join(x.original or "" for x in caller))
            meant.append(" ".join(x.original_translation or "" for x in caller))
            translated.append(" ".join(x.new_translation or "" for x in caller))
        basis = "references" if truths else "call transcript"
        rate = error_rate(truths, hyps, language) if truths else None
        if rate is None:
            rate = error_rate(said, [_new(r) for r in group], language)
        lines = [x for r in group for x in r.lines]
        rows.append(
            {
                "pair": pair,
                "calls": len(group),
                "utterances": len(lines),
                "changed": sum(x.changed for x in lines),
                "basis": basis,
                "error_rate": [rate.metric, round(rate.value, 4)] if rate else None,
                "chrf": chrf(meant, translated),
                "latency": {
                    stage: _percentiles([v for r in group for v in r.latencies(stage)])
                    for stage in STAGES
                },
            }
        )
    return rows


def _new(report: ReplayReport) -> str:
    return " ".join(
        x.new or "" for x in report.lines if x.speaker == Speaker.CALLER and not x.typed
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(float(np.percentile(values, 50)), 4),
        "p95": round(float(np.percentile(values, 95)), 4),
        "n": len(values),
    }


def save_run(data_dir: Path, reports: Sequence[ReplayReport], table: list[dict[str, Any]]) -> Path:
    """Keep this run's table and transcripts for the next run to compare against."""
    folder = data_dir / REPLAYS_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    at = datetime.now(UTC)
    run = {
        "at": at.isoformat(timespec="seconds"),
        "engines": {k: v for r in reports for k, v in r.engines.items()},
        "pairs": {row["pair"]: row for row in table},
        "calls": {
            r.call["reference"]: [[x.speaker, round(x.start_s, 2), x.new] for x in r.lines]
            for r in reports
        },
    }
    path = folder / f"run-{at.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)
    return path


def load_history(data_dir: Path) -> list[dict[str, Any]]:
    """Every run kept so far, oldest first (unreadable files are skipped)."""
    runs = []
    for path in sorted((data_dir / REPLAYS_DIR).glob("run-*.json")):
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return runs


def compare_runs(
    previous: dict[str, Any] | None, current: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """What got worse from ``previous`` to ``current`` (scores, latencies), and which
    utterances' transcripts changed, in words."""
    if previous is None:
        return [], []
    worse, changed = [], []
    for pair, row in current.get("pairs", {}).items():
        before = previous.get("pairs", {}).get(pair)
        if not before:
            continue
        old, new = before.get("error_rate"), row.get("error_rate")
        if old and new and old[0] == new[0] and new[1] > old[1] + WORSE_ERROR:
            worse.append(f"{pair}: {new[0].upper()} {old[1]:.3f} → {new[1]:.3f}")
        if (
            before.get("chrf") is not None
            and row.get("chrf") is not None
            and row["chrf"] < before["chrf"] - WORSE_CHRF
        ):
            worse.append(f"{pair}: chrF {before['chrf']:.1f} → {row['chrf']:.1f}")
        for stage in STAGES:
            was = before.get("latency", {}).get(stage, {}).get("p95")
            now = row.get("latency", {}).get(stage, {}).get("p95")
            ratio, floor = WORSE_LATENCY
            if was and now and now > was * ratio and now - was > floor:
                worse.append(
                    f"{pair}: {stage.removesuffix('_s')} p95 {was * 1000:.0f} → {now * 1000:.0f} ms"
                )
    for reference, lines in current.get("calls", {}).items():
        earlier = previous.get("calls", {}).get(reference)
        if earlier is None:
            continue
        then = {(s, t): text for s, t, text in earlier}
        for speaker, start, text in lines:
            if (speaker, start) in then and then[(speaker, start)] != text:
                changed.append(
                    f"call {reference} at {start:.1f} s ({speaker}): "
                    f"{then[(speaker, start)]!r} → {text!r}"
                )
    return worse, changed
