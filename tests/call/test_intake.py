"""Prefilling the complaint form from what the caller said."""

from __future__ import annotations

import pytest

from hotline.call.intake import RecordSuggester, suggest_fields


@pytest.mark.parametrize(
    "said,expected",
    [
        (
            "the street light in front of my house is broken",
            {"kind": "complaint", "category": "street lighting"},
        ),
        (
            "it is at the corner of main street and park avenue",
            {"place": "main street and park avenue"},
        ),
        (
            "there is loud music every night at 25 baker street",
            {"category": "noise", "place": "25 baker street"},
        ),
        (
            "la farola de la calle Mayor 3 está rota",
            {"kind": "complaint", "category": "street lighting", "place": "calle Mayor 3"},
        ),
        (
            "강남대로 가로등이 고장났어요",
            {"kind": "complaint", "category": "street lighting", "place": "강남대로"},
        ),
        (
            "人民路的路灯坏了",
            {"kind": "complaint", "category": "street lighting", "place": "人民路"},
        ),
        ("how can i get a parking permit", {"kind": "consultation", "category": "parking"}),
    ],
)
def test_fields_are_suggested_from_what_was_said(said, expected):
    found = suggest_fields(said)
    assert {k: found.get(k) for k in expected} == expected


def test_nothing_is_suggested_from_small_talk():
    assert suggest_fields("hello good morning") == {}


def test_suggester_reports_only_new_fields_and_keeps_the_first_value():
    suggester = RecordSuggester()
    assert suggester.hear("the street light is broken") == {
        "kind": "complaint",
        "category": "street lighting",
    }
    assert suggester.hear("the street light is still broken") is None
    assert suggester.hear("it is on elm street") == {
        "kind": "complaint",
        "category": "street lighting",
        "place": "elm street",
    }


def test_a_street_word_without_a_name_is_no_place():
    assert "place" not in suggest_fields("La luz de calle está rota.")
