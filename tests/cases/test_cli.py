"""`hotline cases` and `hotline report` on a records file: the same workflow the console and
the API use, from the command line, every change in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hotline.cases import load_catalogue
from hotline.cases.store import CaseStore
from hotline.cli import main
from hotline.records import RecordStore


def plant(data_dir) -> tuple[str, str]:
    with RecordStore(data_dir / "hotline.sqlite3") as records:
        old = datetime.now(UTC) - timedelta(days=2)
        cases = CaseStore(records, load_catalogue(), now=lambda: old)
        late = cases.post(
            "street_light", "La farola está rota", "es", who="t", place="calle Mayor 5"
        )
        fresh = CaseStore(records, load_catalogue()).post("noise", "Music", "en", who="t")
        return late.service_request_id, fresh.service_request_id


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cases_are_listed_with_the_overdue_ones_flagged_and_moved_through_the_workflow(
    tmp_path, capsys
):
    late, fresh = plant(tmp_path)
    data = ("cases", "--data-dir", str(tmp_path))
    code, out, _ = run(capsys, *data, "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "OVERDUE (dispatch)" in lines[late] and "OVERDUE" not in lines[fresh]
    code, out, _ = run(capsys, *data, "list", "--overdue")
    assert [line.split()[0] for line in out.splitlines()] == [late]

    assert run(capsys, *data, "dispatch", late, "--note", "crew 7")[0] == 0
    assert run(capsys, *data, "progress", late)[0] == 0
    code, out, _ = run(capsys, *data, "resolve", late, "--note", "Farola cambiada.")
    assert code == 0 and "follow-up to the caller (es): Su solicitud" in out
    code, out, _ = run(capsys, *data, "show", late)
    shown = json.loads(out)
    assert [h["status"] for h in shown["history"]] == [
        "open",
        "dispatched",
        "in_progress",
        "resolved",
    ]
    assert shown["history"][1]["note"] == "to Department of Transportation: crew 7"
    assert shown["overdue"] == []
    code, _, err = run(capsys, *data, "dispatch", late)
    assert code == 2 and "resolved" in err
    code, _, err = run(capsys, *data, "show", "R-19990101-0001")
    assert code == 2 and "no case" in err
    with RecordStore(tmp_path / "hotline.sqlite3") as records:
        actions = [entry.action for entry in records.audit_log()]
    assert {"case.dispatch", "case.progress", "case.resolve", "case.show"} <= set(actions)


def test_the_report_is_written_as_html_and_as_pdf(tmp_path, capsys):
    plant(tmp_path)
    today = datetime.now(UTC).date()
    window = ("--from", str(today - timedelta(days=7)), "--to", str(today))
    code, out, _ = run(
        capsys, "report", "--data-dir", str(tmp_path), *window, "-o", str(tmp_path / "r.html")
    )
    assert code == 0 and "2 cases" in out
    assert "<img" in (tmp_path / "r.html").read_text(encoding="utf-8")
    code, _, _ = run(
        capsys, "report", "--data-dir", str(tmp_path), *window, "-o", str(tmp_path / "r.pdf")
    )
    assert code == 0 and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    code, _, err = run(
        capsys,
        "report",
        "--data-dir",
        str(tmp_path),
        "--from",
        "2026-13-01",
        "--to",
        "x",
        "-o",
        "y",
    )
    assert code == 2 and "YYYY-MM-DD" in err
