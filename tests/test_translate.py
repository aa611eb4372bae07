"""Translation engines and the router, on real Apertium pipelines and a real (tiny) Marian model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from translate import (
    ApertiumTranslator,
    ModelLoadError,
    NoEngineForPair,
    Router,
    TransformersTranslator,
    TranslationError,
)
from translate.apertium import read_modes
from translate.base import Translator

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

MODES_DIR = Path("/usr/share/apertium/modes")
needs_apertium = pytest.mark.skipif(
    shutil.which("lt-proc") is None
    or not all((MODES_DIR / f"{m}.mode").is_file() for m in ("eng-spa", "spa-eng", "cat-eng")),
    reason="apertium with eng-spa, spa-eng and cat-eng is not installed",
)

EN_ES = {
    "The street light is broken.": "La luz de calle está rota.",
    "There is a lot of noise at night.": "Hay mucho ruido por la noche.",
    "I want to make a complaint.": "Quiero hacer una queja.",
    "The bus did not stop.": "El autobús no paró.",
}
ES_EN = {
    "Hay mucho ruido por la noche.": "There is a lot of noise at night.",
    "El autobús no para.": "The bus does not stop.",
    "Gracias.": "Thank you.",
}
TINY_PAIRS = [
    ("The street light is broken.", "La farola está rota."),
    ("There is noise at night.", "Hay ruido por la noche."),
    ("The bin is full.", "El contenedor está lleno."),
    ("Thank you.", "Gracias."),
]
VOCABULARY_EXTRA = [
    "Please send someone to fix the pavement.",
    "Por favor, envíen a alguien a arreglar la acera.",
    "My neighbour plays loud music every weekend.",
    "Mi vecino pone música muy alta cada fin de semana.",
]


@pytest.fixture(scope="module")
def apertium():
    translator = ApertiumTranslator()
    yield translator
    translator.close()


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Marian en→es model trained here until it reproduces its four sentences, then saved."""
    sentencepiece = pytest.importorskip("sentencepiece")
    torch = pytest.importorskip("torch")
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = tmp_path_factory.mktemp("tiny_marian")
    corpus = work / "corpus.txt"
    lines = [s for pair in TINY_PAIRS for s in pair] + VOCABULARY_EXTRA
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(work / "spm"),
        vocab_size=80,
        hard_vocab_limit=False,
        character_coverage=1.0,
        unk_id=0,
        eos_id=1,
        bos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    processor = sentencepiece.SentencePieceProcessor(model_file=str(work / "spm.model"))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    assert 50 <= len(vocab) <= 100
    (work / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(work / "spm.model"),
        target_spm=str(work / "spm.model"),
        vocab=str(work / "vocab.json"),
        source_lang="en",
        target_lang="es",
    )

    torch.manual_seed(0)
    torch.set_num_threads(2)
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    model = MarianMTModel(config)
    sources = [s for s, _ in TINY_PAIRS]
    targets = [t for _, t in TINY_PAIRS]
    batch = tokenizer(sources, text_target=targets, return_tensors="pt", padding=True)
    labels = batch["labels"].masked_fill(batch["labels"] == tokenizer.pad_token_id, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    learned = False
    for step in range(1, 601):
        model.train()
        loss = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            model.eval()
            with torch.inference_mode():
                out = model.generate(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    num_beams=1,
                    max_new_tokens=32,
                )
            if tokenizer.batch_decode(out, skip_special_tokens=True) == targets:
                learned = True
                break
    assert learned, "the tiny model did not learn its four sentences"

    folder = work / "tiny-marian-model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_translator(tiny_marian: Path):
    translator = TransformersTranslator(tiny_marian, pairs={("en", "es")}, device="cpu")
    yield translator
    translator.close()


def write_mode(modes_dir: Path, name: str, script: str) -> None:
    """A mode whose one stage is a shell script: a real process that misbehaves on purpose."""
    modes_dir.mkdir(parents=True, exist_ok=True)
    program = modes_dir / f"{name}.sh"
    program.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    program.chmod(0o755)
    (modes_dir / f"{name}.mode").write_text(f"'{program}' $1\n", encoding="utf-8")


@needs_apertium
def test_apertium_lists_plain_modes_as_iso_pairs_and_skips_variants(apertium):
    assert {("en", "es"), ("es", "en"), ("ca", "en")} <= apertium.pairs()
    assert all(len(s) == 2 and len(t) == 2 for s, t in apertium.pairs())
    assert apertium.mode_name("en", "ca") == "eng-cat"


def test_a_mode_whose_data_files_are_missing_is_not_offered(tmp_path, caplog):
    write_mode(tmp_path, "en-fr", "cat")
    (tmp_path / "fr-en.mode").write_text(
        f"lt-proc '{tmp_path}/apertium-en-fr/fr-en.automorf.bin' | lt-proc -g '{tmp_path}/x.bin'\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="translate.apertium"):
        modes = read_modes(tmp_path)
    assert set(modes) == {"en-fr"}
    assert "skipping apertium mode" in caplog.text and "fr-en.automorf.bin" in caplog.text


@needs_apertium
def test_apertium_translates_hotline_sentences_both_ways(apertium):
    assert apertium.translate(list(EN_ES), "en", "es") == list(EN_ES.values())
    assert apertium.translate(list(ES_EN), "es", "en") == list(ES_EN.values())


@needs_apertium
def test_apertium_output_has_no_unknown_word_marks_but_keeps_users_symbols(apertium):
    [out] = apertium.translate(["La farola está rota. Gracias, ana@example.com #5 *"], "es", "en")
    assert out == "The farola is broken. Thank you, ana@example.com #5 *"


@needs_apertium
def test_apertium_reuses_one_pipeline_and_never_mixes_sentences(apertium):
    apertium.translate(["Hello."], "en", "es")
    pids = apertium.pipeline_pids("en", "es")
    assert len(pids) > 5
    tricky = [
        "Room [x] costs $5 ^ 2/3 @home <b> {c} \\d *e #f ~g",
        "First line.\nSecond line.",
        "",
        "   ",
        "Null\0byte.",
        "^$[]{}/\\@<>*~#+|",
    ]
    alone = [apertium.translate([text], "en", "es")[0] for text in tricky]
    assert alone[0] == "Sala [x] costes $5 ^ 2/3 @casa <b> {c} \\d *e #f ~g"
    assert alone[1] == "Primera línea.\nSegunda línea."
    assert alone[2:4] == ["", "   "]
    assert alone[5] == "^$[]{}/\\@<>*~#+|"
    sentences = list(EN_ES) * 5
    for sentence in sentences:
        assert apertium.translate([sentence], "en", "es") == [EN_ES[sentence]]
    mixed = [s for pair in zip(sentences, tricky * 4, strict=False) for s in pair]
    expected = [EN_ES.get(s) or alone[tricky.index(s)] for s in mixed]
    assert apertium.translate(mixed, "en", "es") == expected
    assert apertium.pipeline_pids("en", "es") == pids


@needs_apertium
def test_apertium_serves_concurrent_callers_their_own_results(apertium):
    jobs = [([s], "en", "es", [EN_ES[s]]) for s in EN_ES] + [
        ([s], "es", "en", [ES_EN[s]]) for s in ES_EN
    ]
    jobs *= 10

    def run(job):
        texts, source, target, _ = job
        return apertium.translate(texts, source, target)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, jobs))
    assert results == [job[3] for job in jobs]


