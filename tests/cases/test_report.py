"""The rates report as a standalone HTML page with its charts inside, and as a PDF."""

from __future__ import annotations

import base64
import re

import pytest

from hotline.cases.report import write_report
from tests.cases.test_rates import END, NOW, START, TARGET_S, sample

PNG = b"\x89PNG\r\n\x1a\n"


def report(tmp_path, name: str):
    calls, cases = sample()
    return write_report(
        calls,
        cases,
        answer_target_s=TARGET_S,
        now=NOW,
        start=START,
        end=END,
        path=tmp_path / name,
    )


def test_html_report_carries_every_chart_as_an_embedded_png_and_the_numbers(tmp_path):
    path = report(tmp_path, "report.html")
    assert path == tmp_path / "report.html"
    page = path.read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    # three rates, volume per day, handle time
    assert len(images) == 5
    assert all(base64.b64decode(data).startswith(PNG) for data in images)
    assert "<script" not in page and "http" not in page, "the file stands alone"
    for heading in ("Response rate", "Resolution rate", "Satisfaction rate", "Volume per day"):
        assert heading in page
    assert "60.0%" in page and "3/5" in page, "the overall response rate"
    assert "2/4, 1 pending" in page, "the overall resolution rate"
    assert "mean 3.50" in page, "the mean survey score"
    assert "Department of Environmental Protection" in page
    overdue = page[page.index("id=overdue") :]
    assert overdue.index("K6") < overdue.index("K4"), "the longest overdue first"


def test_pdf_report_is_a_pdf_with_a_page_per_section(tmp_path):
    path = report(tmp_path, "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    # summary, three rates, volume, handle time, overdue
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 7


def test_an_empty_window_still_makes_a_report(tmp_path):
    for name in ("empty.html", "empty.pdf"):
        path = write_report(
            [], [], answer_target_s=TARGET_S, now=NOW, start=START, end=END, path=tmp_path / name
        )
        assert path.stat().st_size > 1000


def test_a_report_is_html_or_pdf(tmp_path):
    with pytest.raises(ValueError, match=r"\.html or \.pdf"):
        report(tmp_path, "report.docx")
    assert not (tmp_path / "report.docx").exists()
