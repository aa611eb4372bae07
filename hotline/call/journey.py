"""A caller's way through the hotline, whatever transport brings them: the record opens, the
language menu, the greeting, the queue (or the busy message), the connected call, the end.

This is the hotline's IVR. A transport (the ``/call`` websocket today, phone bridges next)
gives a :class:`CallerJourney` a :class:`~hotline.call.link.Link` to answer through and
feeds it what the caller does: audio, key presses, typed text, hang-up, or going away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from hotline.call.link import Link
from hotline.call.log import CallLog
from hotline.call.metrics import CallMetrics
from hotline.call.party import Party
from hotline.call.pipeline import Call, UnclearPolicy
from hotline.call.playout import Playout
from hotline.call.prompts import LANGUAGE_NAMES, QUICK_REPLIES, prompt
from hotline.call.recording import Recording
from hotline.call.request import CallRequest
from hotline.call.routing import OperatorSeat, QueueFull, Switchboard
from hotline.cases.catalogue import Catalogue
from hotline.cases.store import AsyncCaseStore
from hotline.config import CallConfig, CasesConfig
from hotline.engines import Engines, FirstWords, SpokenLanguage
from hotline.records import AsyncRecordStore
from hotline.wire.messages import (
    CallerReady,
    Caption,
    Connected,
    Ended,
    ErrorCode,
    Menu,
    MenuOption,
    ProtocolError,
    Say,
    StatusChange,
    SurveyPrompt,
)
from hotline.wire.vocabulary import CallState, Channel, RecordingLeg, Speaker, Status
from telephony.guards import LineMonitor

__all__ = ["CallServices", "CallerJourney"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MENU_TIMEOUT_S = 30.0
MENU_DIGITS = "1234567890"
"""The language menu's keys, in order: the tenth language is 0."""
DTMF_QUEUE = 8
SPEECH_TRIES = 3
"""Utterances at the menu whose language is tried before only keys are listened for."""
IDENTIFY_TIMEOUT_S = 15.0
"""Longer than every recognizer takes for an 8 s utterance on a busy machine: past it, the
identification is given up (and logged) and only keys choose."""


@dataclass(frozen=True, slots=True)
class CallServices:
    """What every call in this process shares."""

    engines: Engines
    store: AsyncRecordStore
    switchboard: Switchboard
    settings: CallConfig
    data_dir: Path
    metrics: CallMetrics = field(default_factory=CallMetrics)
    cases: AsyncCaseStore | None = None
    """Where calls become service requests; None keeps only the call records."""
    case_settings: CasesConfig = field(default_factory=CasesConfig)

    @property
    def catalogue(self) -> Catalogue | None:
        return self.cases.catalogue if self.cases is not None else None


