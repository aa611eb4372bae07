"""``hotline bench replay``: how fast QA replay runs, as a real-time factor (seconds of call
audio replayed per second of wall clock), for one call and for ``--all`` over many.

A few real calls are made on an in-process server with the real engines (English caller,
Spanish operator: an Apertium pair); the store is then filled up to ``--calls`` with copies
of them (the same audio and record under new references), and every call is replayed as
fast as the engines go, translations voiced, as ``hotline replay --all`` does.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hotline.bench.common import RATE, BenchError, print_table
from hotline.bench.faults import add_account, fault_config, in_process, operator_for
from hotline.clients.client import CallerClient, stream_pcm
from hotline.config import load_config
from hotline.engines import Engines
from hotline.qa import ReplayOptions, replay_call
from hotline.qa.command import run_replay
from hotline.records import DEFAULT_FILENAME, RecordStore

__all__ = ["ReplayBench", "report_replay", "run_replay_bench"]

SENTENCES = [
    ["The street light by my house is broken.", "It is at the corner of Main Street."],
    ["There is a big hole in the road.", "A car hit it this morning."],
    ["Nobody collected the rubbish this week.", "The bins are full."],
]


@dataclass(slots=True)
class ReplayBench:
    calls: int
    audio_s_per_call: float
    one_call_wall_s: float
    one_call_rtf: float
    all_wall_s: float
    all_audio_s: float
    all_rtf: float
    pair: str


async def run_replay_bench(workdir: Path, calls: int) -> ReplayBench:
    data_dir = workdir / "data"
    config = load_config()
    engines = await asyncio.to_thread(Engines, config)
    try:
        await engines.warm_up()
        references = await _make_calls(engines, data_dir)
        _copy_calls(data_dir, references, calls)
        with RecordStore(data_dir / DEFAULT_FILENAME) as store:
            record = store.get(references[0])
        assert record is not None
        started = time.perf_counter()
        one = await replay_call(engines, record, data_dir, ReplayOptions())
        one_wall = time.perf_counter() - started
        started = time.perf_counter()
        await run_replay(
            fault_config(data_dir),
            who="bench",
            options=ReplayOptions(),
            out=io.StringIO(),
            progress=True,
            engines=engines,
        )
        all_wall = time.perf_counter() - started
    finally:
        engines.close()
    audio = one.speed["audio_s"]
    return ReplayBench(
        calls=calls,
        audio_s_per_call=round(audio, 2),
        one_call_wall_s=round(one_wall, 3),
        one_call_rtf=round(audio / one_wall, 1),
        all_wall_s=round(all_wall, 2),
        all_audio_s=round(audio * calls, 1),
        all_rtf=round(audio * calls / all_wall, 1),
        pair=one.pair,
    )


async def _make_calls(engines: Engines, data_dir: Path) -> list[str]:
    references = []
    async with in_process(engines, data_dir) as server:
        base = f"ws://127.0.0.1:{server.port}"
        add_account(data_dir, "ana", ["es"])
        operator = await operator_for(base, data_dir, "ana")
        try:
            for sentences in SENTENCES:
                caller = CallerClient(f"{base}/call", RATE)
                ready = await caller.call("en")
                await caller.connected()
                for sentence in sentences:
                    speech = await engines.speak(sentence, "en", RATE)
                    pause = np.zeros(int(1.0 * RATE), dtype=np.int16)
                    await stream_pcm(caller, np.concatenate([speech, pause]))
                await caller.hangup()
                await caller.wait_for(lambda m: m["type"] == "ended")
                await caller.close()
                references.append(ready["reference"])
        finally:
            await operator.close()
    return references


def _copy_calls(data_dir: Path, references: list[str], calls: int) -> None:
    """Fill the store up to ``calls`` with copies of the calls made (audio and record)."""
    if calls < len(references):
        raise BenchError(f"--calls must be at least {len(references)}")
    with RecordStore(data_dir / DEFAULT_FILENAME) as store:
        originals = [store.get(ref) for ref in references]
        for n in range(calls - len(references)):
            source = originals[n % len(originals)]
            assert source is not None
            call = source.call
            copy = store.create_call(call.caller_language, channel=call.channel)
            store.set_operator(copy.id, call.operator or "ana", call.operator_language or "es")
            if call.connected_s is not None:
                store.set_connected(copy.id, call.connected_s)
            folder = data_dir / "recordings" / copy.id
            folder.mkdir(parents=True, exist_ok=True)
            for recording in source.recordings:
                target = folder / Path(recording.path).name
                shutil.copyfile(data_dir / recording.path, target)
                store.add_recording(
                    copy.id, recording.leg, target.relative_to(data_dir), recording.sample_rate
                )
            for u in source.utterances:
                utterance = store.add_utterance(
                    copy.id,
                    speaker=u.speaker,
                    original=u.original,
                    start_s=u.start_s,
                    end_s=u.end_s,
                    language=u.language,
                    confidence=u.confidence,
                    typed=u.typed,
                    words=u.words,
                    asr_final_s=u.asr_final_s,
                )
                store.set_translation(
                    utterance,
                    u.translation,
                    u.translation_language,
                    translated=u.translated,
                    note=u.note,
                    spoken_by_tts=u.spoken_by_tts,
                    engine=u.engine,
                    translated_s=u.translated_s,
                )
            store.finish_call(copy.id, call.status)


def report_replay(result: ReplayBench) -> None:
    print_table(
        f"QA replay speed ({result.pair}, {result.audio_s_per_call:.1f} s calls, as fast as "
        "possible, translations voiced)",
        ["what", "calls", "audio s", "wall s", "× real time"],
        [
            [
                "one call",
                "1",
                f"{result.audio_s_per_call:.1f}",
                f"{result.one_call_wall_s:.2f}",
                f"{result.one_call_rtf:.1f}",
            ],
            [
                "--all",
                str(result.calls),
                f"{result.all_audio_s:.0f}",
                f"{result.all_wall_s:.1f}",
                f"{result.all_rtf:.1f}",
            ],
        ],
    )
