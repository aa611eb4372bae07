"""One connected call, top to bottom: audio in, recognize, translate, speak, audio out, record.

The same path runs both ways. A :class:`Call` owns every task it starts; when either party
hangs up it cancels them all and the record is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from asr import AsrError, AsyncUtteranceStream, Final, Partial
from hotline.call.intake import RecordSuggester
from hotline.call.playout import Playout
from hotline.call.prompts import quick_reply
from hotline.engines import ASR_RATE, Engines
from hotline.records.store import AsyncRecordStore
from telephony import StreamResampler, WavWriter, pcm_from_bytes

__all__ = ["Leg", "Call"]

log = logging.getLogger(__name__)

AUDIO_QUEUE_FRAMES = 200
ASR_BATCH_FRAMES = 25
SPOKEN_QUEUE = 16


@dataclass(eq=False)
class Leg:
    """One party of a call: how to reach them, what they speak, what they hear."""

    role: str
    language: str
    sample_rate: int
    send_text: Callable[[dict], Awaitable[None]]
    playout: Playout
    recorder_in: WavWriter
    captions_only: bool = False
    muted: bool = False
    audio_in: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(AUDIO_QUEUE_FRAMES)
    )
    to_asr: StreamResampler | None = None
    stream: AsyncUtteranceStream | None = None
    stream_offset: float = 0.0
    asr_note: str | None = None


class Call:
    """A caller and an operator, talking through live translation."""

    def __init__(
        self,
        call_id: str,
        reference: str,
        engines: Engines,
        store: AsyncRecordStore,
        caller: Leg,
        operator: Leg,
        started_at: float,
    ) -> None:
        self.call_id = call_id
        self.reference = reference
        self.engines = engines
        self.store = store
        self.caller = caller
        self.operator = operator
        self.started_at = started_at
        self.status: str | None = None
        self.ended = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._partial_jobs: dict[str, asyncio.Task] = {}
        self._latest_partial: dict[str, str] = {}
        self.suggester = RecordSuggester()
        self.same_language = caller.language == operator.language
        if self.same_language:
            caller.playout.under_gain_db = 0.0
            operator.playout.under_gain_db = 0.0

    def other(self, leg: Leg) -> Leg:
        return self.operator if leg is self.caller else self.caller

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.started_at

    # --- inputs from the connections -------------------------------------------------

    async def audio(self, leg: Leg, frame: bytes) -> None:
        """Audio from a party; waits when recognition falls behind (bounded queue)."""
        if leg.muted:
            return
        await leg.audio_in.put(frame)

    def end(self, status: str) -> None:
        if self.status is None:
            self.status = status
        self.ended.set()

    # --- the pipeline ---------------------------------------------------------------

    async def run(self) -> str:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(self._open_recognizer(leg) for leg in (self.caller, self.operator)))
        spoken: dict[str, asyncio.Queue[dict | None]] = {
            "caller": asyncio.Queue(SPOKEN_QUEUE),
            "operator": asyncio.Queue(SPOKEN_QUEUE),
        }
        self._spoken = spoken
        try:
            async with asyncio.TaskGroup() as tg:
                self._tasks = tg
                workers = [
                    tg.create_task(self.operator.playout.run()),
                    tg.create_task(self._listen(self.caller)),
                    tg.create_task(self._listen(self.operator)),
                    tg.create_task(self._relay(self.caller)),
                    tg.create_task(self._relay(self.operator)),
                ]
                await self.ended.wait()
                for leg in (self.caller, self.operator):
                    try:
                        leg.audio_in.put_nowait(None)
                    except asyncio.QueueFull:
                        pass
                # Let recognition flush the utterance in progress, then let the relays
                # record what is already queued: nothing recognized is lost at hang-up.
                await asyncio.wait(workers[1:3], timeout=2.0)
                for queue in spoken.values():
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(None)
                await asyncio.wait(workers[3:], timeout=3.0)
                for task in workers:
                    task.cancel()
                for task in self._partial_jobs.values():
                    task.cancel()
        finally:
            for leg in (self.caller, self.operator):
                if leg.stream is not None:
                    self.engines.release_stream(leg.language, leg.stream)
        log.info(
            "call=%s ended status=%s after %.1f s",
            self.call_id,
            self.status,
            loop.time() - self.started_at,
        )
        return self.status or "completed"

    async def _open_recognizer(self, leg: Leg) -> None:
        """Off the event loop: an empty pool means building a recognizer, which takes a while."""
        try:
            leg.stream = await asyncio.to_thread(self.engines.open_stream, leg.language)
            leg.stream_offset = self.now()
            leg.to_asr = StreamResampler(leg.sample_rate, ASR_RATE)
        except Exception as exc:
            leg.asr_note = f"no speech recognition for {leg.language}: {exc}"
            log.info("call=%s leg=%s %s", self.call_id, leg.role, leg.asr_note)

    async def _listen(self, leg: Leg) -> None:
        """Audio in → record → (quietly to the other side) → recognize.

        Frames that queued up while the recognizer was busy go to it as one chunk: under load
        a leg pays one executor hop (and one worker round trip) per batch, not per 20 ms."""
        other = self.other(leg)
        voice_across = StreamResampler(leg.sample_rate, other.sample_rate)
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
            pcms = [pcm_from_bytes(frame) for frame in frames]
            for pcm in pcms:
                leg.recorder_in.write(pcm)
                if leg.role == "caller" or self.same_language:
                    other.playout.under(voice_across.process(pcm))
            if leg.stream is None or leg.to_asr is None:
                continue
            audio = pcms[0] if len(pcms) == 1 else np.concatenate(pcms)
            try:
                events = await leg.stream.feed(leg.to_asr.process(audio).tobytes())
            except AsrError as exc:
                log.error("call=%s leg=%s recognition stopped: %s", self.call_id, leg.role, exc)
                leg.stream = None
                await self.other(leg).send_text(
                    {"type": "notice", "text": f"speech recognition stopped for the {leg.role}"}
                )
                continue
            for event in events:
                await self._recognized(leg, event)
        if leg.stream is not None:
            for event in await leg.stream.close():
                await self._recognized(leg, event)

    async def _recognized(self, leg: Leg, event: Partial | Final) -> None:
        other = self.other(leg)
        if leg.role == "caller" and self.caller.playout.playing:
            if self.caller.playout.clear():
                await self.caller.send_text({"type": "clear"})
        if isinstance(event, Partial):
            await other.send_text(
                {"type": "caption", "speaker": leg.role, "original": event.text, "final": False}
            )
            self._translate_partial(leg, event.text)
            return
        if not event.text.strip():
            return
        self._latest_partial[leg.role] = ""
        job = self._partial_jobs.pop(leg.role, None)
        if job is not None:
            job.cancel()
        start = event.start + leg.stream_offset
        await self._spoken[leg.role].put(
            dict(
                text=event.text,
                start=start,
                end=event.end + leg.stream_offset,
                confidence=event.confidence,
            )
        )

    def _translate_partial(self, leg: Leg, text: str) -> None:
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
                    await other.send_text(
                        {
                            "type": "caption",
                            "speaker": leg.role,
                            "original": latest,
                            "text": result.texts[0],
                            "final": False,
                            "translated": True,
                        }
                    )

        assert self._tasks is not None
        self._partial_jobs[leg.role] = self._tasks.create_task(job())

    async def _relay(self, leg: Leg) -> None:
        """Final utterances of one speaker, in order: record, translate, caption, speak."""
        queue = self._spoken[leg.role]
        while (item := await queue.get()) is not None:
            await self.say_across(
                leg,
                item["text"],
                start=item["start"],
                end=item["end"],
                confidence=item["confidence"],
            )

    async def say_across(
        self,
        leg: Leg,
        text: str,
        *,
        translation: str | None = None,
        start: float | None = None,
        end: float | None = None,
        confidence: float = 1.0,
        typed: bool = False,
    ) -> dict:
        """Carry one utterance from ``leg`` to the other party, and keep it in the record."""
        other = self.other(leg)
        now = self.now()
        utterance_id = await self.store.add_utterance(
            self.call_id,
            speaker=leg.role,
            language=leg.language,
            original=text,
            start_s=now if start is None else start,
            end_s=now if end is None else end,
            confidence=confidence,
            typed=typed,
        )
        if translation is not None:
            translated, note, engine = True, None, "operator"
        else:
            result = await self.engines.translate([text], leg.language, other.language)
            translation, translated, note, engine = (
                result.texts[0],
                result.translated,
                result.note,
                result.engine,
            )
        # Same-language parties hear each other's own voice; speech is only synthesized
        # for a translation or for typed text, which has no voice of its own.
        speak = translated and not other.captions_only and (typed or leg.language != other.language)
        await self.store.set_translation(
            utterance_id,
            translation,
            other.language,
            translated=translated,
            note=note,
            spoken_by_tts=speak,
        )
        caption = {
            "type": "caption",
            "speaker": leg.role,
            "utterance_id": utterance_id,
            "original": text,
            "text": translation,
            "language": other.language,
            "source_language": leg.language,
            "final": True,
            "translated": translated,
            "engine": engine,
        }
        if note:
            caption["note"] = note
        await other.send_text(caption)
        if leg is self.caller:
            suggestion = self.suggester.hear(text, translation)
            if suggestion is not None:
                await self.operator.send_text({"type": "record_suggestion", "fields": suggestion})
        if speak:
            await self._speak(
                other,
                translation,
                {"type": "say", "text": translation, "utterance_id": utterance_id},
            )
        return caption

    async def _speak(self, leg: Leg, text: str, announce: dict) -> None:
        """Speech to a party sentence by sentence, so the first words go out early."""
        first = True
        async for chunk in self.engines.tts.stream_async(text, leg.language, leg.sample_rate):
            leg.playout.play(chunk, announce if first else None)
            first = False

    # --- operator actions ------------------------------------------------------------

    async def operator_reply(self, text: str, translation: str | None = None) -> dict:
        return await self.say_across(self.operator, text, translation=translation, typed=True)

    async def caller_typed(self, text: str) -> dict:
        return await self.say_across(self.caller, text, typed=True)

    async def preview(self, text: str) -> dict:
        result = await self.engines.translate([text], self.operator.language, self.caller.language)
        return {
            "type": "preview",
            "text": text,
            "translation": result.texts[0],
            "translated": result.translated,
            **({"note": result.note} if result.note else {}),
        }

    async def quick_reply(self, reply_id: str, params: dict[str, str]) -> dict:
        """An approved phrase, in the caller's language as written by people when we have it."""
        params = {"n": self.reference, **params}
        approved = quick_reply(reply_id, self.caller.language, params)
        source = quick_reply(reply_id, self.operator.language, params)
        if approved is None and source is None:
            raise KeyError(reply_id)
        return await self.say_across(
            self.operator, source or approved, translation=approved, typed=True
        )
