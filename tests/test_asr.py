"""Speech recognition through real engines: Vosk Korean, PocketSphinx English, our endpointing."""

from __future__ import annotations

import asyncio
import re
import threading
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from asr import (
    AsrError,
    AsrRegistry,
    AsyncUtteranceStream,
    Endpointer,
    Final,
    LanguageNotSupported,
    ModelNotFound,
    Partial,
    PocketSphinxEngine,
    SpeechEnd,
    SpeechStart,
    UtteranceStream,
    VoskEngine,
)
from tests.conftest import read_transcripts, read_wav_int16, silence

HANGUL = re.compile(r"[가-힣]")
RATE = 16000
CHUNK_S = 0.1


@pytest.fixture(scope="module")
def vosk_engine(tmp_path_factory: pytest.TempPathFactory) -> VoskEngine:
    return VoskEngine(models_dir=tmp_path_factory.mktemp("no-downloaded-models"))


@pytest.fixture(scope="module")
def sphinx_engine() -> PocketSphinxEngine:
    return PocketSphinxEngine()


@pytest.fixture(scope="module")
def korean_clip(shared_speech: Path) -> tuple[np.ndarray, str]:
    pcm, rate = read_wav_int16(shared_speech / "ko" / "pv_leopard_test_ko.wav")
    assert rate == RATE
    return pcm, read_transcripts(shared_speech / "ko")["pv_leopard_test_ko.wav"]


@pytest.fixture(scope="module")
def korean_speech(make_speech) -> np.ndarray:
    """espeak-ng Korean trimmed to where it is audible, so the silences we add are exact."""
    speech = make_speech("가로등이 고장났어요", "ko")
    audible = np.flatnonzero(np.abs(speech) > 300)
    return speech[audible[0] : audible[-1] + 1]


def stream_through(
    engine,
    language: str,
    pcm: np.ndarray,
    endpointer: Endpointer | None = None,
    partial_interval_s: float = 0.25,
    phrases: list[str] | None = None,
) -> list[tuple[float, Partial | Final]]:
    """Feed `pcm` in 0.1 s chunks; each event with the audio time at which it came out."""
    recognizer = engine.recognizer(language, RATE, phrases=phrases)
    try:
        stream = UtteranceStream(recognizer, endpointer, partial_interval_s)
        data = pcm.tobytes()
        step = int(CHUNK_S * RATE) * 2
        timed = []
        for offset in range(0, len(data), step):
            events = stream.feed(data[offset : offset + step])
            timed += [(stream.audio_seconds, e) for e in events]
        timed += [(stream.audio_seconds, e) for e in stream.close()]
        return timed
    finally:
        engine.release(recognizer)


def finals(timed: list[tuple[float, Partial | Final]]) -> list[Final]:
    return [e for _, e in timed if isinstance(e, Final)]


def text_of(timed: list[tuple[float, Partial | Final]]) -> str:
    return " ".join(f.text for f in finals(timed))


def test_korean_recording_is_recognized_in_hangul_with_word_timings(vosk_engine, korean_clip):
    pcm, reference = korean_clip
    timed = stream_through(vosk_engine, "ko", np.concatenate([pcm, silence(0.6)]), Endpointer(RATE))
    [final] = finals(timed)
    assert HANGUL.search(final.text)
    recognized = final.text.replace(" ", "")
    assert any(word in recognized for word in reference.rstrip(".").split() if len(word) >= 3)
    assert len(set(recognized) & set(reference)) >= 8
    assert final.words and " ".join(w.word for w in final.words) == final.text
    for word in final.words:
        assert 0.0 <= word.start <= word.end <= len(pcm) / RATE
        assert 0.0 <= word.conf <= 1.0
    assert 0.0 < final.confidence <= 1.0
    assert final.start == pytest.approx(0.66, abs=0.25)
    assert final.end == pytest.approx(3.34, abs=0.25)


def test_korean_espeak_speech_is_recognized_in_hangul(vosk_engine, korean_speech):
    padded = np.concatenate([silence(0.3), korean_speech, silence(0.6)])
    assert HANGUL.search(text_of(stream_through(vosk_engine, "ko", padded, Endpointer(RATE))))


@pytest.mark.parametrize(
    ("clip", "expected", "at_least"),
    [
        ("psphinx_goforward.wav", {"go", "forward", "ten", "meters"}, 3),
        ("psphinx_cards_005.wav", {"eight", "spades", "clubs", "seven", "hearts"}, 4),
        ("psphinx_cards_003.wav", {"seven", "clubs"}, 1),
    ],
)
def test_english_recordings_contain_expected_words(
    sphinx_engine, shared_speech, clip, expected, at_least
):
    pcm, _ = read_wav_int16(shared_speech / "en" / clip)
    timed = stream_through(sphinx_engine, "en", np.concatenate([pcm, silence(0.5)]))
    [final] = finals(timed)
    assert len(set(final.text.split()) & expected) >= at_least, final.text
    assert [w.word for w in final.words] == final.text.split()
    assert all(0.0 <= w.start < w.end <= len(pcm) / RATE + 0.5 for w in final.words)


