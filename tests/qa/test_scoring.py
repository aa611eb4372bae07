"""QA scores, checked by hand: WER and CER count edits against the reference's words or
characters; chrF is sacrebleu's; the diff marks what the replay changed."""

from __future__ import annotations

import pytest

from hotline.qa import chrf, error_rate, word_diff


def test_wer_is_edits_over_reference_words_ignoring_case_and_punctuation():
    # one deletion ("the" before mat) in six reference words
    rate = error_rate(["The cat sat on the mat."], ["the cat sat on mat"], "en")
    assert (rate.metric, rate.reference_units) == ("wer", 6)
    assert rate.value == pytest.approx(1 / 6)
    assert error_rate(["Hello, world!"], ["hello world"], "en").value == 0.0


def test_wer_over_several_lines_is_one_corpus():
    # 1 substitution in 3 words + 1 insertion against 2 words = 2 edits / 5 words
    rate = error_rate(["a b c", "d e"], ["a x c", "d e f"], "es")
    assert rate.value == pytest.approx(2 / 5)


def test_korean_chinese_and_japanese_are_scored_by_characters_without_spaces():
    spacing_only = error_rate(["가로등이 고장났어요"], ["가로등이 고장 났어요"], "ko")
    assert (spacing_only.metric, spacing_only.value) == ("cer", 0.0)
    one_wrong = error_rate(["가로등"], ["가로두"], "ko")
    assert one_wrong.value == pytest.approx(1 / 3) and one_wrong.reference_units == 3
    assert error_rate(["路灯坏了"], ["路灯坏"], "zh").value == pytest.approx(1 / 4)


def test_nothing_to_score_gives_none():
    assert error_rate([""], ["something"], "en") is None
    assert chrf(["  "], ["x"]) is None


def test_chrf_matches_a_hand_count_of_character_ngrams():
    # "abd" against "abc": unigrams 2/3 match, bigrams 1/2, trigrams 0/1, and no longer
    # n-grams exist, so precision = recall = (2/3 + 1/2 + 0) / 3 and chrF = 38.89.
    assert chrf(["abc"], ["abd"]) == pytest.approx(38.89, abs=0.01)
    assert chrf(["La farola está rota."], ["La farola está rota."]) == 100.0
    assert chrf(["abc"], ["xyz"]) == 0.0


def test_the_diff_marks_removed_and_added_words_in_order():
    ops = [
        (op.op, op.text)
        for op in word_diff("the streets like the houses broken", "the street light is broken")
    ]
    assert ops == [
        ("=", "the"),
        ("-", "streets like the houses"),
        ("+", "street light is"),
        ("=", "broken"),
    ]
    assert [op.op for op in word_diff("same words", "same words")] == ["="]
