"""The connected call, driven with audio frames and read by what each party is sent."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hotline.call.pipeline import UnclearPolicy
from hotline.engines import AsrError
from hotline.records import Status
from hotline.wire.messages import Caption, Clear, Notice, RecordSuggestion, Say
from hotline.wire.vocabulary import RecordingLeg, Speaker
from telephony import read_wav
from tests.fakes import FakeEngines, quiet, tone
from tts import TtsError


def final_from(speaker: Speaker):
    return lambda m: isinstance(m, Caption) and m.final and m.speaker == speaker


async def test_caller_speech_is_recorded_translated_captioned_and_spoken_to_the_operator(connect):
    engines = FakeEngines(said={"en": ["the street light is broken"]})
    async with connect(engines) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.6), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
        say = await rig.operator_link.wait_for(lambda m: isinstance(m, Say))
        await rig.operator.playout.drained()

    assert caption.original == "the street light is broken"
    assert caption.text == "[es] the street light is broken" and caption.translated
    assert (caption.language, caption.source_language) == ("es", "en")
    assert say.text == caption.text and say.utterance_id == caption.utterance_id
    assert ("[es] the street light is broken", "es") in engines.spoken
    assert len(rig.operator_link.audio) > 0, "the operator heard the translation"
    (utterance,) = (await rig.record()).utterances
    assert utterance.id == caption.utterance_id
    assert (utterance.speaker, utterance.original) == ("caller", "the street light is broken")
    assert utterance.translation == caption.text and utterance.spoken_by_tts
    assert 0 <= utterance.start_s < utterance.end_s


async def test_partial_captions_reach_the_operator_while_the_caller_speaks(connect):
    engines = FakeEngines(said={"en": ["there is a hole in the road"]})
    async with connect(engines) as rig:
        await rig.say(rig.caller, tone(0.8))
        partial = await rig.operator_link.wait_for(lambda m: isinstance(m, Caption) and not m.final)
        translated = await rig.operator_link.wait_for(
            lambda m: isinstance(m, Caption) and not m.final and m.translated
        )
    assert partial.original == "there is"
    assert translated.text == "[es] there is"


async def test_operator_voice_reaches_the_caller_translated_and_the_caller_hears_no_original(
    connect,
):
    engines = FakeEngines(said={"es": ["enviaremos un técnico"]})
    async with connect(engines) as rig:
        await rig.say(rig.operator, np.concatenate([tone(0.5), quiet(0.5)]))
        caption = await rig.caller_link.wait_for(final_from(Speaker.OPERATOR))
        await rig.caller_link.wait_for(lambda m: isinstance(m, Say))
    assert caption.text == "[en] enviaremos un técnico"
    assert not rig.operator_link.of(Caption), "an operator is not captioned back to themselves"


async def test_typed_reply_is_spoken_to_the_caller_and_an_edited_translation_is_sent_as_is(
    connect,
):
    engines = FakeEngines()
    async with connect(engines) as rig:
        machine = await rig.call.operator_reply("Gracias")
        edited = await rig.call.operator_reply("Hasta mañana", translation="See you tomorrow")
    assert machine.text == "[en] Gracias" and machine.engine == "fake"
    assert edited.text == "See you tomorrow" and edited.engine == "operator"
    assert [m.text for m in rig.caller_link.of(Caption)] == [machine.text, edited.text]
    typed = [u.typed for u in (await rig.record()).utterances]
    assert typed == [True, True]


async def test_quick_reply_uses_the_approved_phrase_in_the_callers_language(connect):
    async with connect(FakeEngines()) as rig:
        sent = await rig.call.quick_reply("registered", {})
    assert sent.original == f"Su queja ha sido registrada con el número {rig.call.reference}."
    assert sent.text == f"Your complaint has been registered, number {rig.call.reference}."
    assert sent.engine == "operator", "people wrote it; no engine translated it"


async def test_caller_speaking_over_playback_clears_it(connect):
    engines = FakeEngines(said={"en": ["hello"]})
    async with connect(engines) as rig:
        rig.caller.playout.play(tone(5.0))
        await rig.say(rig.caller, tone(0.5))
        await rig.caller_link.wait_for(lambda m: isinstance(m, Clear))
        assert not rig.caller.playout.playing


async def test_untranslatable_pair_shows_the_original_marked_and_speaks_nothing(connect):
    engines = FakeEngines(said={"ko": ["가로등이 고장 났어요"]}, pairs=set())
    async with connect(engines, caller_language="ko") as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
    assert caption.text == "가로등이 고장 났어요" and caption.translated is False
    assert caption.note == "no engine for ko→es"
    assert not rig.operator_link.of(Say) and engines.spoken == []


async def test_same_language_parties_hear_each_other_without_synthesized_speech(connect):
    engines = FakeEngines(said={"es": ["hola", "buenos días"]})
    async with connect(engines, caller_language="es") as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
        await rig.operator.playout.drained()
    assert caption.text == "hola" and caption.engine == "identity"
    assert engines.spoken == [] and not rig.operator_link.of(Say)
    assert rig.operator.playout.under_gain_db == 0.0, "the caller's own voice at full level"
    assert len(rig.operator_link.audio) > 0


async def test_captions_only_operator_gets_text_but_no_translated_speech(connect):
    engines = FakeEngines(said={"en": ["my bins were not emptied"]})
    async with connect(engines, captions_only=True) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
    assert caption.text == "[es] my bins were not emptied"
    assert not rig.operator_link.of(Say)
    (utterance,) = (await rig.record()).utterances
    assert not utterance.spoken_by_tts


async def test_muted_operator_is_not_heard_and_their_recording_keeps_time_in_silence(connect):
    engines = FakeEngines(said={"es": ["no debería oírse"]})
    async with connect(engines) as rig:
        rig.operator.muted = True
        await rig.say(rig.operator, np.concatenate([tone(0.5), quiet(0.5)]))
        await asyncio.sleep(0.4)
        rig.operator.muted = False
        await rig.say(rig.operator, quiet(0.1))
    assert (await rig.record()).utterances == ()
    legs = {leg: read_wav(rig.recording.folder / f"{leg}.wav")[0] for leg in RecordingLeg}
    assert len({pcm.size for pcm in legs.values()}) == 1, "all four legs end together"
    assert legs[RecordingLeg.OPERATOR_IN].size >= int(0.4 * 16000), "the muted time is there"
    assert not legs[RecordingLeg.OPERATOR_IN].any(), "as silence"


async def test_each_partys_voice_goes_to_their_recording_at_their_own_rate(connect):
    engines = FakeEngines(said={"en": ["hello"], "es": ["hola"]})
    async with connect(engines, caller_rate=8000, operator_rate=48000) as rig:
        await rig.say(rig.caller, tone(0.3, 8000))
        await rig.say(rig.operator, tone(0.2, 48000))
    caller_in, caller_rate = read_wav(rig.recording.folder / "caller_in.wav")
    operator_in, operator_rate = read_wav(rig.recording.folder / "operator_in.wav")
    assert (caller_rate, operator_rate) == (8000, 48000)
    assert holds_near_the_start(caller_in, tone(0.3, 8000), 8000)
    assert holds_near_the_start(operator_in, tone(0.2, 48000), 48000)
    assert caller_in.size / 8000 == operator_in.size / 48000, "on one clock"


def holds_near_the_start(recording: np.ndarray, said: np.ndarray, rate: int) -> bool:
    """``said`` is in ``recording`` whole, within 10 ms of the call's start."""
    return any(np.array_equal(recording[at : at + said.size], said) for at in range(rate // 100))


async def test_words_said_right_before_hang_up_are_still_recorded(connect):
    engines = FakeEngines(said={"en": ["one last thing"]})
    async with connect(engines) as rig:
        await rig.say(rig.caller, tone(0.5))
        rig.call.end(Status.COMPLETED)
    (utterance,) = (await rig.record()).utterances
    assert utterance.original == "one last thing"
    assert utterance.translation == "[es] one last thing"
    assert all(stream.closed and stream.released for stream in engines.streams)


async def test_first_status_given_wins(connect):
    async with connect(FakeEngines()) as rig:
        rig.call.end(Status.DROPPED)
        rig.call.end(Status.COMPLETED)
    assert rig.call.status == Status.DROPPED


async def test_a_leg_without_a_recognizer_still_gets_typed_text_across(connect):
    engines = FakeEngines(recognizes={"es"})
    async with connect(engines) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.5)]))
        caption = await rig.call.caller_typed("I have no voice recognizer")
    assert caption.text == "[es] I have no voice recognizer"
    assert [m.original for m in rig.operator_link.of(Caption)] == ["I have no voice recognizer"]