def test_english_espeak_speech_yields_expected_words(sphinx_engine, make_speech):
    speech = make_speech("the street light is broken", "en")
    padded = np.concatenate([silence(0.5), speech, silence(0.5)])
    text = text_of(stream_through(sphinx_engine, "en", padded, Endpointer(RATE)))
    assert {"street", "light", "broken"} & set(text.split()), text


def test_our_endpointer_finalizes_each_utterance_sooner_than_vosk_would(vosk_engine, korean_speech):
    lead, gap = 0.3, 0.5
    length = len(korean_speech) / RATE
    audio = np.concatenate(
        [silence(lead), korean_speech, silence(gap), korean_speech, silence(1.0)]
    )
    first_end = lead + length
    second_start = first_end + gap

    timed = stream_through(vosk_engine, "ko", audio, Endpointer(RATE, trailing_silence_ms=300))
    got = [(t, e) for t, e in timed if isinstance(e, Final)]
    assert len(got) == 2
    (first_at, first), (_, second) = got
    assert first.start == pytest.approx(lead, abs=0.2)
    assert first.end == pytest.approx(first_end, abs=0.2)
    # Times come from Vosk's word timings; on a fresh recognizer it may drop the first
    # syllable of the second utterance, which moves its start by up to one syllable.
    assert second.start == pytest.approx(second_start, abs=0.35)
    assert second.end == pytest.approx(second_start + length, abs=0.2)
    assert first.end <= second.start
    assert first_at <= first_end + 0.3 + CHUNK_S + 0.05

    engine_only = stream_through(vosk_engine, "ko", audio, endpointer=None)
    engine_first_at = next(t for t, e in engine_only if isinstance(e, Final))
    assert engine_first_at >= first_end + 0.5
    assert first_at < engine_first_at


def test_partials_come_during_speech_at_most_once_per_interval(vosk_engine, korean_clip):
    pcm, _ = korean_clip
    interval = 0.25
    timed = stream_through(vosk_engine, "ko", pcm, Endpointer(RATE), partial_interval_s=interval)
    partial_times = [t for t, e in timed if isinstance(e, Partial)]
    assert len(partial_times) >= 3
    assert all(0.66 <= t <= 3.34 + 0.5 for t in partial_times)
    assert all(b - a >= interval - 1e-9 for a, b in pairwise(partial_times))
    texts = [e.text for _, e in timed if isinstance(e, Partial)]
    assert all(a != b for a, b in pairwise(texts))


def test_phrase_list_limits_vosk_korean_to_its_words(vosk_engine, korean_clip):
    pcm, _ = korean_clip
    phrases = ["가로등", "고장"]
    text = text_of(stream_through(vosk_engine, "ko", pcm, phrases=phrases))
    assert text.split()
    assert set(text.split()) <= set(phrases)


def test_released_recognizer_is_reused_reset_and_still_right(vosk_engine, korean_clip):
    pcm, _ = korean_clip
    first = vosk_engine.recognizer("ko", RATE)
    first.accept(pcm.tobytes())
    before = first.finish()
    vosk_engine.release(first)

    again = vosk_engine.recognizer("ko", RATE)
    try:
        assert again is first
        assert again.partial() == ""
        again.accept(pcm.tobytes())
        after = again.finish()
    finally:
        vosk_engine.release(again)
    assert after.text == before.text and HANGUL.search(after.text)
    assert after.start == pytest.approx(before.start, abs=0.05)
    assert after.end == pytest.approx(before.end, abs=0.05)


