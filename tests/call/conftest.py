"""A connected call built from its real parts (Call, Party, Playout, Recording, CallLog and a
real record store on disk), with fake engines and links: no models, no sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest_asyncio

from hotline.call import Call, Party, Playout
from hotline.call.log import CallLog
from hotline.call.pipeline import UnclearPolicy
from hotline.call.recording import Recording
from hotline.records import AsyncRecordStore, ComplaintRecord
from hotline.wire.vocabulary import Channel, RecordingLeg, Speaker, Status
from tests.fakes import FakeEngines, FakeLink

FRAME_S = 0.02


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncRecordStore]:
    records = await AsyncRecordStore.open(tmp_path / "records.sqlite3")
    yield records
    await records.close()


@dataclass
class CallRig:
    call: Call
    engines: FakeEngines
    store: AsyncRecordStore
    caller: Party
    operator: Party
    caller_link: FakeLink
    operator_link: FakeLink
    recording: Recording
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def say(self, party: Party, pcm: np.ndarray, realtime: bool = False) -> None:
        """Audio from a party in 20 ms frames, as a transport hands it over: at once, or
        paced as a person speaks when the test looks at times on the call's clock."""
        step = int(FRAME_S * party.sample_rate)
        for i in range(0, len(pcm), step):
            await party.speaks(pcm[i : i + step])
            if realtime:
                await asyncio.sleep(FRAME_S)

    async def record(self) -> ComplaintRecord:
        record = await self.store.get(self.call.call_id)
        assert record is not None
        return record


async def _party(
    role: Speaker, language: str, rate: int, recording: Recording, **options: bool
) -> tuple[Party, FakeLink]:
    link = FakeLink()
    spoken_leg, heard_leg = (
        (RecordingLeg.CALLER_IN, RecordingLeg.CALLER_HEARD)
        if role == Speaker.CALLER
        else (RecordingLeg.OPERATOR_IN, RecordingLeg.OPERATOR_HEARD)
    )
    spoken = await recording.open(spoken_leg, rate)
    heard = await recording.open(heard_leg, rate)
    return Party(role, link, language, rate, Playout(rate, link, heard), spoken, **options), link


@pytest_asyncio.fixture
async def connect(store: AsyncRecordStore, tmp_path: Path):
    """``async with connect(engines, ...) as rig``: a running call; leaving ends it (as a
    completed call unless the test ended it otherwise) and waits for it to finish."""

    @contextlib.asynccontextmanager
    async def running(
        engines: FakeEngines,
        caller_language: str = "en",
        operator_language: str = "es",
        caller_rate: int = 16000,
        operator_rate: int = 16000,
        captions_only: bool = False,
        stage_timeout_s: float = 10.0,
        unclear: UnclearPolicy | None = None,
    ) -> AsyncIterator[CallRig]:
        log = await CallLog.open(
            store, language=caller_language, caller_id=None, channel=Channel.WEB
        )
        started_at = asyncio.get_running_loop().time()
        recording = Recording(tmp_path, log, started_at)
        caller, caller_link = await _party(Speaker.CALLER, caller_language, caller_rate, recording)
        operator, operator_link = await _party(
            Speaker.OPERATOR,
            operator_language,
            operator_rate,
            recording,
            captions_only=captions_only,
        )
        call = Call(
            engines,
            log,
            caller,
            operator,
            started_at,
            stage_timeout_s=stage_timeout_s,
            unclear=unclear,
        )
        rig = CallRig(call, engines, store, caller, operator, caller_link, operator_link, recording)
        rig.tasks = [
            asyncio.create_task(caller.playout.run()),
            asyncio.create_task(operator.playout.run()),
        ]
        running_call = asyncio.create_task(call.run())
        try:
            yield rig
        finally:
            call.end(Status.COMPLETED)
            await asyncio.wait_for(running_call, 10)
            for task in rig.tasks:
                task.cancel()
            recording.close()

    return running
