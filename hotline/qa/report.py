"""Replay reports: HTML for people (plots drawn with matplotlib, embedded, so the file stands
alone) and JSON for machines."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotline.qa.replay import STAGES, ReplayedLine, ReplayReport
from hotline.qa.scoring import DiffOp
from telephony import read_wav

__all__ = ["write_html", "write_json", "write_run_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
table{border-collapse:collapse;width:100%;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4} .num{text-align:right;font-variant-numeric:tabular-nums}
del{background:#fdd;text-decoration:line-through} ins{background:#dfd;text-decoration:none}
.changed{background:#fffbe6} .muted{color:#888} img{max-width:100%}
.worse{color:#b00;font-weight:600} .better{color:#070}
"""


def write_json(
    reports: Sequence[ReplayReport], path: Path, extra: dict[str, Any] | None = None
) -> None:
    """One report's dictionary, or ``{"calls": [...], ...extra}`` for many."""
    if len(reports) == 1 and not extra:
        payload: Any = reports[0].to_dict()
    else:
        payload = {"calls": [r.to_dict() for r in reports], **(extra or {})}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")


def write_html(report: ReplayReport, path: Path) -> None:
    call = report.call
    title = f"Replay of call {call['reference']}"
    parts = [
        f"<h1>{_e(title)}</h1>",
        _facts(
            {
                "started": call["started_at"],
                "languages": report.pair,
                "operator": call.get("operator") or "-",
                "channel": call["channel"],
                "status": call["status"],
                "audio": f"{report.speed['audio_s']:.1f} s",
                "replayed in": f"{report.speed['wall_s']:.2f} s "
                f"({report.speed['realtime_factor']:.1f}× real time"
                f"{', paced' if report.options.get('realtime') else ''})",
            }
        ),
        "<h2>Engines</h2>",
        _facts(report.engines),
        "<h2>Scores</h2>",
        _scores(report.to_dict()["summary"]),
        "<h2>Timeline</h2>",
        _img(_timeline(report)),
        "<h2>Utterances</h2>",
        _lines(report.lines),
        "<h2>Latency of each stage (replay)</h2>",
        _img(_histograms([report])),
    ]
    path.write_text(_page(title, parts), encoding="utf-8")


def write_run_html(
    reports: Sequence[ReplayReport],
    table: list[dict[str, Any]],
    worse: list[str],
    history: list[dict[str, Any]],
    path: Path,
) -> None:
    """The report of ``hotline replay --all``: per language pair, what got worse, and each
    pair's scores across the runs so far."""
    title = f"Replay of {len(reports)} calls"
    parts = [
        f"<h1>{_e(title)}</h1>",
        "<h2>Per language pair</h2>",
        _pair_table(table),
        "<h2>Worse than the previous run</h2>",
        "<ul>" + "".join(f"<li class=worse>{_e(w)}</li>" for w in worse) + "</ul>"
        if worse
        else "<p class=muted>Nothing got worse.</p>",
        "<h2>Latency of each stage</h2>",
        _img(_histograms(reports)),
        "<h2>Scores per pair across runs</h2>",
        _img(_history_plot(history)) if len(history) > 0 else "<p class=muted>No runs yet.</p>",
        "<h2>Calls</h2>",
        "<table><tr><th>call</th><th>pair</th><th>utterances</th><th>changed</th>"
        "<th class=num>× real time</th></tr>"
        + "".join(
            f"<tr><td>{_e(r.call['reference'])}</td><td>{_e(r.pair)}</td>"
            f"<td class=num>{len(r.lines)}</td>"
            f"<td class=num>{sum(line.changed for line in r.lines)}</td>"
            f"<td class=num>{r.speed['realtime_factor']:.1f}</td></tr>"
            for r in reports
        )
        + "</table>",
    ]
    path.write_text(_page(title, parts), encoding="utf-8")


