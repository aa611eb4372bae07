"""``hotline replay``: one call or many, through today's engines or the ones given."""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from hotline.config import Config
from hotline.engines import Engines, neural_models
from hotline.qa.replay import ReplayOptions, ReplayReport, replay_call
from hotline.qa.report import write_html, write_json, write_run_html
from hotline.qa.runs import compare_runs, load_history, pair_table, save_run
from hotline.records import DEFAULT_FILENAME, RecordStore

__all__ = ["ReplayError", "apply_engine_choices", "read_references", "run_replay"]

_VOSK_LANGUAGE = re.compile(r"vosk-model(?:-small)?-([a-z]{2,3})(?:[-_.]|$)")


class ReplayError(Exception):
    """Something the person running the replay can fix; the message says what."""


def apply_engine_choices(
    config: Config,
    asr_models: list[str] | None = None,
    mt_models: list[str] | None = None,
    engine: str | None = None,
) -> Config:
    """Today's configuration with other engines or models: ``LANG=DIR`` (or a Vosk folder
    whose name says its language) per recognizer, model folders tried first for
    translation, and ``engine`` = ``apertium`` or ``neural`` to use only that kind."""
    asr = replace(config.asr, vosk_models=dict(config.asr.vosk_models))
    for spec in asr_models or []:
        language, _, folder = spec.rpartition("=")
        if not language:
            match = _VOSK_LANGUAGE.search(Path(folder).name.lower())
            if match is None:
                raise ReplayError(
                    f"which language does {folder} recognize? say it: --asr-model LANG={folder}"
                )
            language = match.group(1)
        if not Path(folder).is_dir():
            raise ReplayError(f"--asr-model {spec}: {folder} is not a folder")
        asr.vosk_models[language] = folder
    translate = replace(config.translate, neural_models=list(config.translate.neural_models))
    for folder in reversed(mt_models or []):
        if not (Path(folder) / "config.json").is_file():
            raise ReplayError(
                f"--mt-model {folder}: not a Hugging Face model folder (no config.json)"
            )
        translate.neural_models.insert(0, {"path": folder})
    if engine == "apertium":
        translate.neural_models = []
        translate.use_added_models = False
        translate.apertium = True
    elif engine == "neural":
        if not neural_models(replace(config, asr=asr, translate=translate)):
            raise ReplayError("--engine neural needs a model: give --mt-model DIR")
        translate.apertium = False
    elif engine is not None:
        raise ReplayError(f"--engine {engine}: choose apertium or neural")
    return replace(config, asr=asr, translate=translate)


