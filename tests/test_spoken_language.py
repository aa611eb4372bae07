"""A caller who speaks at the language menu instead of pressing a key: the language their
first words are in, when the recognizers are sure of it, routes the call; when they are not,
the menu goes on and a key still chooses. Misrouting is worse than asking."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from asr import Word
from asr.spoken_language import Bar, FirstWords, SpokenLanguage, candidate, decide
from hotline.call import CallerJourney, CallServices, Switchboard
from hotline.clients.client import CallerClient, stream_pcm
from hotline.config import CallConfig
from hotline.engines import Final
from hotline.records import AsyncRecordStore
from hotline.wire.messages import CallerReady, Menu, Say
from hotline.wire.vocabulary import Speaker, Status
from tests.conftest import read_wav_int16, sign_in_operator, silence, url
from tests.fakes import FakeEngines, FakeLink, quiet

RATE = 16000
ENGLISH = "I would like to speak to someone, please."
"""Spoken by the hotline's own English voice (Piper): PocketSphinx makes out too few of
espeak-ng's English words to be sure of them (docs/quality.md)."""
REAL_CLIPS = {"en": "pv_leopard_test_en.wav", "ko": "pv_leopard_test_ko.wav"}


def heard(language: str, engine: str, confidences: list[float], seconds: float = 3.0, **kw):
    """One recognizer's reading: words at these confidences in ``seconds`` of speech, the same
    words again when the utterance is played slower unless ``again`` says otherwise."""
    said = "the bins on my street were not emptied this week at all again".split()
    words = [Word(said[i], i * 0.3, i * 0.3 + 0.25, c) for i, c in enumerate(confidences)]
    text = kw.pop("text", " ".join(w.word for w in words))
    again = Final(kw.pop("again", text), words, 0.0, 0.0, seconds)
    final = Final(text, words, 0.0, 0.0, seconds)
    return candidate(language, engine, final, seconds, again=again, **kw)


# --- the decision ---------------------------------------------------------------------

BARS = {
    "pocketsphinx": Bar(
        min_confidence=0.6, max_doubtful=0.3, min_words=3, max_words_per_s=3.0, min_agreement=0.8
    ),
    "vosk": Bar(
        min_confidence=0.95, max_doubtful=0.1, min_words=5, max_words_per_s=3.0, min_agreement=0.8
    ),
}
"""Bars for these tests, whatever the calibration of asr/spoken_language.py settles on."""


def test_the_one_recognizer_sure_of_its_words_names_the_language():
    english = heard("en", "pocketsphinx", [0.9, 0.8, 0.95, 0.7], text_language="en")
    korean = heard("ko", "vosk", [0.7, 0.9, 0.4, 0.8, 0.9], text="가 나 다 라 마")
    assert decide([english, korean], BARS).language == "en"
    assert decide([english, korean], BARS).confidence == pytest.approx(0.8375)


def test_no_recognizer_sure_or_two_sure_leaves_the_caller_to_the_menu():
    unsure_en = heard("en", "pocketsphinx", [0.9, 0.2, 0.3, 0.7])
    unsure_ko = heard("ko", "vosk", [0.9, 0.9, 0.9, 0.9, 0.9], text="가 나 다 라 마")
    sure_en = heard("en", "pocketsphinx", [0.9, 0.8, 0.95, 0.7])
    sure_ko = heard("ko", "vosk", [1.0, 1.0, 0.99, 1.0, 1.0], text="가 나 다 라 마")
    assert decide([unsure_en, unsure_ko], BARS).language is None
    assert decide([sure_en, sure_ko], BARS).language is None, "two sure recognizers: ask"
    assert decide([unsure_en, sure_ko], BARS).language == "ko"
    assert decide([], BARS).language is None


def test_a_text_in_another_language_or_with_numbers_and_brackets_is_no_evidence():
    confident = [0.9, 0.8, 0.95, 0.7]
    assert decide([heard("en", "pocketsphinx", confident)], BARS).language == "en"
    french = heard("en", "pocketsphinx", confident, text_language="fr")
    assert decide([french], BARS).language is None
    sure = [1.0] * 5
    assert decide([heard("ko", "vosk", sure, text="가 나 다 라 마")], BARS).language == "ko"
    assert decide([heard("ko", "vosk", sure, text="[2] 억 [5] 배 였다")], BARS).language is None
    assert decide([heard("ko", "vosk", sure, text="한 염하 CEO 도 과")], BARS).language is None


def test_words_that_change_when_the_speech_is_played_slower_are_no_evidence():
    sure = [0.9, 0.8, 0.95, 0.7]
    steady = heard("en", "pocketsphinx", sure, text="i need some help", again="i need some help")
    shaky = heard("en", "pocketsphinx", sure, text="i need some help", again="and she'll come")
    assert steady.agreement == 1.0 and shaky.agreement < 0.5
    assert decide([steady], BARS).language == "en"
    assert decide([shaky], BARS).language is None