# --- pieces ------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, parts: list[str]) -> str:
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style><body>{''.join(parts)}</body></html>\n"
    )


def _facts(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts.items())
    return f"<table>{rows}</table>"


def _scores(summary: dict[str, Any]) -> str:
    rows = [
        f"<tr><td>utterances</td><td class=num colspan=2>{summary['utterances']}</td></tr>",
        f"<tr><td>transcripts changed</td><td class=num colspan=2>{summary['changed']}</td></tr>",
        f"<tr><td>translations changed</td><td class=num colspan=2>"
        f"{summary['translations_changed']}</td></tr>",
    ]
    for key in ("transcript", "translation"):
        score = summary.get(key)
        if score:
            lower_is_better = score["metric"] != "chrf"
            delta = score["new"] - score["original"]
            better = delta < 0 if lower_is_better else delta > 0
            css = "better" if better else "worse" if delta else ""
            rows.append(
                f"<tr><td>{_e(key)} {_e(score['metric'].upper())}</td>"
                f"<td class=num>call: {score['original']:.3f}</td>"
                f"<td class='num {css}'>replay: {score['new']:.3f}</td></tr>"
            )
    if "transcript" not in summary:
        rows.append(
            "<tr><td colspan=3 class=muted>No reference transcript: give one with "
            "--reference FILE to score WER/CER.</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _diff(ops: list[DiffOp]) -> str:
    out = []
    for op in ops:
        if op.op == "=":
            out.append(_e(op.text))
        elif op.op == "-":
            out.append(f"<del>{_e(op.text)}</del>")
        else:
            out.append(f"<ins>{_e(op.text)}</ins>")
    return " ".join(out)


def _latency(values: dict[str, float | None]) -> str:
    shown = [
        f"{k.removesuffix('_s')} {v * 1000:.0f} ms" for k, v in values.items() if v is not None
    ]
    return "<br>".join(shown) or "<span class=muted>-</span>"


def _lines(lines: list[ReplayedLine]) -> str:
    rows = [
        "<tr><th>at</th><th>who</th><th>call transcript → replay</th><th>call translation</th>"
        "<th>replay translation</th><th>latency (call)</th><th>latency (replay)</th></tr>"
    ]
    for line in lines:
        css = " class=changed" if line.changed or line.translation_changed else ""
        said = _diff(line.diff) if line.original is not None else f"<ins>{_e(line.new)}</ins>"
        if line.typed:
            said += " <span class=muted>(typed)</span>"
        rows.append(
            f"<tr{css}><td class=num>{line.start_s:.1f}</td><td>{_e(line.speaker)}</td>"
            f"<td>{said}</td><td>{_e(line.original_translation)}</td>"
            f"<td>{_e(line.new_translation)}<br><span class=muted>{_e(line.new_engine)}</span></td>"
            f"<td>{_latency(line.original_latency)}</td><td>{_latency(line.new_latency)}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _pair_table(table: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>pair</th><th class=num>calls</th><th class=num>utterances</th>"
        "<th class=num>changed</th><th>WER/CER</th><th class=num>chrF</th>"
        + "".join(f"<th class=num>{_e(s.removesuffix('_s'))} p50/p95 ms</th>" for s in STAGES)
        + "</tr>"
    )
    rows = []
    for row in table:
        rate = row.get("error_rate")
        rows.append(
            f"<tr><td>{_e(row['pair'])}</td><td class=num>{row['calls']}</td>"
            f"<td class=num>{row['utterances']}</td><td class=num>{row['changed']}</td>"
            f"<td>{_e(f'{rate[0]} {rate[1]:.3f}' if rate else '-')}</td>"
            f"<td class=num>{_e(row['chrf'] if row.get('chrf') is not None else '-')}</td>"
            + "".join(f"<td class=num>{_ms(row['latency'].get(s, {}))}</td>" for s in STAGES)
            + "</tr>"
        )
    return "<table>" + head + "".join(rows) + "</table>"


def _ms(summary: dict[str, float]) -> str:
    if not summary:
        return "-"
    return f"{summary['p50'] * 1000:.0f} / {summary['p95'] * 1000:.0f}"


# --- plots -------------------------------------------------------------------------------


def _figure(width: float, height: float):  # noqa: ANN202 (matplotlib's own types)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=100)


def _img(png: bytes | None) -> str:
    if png is None:
        return "<p class=muted>Nothing to plot.</p>"
    return f"<img alt='' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _save(plt, fig) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _envelope(path: str, points: int = 2000) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        pcm, rate = read_wav(path)
    except (OSError, ValueError):
        return None
    if pcm.size == 0:
        return None
    step = max(1, pcm.size // points)
    usable = pcm[: pcm.size // step * step].astype(np.float32).reshape(-1, step)
    level = np.abs(usable).max(axis=1) / 32768.0
    times = np.arange(level.size) * step / rate
    return times, level


def _timeline(report: ReplayReport) -> bytes | None:
    """Both legs on the call's clock: each waveform, the call's utterances above it, the
    replay's below."""
    speakers = [s for s in ("caller", "operator") if s in report.legs]
    if not speakers:
        return None
    plt, fig = _figure(11, 1.9 * len(speakers) + 0.4)
    for row, speaker in enumerate(speakers, start=1):
        ax = fig.add_subplot(len(speakers), 1, row)
        envelope = _envelope(report.legs[speaker])
        if envelope is not None:
            times, level = envelope
            ax.fill_between(times, -level, level, color="#9ab", linewidth=0)
        for line in report.lines:
            if line.speaker != speaker or line.typed:
                continue
            if line.original is not None:
                ax.axvspan(line.start_s, line.end_s, ymin=0.55, ymax=0.95, color="#36c", alpha=0.3)
            if line.new:
                ax.axvspan(line.start_s, line.end_s, ymin=0.05, ymax=0.45, color="#e80", alpha=0.3)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.set_ylabel(speaker)
        ax.set_xlim(0, max(report.speed["audio_s"], 0.1))
    ax.set_xlabel("seconds into the call (blue: the call's utterances, orange: the replay's)")
    return _save(plt, fig)


def _histograms(reports: Sequence[ReplayReport]) -> bytes | None:
    stages = [(s, [v for r in reports for v in r.latencies(s)]) for s in STAGES]
    stages = [(s, v) for s, v in stages if v]
    if not stages:
        return None
    plt, fig = _figure(11, 2.6)
    for i, (stage, values) in enumerate(stages, start=1):
        ax = fig.add_subplot(1, len(stages), i)
        ax.hist(np.array(values) * 1000, bins=min(20, max(3, len(values))), color="#36c")
        ax.set_title(stage.removesuffix("_s"))
        ax.set_xlabel("ms")
    return _save(plt, fig)


def _history_plot(history: list[dict[str, Any]]) -> bytes | None:
    """WER/CER and chrF of each pair, run after run."""
    pairs = sorted({pair for run in history for pair in run.get("pairs", {})})
    if not pairs:
        return None
    plt, fig = _figure(11, 3)
    error_ax, chrf_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    runs = list(range(1, len(history) + 1))
    for pair in pairs:
        rows = [run.get("pairs", {}).get(pair, {}) for run in history]
        errors = [r["error_rate"][1] if r.get("error_rate") else np.nan for r in rows]
        chrfs = [r["chrf"] if r.get("chrf") is not None else np.nan for r in rows]
        error_ax.plot(runs, errors, marker="o", label=pair)
        chrf_ax.plot(runs, chrfs, marker="o", label=pair)
    error_ax.set_title("WER/CER (lower is better)")
    chrf_ax.set_title("chrF (higher is better)")
    for ax in (error_ax, chrf_ax):
        ax.set_xlabel("run")
        ax.legend(fontsize="small")
    return _save(plt, fig)
