"""The service classifier files a call's words under one catalogue code, in the caller's
language where it has a model and from the translation where it has none."""

from __future__ import annotations

from collections import Counter

import pytest

from hotline.cases import load_catalogue
from hotline.cases.classify import (
    CLASSIFIER_LANGUAGES,
    MIN_CONFIDENCE,
    Classification,
    Example,
    ServiceClassifier,
    evaluate,
    holdout_split,
    load_labelled,
)

ACCURACY_FLOOR = 0.75
"""Measured 81% on the held-out third (seed 0; 81-83% over seeds 0-4)."""
LANGUAGE_FLOOR = 0.70
"""Measured 76% (zh) to 86% (ko) on seed 0; one language falls to 70% on other seeds."""


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_labelled()


@pytest.fixture(scope="module")
def classifier() -> ServiceClassifier:
    return ServiceClassifier.default()


def test_the_labelled_set_covers_every_catalogue_code_in_every_classified_language(examples):
    assert len(examples) >= 300
    counts = Counter((e.language, e.service_code) for e in examples)
    for language in ("en", "es", "zh", "ko"):
        for code in load_catalogue().codes():
            assert counts[(language, code)] >= 5, (language, code)
    for code in load_catalogue().codes():
        assert counts[("ca", code)] >= 2, code
    assert {e.service_code for e in examples} <= set(load_catalogue().codes())


def test_every_language_has_emergencies_and_near_misses(examples):
    for language in ("en", "es", "zh", "ko", "ca"):
        lines = [e for e in examples if e.language == language]
        assert sum(e.emergency for e in lines) >= 8, language
        assert sum(not e.emergency for e in lines) >= 20, language


def test_the_held_out_third_holds_every_code_in_every_language(examples):
    train, test = holdout_split(examples)
    assert not {e.text for e in train} & {e.text for e in test}
    assert len(train) + len(test) == len(examples)
    assert len(test) == pytest.approx(len(examples) / 3, rel=0.1)
    groups = {(e.language, e.service_code) for e in examples}
    assert {(e.language, e.service_code) for e in test} == groups
    assert holdout_split(examples, seed=1) != (train, test)


def test_held_out_accuracy_stays_above_its_floor_overall_and_per_language(examples):
    covered = [e for e in examples if e.language in CLASSIFIER_LANGUAGES]
    result = evaluate(*holdout_split(covered))
    assert result.accuracy >= ACCURACY_FLOOR
    assert set(result.per_language) == CLASSIFIER_LANGUAGES
    for language, accuracy in result.per_language.items():
        assert accuracy >= LANGUAGE_FLOOR, language
    assert sum(map(sum, result.confusion)) == sum(result.counts.values())
    table = result.format_markdown().splitlines()
    assert len(table) == 2 + len(result.labels)
    assert table[0].startswith("| true \\ chosen | ")


def test_the_default_model_covers_the_four_trained_languages_only(classifier):
    assert classifier.languages == CLASSIFIER_LANGUAGES
    assert classifier.covers("en-US") and classifier.covers("zh_CN") and classifier.covers("KO")
    assert not classifier.covers("ca")
    assert ServiceClassifier.default() is classifier


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("La farola de mi calle no se enciende desde ayer.", "es", "street_light"),
        ("the street light outside my house is broken", "en", "street_light"),
        ("路灯坏了好几天了", "zh", "street_light"),
        ("가로등 이 고장 났 어요", "ko", "street_light"),
        ("Someone parked their car on the sidewalk in front of my house.", "en", "illegal_parking"),
        ("No han recogido la basura de mi calle en toda la semana", "es", "sanitation"),
    ],
)
def test_a_plain_complaint_is_filed_under_its_service(classifier, text, language, code):
    result = classifier.classify(text, language)
    assert result.code == code
    assert result.confidence >= MIN_CONFIDENCE
    assert result.candidates[0] == (code, result.confidence)
    assert len(result.candidates) == 3
    assert [p for _, p in result.candidates] == sorted(
        (p for _, p in result.candidates), reverse=True
    )


def test_a_catalan_call_is_filed_from_its_english_translation(classifier):
    result = classifier.classify_call(
        [
            ("El fanal del carrer Major fa una setmana que està apagat.", "ca"),
            ("The street lamp on Major Street has been off for a week.", "en"),
        ]
    )
    assert result.language == "en"
    assert result.text.startswith("The street lamp")
    assert result.code == "street_light"


def test_a_call_is_filed_from_its_original_words_when_the_model_has_them(classifier):
    result = classifier.classify_call(
        [("hay un bache enorme en la calle Mayor", "es-ES"), ("there is a huge pothole", "en")]
    )
    assert result.language == "es"
    assert result.code == "pothole"


def test_an_empty_original_falls_through_to_the_translation(classifier):
    result = classifier.classify_call([("", "en"), (" ¿? ", "es"), ("路灯不亮了", "zh")])
    assert result.language == "zh"


def test_allowed_restricts_the_codes_to_the_citys_catalogue(classifier):
    text = "the street light on main street is broken"
    result = classifier.classify(text, "en", allowed={"pothole", "noise"})
    assert {code for code, _ in result.candidates} <= {"pothole", "noise"}
    assert len(result.candidates) == 2
    assert sum(p for _, p in result.candidates) == pytest.approx(1.0)
    assert classifier.classify(text, "en", allowed=set()).code is None


@pytest.mark.parametrize("text", ["", "   ", "... ¿? 。"])
def test_no_words_give_no_code(classifier, text):
    result = classifier.classify(text, "en")
    assert result == Classification(None, 0.0, (), "en", text)


def test_a_call_with_nothing_the_model_reads_gives_no_code(classifier):
    result = classifier.classify_call([("Hi ha un sot al carrer", "ca")])
    assert result.code is None and result.language == "ca"
    assert classifier.classify_call([]).code is None


def test_the_classification_is_stored_as_the_case_expects(classifier):
    stored = classifier.classify("there's no heat in my apartment", "en").to_dict()
    assert set(stored) == {"code", "confidence", "candidates", "language"}
    assert stored["language"] == "en"
    assert isinstance(stored["code"], str)
    assert all(isinstance(code, str) and 0 <= p <= 1 for code, p in stored["candidates"])


def test_training_on_a_subset_of_codes_knows_only_those(examples):
    model = ServiceClassifier.train(examples, codes={"noise", "pothole", "water"})
    assert set(model.codes) == {"noise", "pothole", "water"}
    assert model.languages == {"en", "es", "zh", "ko", "ca"}
    with pytest.raises(ValueError):
        ServiceClassifier.train(examples, codes={"noise"})


def test_a_malformed_labelled_file_names_its_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("language\tservice_code\temergency\ttext\nen\tnoise\tyes\tloud\n")
    with pytest.raises(ValueError, match=":2"):
        load_labelled(path)