def test_too_few_words_or_words_too_fast_for_speech_are_no_evidence():
    assert decide([heard("en", "pocketsphinx", [0.95, 0.95])], BARS).language is None
    many = [0.9] * 12
    assert decide([heard("en", "pocketsphinx", many, seconds=3.0)], BARS).language is None
    assert decide([heard("en", "pocketsphinx", many, seconds=6.0)], BARS).language == "en"


def test_an_engine_without_a_bar_of_its_own_gets_the_strictest():
    fairly_sure = [0.7] * 8
    assert decide([heard("en", "pocketsphinx", fairly_sure, seconds=4.0)]).language == "en"
    assert decide([heard("xx", "whisper", fairly_sure, seconds=4.0)]).language is None


# --- the caller's first words ---------------------------------------------------------


def spoken(seconds: float, rate: int = RATE) -> np.ndarray:
    """Syllable-like bursts (what the energy endpointer takes for speech)."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return (6000 * envelope * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def feed(words: FirstWords, pcm: np.ndarray, rate: int = RATE) -> list[np.ndarray]:
    found = []
    for start in range(0, len(pcm), rate // 50):
        utterance = words.feed(pcm[start : start + rate // 50])
        if utterance is not None:
            found.append(utterance)
    return found


def test_first_words_come_out_whole_once_the_caller_pauses():
    words = FirstWords(RATE)
    said = spoken(2.0)
    found = feed(words, np.concatenate([quiet(1.0), said, quiet(1.0)]))
    assert len(found) == 1
    assert 2.0 <= len(found[0]) / RATE <= 2.6, "the speech, a little before and after"
    assert np.array_equal(found[0][int(0.3 * RATE) : int(0.3 * RATE) + RATE], said[:RATE]), (
        "pre-roll of 0.3 s, then the speech itself"
    )


def test_a_cough_is_too_short_and_a_long_speech_is_cut_at_the_cap():
    words = FirstWords(8000, max_s=4.0)
    assert feed(words, np.concatenate([spoken(0.4, 8000), quiet(1.0, 8000)]), 8000) == []
    found = feed(words, np.concatenate([spoken(7.0, 8000), quiet(1.0, 8000)]), 8000)
    assert [len(u) / 8000 for u in found] == [4.0], "the first 4 s; the rest of it is skipped"
    again = feed(words, np.concatenate([spoken(1.5, 8000), quiet(1.0, 8000)]), 8000)
    assert len(again) == 1, "the next utterance is heard again"


# --- the menu, with engines that answer from a script ---------------------------------


class HearingEngines(FakeEngines):
    """FakeEngines whose speech language identification answers from a script."""

    def __init__(self, answers: list[str | None], **options) -> None:
        super().__init__(**options)
        self.answers = deque(answers)
        self.asked: list[float] = []

    async def identify_speech(self, pcm: np.ndarray, sample_rate: int) -> SpokenLanguage:
        self.asked.append(len(pcm) / sample_rate)
        language = self.answers.popleft() if self.answers else None
        return SpokenLanguage(language, 0.9 if language else 0.0, ())


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncRecordStore]:
    records = await AsyncRecordStore.open(tmp_path / "records.sqlite3")
    yield records
    await records.close()


def services(engines, store, data_dir: Path, **settings) -> CallServices:
    config = CallConfig(menu_languages=["en", "es", "ko"], **settings)
    return CallServices(
        engines, store, Switchboard(config.max_queue, engines.can_translate), config, data_dir
    )


async def at_the_menu(
    engines, store, tmp_path, **settings
) -> tuple[CallerJourney, FakeLink, asyncio.Task]:
    link = FakeLink()
    journey = CallerJourney(
        services(engines, store, tmp_path, **settings), link, sample_rate=RATE, language=None
    )
    await journey.open()
    running = asyncio.create_task(journey.run())
    await link.wait_for(lambda m: isinstance(m, Menu))
    return journey, link, running


async def say(journey: CallerJourney, pcm: np.ndarray) -> None:
    for start in range(0, len(pcm), RATE // 50):
        await journey.audio(pcm[start : start + RATE // 50])


async def end(journey: CallerJourney, running: asyncio.Task) -> Status:
    journey.lost()
    return await asyncio.wait_for(running, 10)


async def test_speech_at_the_menu_routes_the_call_as_its_key_would(store, tmp_path):
    engines = HearingEngines(["ko"])
    journey, link, running = await at_the_menu(engines, store, tmp_path)
    await say(journey, np.concatenate([spoken(1.5), quiet(1.0)]))
    ready = await link.wait_for(lambda m: isinstance(m, CallerReady))
    greeting = await link.wait_for(lambda m: isinstance(m, Say) and m.prompt == "greeting")
    await end(journey, running)

    assert ready.language == "ko" and engines.asked
    assert greeting.text.startswith("시민 상담 전화에"), "the greeting is in the language heard"
    record = await store.get(ready.call_id)
    assert record.call.caller_language == "ko"
    said = [u.original for u in record.utterances if u.speaker == Speaker.SYSTEM]
    assert any("recognized from the caller's speech" in line for line in said), said


async def test_unsure_speech_keeps_the_menu_and_its_keys(store, tmp_path):
    engines = HearingEngines([None, None])
    journey, link, running = await at_the_menu(engines, store, tmp_path)
    await say(journey, np.concatenate([spoken(1.5), quiet(1.0)]))
    while not engines.asked:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert not link.of(CallerReady), "still at the menu"
    journey.dtmf("2")
    ready = await link.wait_for(lambda m: isinstance(m, CallerReady))
    await end(journey, running)
    assert ready.language == "es"
    record = await store.get(ready.call_id)
    assert not [u for u in record.utterances if u.speaker == Speaker.SYSTEM]


async def test_a_key_pressed_before_the_speech_is_identified_wins(store, tmp_path):
    engines = HearingEngines(["ko"])
    journey, link, running = await at_the_menu(engines, store, tmp_path)
    journey.dtmf("1")
    await say(journey, np.concatenate([spoken(1.5), quiet(1.0)]))
    ready = await link.wait_for(lambda m: isinstance(m, CallerReady))
    await end(journey, running)
    assert ready.language == "en"


async def test_with_identify_speech_off_only_a_key_chooses(store, tmp_path):
    engines = HearingEngines(["ko"])
    journey, link, running = await at_the_menu(engines, store, tmp_path, identify_speech=False)
    await say(journey, np.concatenate([spoken(1.5), quiet(1.0)]))
    await asyncio.sleep(0.1)
    assert not link.of(CallerReady) and engines.asked == []
    journey.dtmf("3")
    ready = await link.wait_for(lambda m: isinstance(m, CallerReady))
    await end(journey, running)
    assert ready.language == "ko"


async def test_the_speech_at_the_menu_stays_in_the_callers_recording(store, tmp_path):
    from telephony import read_wav

    engines = HearingEngines(["en"])
    journey, link, running = await at_the_menu(engines, store, tmp_path)
    said = np.concatenate([spoken(1.5), quiet(1.0)])
    await say(journey, said)
    await link.wait_for(lambda m: isinstance(m, CallerReady))
    await end(journey, running)
    pcm, _ = read_wav(journey.recording.folder / "caller_in.wav")
    at = pcm.tobytes().find(said[:RATE].tobytes())
    assert at >= 0 and at % 2 == 0, "the words said at the menu are in the recording"


# --- the real engines, on a real server -----------------------------------------------


@pytest.fixture
def verdicts(engines, monkeypatch) -> list[SpokenLanguage]:
    """Every verdict of the server's speech language identification, as it is given."""
    given: list[SpokenLanguage] = []
    identify = engines.identify_speech

    async def keeping(pcm: np.ndarray, sample_rate: int) -> SpokenLanguage:
        verdict = await identify(pcm, sample_rate)
        given.append(verdict)
        return verdict

    monkeypatch.setattr(engines, "identify_speech", keeping)
    return given