@needs_apertium
def test_apertium_restarts_a_pipeline_that_died():
    translator = ApertiumTranslator()
    try:
        translator.translate(["Thank you."], "es", "en")
        old = translator.pipeline_pids("es", "en")
        os.kill(old[0], signal.SIGKILL)
        for _ in range(100):
            if not translator.pipeline_pids("es", "en"):
                break
            time.sleep(0.01)
        assert translator.translate(["Gracias."], "es", "en") == ["Thank you."]
        new = translator.pipeline_pids("es", "en")
        assert new and set(new).isdisjoint(old)
    finally:
        translator.close()


def test_stuck_pipeline_times_out_and_router_keeps_original(tmp_path):
    write_mode(tmp_path, "eng-spa", "exec sleep 30")
    translator = ApertiumTranslator(tmp_path, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(TranslationError, match="no answer within"):
            translator.translate(["Hello."], "en", "es")
        assert time.monotonic() - started < 3
        kept = Router([translator]).translate_or_keep(["Hello."], "en", "es")
        assert kept.texts == ["Hello."]
        assert kept.translated is False
        assert "apertium failed on en→es" in kept.note
    finally:
        translator.close()


def test_pipeline_that_exits_gives_an_error_with_its_message(tmp_path):
    write_mode(tmp_path, "eng-spa", "echo 'dictionary is corrupt' >&2; exit 3")
    translator = ApertiumTranslator(tmp_path, timeout=5)
    try:
        with pytest.raises(TranslationError, match="dictionary is corrupt"):
            translator.translate(["Hello."], "en", "es")
    finally:
        translator.close()


@needs_apertium
def test_fresh_process_translation_matches_the_pipeline(apertium):
    sentence = "There is a lot of noise at night."
    assert apertium.translate_fresh_process(sentence, "en", "es") == EN_ES[sentence]


@needs_apertium
def test_router_pivots_through_another_language_where_no_pair_is_direct(apertium):
    # A router over the two pairs the project always installs: ca→es goes through English.
    class Only(Translator):
        name = "apertium"

        def __init__(self, pairs):
            self._pairs = pairs

        def pairs(self):
            return self._pairs

        def translate(self, texts, source, target):
            return apertium.translate(texts, source, target)

        def provenance(self, source, target):
            return apertium.provenance(source, target)

        def close(self):
            pass

    router = Router([Only({("ca", "en"), ("en", "es"), ("es", "en"), ("en", "ca")})])
    hops = router.route("ca", "es")
    assert [(h.source, h.target) for h in hops] == [("ca", "en"), ("en", "es")]
    assert router.translate(["Vull fer una queixa."], "ca", "es") == ["Quiero hacer una queja."]
    result = router.translate_or_keep(["Vull fer una queixa."], "ca", "es")
    assert result.translated and result.engine == "apertium(ca→en)+apertium(en→es)"
    assert result.provenance == "apertium cat-eng + apertium eng-spa", "the modes, for the record"
    assert result.route == "ca → en → es", "the caption shows the path"


@needs_apertium
def test_router_goes_direct_when_a_pair_is_installed_and_over_the_graph_otherwise(apertium):
    pairs = apertium.pairs()
    if not {("fr", "es"), ("es", "en"), ("ca", "es")} <= pairs:
        pytest.skip("apertium-fr-es and apertium-spa-cat are not installed (./run installs them)")
    router = Router([apertium])
    assert [(h.source, h.target) for h in router.route("ca", "es")] == [("ca", "es")]
    result = router.translate_or_keep(["Je veux signaler un lampadaire cassé."], "fr", "en")
    assert result.translated and len(result.path) == 3, result
    assert result.path[0] == "fr" and result.path[-1] == "en"
    assert "street" in result.texts[0].lower() or "lamp" in result.texts[0].lower()


@needs_apertium
def test_router_same_language_is_identity(apertium):
    router = Router([apertium])
    assert router.route("es", "es") == []
    result = router.translate_or_keep(["Hola."], "es", "es")
    assert (result.texts, result.translated, result.engine) == (["Hola."], True, "identity")


@needs_apertium
def test_router_without_engine_raises_or_keeps_original(apertium):
    router = Router([apertium])
    with pytest.raises(NoEngineForPair) as caught:
        router.translate(["안녕하세요"], "ko", "es")
    assert str(caught.value) == "no engine for ko→es"
    assert ("en", "es") in caught.value.available
    kept = router.translate_or_keep(["안녕하세요"], "ko", "es")
    assert kept.texts == ["안녕하세요"]
    assert kept.translated is False
    assert kept.note == "no engine for ko→es"


def test_router_respects_max_hops():
    from translate.base import Translator

    class Chain(Translator):
        name = "chain"

        def pairs(self):
            return {("a", "b"), ("b", "c"), ("c", "d")}

        def translate(self, texts, source, target):
            return [f"{t}>{target}" for t in texts]

        def close(self):
            pass

    router = Router([Chain()], max_hops=2)
    assert router.translate(["x"], "a", "c") == ["x>b>c"]
    with pytest.raises(NoEngineForPair, match="^no engine for a→d$"):
        router.route("a", "d")
    whole_graph = Router([Chain()])
    assert whole_graph.translate(["x"], "a", "d") == ["x>b>c>d"]
    assert whole_graph.translate_or_keep(["x"], "a", "d").route == "a → b → c → d"


def test_a_pair_can_be_given_to_another_engine_than_the_first_listed():
    class Named(Translator):
        def __init__(self, name):
            self.name = name

        def pairs(self):
            return {("en", "es"), ("es", "en")}

        def translate(self, texts, source, target):
            return [f"{self.name}:{t}" for t in texts]

        def close(self):
            pass

    neural, rules = Named("neural"), Named("apertium")
    assert Router([neural, rules]).translate(["hi"], "en", "es") == ["neural:hi"]
    chosen = Router([neural, rules], prefer={("en", "es"): "apertium"})
    assert chosen.translate(["hi"], "en", "es") == ["apertium:hi"]
    assert chosen.translate(["hola"], "es", "en") == ["neural:hola"], "other pairs unchanged"


def test_tiny_marian_model_translates_its_sentences_batched_and_cached(tiny_translator):
    sources = [s for s, _ in TINY_PAIRS]
    targets = [t for _, t in TINY_PAIRS]
    assert tiny_translator.pairs() == {("en", "es")}
    assert tiny_translator.translate(sources + ["", sources[0]], "en", "es") == targets + [
        "",
        targets[0],
    ]
    assert tiny_translator.describe()["cached"] == len(sources)
    assert tiny_translator.translate(sources, "en", "es") == targets
    assert tiny_translator.describe()["cached"] == len(sources)
    with pytest.raises(NoEngineForPair, match="^no engine for es→en$"):
        tiny_translator.translate(["Gracias."], "es", "en")


def test_marian_direction_comes_from_the_saved_tokenizer_and_cache_is_bounded(tiny_marian):
    translator = TransformersTranslator(tiny_marian, cache_size=2)
    try:
        assert translator.pairs() == {("en", "es")}
        assert translator.kind == "marian"
        sources = [s for s, _ in TINY_PAIRS]
        assert translator.translate(sources, "en", "es") == [t for _, t in TINY_PAIRS]
        assert translator.describe()["cached"] == 2
    finally:
        translator.close()


def test_missing_model_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        TransformersTranslator(tmp_path / "opus-mt-en-es")


def test_folder_without_a_model_gives_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="config.json is missing"):
        TransformersTranslator(tmp_path)
    (tmp_path / "config.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=f"cannot load translation model from {tmp_path}"):
        TransformersTranslator(tmp_path)


@needs_apertium
def test_router_prefers_neural_model_listed_first_and_falls_back_to_apertium(
    tiny_translator, tiny_marian, apertium
):
    router = Router([tiny_translator, apertium])
    [hop] = router.route("en", "es")
    assert hop.engine is tiny_translator
    assert router.translate(["The bin is full."], "en", "es") == ["El contenedor está lleno."]
    [back] = router.route("es", "en")
    assert back.engine is apertium
    assert router.translate(["Gracias."], "es", "en") == ["Thank you."]
    pivoted = [h.engine for h in router.route("ca", "es")]
    if ("ca", "es") in apertium.pairs():  # apertium-spa-cat: a direct pair beats a pivot
        assert pivoted == [apertium]
    else:
        assert pivoted == [apertium, tiny_translator], "the neural hop inside a pivot"
    revision = tiny_translator.revision
    assert len(revision) == 12 and int(revision, 16) >= 0
    assert router.translate_or_keep(["Hi."], "en", "es").provenance == (
        f"{tiny_marian} @ {revision} en→es"
    ), "the model folder and its revision, for the record"


@needs_apertium
def test_pipelines_start_on_first_use_and_idle_ones_are_closed():
    translator = ApertiumTranslator(idle_s=60)
    try:
        assert translator.pipeline_pids("en", "es") == (), "nothing runs before it is needed"
        assert translator.translate(["Hello."], "en", "es") == ["Hola."]
        assert translator.pipeline_pids("en", "es")
        assert translator.close_idle(now=time.monotonic() + 30) == [], "not idle long enough"
        assert translator.close_idle(now=time.monotonic() + 61) == ["eng-spa"]
        assert translator.pipeline_pids("en", "es") == ()
        assert translator.translate(["Hello."], "en", "es") == ["Hola."], "started again"
    finally:
        translator.close()


def test_typed_text_is_identified_among_the_hotlines_languages_and_never_guessed_wrong():
    from hotline.cases.classify import load_labelled
    from translate.identify import LanguageIdentifier

    hotline = ["en", "es", "ca", "fr", "ko", "zh", "ja", "ru", "de", "ar", "pt", "it", "gl"]
    identifier = LanguageIdentifier(hotline)
    lines = load_labelled()
    found = [(line.language, identifier.identify(line.text).language) for line in lines]
    wrong = [(said, got) for said, got in found if got is not None and got != said]
    named = sum(got is not None for _, got in found)
    assert wrong == [], "unsure is allowed, wrong is not"
    assert named >= 0.95 * len(lines), f"{named} of {len(lines)} identified"
    assert identifier.identify("Le lampadaire de ma rue est cassé.").language == "fr"
    assert identifier.identify("ok").language is None, "too short to say"
    assert identifier.identify("路灯坏了").language == "zh", "a few CJK characters say enough"


GLOSSARY = """
[[term]]
kind = "agency"
en = "Department of Transportation"
es = "Departamento de Transporte"
ca = "Departament de Transport"
zh = "交通局"

[[term]]
kind = "street"
all = "Calle Mayor"
"""


@needs_apertium
def test_glossary_terms_keep_their_official_forms_through_every_hop(apertium, tmp_path):
    from translate.glossary import Glossary

    (tmp_path / "glossary.toml").write_text(GLOSSARY, encoding="utf-8")
    glossary = Glossary.load(tmp_path / "glossary.toml")
    router = Router([apertium], glossary=glossary)
    plain = Router([apertium])
    said = "The lamp on Calle Mayor is broken; I called the Department of Transportation."
    spanish = router.translate([said], "en", "es")[0]
    assert "Calle Mayor" in spanish and "Departamento de Transporte" in spanish, spanish
    catalan = router.translate([spanish], "es", "ca")[0]
    assert "Calle Mayor" in catalan and "Departament de Transport" in catalan, catalan
    unprotected = plain.translate([plain.translate([said], "en", "es")[0]], "es", "ca")[0]
    assert "Calle Mayor" not in unprotected, "without the glossary the street is translated"
    kept = router.translate_or_keep(["Call the department of transportation."], "en", "es")
    assert "Departamento de Transporte" in kept.texts[0], "any case in, the official form out"
    assert glossary.phrases("en") == ["Calle Mayor", "Department of Transportation"]


def test_a_glossary_term_with_no_form_in_a_language_is_refused_clearly(tmp_path):
    from translate.glossary import Glossary, GlossaryError

    (tmp_path / "bad.toml").write_text('[[term]]\nkind = "street"\n', encoding="utf-8")
    with pytest.raises(GlossaryError, match="term #1 has no form"):
        Glossary.load(tmp_path / "bad.toml")
