"""PocketSphinx decoding in worker processes gives the same results as in-process."""

from __future__ import annotations

import asyncio
import os
import threading

import numpy as np
import pytest

from asr import (
    AsrError,
    AsyncUtteranceStream,
    Endpointer,
    Final,
    PocketSphinxEngine,
    ProcessEngine,
    UtteranceStream,
)
from tests.conftest import silence

RATE = 16000


@pytest.fixture(scope="module")
def remote():
    engine = ProcessEngine(PocketSphinxEngine, processes=2)
    yield engine
    engine.close()


def transcribe(engine, pcm: np.ndarray) -> list[str]:
    recognizer = engine.recognizer("en", RATE)
    try:
        stream = UtteranceStream(recognizer, Endpointer(RATE))
        events = []
        for i in range(0, len(pcm), RATE // 10):
            events += stream.feed(pcm[i : i + RATE // 10].tobytes())
        events += stream.close()
    finally:
        engine.release(recognizer)
    return [e.text for e in events if isinstance(e, Final)]


def test_decoding_in_a_worker_process_matches_in_process_decoding(remote, make_speech):
    speech = np.concatenate(
        [silence(0.3), make_speech("please send help to the park", "en"), silence(0.8)]
    )
    local = PocketSphinxEngine()
    assert transcribe(remote, speech) == transcribe(local, speech)
    assert remote.languages() == ["en"] and remote.describe()["processes"] == 2
    assert os.getpid() not in remote.worker_pids()


def test_streams_spread_over_the_worker_processes(remote):
    first = remote.recognizer("en", RATE)
    second = remote.recognizer("en", RATE)
    assert first.worker is not second.worker
    remote.release(first)
    remote.release(second)


def test_engine_errors_come_back_as_clear_asr_errors(remote):
    with pytest.raises(AsrError, match="zzxqv"):
        remote.recognizer("en", RATE, phrases=["zzxqv blorp"])


async def test_event_loop_keeps_running_while_workers_decode(remote, make_speech):
    """The decoder holds the GIL in its own process, not in the server's."""
    speech = make_speech("the rubbish has not been collected for two weeks", "en")
    streams = [
        AsyncUtteranceStream(UtteranceStream(remote.recognizer("en", RATE), Endpointer(RATE)))
        for _ in range(2)
    ]
    ticks = 0
    stop = threading.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    async def feed(stream: AsyncUtteranceStream) -> None:
        for i in range(0, len(speech), RATE // 10):
            await stream.feed(speech[i : i + RATE // 10].tobytes())
        await stream.close()

    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(ticker())
    await asyncio.gather(*(feed(s) for s in streams))
    stop.set()
    await task
    elapsed = loop.time() - started
    for stream in streams:
        remote.release(stream.stream.recognizer)
    assert ticks >= 0.5 * elapsed / 0.01
