"""The rates report for people: the three rates by agency, service, language and week,
volume per day, handle time and the overdue cases, as one standalone HTML file (charts
embedded as PNG) or a PDF (a page of charts per section, tables drawn too). Charts are
drawn with matplotlib's Agg backend, never a window."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.cases.models import Case
from hotline.cases.rates import GROUPINGS, compute
from hotline.records import CallRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["RATES", "write_report"]

RATES = {
    "response": "Response rate: calls answered within the target",
    "resolution": "Resolution rate: cases resolved within their feedback clock",
    "satisfaction": "Satisfaction rate: survey answers of 4 or 5",
}
_GROUPING_TITLES = {
    "agency": "by agency",
    "service": "by service",
    "language": "by caller language",
    "week": "by ISO week",
}
_COLOURS = {"response": "#1f5fbf", "resolution": "#137333", "satisfaction": "#b06000"}
_OVERDUE_ROWS_PER_PAGE = 28
_LABEL_CHARS = 30

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d2330}
table{border-collapse:collapse;margin:.6em 0 1.2em}
td,th{border-bottom:1px solid #d9dde3;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f5f7} .num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%} .muted{color:#6b7280} h2{margin-top:2em}
"""


def write_report(
    calls: list[CallRecord],
    cases: list[Case],
    *,
    answer_target_s: float,
    now: datetime,
    start: datetime,
    end: datetime,
    path: Path,
) -> Path:
    """Compute the rates of ``[start, end)`` at ``now`` (see :func:`rates.compute`) and
    write them to ``path``: PDF when it ends in ``.pdf``, HTML when ``.html`` or ``.htm``.
    Returns ``path``; an unknown suffix raises ValueError before anything is written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise ValueError(f"a report is .html or .pdf, not {path.name!r}")
    rates = compute(calls, cases, answer_target_s=answer_target_s, now=now, start=start, end=end)
    if suffix == ".pdf":
        _write_pdf(rates, path)
    else:
        path.write_text(_html(rates), encoding="utf-8")
    return path


# --- numbers in words --------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _late(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _detail(name: str, tally: dict[str, Any]) -> str:
    """What stands behind a rate: ``3/5``, plus pending cases or the mean score."""
    text = f"{tally['numerator']}/{tally['denominator']}"
    if name == "resolution" and tally.get("pending"):
        text += f", {tally['pending']} pending"
    if name == "satisfaction" and tally.get("mean") is not None:
        text += f", mean {tally['mean']:.2f}"
    return text


def _title(rates: dict[str, Any]) -> str:
    window = rates["window"]
    return f"Hotline rates, {window['start'][:10]} to {window['end'][:10]} (end not included)"


def _summary_rows(rates: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = [
        (
            RATES[name],
            _percent(rates[name]["overall"]["rate"]),
            _detail(name, rates[name]["overall"]),
        )
        for name in RATES
    ]
    handle = rates["handle_time"]["overall"]
    rows.append(
        (
            "Handle time of answered calls (median, mean)",
            _seconds(handle["median_s"]),
            f"mean {_seconds(handle['mean_s'])}, n {handle['n']}",
        )
    )
    rows.append(
        ("Calls, cases", f"{rates['totals']['calls']}", f"{rates['totals']['cases']} cases")
    )
    rows.append(("Cases overdue now", f"{len(rates['overdue'])}", ""))
    return rows


def _overdue_rows(rates: dict[str, Any]) -> list[list[str]]:
    return [
        [
            row["service_request_id"],
            row["service_code"],
            row["agency"],
            ", ".join(row["overdue"]),
            row["due"][:16].replace("T", " "),
            _late(row["late_s"]),
        ]
        for row in rates["overdue"]
    ]


_OVERDUE_HEAD = ["Request", "Service", "Agency", "Overdue", "Due (UTC)", "Late by"]


# --- charts ------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (matplotlib is imported only when a report is drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _short(label: str, chars: int = _LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _rate_bars(ax: Axes, name: str, groups: dict[str, dict[str, Any]], title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    if not groups:
        ax.text(0.5, 0.5, "nothing in this window", ha="center", va="center", color="#6b7280")
        ax.set_axis_off()
        return
    labels = list(groups)
    values = [(groups[k]["rate"] or 0.0) * 100 for k in labels]
    positions = range(len(labels))
    ax.barh(positions, values, color=_COLOURS[name], height=0.6)
    ax.set_yticks(list(positions), [_short(k) for k in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 135)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.tick_params(axis="x", labelsize=8)
    ax.axvline(100, color="#d9dde3", linewidth=0.8)
    for y, key in zip(positions, labels, strict=True):
        tally = groups[key]
        ax.text(
            (tally["rate"] or 0.0) * 100 + 2,
            y,
            f"{_percent(tally['rate'])} ({_detail(name, tally)})",
            va="center",
            fontsize=7,
        )
    ax.spines[["top", "right"]].set_visible(False)


def _rate_figure(rates: dict[str, Any], name: str) -> Figure:
    rate = rates[name]
    most = max([len(rate[f"by_{g}"]) for g in GROUPINGS] + [1])
    figure = _figure(11, max(5.0, 1.2 + most * 0.62))
    figure.suptitle(
        f"{RATES[name]}: {_percent(rate['overall']['rate'])} ({_detail(name, rate['overall'])})",
        fontsize=12,
    )
    for i, grouping in enumerate(GROUPINGS, start=1):
        _rate_bars(
            figure.add_subplot(2, 2, i), name, rate[f"by_{grouping}"], _GROUPING_TITLES[grouping]
        )
    figure.tight_layout()
    return figure


def _volume_figure(rates: dict[str, Any]) -> Figure:
    days = rates["volume"]["days"]
    figure = _figure(11, 4.2)
    ax = figure.add_subplot(1, 1, 1)
    ax.set_title("Volume per day", fontsize=12, loc="left")
    positions = list(range(len(days)))
    calls = [d["calls"] for d in days]
    cases = [d["cases"] for d in days]
    ax.bar([p - 0.2 for p in positions], calls, width=0.4, label="calls", color="#1f5fbf")
    ax.bar([p + 0.2 for p in positions], cases, width=0.4, label="cases", color="#b06000")
    step = max(1, len(days) // 16)
    ax.set_xticks(positions[::step], [d["day"][5:] for d in days][::step], fontsize=8)
    ax.tick_params(axis="x", rotation=45)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, ncols=2, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def _handle_figure(rates: dict[str, Any]) -> Figure:
    handle = rates["handle_time"]
    groups = {"all": handle["overall"], **handle["by_language"]}
    figure = _figure(11, max(3.0, 1.4 + len(groups) * 0.45))
    ax = figure.add_subplot(1, 1, 1)
    ax.set_title("Handle time of answered calls (minutes)", fontsize=12, loc="left")
    labels = list(groups)
    positions = list(range(len(labels)))
    medians = [(groups[k]["median_s"] or 0) / 60 for k in labels]
    means = [(groups[k]["mean_s"] or 0) / 60 for k in labels]
    ax.barh([p - 0.2 for p in positions], medians, height=0.4, label="median", color="#1f5fbf")
    ax.barh([p + 0.2 for p in positions], means, height=0.4, label="mean", color="#9ab")
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    top = max(medians + means + [1.0])
    ax.set_xlim(0, top * 1.3)
    for p, key in zip(positions, labels, strict=True):
        tally = groups[key]
        ax.text(
            max(medians[p], means[p]) + top * 0.02,
            p,
            f"median {_seconds(tally['median_s'])}, mean {_seconds(tally['mean_s'])}, "
            f"n {tally['n']}",
            va="center",
            fontsize=7,
        )
    ax.legend(fontsize=8, ncols=2, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def _table_figure(title: str, head: list[str], rows: list[list[str]]) -> Figure:
    figure = _figure(11, 8.5)
    ax = figure.add_subplot(1, 1, 1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=12, loc="left")
    if not rows:
        ax.text(0.0, 0.9, "None.", fontsize=10, transform=ax.transAxes)
        return figure
    table = ax.table(
        cellText=[[_short(cell, 64) for cell in row] for row in rows],
        colLabels=head,
        loc="upper left",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(head))))
    table.scale(1, 1.3)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_facecolor("#f4f5f7")
    return figure


def _summary_figure(rates: dict[str, Any]) -> Figure:
    figure = _table_figure(
        _title(rates), ["Figure", "Value", "Detail"], [list(row) for row in _summary_rows(rates)]
    )
    window = rates["window"]
    figure.text(
        0.05,
        0.04,
        f"As of {window['now'][:16].replace('T', ' ')}; answer target "
        f"{window['answer_target_s']:g} s; days and weeks in {window['time_zone']}.",
        fontsize=8,
        color="#6b7280",
    )
    return figure


def _chunks(rows: list[list[str]], size: int) -> Iterator[list[list[str]]]:
    if not rows:
        yield []
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _pages(rates: dict[str, Any]) -> Iterator[Figure]:
    """The PDF's pages, one figure each, drawn as they are written."""
    yield _summary_figure(rates)
    for name in RATES:
        yield _rate_figure(rates, name)
    yield _volume_figure(rates)
    yield _handle_figure(rates)
    for rows in _chunks(_overdue_rows(rates), _OVERDUE_ROWS_PER_PAGE):
        yield _table_figure("Cases overdue now", _OVERDUE_HEAD, rows)


