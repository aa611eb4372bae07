"""One connected call, top to bottom: audio in, recognize, translate, speak, audio out, record.

The same path runs both ways. A :class:`Call` builds its two legs from the two parties it is
given, owns every task it starts, and when either party hangs up cancels them all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from hotline.call.intake import RecordSuggester
from hotline.call.link import Link, ResampledLink
from hotline.call.log import CallLog
from hotline.call.metrics import CallMetrics
from hotline.call.party import Party
from hotline.call.playout import Played
from hotline.call.prompts import prompt, quick_reply
from hotline.call.request import CallRequest, yes_or_no
from hotline.engines import ASR_RATE, Engines, Final, Partial, SpeechStream
from hotline.records import WordTiming
from hotline.wire.messages import (
    Caption,
    Clear,
    EmergencyAlert,
    Notice,
    PreviewResult,
    ReadBack,
    RecordSuggestion,
    RequestDraft,
    Say,
    WallCaption,
)
from hotline.wire.vocabulary import Speaker, Status
from telephony import StreamResampler

__all__ = ["Call"]

log = logging.getLogger(__name__)

RECENT_CAPTIONS = 4
"""Final captions of a call kept for the supervisors' wall."""
MAX_RECOGNIZER_RESTARTS = 3
"""Fresh recognizers a leg gets after failures before it goes on without one."""
AUDIO_QUEUE_FRAMES = 200
ASR_BATCH_FRAMES = 25
SPOKEN_QUEUE = 16
PLAYBACK_QUEUE = 64
SILENCE_PIECE_S = 10
READBACK_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class UnclearPolicy:
    """When a turn counts as unclear, and what follows (``[call]`` in the configuration)."""

    low_confidence: float = 0.5
    low_round_trip: float = 0.0
    repeat_when_unclear: bool = False
    interpreter_after: int = 3


"""How long a read-back waits for the caller's 1/yes or 2/no before it counts as unanswered."""


@dataclass(slots=True)
class _Spoken:
    """A final utterance on its way from recognition to the relay."""

    text: str
    start: float
    end: float
    confidence: float
    words: list[WordTiming]
    final_at: float


class _Leg:
    """One direction of the call: a party's voice on its way to being recognized."""

    def __init__(self, party: Party) -> None:
        self.party = party
        self.role = party.role
        self.audio_in: asyncio.Queue[np.ndarray | None] = asyncio.Queue(AUDIO_QUEUE_FRAMES)
        self.spoken: asyncio.Queue[_Spoken | None] = asyncio.Queue(SPOKEN_QUEUE)
        self.to_asr: StreamResampler | None = None
        self.stream: SpeechStream | None = None
        self.origin = party.recorder.seconds
        """Where on the call's clock the audio this leg recognizes begins."""
        self.heard_s = 0.0
        """Seconds of audio taken for recognition so far (a failed recognizer's included)."""
        self.stream_offset = 0.0
        self.restarts = 0

    @property
    def language(self) -> str:
        assert self.party.language is not None
        return self.party.language


