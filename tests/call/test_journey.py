"""A caller's way through the IVR, whatever the transport: menu, greeting, queue, busy, the
connected call and the record, driven through the same inputs every transport uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from hotline.call import CallerJourney, CallServices, OperatorSeat, Switchboard
from hotline.config import CallConfig
from hotline.records import AsyncRecordStore
from hotline.wire.messages import (
    CallerReady,
    Caption,
    Connected,
    Ended,
    Menu,
    ProtocolError,
    Say,
    StatusChange,
)
from hotline.wire.vocabulary import CallState, Channel, ErrorCode, Speaker, Status
from tests.fakes import FakeEngines, FakeLink, quiet, tone


def services(
    engines: FakeEngines, store: AsyncRecordStore, data_dir: Path, **settings: object
) -> CallServices:
    config = CallConfig(**settings)
    switchboard = Switchboard(config.max_queue, engines.can_translate)
    return CallServices(engines, store, switchboard, config, data_dir)


def seat(name: str = "ana", languages: tuple[str, ...] = ("es",)) -> tuple[OperatorSeat, FakeLink]:
    link = FakeLink()
    return OperatorSeat(name, list(languages), link=link), link


async def start(journey: CallerJourney) -> asyncio.Task[Status]:
    await journey.open()
    return asyncio.create_task(journey.run())


async def test_caller_is_greeted_connected_heard_and_the_record_closed_on_hang_up(store, tmp_path):
    engines = FakeEngines(said={"en": ["the bins were not emptied"]})
    hotline = services(engines, store, tmp_path)
    operator, operator_link = seat()
    hotline.switchboard.sign_in(operator)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=8000, language="en", caller_id="+1 555 0100")
    running = await start(journey)

    connected = await operator_link.wait_for(lambda m: isinstance(m, Connected))
    await link.wait_for(lambda m: isinstance(m, Say) and m.prompt == "connected")
    await journey.audio(np.concatenate([tone(0.5, 8000), quiet(0.5, 8000)]))
    caption = await operator_link.wait_for(lambda m: isinstance(m, Caption) and m.final)
    journey.hang_up()
    status = await asyncio.wait_for(running, 10)

    assert status == Status.COMPLETED
    ready = link.of(CallerReady)[0]
    assert (ready.language, ready.sample_rate) == ("en", 8000)
    assert [m.prompt for m in link.of(Say)] == ["greeting", "connected"]
    assert (connected.caller_language, connected.operator_language) == ("en", "es")
    assert connected.caller_asr and connected.operator_asr
    assert caption.text == "[es] the bins were not emptied"
    assert link.messages[-1] == Ended(ready.call_id, ready.reference, Status.COMPLETED)
    assert operator_link.of(Ended) == [Ended(ready.call_id, ready.reference)]
    assert operator.free and operator.call is None, "the seat is free for the next call"
    record = await store.get(ready.call_id)
    assert record.call.status == Status.COMPLETED and record.call.channel == Channel.WEB
    assert (record.call.operator, record.call.operator_language) == ("ana", "es")
    assert record.call.caller_id_masked == "+****0100"
    assert sorted(r.leg for r in record.recordings) == [
        "caller_heard",
        "caller_in",
        "operator_heard",
        "operator_in",
    ]
    assert all((tmp_path / r.path).is_file() for r in record.recordings)


async def test_language_menu_is_answered_by_a_key_press(store, tmp_path):
    engines = FakeEngines()
    hotline = services(engines, store, tmp_path, menu_languages=["en", "es", "ko"])
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language=None)
    running = await start(journey)

    menu = await link.wait_for(lambda m: isinstance(m, Menu))
    journey.dtmf("9")  # not on the menu: ignored
    journey.dtmf("3")
    ready = await link.wait_for(lambda m: isinstance(m, CallerReady))
    journey.lost()
    assert await asyncio.wait_for(running, 10) == Status.DROPPED

    assert [(o.digit, o.language) for o in menu.options] == [("1", "en"), ("2", "es"), ("3", "ko")]
    assert ready.language == "ko"
    assert engines.spoken[:3] == [
        ("For English, press 1.", "en"),
        ("Para español, pulse 2.", "es"),
        ("한국어는 3번을 누르십시오.", "ko"),
    ]
    assert engines.spoken[3] == (
        "시민 상담 전화에 오신 것을 환영합니다. 상담원을 기다려 주십시오.",
        "ko",
    ), "after the menu, the greeting is in the chosen language"
    record = await store.get(ready.call_id)
    assert record.call.caller_language == "ko"


async def test_a_full_queue_gets_the_busy_message_and_the_call_stays_recorded(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path, max_queue=0)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language="es")
    status = await asyncio.wait_for((await start(journey)), 10)

    assert status == Status.BUSY
    assert StatusChange(CallState.BUSY) in link.messages
    assert [m.prompt for m in link.of(Say)] == ["greeting", "busy"]
    assert "Todos nuestros operadores están ocupados" in link.of(Say)[1].text
    assert (await store.get(link.of(Ended)[0].call_id)).call.status == Status.BUSY


async def test_waiting_caller_hears_the_position_then_busy_after_the_queue_timeout(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path, queue_announce_s=0.05, queue_timeout_s=0.2)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language="en")
    status = await asyncio.wait_for((await start(journey)), 10)

    assert status == Status.BUSY
    assert StatusChange(CallState.QUEUED, position=1) in link.messages
    assert "You are number 1 in the queue." in [m.text for m in link.of(Say)]
    assert hotline.switchboard.waiting == []


async def test_caller_who_goes_away_in_the_queue_is_dropped_and_leaves_it(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language="en")
    running = await start(journey)
    await link.wait_for(lambda m: isinstance(m, StatusChange) and m.state == CallState.QUEUED)
    journey.lost()

    assert await asyncio.wait_for(running, 10) == Status.DROPPED
    assert hotline.switchboard.waiting == []


async def test_operator_taking_a_waiting_call_connects_it(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language="en")
    running = await start(journey)
    await link.wait_for(lambda m: isinstance(m, StatusChange) and m.state == CallState.QUEUED)
    operator, operator_link = seat(languages=("en",))
    hotline.switchboard.sign_in(operator)

    connected = await operator_link.wait_for(lambda m: isinstance(m, Connected))
    assert operator.call is not None and operator.party.role == Speaker.OPERATOR
    operator.call.end(Status.DROPPED)
    assert await asyncio.wait_for(running, 10) == Status.DROPPED
    assert connected.operator_language == "en"


async def test_typing_before_an_operator_answers_is_refused_clearly(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path)
    journey = CallerJourney(hotline, FakeLink(), sample_rate=16000, language="en")
    running = await start(journey)
    with pytest.raises(ProtocolError) as refused:
        await journey.typed("hello?")
    journey.lost()
    await asyncio.wait_for(running, 10)
    assert refused.value.code == ErrorCode.NO_CALL


async def test_what_the_caller_says_before_an_operator_answers_is_recorded(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path)
    link = FakeLink()
    journey = CallerJourney(hotline, link, sample_rate=16000, language="en")
    running = await start(journey)
    await journey.audio(tone(0.25))
    journey.lost()
    await asyncio.wait_for(running, 10)
    from telephony import read_wav

    pcm, _ = read_wav(journey.recording.folder / "caller_in.wav")
    said = tone(0.25)
    assert any(np.array_equal(pcm[at : at + 4000], said) for at in range(160)), (
        "the whole tone, within 10 ms of the call's start"
    )


async def test_audio_still_arriving_after_the_call_ended_is_dropped_without_error(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path, max_queue=0)
    journey = CallerJourney(hotline, FakeLink(), sample_rate=16000, language="en")
    assert await asyncio.wait_for((await start(journey)), 10) == Status.BUSY
    await journey.audio(tone(0.1))


async def test_a_phone_line_whose_audio_stops_is_ended_as_one_way_and_recorded_so(store, tmp_path):
    hotline = services(FakeEngines(), store, tmp_path)
    journey = CallerJourney(
        hotline, FakeLink(), sample_rate=8000, language="en", no_audio_timeout_s=0.3
    )
    running = await start(journey)
    for _ in range(5):
        await journey.audio(quiet(0.02, 8000))
        await asyncio.sleep(0.02)
    status = await asyncio.wait_for(running, 10)

    assert status == Status.DROPPED
    record = await store.get(journey.log.call_id)
    assert record.call.status == Status.DROPPED
    assert record.call.end_reason.startswith("one-way audio: no audio from the caller for")


async def test_clipping_and_long_silence_are_logged_with_a_measure(store, tmp_path, caplog):
    hotline = services(FakeEngines(), store, tmp_path, long_silence_s=0.5)
    journey = CallerJourney(hotline, FakeLink(), sample_rate=8000, language="en")
    running = await start(journey)
    clipped = np.clip(tone(1.0, 8000, level=20000).astype(np.int32) * 4, -32768, 32767)
    clipped = clipped.astype(np.int16)
    with caplog.at_level("INFO", logger="hotline.call.journey"):
        for i in range(0, len(clipped), 160):
            await journey.audio(clipped[i : i + 160])
        for _ in range(30):
            await journey.audio(quiet(0.02, 8000))
    journey.lost()
    await asyncio.wait_for(running, 10)

    warnings = [r.getMessage() for r in caplog.records]
    assert any("clipping:" in w and "of samples at full scale" in w for w in warnings)
    assert any("long silence: 0.5 s below -55 dBFS" in w for w in warnings)
    assert journey.monitor.report.clipping_episodes == 1