def read_references(path: Path | None, reference: str) -> list[str] | None:
    """Lines of a reference file; for many calls, ``path`` is a folder of ``<REF>.txt``."""
    if path is None:
        return None
    file = path / f"{reference}.txt" if path.is_dir() else path
    if not file.is_file():
        return None
    try:
        return [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read references from {file}: {exc}") from exc


async def run_replay(
    config: Config,
    *,
    who: str,
    reference: str | None = None,
    since: datetime | None = None,
    options: ReplayOptions | None = None,
    references: Path | None = None,
    reference_translations: Path | None = None,
    html: Path | None = None,
    json_path: Path | None = None,
    out: TextIO = sys.stdout,
    progress: bool = True,
    engines: Engines | None = None,
) -> int:
    """Replay one call (``reference``), else every call (since ``since``); prints a summary,
    writes the reports asked for. Returns the exit status. ``engines`` already loaded
    are used as they are (else they are built from ``config``)."""
    data_dir = config.data_path
    db = data_dir / DEFAULT_FILENAME
    if not db.exists():
        raise ReplayError(f"no records yet: {db} does not exist")
    with RecordStore(db) as store:
        if reference is not None:
            record = store.get(reference)
            if record is None:
                raise ReplayError(f"no call {reference!r}")
            records = [record]
        else:
            calls = store.list(limit=None, since=since)
            records = [r for c in reversed(calls) if (r := store.get(c.id)) and r.recordings]
        for record in records:
            store.audit(who, "record.replay", record.call.id)
    if not records:
        raise ReplayError("no recorded calls to replay" + (f" since {since}" if since else ""))
    own = engines is None
    if engines is None:
        engines = await asyncio.to_thread(Engines, config)
    try:
        if own:
            await engines.warm_up()
        reports = await _replay_all(
            engines, records, data_dir, options, references, reference_translations, progress
        )
    finally:
        if own:
            engines.close()
    if not reports:
        raise ReplayError("no call could be replayed")
    if reference is not None:
        report = reports[0]
        print_call(report, out)
        if html:
            write_html(report, html)
        if json_path:
            write_json([report], json_path)
        return 0
    table = pair_table(
        reports,
        {
            r.call["reference"]: refs
            for r in reports
            if (refs := read_references(references, r.call["reference"]))
        },
    )
    history = load_history(data_dir)
    saved = save_run(data_dir, reports, table)
    current = load_history(data_dir)[-1]
    worse, changed = compare_runs(history[-1] if history else None, current)
    print_run(table, worse, changed, out)
    print(f"run kept in {saved}", file=out)
    if html:
        write_run_html(reports, table, worse, [*history, current], html)
    if json_path:
        write_json(reports, json_path, {"pairs": table, "worse": worse, "changed": changed})
    return 0


async def _replay_all(
    engines: Engines,
    records: list,
    data_dir: Path,
    options: ReplayOptions | None,
    references: Path | None,
    reference_translations: Path | None,
    progress: bool,
) -> list[ReplayReport]:
    from tqdm import tqdm

    reports = []
    bar = tqdm(
        records,
        desc="replaying",
        unit="call",
        disable=not progress or len(records) < 2,
        file=sys.stderr,
    )
    for record in bar:
        ref = record.call.reference
        try:
            reports.append(
                await replay_call(
                    engines,
                    record,
                    data_dir,
                    options,
                    read_references(references, ref),
                    read_references(reference_translations, ref),
                )
            )
        except (LookupError, OSError, ValueError) as exc:
            bar.write(f"hotline: call {ref} not replayed: {exc}", file=sys.stderr)
    return reports


def print_call(report: ReplayReport, out: TextIO) -> None:
    call = report.call
    print(
        f"Call {call['reference']} ({report.pair}, {report.speed['audio_s']:.1f} s) replayed in "
        f"{report.speed['wall_s']:.2f} s: {report.speed['realtime_factor']:.1f}× real time",
        file=out,
    )
    for name, engine in report.engines.items():
        print(f"  {name}: {engine}", file=out)
    for line in report.lines:
        mark = "*" if line.changed else " "
        typed = " (typed)" if line.typed else ""
        print(
            f"{mark}{line.start_s:7.1f}s {line.speaker:8} {line.original or '-'}{typed}", file=out
        )
        if line.changed:
            print(f"{'':18} replay: {line.new or '-'}", file=out)
        if line.new_translation is not None or line.original_translation is not None:
            print(f"{'':18} → {line.original_translation or '-'}", file=out)
            if line.translation_changed:
                print(f"{'':18} → replay: {line.new_translation or '-'}", file=out)
    summary = report.to_dict()["summary"]
    print(
        f"{summary['changed']} of {summary['utterances']} transcripts and "
        f"{summary['translations_changed']} translations changed",
        file=out,
    )
    for key in ("transcript", "translation"):
        score = summary.get(key)
        if score:
            print(
                f"{key} {score['metric'].upper()}: call {score['original']:.3f}, "
                f"replay {score['new']:.3f}",
                file=out,
            )


def print_run(table: list[dict], worse: list[str], changed: list[str], out: TextIO) -> None:
    headers = [
        "pair",
        "calls",
        "utt",
        "changed",
        "WER/CER",
        "chrF",
        "asr p50/p95",
        "mt p50/p95",
        "tts p50/p95",
    ]
    rows = []
    for row in table:
        rate = row["error_rate"]
        rows.append(
            [
                row["pair"],
                str(row["calls"]),
                str(row["utterances"]),
                str(row["changed"]),
                f"{rate[0]} {rate[1]:.3f}" + ("" if row["basis"] == "references" else "*")
                if rate
                else "-",
                "-" if row["chrf"] is None else f"{row['chrf']:.1f}",
                *(
                    _ms(row["latency"][s])
                    for s in ("asr_final_s", "translation_s", "tts_first_byte_s")
                ),
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)), file=out)
    if any(row["basis"] != "references" for row in table):
        print("* against the calls' own transcripts and translations (no references)", file=out)
    print(
        "Worse than the previous run:" if worse else "Nothing worse than the previous run.",
        file=out,
    )
    for line in worse:
        print(f"  {line}", file=out)
    if changed:
        print(f"Transcripts changed since the previous run: {len(changed)}", file=out)
        for line in changed[:20]:
            print(f"  {line}", file=out)


def _ms(summary: dict) -> str:
    if not summary:
        return "-"
    return f"{summary['p50'] * 1000:.0f}/{summary['p95'] * 1000:.0f} ms"