class Call:
    """A caller and an operator, talking through live translation."""

    def __init__(
        self,
        engines: Engines,
        log: CallLog,
        caller: Party,
        operator: Party,
        started_at: float,
        *,
        metrics: CallMetrics | None = None,
        stage_timeout_s: float = 10.0,
        request: CallRequest | None = None,
        unclear: UnclearPolicy | None = None,
    ) -> None:
        """``stage_timeout_s`` bounds each engine step (a chunk recognized, the next chunk
        of speech): an engine that hangs fails that step instead of the call."""
        if caller.language is None or operator.language is None:
            raise ValueError("both parties need a language before their call connects")
        self.engines = engines
        self.log = log
        self.caller = caller
        self.operator = operator
        self.started_at = started_at
        self.metrics = metrics if metrics is not None else CallMetrics()
        self.stage_timeout_s = stage_timeout_s
        # Both legs are recognized from one instant, sample-exact on each recording, and the
        # record keeps it: a replay that hears the recordings from there hears what the call
        # heard, in the same pieces.
        self.connected_s = max(caller.recorder.seconds, operator.recorder.seconds)
        for party in (caller, operator):
            party.recorder.pad_to(self.connected_s)
        self.speech_down: set[Speaker] = set()
        self.watchers: set[Link] = set()
        """Links that get a copy of every caption (supervisors listening in)."""
        self.recent: collections.deque[WallCaption] = collections.deque(maxlen=RECENT_CAPTIONS)
        self.status: Status | None = None
        self.ended = asyncio.Event()
        self._legs = {Speaker.CALLER: _Leg(caller), Speaker.OPERATOR: _Leg(operator)}
        for leg in self._legs.values():
            leg.party.listener = leg.audio_in
            leg.party.playout.on_played = self._played
        self._playback: asyncio.Queue[Played] = asyncio.Queue(PLAYBACK_QUEUE)
        self._tasks: asyncio.TaskGroup | None = None
        self._partial_jobs: dict[Speaker, asyncio.Task] = {}
        self._latest_partial: dict[Speaker, str] = {}
        self.suggester = RecordSuggester()
        self.request = request
        """The service request this call will file (None where cases are not kept)."""
        self.unclear = unclear or UnclearPolicy()
        self.unclear_turns = 0
        self.same_language = caller.language == operator.language
        if self.same_language:
            caller.playout.under_gain_db = 0.0
            operator.playout.under_gain_db = 0.0

    @property
    def call_id(self) -> str:
        return self.log.call_id

    @property
    def reference(self) -> str:
        return self.log.reference

    def other(self, leg: _Leg) -> _Leg:
        return self._legs[Speaker.OPERATOR if leg.role == Speaker.CALLER else Speaker.CALLER]

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.started_at

    def end(self, status: Status) -> None:
        """Either party hung up or went away; the first status given wins."""
        if self.status is None:
            self.status = status
        self.ended.set()

    # --- the pipeline ---------------------------------------------------------------

    async def run(self) -> Status:
        """Hear both parties until the call ends; returns its status."""
        loop = asyncio.get_running_loop()
        legs = list(self._legs.values())
        try:
            await asyncio.gather(*(self._open_recognizer(leg, from_start=True) for leg in legs))
            async with asyncio.TaskGroup() as tg:
                self._tasks = tg
                listeners = [tg.create_task(self._listen(leg)) for leg in legs]
                relays = [tg.create_task(self._relay(leg)) for leg in legs]
                keeper = tg.create_task(self._keep_playback())
                await self.ended.wait()
                for leg in legs:
                    leg.party.listener = None
                    with contextlib.suppress(asyncio.QueueFull):
                        leg.audio_in.put_nowait(None)
                # Let recognition flush the utterance in progress, then let the relays
                # record what is already queued: nothing recognized is lost at hang-up.
                await asyncio.wait(listeners, timeout=2.0)
                for leg in legs:
                    with contextlib.suppress(asyncio.QueueFull):
                        leg.spoken.put_nowait(None)
                await asyncio.wait(relays, timeout=3.0)
                for task in [*listeners, *relays, keeper, *self._partial_jobs.values()]:
                    task.cancel()
        finally:
            for leg in legs:
                leg.party.listener = None
                leg.party.playout.stop()
                leg.party.playout.on_played = None
                if leg.stream is not None:
                    leg.stream.release()
            await self._keep_playback(until_empty=True)
        log.info(
            "call=%s ended status=%s after %.1f s",
            self.call_id,
            self.status,
            loop.time() - self.started_at,
        )
        return self.status or Status.COMPLETED

    def _played(self, played: Played) -> None:
        try:
            self._playback.put_nowait(played)
        except asyncio.QueueFull:
            log.warning("call=%s playback of utterance %s not kept", self.call_id, played)

    async def _keep_playback(self, until_empty: bool = False) -> None:
        """Where each utterance was heard, into the record (a barge-in's cut included)."""
        while not (until_empty and self._playback.empty()):
            played = await self._playback.get()
            try:
                await self.log.played(played.utterance_id, played.start_s, played.end_s, played.cut)
            except Exception:
                log.exception("call=%s playback of %s not kept", self.call_id, played)

    async def _open_recognizer(self, leg: _Leg, from_start: bool = False) -> None:
        """A recognizer for the leg. The first one hears the call from its first instant,
        silence up to the connection included, so its times are the call's own; one opened
        after a failure starts where the audio has got to."""
        try:
            leg.stream = await self.engines.open_stream(leg.language, leg.party.sample_rate)
        except Exception as exc:
            log.info(
                "call=%s leg=%s no speech recognition for %s: %s",
                self.call_id,
                leg.role,
                leg.language,
                exc,
            )
            return
        leg.to_asr = StreamResampler(leg.party.sample_rate, ASR_RATE)
        if not from_start:
            leg.stream_offset = leg.origin + leg.heard_s
            return
        leg.stream_offset = 0.0
        try:
            await self._hear_silence(leg, round(leg.origin * leg.party.sample_rate))
        except Exception as exc:
            await self._recognizer_failed(leg, exc)

    async def _hear_silence(self, leg: _Leg, samples: int) -> None:
        assert leg.stream is not None and leg.to_asr is not None
        step = SILENCE_PIECE_S * leg.party.sample_rate
        for start in range(0, samples, step):
            silence = np.zeros(min(step, samples - start), dtype=np.int16)
            async with asyncio.timeout(self.stage_timeout_s):
                await leg.stream.feed(leg.to_asr.process(silence).tobytes())

    async def _listen(self, leg: _Leg) -> None:
        """Audio in → (quietly to the other side) → recognize.

        Frames that queued up while the recognizer was busy go to it as one chunk: under load
        a leg pays one executor hop (and one worker round trip) per batch, not per 20 ms."""
        other = self.other(leg)
        voice_across = StreamResampler(leg.party.sample_rate, other.party.sample_rate)
        ended = False
        while not ended:
            frames = [await leg.audio_in.get()]
            while frames[-1] is not None and len(frames) < ASR_BATCH_FRAMES:
                try:
                    frames.append(leg.audio_in.get_nowait())
                except asyncio.QueueEmpty:
                    break
            if frames[-1] is None:
                ended = True
                frames.pop()
            if not frames:
                break
            if leg.role == Speaker.CALLER or self.same_language:
                for pcm in frames:
                    if pcm.any():
                        other.party.playout.under(voice_across.process(pcm))
            audio = frames[0] if len(frames) == 1 else np.concatenate(frames)
            leg.heard_s += len(audio) / leg.party.sample_rate
            if leg.stream is None or leg.to_asr is None:
                continue
            try:
                async with asyncio.timeout(self.stage_timeout_s):
                    events = await leg.stream.feed(leg.to_asr.process(audio).tobytes())
            except Exception as exc:
                await self._recognizer_failed(leg, exc)
                continue
            for event in events:
                await self._recognized(leg, event)
        if leg.stream is not None and leg.to_asr is not None:
            # The resampler holds back a few milliseconds; the recognizer hears them too.
            tail = leg.to_asr.flush()
            events = await leg.stream.feed(tail.tobytes()) if tail.size else []
            for event in [*events, *await leg.stream.close()]:
                await self._recognized(leg, event)

    async def _recognizer_failed(self, leg: _Leg, exc: BaseException) -> None:
        """A recognizer that raised or hung is dropped and a fresh one is opened; the audio
        in between is lost to recognition (it is still recorded). If none opens, the leg
        goes on without captions and the operator is told."""
        reason = str(exc) or f"no answer within {self.stage_timeout_s:g} s"
        log.error("call=%s leg=%s recognizer failed: %s", self.call_id, leg.role, reason)
        self.metrics.error("asr")
        # The failed recognizer is not given back: its pool must not lend it again, and a
        # hung one may still be running in its thread.
        leg.stream = None
        if leg.restarts < MAX_RECOGNIZER_RESTARTS:
            leg.restarts += 1
            await self._open_recognizer(leg)
        if leg.stream is not None:
            self.metrics.error("asr_restarted")
            log.info("call=%s leg=%s recognizer restarted", self.call_id, leg.role)
            return
        await self.operator.link.send(
            Notice(f"speech recognition stopped for the {leg.role}: {reason}")
        )

    async def _recognized(self, leg: _Leg, event: Partial | Final) -> None:
        other = self.other(leg)
        if leg.role == Speaker.CALLER and self.caller.playout.playing:
            if self.caller.playout.clear():
                await self.caller.link.send(Clear())
        if isinstance(event, Partial):
            await self._caption(other.party, Caption(leg.role, event.text, final=False))
            self._translate_partial(leg, event.text)
            return
        if not event.text.strip():
            return
        spoken_end = event.end + leg.stream_offset
        final_at = self.now()
        self.metrics.stage("asr_final", final_at - spoken_end)
        self._latest_partial[leg.role] = ""
        job = self._partial_jobs.pop(leg.role, None)
        if job is not None:
            job.cancel()
        await leg.spoken.put(
            _Spoken(
                event.text,
                start=event.start + leg.stream_offset,
                end=event.end + leg.stream_offset,
                confidence=event.confidence,
                words=[
                    WordTiming(
                        w.word, w.start + leg.stream_offset, w.end + leg.stream_offset, w.conf
                    )
                    for w in event.words
                ],
                final_at=final_at,
            )
        )

    def _translate_partial(self, leg: _Leg, text: str) -> None:
        """Latest wins: one partial translation in flight per speaker; when it returns, the
        newest partial seen meanwhile is translated next, older ones are skipped."""
        self._latest_partial[leg.role] = text
        running = self._partial_jobs.get(leg.role)
        if running is not None and not running.done():
            return
        other = self.other(leg)

        async def job() -> None:
            done = None
            while (latest := self._latest_partial.get(leg.role)) != done and latest:
                done = latest
                result = await self.engines.translate([latest], leg.language, other.language)
                if result.translated and self._latest_partial.get(leg.role):
                    await self._caption(
                        other.party,
                        Caption(
                            leg.role, latest, final=False, text=result.texts[0], translated=True
                        ),
                    )

        assert self._tasks is not None
        self._partial_jobs[leg.role] = self._tasks.create_task(job())

    async def _relay(self, leg: _Leg) -> None:
        """Final utterances of one speaker, in order: record, translate, caption, speak."""
        while (item := await leg.spoken.get()) is not None:
            await self._say_across(
                leg,
                item.text,
                start=item.start,
                end=item.end,
                confidence=item.confidence,
                words=item.words,
                final_at=item.final_at,
            )

    async def _say_across(
        self,
        leg: _Leg,
        text: str,
        *,
        translation: str | None = None,
        start: float | None = None,
        end: float | None = None,
        confidence: float = 1.0,
        typed: bool = False,
        words: list[WordTiming] | None = None,
        final_at: float | None = None,
        language: str | None = None,
    ) -> Caption:
        """Carry one utterance from ``leg`` to the other party, and keep it in the record.
        ``language`` is the language the text is really in, when not the leg's (typed)."""
        other = self.other(leg)
        said_in = language or leg.language
        now = self.now()
        utterance_id = await self.log.utterance(
            leg.role,
            said_in,
            text,
            start_s=now if start is None else start,
            end_s=now if end is None else end,
            confidence=confidence,
            typed=typed,
            words=words or (),
            asr_final_s=final_at,
        )
        route = None
        if translation is not None:
            translated, note, engine, provenance = True, None, "operator", "operator"
        else:
            asked = self.now()
            result = await self.engines.translate([text], said_in, other.language)
            if said_in != other.language:
                self.metrics.stage("translation", self.now() - asked)
            translation, translated, note, engine, provenance = (
                result.texts[0],
                result.translated,
                result.note,
                result.engine,
                result.provenance or result.engine,
            )
            route = result.route
        # Same-language parties hear each other's own voice; speech is only synthesized
        # for a translation or for typed text, which has no voice of its own.
        speak = (
            translated and not other.party.captions_only and (typed or said_in != other.language)
        )
        await self.log.translation(
            utterance_id,
            translation,
            other.language,
            translated=translated,
            note=note,
            spoken_by_tts=speak,
            engine=provenance,
            translated_s=self.now(),
        )
        unclear = await self._unclear(
            text, translation, said_in, other.language, confidence, typed, engine
        )
        caption = Caption(
            leg.role,
            text,
            final=True,
            text=translation,
            translated=translated,
            utterance_id=utterance_id,
            language=other.language,
            source_language=said_in,
            engine=engine,
            note=note or None,
            route=route,
            unclear=unclear or None,
        )
        await self._caption(other.party, caption)
        if unclear and leg.role == Speaker.CALLER:
            await self._caller_unclear(unclear)
        self.recent.append(WallCaption(leg.role, text, translation if translated else None))
        if leg.role == Speaker.CALLER:
            suggestion = self.suggester.hear(text, translation)
            if suggestion is not None:
                await self.operator.link.send(RecordSuggestion(suggestion))
            if self.request is not None:
                if self.request.awaiting_answer:
                    answer = yes_or_no(text, said_in)
                    if answer is not None:
                        self.request.answer(answer, "typed" if typed else "speech")
                for message in await self.request.heard(text, translation if translated else None):
                    await self._to_answerer(message)
        if speak:
            await self._speak(
                other.party,
                translation,
                Say(translation, utterance_id=utterance_id),
                spoken_end=None if typed else end,
            )
        return caption

    async def _speak(
        self, party: Party, text: str, announce: Say, spoken_end: float | None = None
    ) -> None:
        """Speech to a party sentence by sentence, so the first words go out early. When the
        voice engine fails or hangs, the party has the caption only, and the operator is
        told once, until speech works again."""
        assert party.language is not None
        asked = self.now()
        first = True
        chunks = aiter(self.engines.speak_stream(text, party.language, party.sample_rate))
        try:
            while True:
                try:
                    async with asyncio.timeout(self.stage_timeout_s):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                if first:
                    now = self.now()
                    self.metrics.stage("tts_first_byte", now - asked)
                    if spoken_end is not None:
                        self.metrics.stage("voice_to_voice", now - spoken_end)
                party.playout.play(chunk, announce if first else None)
                first = False
        except Exception as exc:
            await self._speech_failed(party, announce, exc, said_anything=not first)
            return
        finally:
            with contextlib.suppress(Exception):
                await chunks.aclose()  # type: ignore[attr-defined]
        if party.role in self.speech_down:
            self.speech_down.discard(party.role)
            await self.operator.link.send(Notice(f"speech to the {party.role} works again"))

    async def _speech_failed(
        self, party: Party, announce: Say, exc: BaseException, said_anything: bool
    ) -> None:
        reason = str(exc) or f"no audio within {self.stage_timeout_s:g} s"
        log.error("call=%s speech to %s failed: %s", self.call_id, party.role, reason)
        self.metrics.error("tts")
        if not said_anything:
            # The party's screen still shows what would have been said.
            await party.link.send(announce)
        if party.role not in self.speech_down:
            self.speech_down.add(party.role)
            await self.operator.link.send(
                Notice(
                    f"speech to the {party.role} is not working ({reason}); "
                    "captions only until it is back"
                )
            )

    async def _caption(self, party: Party, caption: Caption) -> None:
        """A caption to the party it is for, and to everyone watching the call."""
        await party.link.send(caption)
        for watcher in list(self.watchers):
            await watcher.send(caption)

    async def _unclear(
        self,
        text: str,
        translation: str,
        source: str,
        target: str,
        confidence: float,
        typed: bool,
        engine: str,
    ) -> list[str]:
        """Why this turn may have gone wrong: the recognizer was unsure, or the translation
        did not survive its round trip (checked only when configured: it costs one more
        translation)."""
        found = []
        if not typed and confidence < self.unclear.low_confidence:
            found.append("asr")
        if (
            self.unclear.low_round_trip > 0
            and engine not in ("operator", "identity", "none")
            and source != target
        ):
            score = await self.engines.round_trip(text, translation, source, target)
            if score < self.unclear.low_round_trip:
                found.append("translation")
        return found

    async def _caller_unclear(self, why: list[str]) -> None:
        """An unclear turn from the caller: counted in the record, "please repeat" in their
        language if configured, and a flag for a human interpreter after a few."""
        self.unclear_turns += 1
        await self.log.request(unclear_turns=self.unclear_turns)
        if self.unclear.repeat_when_unclear:
            language = self.caller.language or "en"
            text = quick_reply("repeat", language, {}) or quick_reply("repeat", "en", {})
            if text is not None:
                await self._speak(self.caller, text, Say(text, prompt="repeat"))
        if self.unclear_turns == self.unclear.interpreter_after:
            await self.log.request(interpreter_needed=True)
            log.warning(
                "call=%s flagged for a human interpreter after %d unclear turns",
                self.call_id,
                self.unclear_turns,
            )
            await self._to_answerer(
                Notice(
                    f"{self.unclear_turns} unclear turns ({', '.join(why)} the last time): "
                    "this call needs a human interpreter"
                )
            )

    async def _to_answerer(self, message: Any) -> None:
        """A message for whoever answers the call, and everyone watching it."""
        await self.operator.link.send(message)
        for watcher in list(self.watchers):
            await watcher.send(message)

    # --- the service request -------------------------------------------------------------

    def _require_request(self) -> CallRequest:
        if self.request is None:
            raise ValueError("this hotline keeps no service requests")
        return self.request

    async def update_request(self, service_code: str | None, place: str | None) -> RequestDraft:
        """The operator confirms or corrects the service and place (ValueError if unknown)."""
        draft = await self._require_request().operator_set(service_code, place)
        for watcher in list(self.watchers):
            await watcher.send(draft)
        return draft

    async def emergency_action(self, action: str) -> EmergencyAlert:
        alert = await self._require_request().emergency_handled(action)
        await self.log.event(
            f"emergency: the caller was {action} to the emergency numbers", self.now()
        )
        for watcher in list(self.watchers):
            await watcher.send(alert)
        return alert

    def caller_key(self, digit: str) -> bool:
        """A key the caller pressed: 1 or 2 answers a read-back; False when nothing here
        wanted it (the IVR takes it then)."""
        request = self.request
        if request is None or not request.awaiting_answer or digit not in "12":
            return False
        return request.answer("yes" if digit == "1" else "no", "dtmf")

    async def read_back(self) -> ReadBack:
        """Read the service and place back to the caller in their language, then wait (as a
        task of the call) for 1/yes or 2/no; the operator and the record get the answer."""
        request = self._require_request()
        if request.awaiting_answer:
            raise ValueError("the caller has not answered the last read-back yet")
        if request.service_code is None:
            raise ValueError("no service yet: choose one before reading it back")
        if self._tasks is None:
            raise ValueError("the call is not running")
        language = self.caller.language
        assert language is not None
        service, place = request.readback_subject()
        text = prompt("readback", language, service=service, place=place) or prompt(
            "readback", "en", service=service, place=place
        )
        assert text is not None
        request.readback_id = await self.log.readback(
            language, text, request.service_code, request.place
        )
        request.answered = asyncio.get_running_loop().create_future()
        asked = ReadBack(text, language)
        await self.caller.link.send(asked)
        await self._to_answerer(asked)
        self._tasks.create_task(self._readback_answer(request, asked))
        await self._speak(self.caller, text, Say(text, prompt="readback"))
        return asked

    async def _readback_answer(self, request: CallRequest, asked: ReadBack) -> None:
        assert request.answered is not None and request.readback_id is not None
        try:
            async with asyncio.timeout(READBACK_TIMEOUT_S):
                answer, how = await asyncio.shield(request.answered)
        except TimeoutError:
            request.answered.cancel()
            answer, how = "none", "timeout"
        await self.log.readback_answered(request.readback_id, answer, how)
        if answer != "none":
            request.confirmed = answer == "yes"
            await self.log.request(readback_confirmed=request.confirmed)
        answered = ReadBack(asked.text, asked.language, answer, how)
        await self.caller.link.send(answered)
        await self._to_answerer(answered)
        await self._to_answerer(request.draft())
        if answer != "none":
            name = "readback_yes" if answer == "yes" else "readback_no"
            language = self.caller.language or "en"
            text = prompt(name, language, n=self.reference) or prompt(name, "en", n=self.reference)
            assert text is not None
            await self._speak(self.caller, text, Say(text, prompt=name))

    # --- supervisors -------------------------------------------------------------------

    def take_over(self, link: Link, sample_rate: int) -> Link:
        """Someone else answers as the operator from now on (a supervisor): what the operator
        heard goes to ``link`` (resampled to ``sample_rate``), and what they say reaches the
        call through the operator's party. Returns the operator's old link."""
        party = self.operator
        old = party.link
        new: Link = (
            link
            if sample_rate == party.sample_rate
            else ResampledLink(link, party.sample_rate, sample_rate)
        )
        party.link = new
        party.playout.relink(new)
        return old

    # --- what the parties do besides speaking ------------------------------------------

    async def operator_reply(self, text: str, translation: str | None = None) -> Caption:
        return await self._say_across(
            self._legs[Speaker.OPERATOR], text, translation=translation, typed=True
        )

    async def caller_typed(self, text: str) -> Caption:
        """What the caller typed, translated from the language it is really in: a caller who
        chose English at the menu may still type in French."""
        leg = self._legs[Speaker.CALLER]
        found = self.engines.identify_language(text)
        language = None
        if (
            found.language is not None
            and found.language != leg.language
            and self.engines.can_translate(found.language, self.operator.language or "")
        ):
            language = found.language
        return await self._say_across(leg, text, typed=True, language=language)

    async def preview(self, text: str) -> PreviewResult:
        operator, caller = self._legs[Speaker.OPERATOR], self._legs[Speaker.CALLER]
        result = await self.engines.translate([text], operator.language, caller.language)
        return PreviewResult(text, result.texts[0], result.translated, result.note or None)

    async def quick_reply(self, reply_id: str, params: dict[str, str]) -> Caption:
        """An approved phrase, in the caller's language as written by people when we have it."""
        params = {"n": self.reference, **params}
        operator, caller = self._legs[Speaker.OPERATOR], self._legs[Speaker.CALLER]
        approved = quick_reply(reply_id, caller.language, params)
        source = quick_reply(reply_id, operator.language, params)
        if approved is None and source is None:
            raise KeyError(reply_id)
        return await self._say_across(
            operator, source or approved, translation=approved, typed=True
        )

    async def update_record(self, fields: dict[str, str]) -> None:
        """The operator's complaint fields; raises RecordError for a value the store refuses."""
        await self.log.update_fields(**fields)