def _write_pdf(rates: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path, metadata={"Title": _title(rates)}) as pdf:
        for figure in _pages(rates):
            pdf.savefig(figure)


# --- HTML --------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(figure: Figure, alt: str) -> str:
    data = base64.b64encode(_png(figure)).decode()
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def _table(head: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    if not rows:
        return "<p class=muted>None.</p>"

    def cell(tag: str, i: int, value: str) -> str:
        return f"<{tag}{' class=num' if i in numeric else ''}>{_e(value)}</{tag}>"

    return (
        "<table><tr>"
        + "".join(cell("th", i, h) for i, h in enumerate(head))
        + "</tr>"
        + "".join(
            "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
        )
        + "</table>"
    )


def _rate_table(rates: dict[str, Any], name: str) -> str:
    rows = [
        [_GROUPING_TITLES[g].removeprefix("by "), key, _percent(t["rate"]), _detail(name, t)]
        for g in GROUPINGS
        for key, t in rates[name][f"by_{g}"].items()
    ]
    return _table(["Grouping", "Group", "Rate", "Count"], rows, numeric=(2,))


def _html(rates: dict[str, Any]) -> str:
    title = _title(rates)
    window = rates["window"]
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class=muted>As of {_e(window['now'])}; answer target "
        f"{window['answer_target_s']:g} s; days and weeks in {_e(window['time_zone'])}.</p>",
        _table(["Figure", "Value", "Detail"], [list(r) for r in _summary_rows(rates)], (1,)),
    ]
    for name, heading in RATES.items():
        parts += [
            f"<h2 id={name}>{_e(heading)}</h2>",
            _img(_rate_figure(rates, name), heading),
            _rate_table(rates, name),
        ]
    days = [[d["day"], str(d["calls"]), str(d["cases"])] for d in rates["volume"]["days"]]
    handle = rates["handle_time"]
    handle_rows = [
        [key, _seconds(t["median_s"]), _seconds(t["mean_s"]), str(t["n"])]
        for key, t in {"all": handle["overall"], **handle["by_language"]}.items()
    ]
    parts += [
        "<h2 id=volume>Volume per day</h2>",
        _img(_volume_figure(rates), "Calls and cases per day"),
        "<details><summary>Numbers</summary>",
        _table(["Day", "Calls", "Cases"], days, (1, 2)),
        "</details>",
        "<h2 id=handle-time>Handle time</h2>",
        _img(_handle_figure(rates), "Handle time per caller language"),
        _table(["Language", "Median", "Mean", "Calls"], handle_rows, (1, 2, 3)),
        "<h2 id=overdue>Cases overdue now</h2>",
        _table(_OVERDUE_HEAD, _overdue_rows(rates), (5,)),
        "</body></html>\n",
    ]
    return "\n".join(parts)