class CallerJourney:
    """One caller from hello to the end of their call."""

    def __init__(
        self,
        services: CallServices,
        link: Link,
        *,
        sample_rate: int,
        language: str | None,
        caller_id: str | None = None,
        channel: Channel = Channel.WEB,
        no_audio_timeout_s: float | None = None,
    ) -> None:
        """``no_audio_timeout_s`` is for transports that send audio all the time, silence
        included (phone lines): when it stops for that long the line has gone one-way and
        the call is ended. A web caller may type instead of speaking, so it has none."""
        self.services = services
        self.link = link
        self.sample_rate = sample_rate
        self.language = language
        self.caller_id = caller_id
        self.channel = channel
        self.call: Call | None = None
        self.caller: Party | None = None
        self.hung_up = asyncio.Event()
        self.gone = asyncio.Event()
        self.ended = False
        self.end_reason: str | None = None
        self.no_audio_timeout_s = no_audio_timeout_s
        self.monitor = LineMonitor(
            sample_rate,
            clipping_ratio=services.settings.clipping_ratio,
            long_silence_s=services.settings.long_silence_s,
        )
        self._dtmf: asyncio.Queue[str] = asyncio.Queue(DTMF_QUEUE)
        self.identified: SpokenLanguage | None = None
        """The caller's language as recognized from their speech at the menu, if it was."""

    # --- what the caller does ---------------------------------------------------------

    async def audio(self, pcm: np.ndarray) -> None:
        """The caller's voice, at the sample rate they called with. Audio that arrives after
        the call has ended (the transport has not noticed yet) is dropped."""
        if self.caller is None or self.ended:
            return
        for finding in self.monitor.feed(pcm, asyncio.get_running_loop().time()):
            log.warning(
                "call=%s channel=%s caller line %s", self.log.call_id, self.channel, finding
            )
        await self.caller.speaks(pcm)

    def dtmf(self, digit: str) -> None:
        """A key press: an answer to a read-back in the call, or for the IVR (menu, survey);
        more than a handful waiting unread are dropped."""
        if self.call is not None and self.call.caller_key(digit):
            return
        try:
            self._dtmf.put_nowait(digit)
        except asyncio.QueueFull:
            log.info("caller pressed %s while %d keys wait unread; dropped", digit, DTMF_QUEUE)

    async def typed(self, text: str) -> Caption:
        """The caller types instead of speaking (only once connected)."""
        if self.call is None:
            raise ProtocolError(ErrorCode.NO_CALL, "not connected to an operator yet")
        return await self.call.caller_typed(text)

    def hang_up(self) -> None:
        self.hung_up.set()
        if self.call is not None:
            self.call.end(Status.COMPLETED)

    def lost(self) -> None:
        """The transport is gone: after a hang-up the call is complete, else dropped."""
        if self.call is not None:
            self.call.end(Status.COMPLETED if self.hung_up.is_set() else Status.DROPPED)
        self.gone.set()

    # --- the journey ------------------------------------------------------------------

    async def open(self) -> None:
        """Open the call's record and recordings: from here on, what the caller says is kept."""
        services = self.services
        self.log = await CallLog.open(
            services.store, language=self.language, caller_id=self.caller_id, channel=self.channel
        )
        self.started_at = asyncio.get_running_loop().time()
        services.metrics.calls_started.labels(self.channel).inc()
        services.metrics.calls_active.inc()
        self.recording = Recording(services.data_dir, self.log, self.started_at)
        spoken = await self.recording.open(RecordingLeg.CALLER_IN, self.sample_rate)
        heard = await self.recording.open(RecordingLeg.CALLER_HEARD, self.sample_rate)
        playout = Playout(
            self.sample_rate, self.link, heard, services.settings.original_voice_gain_db
        )
        self.caller = Party(
            Speaker.CALLER, self.link, self.language, self.sample_rate, playout, spoken
        )

    async def run(self) -> Status:
        """The whole call after :meth:`open`; the record is closed and ``ended`` sent on every
        way out."""
        assert self.caller is not None, "open the journey first"
        status = Status.DROPPED
        try:
            async with asyncio.TaskGroup() as tg:
                helpers = [tg.create_task(self.caller.playout.run())]
                if self.no_audio_timeout_s:
                    helpers.append(tg.create_task(self._watch_for_one_way_audio()))
                try:
                    status = await self._journey()
                finally:
                    await asyncio.sleep(0)
                    for task in helpers:
                        task.cancel()
        finally:
            self.ended = True
            self.services.metrics.calls_active.dec()
            self.services.metrics.calls_ended.labels(status).inc()
            self.recording.close()
            log.info(
                "call=%s channel=%s ended %s; caller line: %s",
                self.log.call_id,
                self.channel,
                status,
                self.monitor.report,
            )
            await self.log.finish(status, self.end_reason)
            await self._file_case()
            await self.link.send(Ended(self.log.call_id, self.log.reference, status))
        return status

    async def _file_case(self) -> None:
        """A call that reached an operator becomes a service request; a failure here is
        logged, never lost: the call's record holds everything to file it again."""
        cases = self.services.cases
        if cases is None or self.call is None:
            return
        call_id = self.log.call_id
        try:
            case = await cases.run(lambda store: store.file_from_call(call_id))
        except Exception:
            log.exception("call=%s could not be filed as a service request", call_id)
            return
        if case is not None:
            log.info(
                "call=%s filed as %s (%s, %s)",
                call_id,
                case.service_request_id,
                case.service_code,
                case.urgency,
            )

    async def _journey(self) -> Status:
        assert self.caller is not None
        language = self.language
        if language is None:
            language = await self._choose_language()
            if language is None:
                return Status.DROPPED
            await self.log.language_chosen(language)
            if self.identified is not None:
                at_s = asyncio.get_running_loop().time() - self.started_at
                await self.log.event(
                    f"language {language} recognized from the caller's speech at the menu "
                    f"(confidence {self.identified.confidence:.2f}); no key was pressed",
                    at_s,
                )
        self.language = self.caller.language = language
        await self.link.send(
            CallerReady(self.log.call_id, self.log.reference, language, self.sample_rate)
        )
        await self._say("greeting", language)
        switchboard = self.services.switchboard
        try:
            waiting = switchboard.enqueue(self.log.call_id, language, self.log.reference)
        except QueueFull:
            return await self._busy(language)
        try:
            seat, operator_language = None, None
            while seat is None:
                await self._until_gone(self.caller.playout.drained(), 30)
                if self.gone.is_set():
                    return self._gone_status()
                if not waiting.assigned.done():
                    position = switchboard.position(waiting)
                    await self.link.send(StatusChange(CallState.QUEUED, position=position))
                    await self._say("position", language, position=position)
                result = await self._until_gone(
                    asyncio.shield(waiting.assigned), self.services.settings.queue_announce_s
                )
                if self.gone.is_set():
                    return self._gone_status()
                if result is not None:
                    seat, operator_language = result
                    self.services.metrics.queue_wait.observe(waiting.waiting_s())
                elif waiting.waiting_s() >= self.services.settings.queue_timeout_s:
                    switchboard.leave(waiting)
                    return await self._busy(language)
        finally:
            switchboard.leave(waiting)
        status = await self._connected(seat, operator_language)
        settings = self.services.case_settings
        if (
            status == Status.COMPLETED
            and settings.survey
            and self.services.cases is not None
            and not self.hung_up.is_set()
            and not self.gone.is_set()
        ):
            await self._survey(language, settings.survey_timeout_s)
        return status

    async def _survey(self, language: str, timeout_s: float) -> None:
        """The operator has hung up: how satisfied was the caller, 1 to 5 (a key, or a
        button on the caller page)? No answer in ``timeout_s`` is no answer."""
        assert self.caller is not None
        text = prompt("survey", language) or prompt("survey", "en")
        assert text is not None
        while not self._dtmf.empty():
            self._dtmf.get_nowait()
        await self.link.send(SurveyPrompt(text))
        await self._say("survey", language)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            digit = await self._until_gone(self._dtmf.get(), left)
            if digit is None:
                return
            if digit in ("1", "2", "3", "4", "5"):
                await self.log.request(satisfaction=int(digit))
                self.caller.playout.clear()
                await self._say("survey_thanks", language)
                await self._until_gone(self.caller.playout.drained(), 10)
                return

    async def _watch_for_one_way_audio(self) -> None:
        """A phone line whose audio stops is one-way (or dead): end the call, say why."""
        assert self.no_audio_timeout_s is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.no_audio_timeout_s / 4))
            quiet = self.monitor.quiet_for(loop.time(), since=self.started_at)
            if quiet >= self.no_audio_timeout_s:
                self.end_reason = f"one-way audio: no audio from the caller for {quiet:.1f} s"
                log.warning(
                    "call=%s channel=%s %s", self.log.call_id, self.channel, self.end_reason
                )
                self.lost()
                return

    def _gone_status(self) -> Status:
        return Status.COMPLETED if self.hung_up.is_set() else Status.DROPPED

    async def _say(self, name: str, language: str, **params: object) -> None:
        """A prompt in the caller's language (English where nobody has written it yet)."""
        assert self.caller is not None
        text = prompt(name, language, **params) or prompt(name, "en", **params)
        assert text is not None
        spoken_in = language if prompt(name, language) else "en"
        announce = Say(text, prompt=name)
        try:
            pcm = await self.services.engines.speak(text, spoken_in, self.sample_rate)
        except Exception as exc:
            log.warning("call=%s cannot speak %s prompt: %s", self.log.call_id, name, exc)
            await self.link.send(announce)
            return
        self.caller.playout.play(pcm, announce)

    async def _until_gone(self, awaitable: Awaitable[T], timeout: float | None = None) -> T | None:
        """Await something unless the caller goes away first (then None)."""
        task = asyncio.ensure_future(awaitable)
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait(
                {task, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if task in done:
            return task.result()
        task.cancel()
        return None

    async def _choose_language(self) -> str | None:
        """One key per language: 1 to 9, then 0 for the tenth; languages past the tenth are
        left off (a longer menu would need two keys per language)."""
        assert self.caller is not None
        configured = self.services.settings.menu_languages
        if len(configured) > len(MENU_DIGITS):
            log.warning(
                "call=%s menu_languages has %d languages; the menu offers the first %d",
                self.log.call_id,
                len(configured),
                len(MENU_DIGITS),
            )
        options = dict(zip(MENU_DIGITS, configured, strict=False))
        await self.link.send(
            Menu(
                [
                    MenuOption(digit, lang, LANGUAGE_NAMES.get(lang, lang))
                    for digit, lang in options.items()
                ]
            )
        )
        listening = (
            asyncio.ensure_future(self._language_from_speech(set(configured)))
            if self.services.settings.identify_speech
            else None
        )
        try:
            for digit, language in options.items():
                if prompt("menu_item", language) is not None:  # never "For English" for another
                    await self._say("menu_item", language, digit=digit)
            while True:
                choice = await self._until_gone(self._key_or_speech(listening), MENU_TIMEOUT_S)
                if choice is None:
                    return None
                if isinstance(choice, SpokenLanguage):
                    self.identified = choice
                    self.caller.playout.clear()
                    log.info(
                        "call=%s channel=%s chose %s by speech at the menu (confidence %.2f)",
                        self.log.call_id,
                        self.channel,
                        choice.language,
                        choice.confidence,
                    )
                    return choice.language
                if choice in options:
                    self.caller.playout.clear()
                    log.info(
                        "call=%s channel=%s chose %s by key",
                        self.log.call_id,
                        self.channel,
                        options[choice],
                    )
                    return options[choice]
        finally:
            if listening is not None:
                listening.cancel()

    async def _key_or_speech(self, listening: asyncio.Future | None) -> str | SpokenLanguage:
        """The next key the caller presses, or the language recognized from their speech if
        that comes first (a key already waiting wins)."""
        key = asyncio.ensure_future(self._dtmf.get())
        if listening is None or (listening.done() and listening.result() is None):
            return await key
        try:
            await asyncio.wait({key, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not key.done():
                key.cancel()
        if key.done() and not key.cancelled():
            return key.result()
        heard = listening.result()
        return heard if heard is not None else await self._key_or_speech(None)

    async def _language_from_speech(self, menu: set[str]) -> SpokenLanguage | None:
        """Listen to the caller while the menu plays: the first utterances, one by one, go to
        every recognizer; the first whose language is sure and served is the answer. None
        after :data:`SPEECH_TRIES` unsure ones (the caller then chooses by key)."""
        assert self.caller is not None
        engines = self.services.engines
        utterances: asyncio.Queue[np.ndarray] = asyncio.Queue(1)
        words = FirstWords(self.sample_rate)

        def hear(pcm: np.ndarray) -> None:
            utterance = words.feed(pcm)
            if utterance is not None and not utterances.full():
                utterances.put_nowait(utterance)

        self.caller.taps.append(hear)
        try:
            for _ in range(SPEECH_TRIES):
                utterance = await utterances.get()
                try:
                    heard = await asyncio.wait_for(
                        engines.identify_speech(utterance, self.sample_rate), IDENTIFY_TIMEOUT_S
                    )
                except Exception:
                    log.exception(
                        "call=%s channel=%s could not identify the language of %.1f s of speech",
                        self.log.call_id,
                        self.channel,
                        len(utterance) / self.sample_rate,
                    )
                    return None
                log.info(
                    "call=%s channel=%s speech at the menu (%.1f s): %s",
                    self.log.call_id,
                    self.channel,
                    len(utterance) / self.sample_rate,
                    heard.language or "unsure",
                )
                language = heard.language
                if language is not None and (language in menu or engines.can_recognize(language)):
                    return heard
            return None
        finally:
            self.caller.taps.remove(hear)

    async def _busy(self, language: str) -> Status:
        """No operator now (queue full or waited too long): say so; the call stays recorded."""
        assert self.caller is not None
        await self.link.send(StatusChange(CallState.BUSY))
        await self._say("busy", language)
        await self._until_gone(self.caller.playout.drained(), 30)
        return Status.BUSY

    async def _connected(self, seat: OperatorSeat, operator_language: str) -> Status:
        assert self.caller is not None and self.language is not None
        services = self.services
        await self.log.operator_joined(seat.name, operator_language)
        operator = await self._operator_party(seat, operator_language)
        catalogue = services.catalogue
        request = (
            CallRequest(
                self.log.call_id,
                self.log,
                catalogue,
                services.case_settings,
                self.language,
                operator_language,
            )
            if catalogue is not None
            else None
        )
        call = Call(
            services.engines,
            self.log,
            self.caller,
            operator,
            self.started_at,
            metrics=services.metrics,
            stage_timeout_s=services.settings.stage_timeout_s,
            request=request,
            unclear=UnclearPolicy(
                low_confidence=services.settings.low_confidence,
                low_round_trip=services.settings.low_round_trip,
                repeat_when_unclear=services.settings.repeat_when_unclear,
                interpreter_after=services.settings.interpreter_after,
            ),
        )
        seat.join(call, operator)
        services.switchboard.connected(call)
        self.call = call
        try:
            await self.log.connected(call.connected_s)
            assert seat.link is not None
            await seat.link.send(
                Connected(
                    call.call_id,
                    call.reference,
                    caller_language=self.language,
                    operator_language=operator_language,
                    caller_asr=services.engines.can_recognize(self.language),
                    operator_asr=services.engines.can_recognize(operator_language),
                    quick_replies=sorted(QUICK_REPLIES),
                )
            )
            if request is not None:
                await seat.link.send(request.draft())
            await self.link.send(
                StatusChange(CallState.CONNECTED, operator_language=operator_language)
            )
            await self._say("connected", self.language)
            async with asyncio.TaskGroup() as tg:
                playing = tg.create_task(operator.playout.run())
                try:
                    status = await call.run()
                finally:
                    playing.cancel()
        finally:
            services.switchboard.ended(call)
            if seat.call is call:
                services.switchboard.release(seat)
            # Whoever answers the call now (its operator, or a supervisor who took it
            # over) and everyone listening in learn that it ended.
            for link in {call.operator.link, *call.watchers}:
                await link.send(Ended(call.call_id, call.reference))
        return status

    async def _operator_party(self, seat: OperatorSeat, language: str) -> Party:
        """The operator's side of this call, from what their session put on the seat."""
        assert seat.link is not None
        spoken = await self.recording.open(RecordingLeg.OPERATOR_IN, seat.sample_rate)
        heard = await self.recording.open(RecordingLeg.OPERATOR_HEARD, seat.sample_rate)
        playout = Playout(
            seat.sample_rate, seat.link, heard, self.services.settings.original_voice_gain_db
        )
        playout.under_enabled = seat.hear_original
        return Party(
            Speaker.OPERATOR,
            seat.link,
            language,
            seat.sample_rate,
            playout,
            spoken,
            captions_only=seat.captions_only,
        )