class ThreadRecordingRecognizer:
    """A real recognizer that notes which thread each decode ran on."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.threads: set[int] = set()

    def accept(self, pcm: bytes) -> bool:
        self.threads.add(threading.get_ident())
        return self.inner.accept(pcm)

    def partial(self) -> str:
        return self.inner.partial()

    def result(self) -> Final:
        return self.inner.result()

    def finish(self) -> Final:
        self.threads.add(threading.get_ident())
        return self.inner.finish()

    def reset(self) -> None:
        self.inner.reset()


async def test_async_stream_decodes_off_the_event_loop_with_the_same_text(vosk_engine, korean_clip):
    pcm, _ = korean_clip
    sync_text = text_of(stream_through(vosk_engine, "ko", pcm, Endpointer(RATE)))

    recognizer = vosk_engine.recognizer("ko", RATE)
    spy = ThreadRecordingRecognizer(recognizer)
    stream = AsyncUtteranceStream(UtteranceStream(spy, Endpointer(RATE)))
    data = pcm.tobytes()
    step = int(CHUNK_S * RATE) * 2
    try:
        feeds = [stream.feed(data[i : i + step]) for i in range(0, len(data), step)]
        events = [e for batch in await asyncio.gather(*feeds) for e in batch]
        events += await stream.close()
    finally:
        vosk_engine.release(recognizer)
    assert threading.get_ident() not in spy.threads and spy.threads
    assert " ".join(e.text for e in events if isinstance(e, Final)) == sync_text


def test_endpointer_gives_the_same_events_for_any_chunking(korean_speech):
    audio = np.concatenate(
        [silence(0.4), korean_speech, silence(0.6), korean_speech, silence(0.5)]
    ).tobytes()
    whole = Endpointer(RATE).push(audio)
    assert [type(e) for e in whole] == [SpeechStart, SpeechEnd, SpeechStart, SpeechEnd]
    assert whole[0].at == pytest.approx(0.4, abs=0.06)
    chunked = Endpointer(RATE)
    pieces = []
    sizes = [1, 3, 641, 7, 3200, 999]
    offset = 0
    for i in range(len(audio)):
        if offset >= len(audio):
            break
        size = sizes[i % len(sizes)]
        pieces += chunked.push(audio[offset : offset + size])
        offset += size
    assert pieces == whole


def test_endpointer_ignores_steady_noise_but_hears_speech_over_it(korean_speech):
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 300, int(5.0 * RATE))
    speech = np.zeros_like(noise)
    speech[2 * RATE : 2 * RATE + len(korean_speech)] = korean_speech
    audio = np.clip(noise + speech, -32768, 32767).astype(np.int16)
    events = Endpointer(RATE).push(audio.tobytes())
    assert isinstance(events[0], SpeechStart)
    assert events[0].at == pytest.approx(2.0, abs=0.1)


def test_missing_model_path_raises_model_not_found_naming_it():
    with pytest.raises(ModelNotFound, match=r"'fr'.*/nonexistent"):
        VoskEngine(model_paths={"fr": "/nonexistent"})


def test_folder_that_is_not_a_vosk_model_raises_model_not_found(tmp_path):
    (tmp_path / "README").write_text("not a model")
    with pytest.raises(ModelNotFound, match="not a Vosk model"):
        VoskEngine(model_paths={"fr": tmp_path})


def test_language_without_vosk_model_says_where_it_looked(vosk_engine):
    with pytest.raises(ModelNotFound, match=r"no Vosk model for 'fr': looked in .*--model PATH"):
        vosk_engine.recognizer("fr")


def test_models_dir_folders_are_named_by_language(tmp_path):
    for name in ("vosk-model-small-cn-0.22", "vosk-model-en-us-0.22", "de", "vosk-model-spk-0.4"):
        (tmp_path / name / "am").mkdir(parents=True)
        (tmp_path / name / "am" / "final.mdl").write_bytes(b"")
        (tmp_path / name / "conf").mkdir()
    engine = VoskEngine(models_dir=tmp_path)
    assert {"zh", "en", "de", "ko"} == set(engine.languages())
    assert engine.model_path("zh-CN").name == "vosk-model-small-cn-0.22"


def test_registry_picks_vosk_for_korean_and_pocketsphinx_for_english(vosk_engine, sphinx_engine):
    registry = AsrRegistry(vosk_engine, sphinx_engine)
    assert registry.engine_for("ko").name == "vosk"
    assert registry.engine_for("en-US").name == "pocketsphinx"
    assert registry.languages() == {"en": ["pocketsphinx"], "ko": ["vosk"]}
    assert [d["name"] for d in registry.describe()] == ["vosk", "pocketsphinx"]


def test_registry_rejects_unknown_language_naming_the_available_ones(vosk_engine, sphinx_engine):
    registry = AsrRegistry(vosk_engine, sphinx_engine)
    with pytest.raises(LanguageNotSupported, match=r"'xx'.*en \(pocketsphinx\).*ko \(vosk\)"):
        registry.engine_for("xx")
    with pytest.raises(AsrError, match="no ASR engine named"):
        registry.engine_for("ko", prefer="whisper")


def test_endpointer_reports_a_pause_once_before_the_end_of_speech(korean_speech):
    endpointer = Endpointer(RATE, trailing_silence_ms=300, pause_ms=100)
    audio = np.concatenate(
        [silence(0.3), korean_speech, silence(0.15), korean_speech, silence(0.6)]
    )
    events = endpointer.push(audio.tobytes())
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStart", "SpeechPause", "SpeechPause", "SpeechEnd"]
    first_pause, last_pause, end = events[1], events[2], events[3]
    assert first_pause.at == pytest.approx(0.3 + len(korean_speech) / RATE, abs=0.06)
    assert last_pause.at == end.at


def test_a_short_pause_finishes_early_but_speech_that_resumes_stays_one_utterance(
    vosk_engine, korean_speech
):
    """The recognizer finishes at each 100 ms pause (so its last pass runs during the trailing
    silence); the held text is joined to what follows until the silence confirms the end."""
    length = len(korean_speech) / RATE
    audio = np.concatenate(
        [silence(0.3), korean_speech, silence(0.15), korean_speech, silence(0.8)]
    )
    endpointer = Endpointer(RATE, trailing_silence_ms=300, pause_ms=100)
    timed = stream_through(vosk_engine, "ko", audio, endpointer)
    [final] = finals(timed)
    assert final.start == pytest.approx(0.3, abs=0.2)
    assert final.end == pytest.approx(0.3 + 2 * length + 0.15, abs=0.2)
    middle = 0.3 + length + 0.075
    assert any(w.end < middle for w in final.words) and any(w.start > middle for w in final.words)
    partials = [e.text for _, e in timed if isinstance(e, Partial)]
    held = " ".join(w.word for w in final.words if w.end < middle)
    assert any(p.startswith(held) and len(p) > len(held) for p in partials), (held, partials)


class CountingRecognizer:
    """A real recognizer that also counts how much audio it was given."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.samples = 0

    def accept(self, pcm: bytes) -> bool:
        self.samples += len(pcm) // 2
        return self.inner.accept(pcm)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_gated_stream_decodes_only_speech_and_keeps_stream_time(vosk_engine, korean_speech):
    audio = np.concatenate([silence(3.0), korean_speech, silence(2.0), korean_speech, silence(1.0)])
    recognizer = vosk_engine.recognizer("ko", RATE)
    counting = CountingRecognizer(recognizer)
    try:
        stream = UtteranceStream(counting, Endpointer(RATE), 0.25, gate_preroll_s=0.5)
        data = audio.tobytes()
        events = []
        for offset in range(0, len(data), 3200):
            events += stream.feed(data[offset : offset + 3200])
        events += stream.close()
    finally:
        vosk_engine.release(recognizer)
    first, second = [e for e in events if isinstance(e, Final)]
    length = len(korean_speech) / RATE
    # Times are on the stream's clock. Where the first recognized word starts varies with
    # the recognizer (on synthetic Korean the small model may drop the first syllables), so
    # the start is checked to lie in the speech and the end to match the speech's end.
    for final, began in ((first, 3.0), (second, 3.0 + length + 2.0)):
        assert began - 0.25 <= final.start < began + length / 2, (final.start, began)
        assert final.end == pytest.approx(began + length, abs=0.35)
    assert counting.samples < 0.75 * len(audio), "silence between utterances is not decoded"


