"""``hotline bench quality``: the reference corpus every MT figure stands on, the MT section
on the real router (Apertium), and the report: a table per section, with its sources."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sacrebleu.metrics import CHRF

from hotline.bench import quality
from hotline.bench.common import BenchError
from hotline.cli import main
from translate import Router, TranslationError, Translator

CITY_COLUMNS = ("en", "es", "ca", "fr", "pt", "it", "gl")


def test_reference_corpus_is_multi_parallel_and_complete():
    with quality.REFERENCES.open(encoding="utf-8", newline="") as rows:
        table = list(csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = table[0], table[1:]
    assert header[0] == "id"
    assert set(CITY_COLUMNS) <= set(header[1:])
    assert len(body) >= 50
    ids = [row[0] for row in body]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    for row in body:
        assert len(row) == len(header), row[0]
        for language, cell in zip(header, row, strict=True):
            assert cell and cell == cell.strip(), (row[0], language)
    corpus = quality.read_references()
    assert list(corpus) == header[1:]
    for language, sentences in corpus.items():
        assert len(set(sentences)) == len(sentences), language


def test_each_reference_column_reads_as_its_language():
    """The project's own text language ID names most rows of each column as that column's
    language, and never confidently as another: a row in the wrong column, or a reference
    written in a neighbour language (Galician as Portuguese), would show here."""
    identifier = quality.text_language_identifier()
    for language, sentences in quality.read_references().items():
        named = Counter(identifier.identify(s).language for s in sentences)
        assert named[language] >= 0.8 * len(sentences), (language, named)
        assert set(named) <= {language, None}, (language, named)


def test_unknown_section_and_bad_limit_are_refused():
    with pytest.raises(BenchError, match="unknown section"):
        quality.run_quality_bench(["wer"])
    with pytest.raises(BenchError, match="--limit"):
        quality.run_quality_bench(["mt"], limit=0)
    with pytest.raises(BenchError, match="no reference column 'xx'"):
        quality.run_quality_bench(["mt"], languages=["en", "xx"])


def test_speech_sections_are_skipped_without_recordings(tmp_path):
    result = quality.run_quality_bench(["asr"], speech_dir=tmp_path / "absent")
    assert result.asr is None
    assert result.skipped == [f"asr: no recordings, {tmp_path / 'absent'} is absent"]
    assert "Skipped asr: no recordings" in quality.markdown(result)


def test_phone_leg_keeps_the_voice_band_and_gets_the_engines_fill():
    """8 kHz as a phone leg hears it: a 1 kHz tone passes, a 6 kHz one is gone but for the
    faint fill the call path adds for that engine."""
    t = np.arange(16000) / 16000
    low = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    high = (8000 * np.sin(2 * np.pi * 6000 * t)).astype(np.int16)
    for engine, fill in (("pocketsphinx", "high-band noise"), ("vosk", "band fold")):
        heard_low, label = quality.as_phone_leg(low, engine)
        heard_high, _ = quality.as_phone_leg(high, engine)
        assert label == f"8 kHz µ-law + {fill}"
        assert np.abs(heard_low).max() > 6000
        assert np.sqrt(np.mean(heard_high.astype(float) ** 2)) < 300


@pytest.fixture(scope="module")
def mt_run(tmp_path_factory):
    """One small run of the command: MT and language ID between en, es and fr, 5 sentences;
    no recordings, so that speech language ID (measured elsewhere) stays out of it."""
    from hotline.engines import translation_router

    with translation_router() as router:
        pairs = router.pairs()
    if not {("en", "es"), ("es", "en"), ("es", "fr"), ("fr", "es")} <= pairs:
        pytest.skip("the Apertium en-es and es-fr pairs are not installed")
    out = tmp_path_factory.mktemp("quality")
    code = main(
        [
            "bench",
            "quality",
            "--section",
            "mt,langid",
            "--languages",
            "en,es,fr",
            "--limit",
            "5",
            "--speech-dir",
            str(out / "no-speech"),
            "--json",
            str(out / "quality.json"),
            "--markdown",
            str(out / "quality.md"),
        ]
    )
    assert code == 0
    payload = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    return payload["result"], (out / "quality.md").read_text(encoding="utf-8")


def test_mt_gives_chrf_per_direction_and_route_direct_and_pivot(mt_run):
    result, _ = mt_run
    mt = result["mt"]
    assert mt["languages"] == ["en", "es", "fr"] and mt["sentences"] == 5
    routes = {(tuple(s["path"]), s["taken"]): s for s in mt["scores"]}
    references = {k: v[:5] for k, v in quality.read_references().items()}
    sources = {k: set(v) for k, v in references.items()}
    # the router's own routes: direct where an engine exists, else through Spanish
    for path in [("en", "es"), ("es", "en"), ("es", "fr"), ("fr", "es"), ("en", "es", "fr")]:
        score = routes[(path, True)]
        assert score["error"] is None
        assert len(score["hypotheses"]) == 5
        assert not set(score["hypotheses"]) & sources[path[0]], "not translated"
        expected = CHRF().corpus_score(score["hypotheses"], [references[path[-1]]]).score
        assert score["chrf"] == pytest.approx(expected)
        assert 0 < score["chrf"] <= 100 and score["bleu"] is not None
    # a direction with its own engine is also measured through the pivot the router would
    # take without it
    pivots = [s for s in mt["scores"] if not s["taken"]]
    assert pivots and all(len(s["path"]) == 3 for s in pivots)
    assert {(s["source"], s["target"]) for s in pivots} <= {
        ("en", "es"),
        ("es", "en"),
        ("es", "fr"),
        ("fr", "es"),
    }
    assert all(s["chrf"] is not None for s in pivots)


def test_langid_shares_add_up_per_language_and_data_set(mt_run):
    result, _ = mt_run
    scores = {(s["data"], s["language"]): s for s in result["langid"]["scores"]}
    assert {("mt_references.tsv", lang) for lang in ("en", "es", "fr")} <= set(scores)
    assert {("labelled.tsv", lang) for lang in ("en", "es", "zh", "ko", "ca")} <= set(scores)
    for score in scores.values():
        assert score["items"] == 5
        assert score["correct"] + score["unsure"] + score["wrong"] == pytest.approx(1.0)
    assert scores[("labelled.tsv", "zh")]["correct"] == 1.0


def test_markdown_has_a_table_per_requested_section_and_says_where_figures_come_from(mt_run):
    _, text = mt_run
    assert "`hotline bench quality --section mt,langid --limit 5 --languages en,es,fr " in text
    assert "speech language ID: not measured (no recordings)" in text
    assert "mt_references.tsv" in text and "sacrebleu" in text
    headings = [line for line in text.splitlines() if line.startswith("#### ")]
    assert [h.split(":")[0] for h in headings] == [
        "#### MT",
        "#### MT",
        "#### Language ID of typed text",
    ]
    assert "| en→es |" in text and "en → es → fr" in text
    assert "#### ASR" not in text and "#### TTS" not in text


class _Tagger(Translator):
    """Marks each text with the target of every hop it went through; some directions fail."""

    name = "tagger"

    def __init__(self, pairs: set[tuple[str, str]], broken: set[tuple[str, str]]) -> None:
        self._pairs, self._broken = pairs, broken
        self.calls: list[tuple[str, str, int]] = []

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._pairs)

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append((source, target, len(texts)))
        if (source, target) in self._broken:
            raise TranslationError("pipeline exited: no data")
        return [f"{text}>{target}" for text in texts]

    def close(self) -> None:
        pass


def test_routes_share_hops_keep_their_own_sentences_and_carry_failures(monkeypatch):
    """Routes that share a hop are translated in one batch yet each gets its own sentences
    back; a failing hop fails every route through it, and only those."""
    monkeypatch.setattr(quality, "MT_BATCH", 2)
    engine = _Tagger(
        {("en", "es"), ("ca", "es"), ("es", "fr"), ("es", "eo")}, broken={("es", "eo")}
    )
    router = Router([engine])
    corpus = {"en": ["a", "b", "c"], "ca": ["x", "y", "z"]}
    plans = [
        quality._Plan(s, t, router.route(s, t), True)
        for s, t in [("en", "fr"), ("ca", "fr"), ("en", "es"), ("ca", "eo")]
    ]
    done = quality._translate_routes(plans, corpus)
    assert done[("en", "es", "fr")] == ["a>es>fr", "b>es>fr", "c>es>fr"]
    assert done[("ca", "es", "fr")] == ["x>es>fr", "y>es>fr", "z>es>fr"]
    assert done[("en", "es")] == ["a>es", "b>es", "c>es"]
    assert done[("ca", "es", "eo")] == "tagger es→eo: pipeline exited: no data"
    es_fr = [n for s, t, n in engine.calls if (s, t) == ("es", "fr")]
    assert sum(es_fr) == 6 and max(es_fr) <= 2, "one batch of both routes, cut to MT_BATCH"
    assert [c for c in engine.calls if c[:2] == ("en", "es")] == [("en", "es", 2), ("en", "es", 1)]


def test_pivot_instead_is_the_routers_route_without_the_direct_engine():
    engine = _Tagger({("en", "es"), ("en", "ca"), ("ca", "es"), ("es", "fr")}, set())
    router = Router([engine])
    pivot = quality._pivot_instead(router, "en", "es")
    assert [(h.source, h.target) for h in pivot] == [("en", "ca"), ("ca", "es")]
    assert [h.source for h in router.route("en", "es")] == ["en"], "the real router is unchanged"
    assert quality._pivot_instead(router, "es", "fr") is None


def test_markdown_renders_every_section():
    """A result with all four sections (figures made up) gives one table each, and the
    speech language ID table when its module answered."""
    result = quality.QualityBench(
        command="hotline bench quality",
        measured="2026-01-01T00:00:00+00:00",
        commit="abc1234",
        machine={"cpus": 2, "platform": "Linux", "python": "3.11"},
        sections=list(quality.SECTIONS),
        limit=None,
        asr=quality.AsrSection(
            "speech",
            {"en": "pocketsphinx"},
            [quality.AsrScore("en", "pocketsphinx", "16 kHz", 1, 2.0, 3, 10, 0.25, 0.1, ["x"])],
            {"fr": (2, 4.0)},
            "transcribe",
            "lower-cased",
        ),
        tts=quality.TtsSection(
            {"en default": "Piper"},
            [quality.TtsScore("en", "Piper", "default", "pocketsphinx", 2, 3.0, 0.1, 0.05, 1, [])],
        ),
        langid=quality.LangidSection(
            "py3langid",
            ["en", "es"],
            0.8,
            [quality.LangidScore("labelled.tsv", "en", 4, 0.75, 0.25, 0.0, {}, 1.0)],
            {"es": {"clips": 6, "accuracy": 0.5}},
            "speech language ID: hotline.bench.langid.measure_speech_langid",
        ),
    )
    text = quality.markdown(result)
    headings = [line for line in text.splitlines() if line.startswith("#### ")]
    assert [h.split(":")[0] for h in headings] == [
        "#### ASR",
        "#### TTS",
        "#### Language ID of typed text",
        "#### Language ID of speech",
    ]
    assert "| fr | no recognizer |" in text
    assert "| es | 6 | 0.500 |" in text


def test_speech_langid_is_measured_by_its_own_module_when_present(tmp_path, monkeypatch):
    monkeypatch.setattr(quality, "SPEECH_LANGID_MODULE", "hotline_no_such_module")
    assert quality._speech_langid(tmp_path) == (None, "speech language ID: not measured")
    (tmp_path / "fake_speech_langid.py").write_text(
        "def measure_speech_langid(speech_dir):\n    return {'folder': str(speech_dir)}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(quality, "SPEECH_LANGID_MODULE", "fake_speech_langid")
    measured, note = quality._speech_langid(tmp_path)
    assert measured == {"folder": str(tmp_path)}
    assert "fake_speech_langid.measure_speech_langid" in note
    assert quality._speech_langid(None)[0] is None
    sys.modules.pop("fake_speech_langid", None)


def test_a_failing_speech_langid_module_is_reported_not_fatal(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_speech_langid.py").write_text(
        "def measure_speech_langid(speech_dir):\n    raise RuntimeError('no model')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(quality, "SPEECH_LANGID_MODULE", "broken_speech_langid")
    measured, note = quality._speech_langid(tmp_path)
    assert measured is None
    assert note.endswith(
        "broken_speech_langid.measure_speech_langid failed (RuntimeError: no model)"
    )
    assert "Traceback" in capsys.readouterr().err
    sys.modules.pop("broken_speech_langid", None)


def test_reference_file_ships_with_the_package():
    pyproject = (Path(quality.REPO) / "pyproject.toml").read_text(encoding="utf-8")
    assert '"bench/data/*"' in pyproject, "hotline/bench/data/ is not in package-data"