async def test_complaint_words_prefill_the_operators_form(connect):
    engines = FakeEngines(said={"en": ["the street light on Main Street is broken"]})
    async with connect(engines) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.5)]))
        suggestion = await rig.operator_link.wait_for(lambda m: isinstance(m, RecordSuggestion))
    assert suggestion.fields["category"] == "street lighting"


class FailingEngines(FakeEngines):
    """Engines whose recognizer for ``broken_language`` fails on its first ``failures``
    streams (raises, or hangs with ``hang``), and whose voice fails while ``voice_down``."""

    def __init__(self, *args, broken_language="en", failures=0, hang=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.broken_language = broken_language
        self.failures = failures
        self.hang = hang
        self.voice_down = False
        self.voice_hangs = False

    async def open_stream(self, language, sample_rate=16000):
        stream = await super().open_stream(language, sample_rate)
        if language == self.broken_language and self.failures > 0:
            self.failures -= 1

            async def fail(pcm: bytes):
                if self.hang:
                    await asyncio.Event().wait()
                raise AsrError("decoder crashed")

            stream.feed = fail
        return stream

    async def speak_stream(self, text, language, sample_rate):
        if self.voice_hangs:
            await asyncio.Event().wait()
        if self.voice_down:
            raise TtsError("espeak-ng worker processes died twice")
        async for chunk in super().speak_stream(text, language, sample_rate):
            yield chunk


async def test_a_recognizer_that_fails_is_replaced_and_the_next_utterance_is_heard(connect):
    engines = FailingEngines(said={"en": ["the bin was not emptied"]}, failures=1)
    async with connect(engines) as rig:
        await rig.say(rig.caller, tone(0.1))
        await rig.say(rig.caller, np.concatenate([quiet(0.1), tone(0.6), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
    assert caption.original == "the bin was not emptied"
    assert len(engines.streams) == 3, "the caller's leg got a fresh recognizer"
    assert not rig.operator_link.of(Notice)
    errors = rig.call.metrics.errors
    assert errors.labels("asr")._value.get() == 1
    assert errors.labels("asr_restarted")._value.get() == 1


async def test_a_recognizer_that_hangs_times_out_and_is_replaced(connect):
    engines = FailingEngines(said={"en": ["a tree fell"]}, failures=1, hang=True)
    async with connect(engines, stage_timeout_s=0.2) as rig:
        await rig.say(rig.caller, tone(0.1))
        await asyncio.sleep(0.4)
        await rig.say(rig.caller, np.concatenate([tone(0.6), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
    assert caption.original == "a tree fell"


async def test_a_recognizer_that_keeps_failing_stops_that_leg_with_a_notice_and_the_call_goes_on(
    connect,
):
    async with connect(FailingEngines(failures=100)) as rig:
        for _ in range(5):
            await rig.say(rig.caller, tone(0.1))
            await asyncio.sleep(0.05)
        notice = await rig.operator_link.wait_for(lambda m: isinstance(m, Notice))
        reply = await rig.call.operator_reply("¿Me oye?")
    assert notice.text == "speech recognition stopped for the caller: decoder crashed"
    assert reply.text == "[en] ¿Me oye?"


async def test_when_the_voice_fails_the_call_goes_on_in_captions_and_the_operator_is_told(connect):
    engines = FailingEngines()
    async with connect(engines) as rig:
        engines.voice_down = True
        first = await rig.call.operator_reply("Gracias")
        second = await rig.call.operator_reply("Adiós")
        notices = [m.text for m in rig.operator_link.of(Notice)]
        engines.voice_down = False
        await rig.call.operator_reply("Hola otra vez")
        await rig.caller_link.wait_for(
            lambda m: isinstance(m, Say) and m.text == "[en] Hola otra vez"
        )
    assert [first.text, second.text] == ["[en] Gracias", "[en] Adiós"]
    said = [m.text for m in rig.caller_link.of(Say)]
    assert said[:2] == ["[en] Gracias", "[en] Adiós"], "the caller's screen still shows them"
    assert len(notices) == 1, "told once, not on every utterance"
    assert "speech to the caller is not working" in notices[0] and "captions only" in notices[0]
    assert rig.operator_link.of(Notice)[-1].text == "speech to the caller works again"
    assert rig.call.metrics.errors.labels("tts")._value.get() == 2
    utterances = (await rig.record()).utterances
    assert [u.original for u in utterances] == ["Gracias", "Adiós", "Hola otra vez"]


async def test_a_voice_that_hangs_times_out_instead_of_holding_the_call(connect):
    engines = FailingEngines()
    async with connect(engines, stage_timeout_s=0.2) as rig:
        engines.voice_hangs = True
        caption = await asyncio.wait_for(rig.call.operator_reply("Gracias"), 5)
        notice = await rig.operator_link.wait_for(lambda m: isinstance(m, Notice))
    assert caption.text == "[en] Gracias"
    assert "no audio within 0.2 s" in notice.text


# --- the evidentiary record: every stage of an utterance on the call's one clock ---------


async def test_each_utterance_keeps_its_words_engine_and_stage_times_on_the_calls_clock(connect):
    engines = FakeEngines(said={"en": ["the street light is broken"]}, speech_s=0.4)
    async with connect(engines) as rig:
        rig.operator.hears_original = False
        await rig.say(rig.caller, np.concatenate([quiet(0.3), tone(0.6), quiet(0.5)]), True)
        await rig.operator_link.wait_for(lambda m: isinstance(m, Say))
        await rig.operator.playout.drained()
        await asyncio.sleep(0.2)
    (said,) = (await rig.record()).utterances
    assert [w.word for w in said.words] == "the street light is broken".split()
    assert said.start_s <= said.words[0].start_s < said.words[-1].end_s <= said.end_s + 1e-9
    assert said.start_s == pytest.approx(0.3, abs=0.1), "the speech began 0.3 s into the call"
    assert all(w.confidence == 0.8 for w in said.words)
    assert said.engine == "fake"
    assert said.end_s <= said.asr_final_s <= said.translated_s <= said.played_start_s
    assert said.played_end_s - said.played_start_s == pytest.approx(0.4, abs=0.01)
    assert said.played_cut is False
    heard, rate = read_wav(rig.recording.folder / "operator_heard.wav")
    span = heard[int(said.played_start_s * rate) : int(said.played_end_s * rate)]
    assert np.abs(span).mean() > 1000, "the span holds the synthesized speech"
    before = heard[: int(said.played_start_s * rate) - rate // 100]
    assert not before.any(), "and nothing played before it"


async def test_a_barge_in_cuts_the_played_span_and_the_record_says_so(connect):
    engines = FakeEngines(said={"en": ["wait"]}, speech_s=4.0)
    async with connect(engines) as rig:
        caption = await rig.call.operator_reply("Enviaremos un técnico")
        await rig.caller_link.wait_for(lambda m: isinstance(m, Say))
        await asyncio.sleep(0.3)
        await rig.say(rig.caller, tone(0.4))
        await rig.caller_link.wait_for(lambda m: isinstance(m, Clear))
    record = await rig.record()
    reply = next(u for u in record.utterances if u.id == caption.utterance_id)
    assert reply.played_cut is True
    assert 0.2 < reply.played_end_s - reply.played_start_s < 4.0


async def test_utterance_times_stay_on_the_recordings_clock_across_gaps_in_the_audio(connect):
    engines = FakeEngines(said={"en": ["first", "second"]})
    async with connect(engines) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.4), quiet(0.4)]), realtime=True)
        await asyncio.sleep(1.5)  # the caller's phone sends nothing (a voice gate, a mute)
        await rig.say(rig.caller, np.concatenate([tone(0.5), quiet(0.4)]), realtime=True)
        await rig.operator_link.wait_for(final_from(Speaker.CALLER))
        await asyncio.sleep(0.1)
    first, second = (await rig.record()).utterances
    recorded, rate = read_wav(rig.recording.folder / "caller_in.wav")
    loud = np.flatnonzero(np.abs(recorded) > 1000) / rate
    gap_ends = loud[1:][np.diff(loud) > 1.0]
    assert len(gap_ends) == 1, "the recording holds the 1.5 s gap"
    assert second.start_s == pytest.approx(gap_ends[0], abs=0.03), "the record says where"
    assert first.start_s == pytest.approx(loud[0], abs=0.03)


async def test_unclear_turns_are_marked_the_caller_asked_to_repeat_and_the_call_flagged(connect):
    engines = FakeEngines(said={"en": ["the lamp", "on main street"]})
    engines.round_trip_score = 30.0
    policy = UnclearPolicy(
        low_confidence=0.95, low_round_trip=50.0, repeat_when_unclear=True, interpreter_after=2
    )
    async with connect(engines, unclear=policy) as rig:
        for _ in range(2):
            await rig.say(rig.caller, np.concatenate([tone(0.6), quiet(0.5)]))
            await rig.operator_link.wait_for(final_from(Speaker.CALLER))
        notice = await rig.operator_link.wait_for(lambda m: isinstance(m, Notice))
        repeat = await rig.caller_link.wait_for(
            lambda m: isinstance(m, Say) and m.prompt == "repeat"
        )
    captions = [m for m in rig.operator_link.of(Caption) if m.final]
    assert [c.unclear for c in captions] == [["asr", "translation"]] * 2
    assert repeat.text == "Sorry, could you repeat that?"
    assert "needs a human interpreter" in notice.text
    record = await rig.record()
    assert record.call.unclear_turns == 2 and record.call.interpreter_needed


async def test_clear_turns_are_not_marked(connect):
    engines = FakeEngines(said={"en": ["the street light is broken"]})
    async with connect(engines, unclear=UnclearPolicy(low_round_trip=50.0)) as rig:
        await rig.say(rig.caller, np.concatenate([tone(0.6), quiet(0.5)]))
        caption = await rig.operator_link.wait_for(final_from(Speaker.CALLER))
    assert caption.unclear is None
    record = await rig.record()
    assert record.call.unclear_turns == 0 and not record.call.interpreter_needed
