"""A replay is scored against QA reviewers' corrections when no reference file is given."""

from __future__ import annotations

import pytest

from hotline.qa.replay import ReplayedLine, _scores_from_corrections
from hotline.records import RecordStore


def line(utterance_id: int, original: str, new: str, translation: str, retranslated: str):
    return ReplayedLine(
        speaker="caller",
        language="en",
        target_language="es",
        start_s=1.0,
        end_s=2.0,
        typed=False,
        utterance_id=utterance_id,
        original=original,
        new=new,
        original_translation=translation,
        new_translation=retranslated,
        original_engine="apertium eng-spa",
        new_engine="apertium eng-spa",
        original_latency={},
        new_latency={},
    )


def test_corrected_lines_are_the_references_for_both_transcripts(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        call = store.create_call("en")
        first = store.add_utterance(
            call.id, speaker="caller", original="the streets like", start_s=1, end_s=2
        )
        second = store.add_utterance(
            call.id, speaker="caller", original="is broken", start_s=3, end_s=4
        )
        store.add_correction(first, "original", "the street light", "quinn")
        store.add_correction(first, "translation", "la farola", "quinn")
        record = store.get(call.id)
    lines = [
        line(first, "the streets like", "the street light", "las calles como", "la farola"),
        line(second, "is broken", "is broken", "está rota", "está rota"),
    ]
    scores = _scores_from_corrections(lines, record, "en")
    # only the corrected line counts: the call had 2 of 3 words wrong, the replay none
    assert scores["transcript"]["original"] == pytest.approx(2 / 3, abs=1e-4)
    assert scores["transcript"]["new"] == 0.0
    assert scores["transcript"]["basis"] == "qa corrections"
    assert scores["translation"]["new"] == 100.0 > scores["translation"]["original"]


def test_without_corrections_there_is_nothing_to_score(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        call = store.create_call("en")
        said = store.add_utterance(call.id, speaker="caller", original="hello", start_s=1, end_s=2)
        record = store.get(call.id)
    assert (
        _scores_from_corrections([line(said, "hello", "hello", "hola", "hola")], record, "en") == {}
    )
