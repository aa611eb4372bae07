"""The complaint record of one call, written as the call happens."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from hotline.records import AsyncRecordStore, CallRecord, WordTiming
from hotline.wire.vocabulary import RecordingLeg, Speaker, Status

__all__ = ["CallLog"]


class CallLog:
    """The one path from a call to the store: every row of one call's record is written here,
    each committed as it happens, so a crash loses nothing already said."""

    def __init__(self, store: AsyncRecordStore, record: CallRecord) -> None:
        self._store = store
        self.call_id = record.id
        self.reference = record.reference

    @classmethod
    async def open(
        cls,
        store: AsyncRecordStore,
        *,
        language: str | None,
        caller_id: str | None,
        channel: str,
    ) -> CallLog:
        """A new record, status queued, with the next reference number of the day."""
        record = await store.create_call(
            caller_language=language, caller_id=caller_id, channel=channel
        )
        return cls(store, record)

    async def language_chosen(self, language: str) -> None:
        await self._store.update_fields(self.call_id, caller_language=language)

    async def recording_added(self, leg: RecordingLeg, path: PurePath, sample_rate: int) -> None:
        await self._store.add_recording(self.call_id, str(leg), path, sample_rate)

    async def operator_joined(self, name: str, language: str) -> None:
        await self._store.set_operator(self.call_id, name, language)

    async def connected(self, at_s: float) -> None:
        """Caller and operator meet, ``at_s`` seconds into the call."""
        await self._store.set_connected(self.call_id, at_s)

    async def utterance(
        self,
        speaker: Speaker,
        language: str,
        original: str,
        *,
        start_s: float,
        end_s: float,
        confidence: float,
        typed: bool,
        words: Iterable[WordTiming] = (),
        asr_final_s: float | None = None,
    ) -> int:
        """Commit what was said, before it is translated; returns the utterance's id."""
        return await self._store.add_utterance(
            self.call_id,
            speaker=speaker,
            language=language,
            original=original,
            start_s=start_s,
            end_s=end_s,
            confidence=confidence,
            typed=typed,
            words=words,
            asr_final_s=asr_final_s,
        )

    async def translation(
        self,
        utterance_id: int,
        text: str,
        language: str,
        *,
        translated: bool,
        note: str | None,
        spoken_by_tts: bool,
        engine: str | None = None,
        translated_s: float | None = None,
    ) -> None:
        await self._store.set_translation(
            utterance_id,
            text,
            language,
            translated=translated,
            note=note,
            spoken_by_tts=spoken_by_tts,
            engine=engine,
            translated_s=translated_s,
        )

    async def played(self, utterance_id: int, start_s: float, end_s: float, cut: bool) -> None:
        """Where the listener heard an utterance's synthesized translation."""
        await self._store.set_playback(utterance_id, start_s, end_s, cut)

    async def event(self, text: str, at_s: float) -> None:
        """Something the hotline did in the call, kept in the record as a system line (a
        supervisor stepping in, taking over)."""
        await self._store.add_utterance(
            self.call_id,
            speaker=Speaker.SYSTEM,
            language="en",
            original=text,
            start_s=at_s,
            end_s=at_s,
            confidence=1.0,
            typed=True,
        )

    async def accessed(self, who: str, action: str, address: str | None = None) -> None:
        """An access to this call's content for the audit log (a supervisor listening)."""
        await self._store.audit(who, action, target=self.call_id, address=address)

    async def update_fields(self, **fields: str) -> None:
        """What the operator fills in; raises RecordError for a value the store refuses."""
        await self._store.update_fields(self.call_id, **fields)

    async def request(self, **values: Any) -> None:
        """What the call learned about its service request (service, emergency, answers)."""
        await self._store.set_request(self.call_id, **values)

    async def readback(
        self, language: str, text: str, service_code: str | None, place: str | None
    ) -> int:
        """The request was read back to the caller; returns the read-back's id."""
        return await self._store.add_readback(self.call_id, language, text, service_code, place)

    async def readback_answered(self, readback_id: int, answer: str, how: str) -> None:
        await self._store.answer_readback(readback_id, answer, how)

    async def finish(self, status: Status, reason: str | None = None) -> None:
        await self._store.finish_call(self.call_id, status, reason=reason)