async def caller_at_the_menu(server) -> CallerClient:
    caller = CallerClient(url(server, "/call"), RATE)
    menu = await caller.call(None)
    assert menu["type"] == "menu"
    return caller


async def test_english_speech_at_the_menu_routes_the_call_in_english(
    start_server, engines, verdicts
):
    server = await start_server(menu_languages=["en", "es", "ko"])
    operator = await sign_in_operator(server, "ana", ["en"])
    caller = await caller_at_the_menu(server)
    english = await engines.speak(ENGLISH, "en", RATE)
    await stream_pcm(caller, np.concatenate([english, silence(1.0)]), speed=4)
    ready = await caller.wait_for(lambda m: m["type"] == "ready", timeout=30)
    connected = await operator.wait_for(lambda m: m["type"] == "connected", timeout=30)
    await caller.hangup()
    await operator.close()

    assert ready["language"] == "en"
    assert connected["caller_language"] == "en", "the operator sees an English caller"
    assert verdicts and verdicts[-1].language == "en"


async def test_speech_in_a_language_no_recognizer_knows_keeps_the_menu_and_its_keys(
    start_server, make_speech, verdicts
):
    server = await start_server(menu_languages=["en", "es", "ko"])
    caller = await caller_at_the_menu(server)
    spanish = make_speech("Hola, quiero denunciar un problema en mi calle, por favor.", "es")
    await stream_pcm(caller, np.concatenate([spanish, silence(1.0)]), speed=4)
    while not verdicts:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert verdicts[0].language is None
    assert not caller.of_type("ready"), "still at the menu"
    await caller.dtmf("2")
    ready = await caller.wait_for(lambda m: m["type"] == "ready")
    await caller.close()
    assert ready["language"] == "es"


async def test_speech_language_of_real_recordings(engines, shared_speech):
    for language, clip in REAL_CLIPS.items():
        pcm, rate = read_wav_int16(shared_speech / language / clip)
        verdict = await engines.identify_speech(pcm, rate)
        assert verdict.language == language, (clip, verdict)