class PieceRecorder:
    """A recognizer that keeps what it was handed, piece by piece: bytes and order."""

    sample_rate = RATE

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.finishes: list[int] = []

    def accept(self, pcm: bytes) -> bool:
        self.pieces.append(pcm)
        return False

    def partial(self) -> str:
        return ""

    def finish(self) -> Final:
        self.finishes.append(len(self.pieces))
        return Final("words", [], 1.0, 0.0, 0.0)

    def reset(self) -> None:
        pass


def test_the_recognizer_hears_the_same_pieces_however_the_audio_was_batched(korean_speech):
    """Live, audio arrives in whatever batches the transport and the load make; in a replay,
    in others. With fixed pieces and a pre-roll taken from where the endpointer was sure,
    the recognizer is handed exactly the same bytes in the same pieces either way."""
    noise = np.random.default_rng(3).normal(0, 30, 9 * RATE).astype(np.int16)
    audio = noise.copy()
    audio[int(1.3 * RATE) : int(1.3 * RATE) + len(korean_speech)] += korean_speech
    later = int(5.07 * RATE)
    audio[later : later + len(korean_speech)] += korean_speech
    heard = []
    for batch in (640, 3200, 16000, 1234):
        recognizer = PieceRecorder()
        stream = UtteranceStream(recognizer, Endpointer(RATE), 0.25, 0.5, accept_s=0.02)
        data = audio.tobytes()
        for offset in range(0, len(data), batch):
            stream.feed(data[offset : offset + batch])
        stream.close()
        heard.append((recognizer.pieces, recognizer.finishes))
    assert len(heard[0][0]) > 50 and heard[0][1], "speech was decoded and finished"
    assert all(h == heard[0] for h in heard[1:]), "the same pieces whatever the batching"
