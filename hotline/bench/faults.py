"""``hotline bench faults``: what survives when things go wrong, counted.

Each scenario runs real calls on a real server and counts: trials, utterances lost, crashes
and whether every trial passed. Most run the server in this process (so that its tasks,
threads and file handles can be counted before and after); the SIGKILL scenario runs
``hotline serve`` in a subprocess and kills it. The test suite runs the same scenarios
with fewer trials (tests/e2e/test_faults.py) and asserts what this module only reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotline.accounts import AccountStore
from hotline.bench.common import UNLIMITED_SERVER_ENV, BenchError, child_env, print_table
from hotline.clients.client import CallerClient, OperatorClient, stream_pcm
from hotline.config import Config, load_config
from hotline.engines import Engines
from hotline.records import RecordStore
from telephony import read_wav

__all__ = [
    "FaultResult",
    "FaultRun",
    "Leaks",
    "count_leaks",
    "run_drops",
    "run_engine_failures",
    "run_faults",
    "run_overload",
    "run_sigkill",
    "run_slow_operator",
    "report_faults",
]

PASSWORD = "fault-bench-pass"
RATE = 16000
SENTENCES = [
    "There is a broken street light outside my house.",
    "The rubbish has not been collected for two weeks.",
]
RECORDS_FILE = "hotline.sqlite3"


@dataclass(slots=True)
class FaultResult:
    scenario: str
    trials: int
    passed: int
    lost: int = 0
    crashes: int = 0
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.passed == self.trials and self.lost == 0 and self.crashes == 0


@dataclass(slots=True)
class FaultRun:
    results: list[FaultResult]


@dataclass(slots=True, frozen=True)
class Leaks:
    """What this process holds: asyncio tasks, threads, open file descriptors, children."""

    tasks: int
    threads: int
    """Threads, each executor's workers counted once: an executor starts its workers as
    work comes, up to its bound, which is not a leak; a new executor or a stray thread is."""
    fds: int
    children: int

    def minus(self, other: Leaks) -> dict[str, int]:
        return {k: v - getattr(other, k) for k, v in asdict(self).items()}


_WORKER_NUMBER = re.compile(r"_\d+$")
"""``leg_3`` → ``leg``, ``ThreadPoolExecutor-2_0`` → ``ThreadPoolExecutor-2``."""


def count_leaks() -> Leaks:
    gc.collect()
    pid = os.getpid()
    children = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    children += 1
    return Leaks(
        tasks=len(asyncio.all_tasks()),
        threads=len({_WORKER_NUMBER.sub("", t.name) for t in threading.enumerate()}),
        fds=len(os.listdir("/proc/self/fd")),
        children=children,
    )


# --- an in-process server ----------------------------------------------------------------


def fault_config(data_dir: Path, **call: Any) -> Config:
    config = load_config(environ=dict(UNLIMITED_SERVER_ENV), port=0, data_dir=str(data_dir))
    for key, value in call.items():
        setattr(config.call, key, value)
    return config


@contextlib.asynccontextmanager
async def in_process(engines: Engines, data_dir: Path, **call: Any) -> AsyncIterator[Any]:
    from hotline.server.app import HotlineServer

    server = HotlineServer(fault_config(data_dir, **call), engines=engines)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def add_account(data_dir: Path, name: str, languages: list[str], role: str = "operator") -> None:
    with AccountStore.in_data_dir(data_dir) as store:
        if store.get(name) is None:
            store.add(name, PASSWORD, languages, role=role)


async def operator_for(base: str, data_dir: Path, name: str = "ana") -> OperatorClient:
    add_account(data_dir, name, ["es"])
    operator = OperatorClient(f"{base}/operator", RATE)
    ready = await operator.sign_in(name, ["es"], password=PASSWORD, hear_original=False)
    if ready["type"] != "ready":
        raise BenchError(f"operator {name} could not sign in: {ready}")
    return operator


async def speech(engines: Engines) -> np.ndarray:
    """Two English sentences with pauses between, as a caller says them."""
    parts = []
    for sentence in SENTENCES:
        parts += [await engines.speak(sentence, "en", RATE), np.zeros(RATE, dtype=np.int16)]
    return np.concatenate(parts)


def caller_finals(operator: OperatorClient, call_id: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in operator.messages
        if m["type"] == "caption" and m.get("final") and m.get("speaker") == "caller"
    ]


async def until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def record_of(data_dir: Path, call_id: str, timeout: float = 15.0) -> Any:
    """The call's record once it is closed (or as it is after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        with RecordStore(data_dir / RECORDS_FILE) as store:
            record = store.get(call_id)
        if (record is not None and record.call.ended_at is not None) or (
            time.monotonic() > deadline
        ):
            return record
        await asyncio.sleep(0.1)


# --- 1. the caller drops mid-utterance ---------------------------------------------------


async def run_drops(engines: Engines, workdir: Path, trials: int, seed: int = 12345) -> FaultResult:
    """The caller's connection is cut (TCP abort, no hang-up) at a random moment of their
    speech. Every final the operator saw must be in the record, which must be closed as
    ``dropped``; after all trials this process holds what it held before them."""
    rng = random.Random(seed)
    result = FaultResult("client drops mid-utterance", trials, 0)
    data_dir = workdir / "drops"
    async with in_process(engines, data_dir) as server:
        base = f"ws://127.0.0.1:{server.port}"
        pcm = await speech(engines)
        operator = await operator_for(base, data_dir)
        await _one_drop(base, operator, pcm, len(pcm) / RATE, data_dir)  # warm every path
        await asyncio.sleep(1.0)
        before = count_leaks()
        for trial in range(trials):
            cut_at = rng.uniform(0.3, len(pcm) / RATE)
            try:
                lost, status = await _one_drop(base, operator, pcm, cut_at, data_dir)
            except Exception as exc:  # a crash of the trial, counted
                result.crashes += 1
                result.failures.append(f"trial {trial}: {exc!r}")
                continue
            result.lost += lost
            if lost == 0 and status == "dropped":
                result.passed += 1
            else:
                result.failures.append(f"trial {trial}: lost {lost}, status {status}")
        await operator.close()
        await asyncio.sleep(1.0)
        after = count_leaks()
    result.figures = {"leaks": after.minus(before), "before": asdict(before)}
    return result


async def _one_drop(
    base: str, operator: OperatorClient, pcm: np.ndarray, cut_at: float, data_dir: Path
) -> tuple[int, str | None]:
    caller = CallerClient(f"{base}/call", RATE)
    ready = await caller.call("en")
    await caller.connected()
    start = len(operator.messages)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(stream_pcm(caller, pcm, speed=2.0), cut_at / 2.0)
    assert caller._ws is not None
    caller._ws.transport.abort()
    await caller.closed.wait()
    record = await record_of(data_dir, ready["call_id"])
    await until(
        lambda: any(
            m["type"] == "ended" and m.get("call_id") == ready["call_id"]
            for m in operator.messages[start:]
        ),
        10.0,
    )
    seen = {
        m["utterance_id"]
        for m in operator.messages[start:]
        if m["type"] == "caption" and m.get("final") and m.get("speaker") == "caller"
    }
    kept = {u.id for u in record.utterances} if record is not None else set()
    return len(seen - kept), (record.call.status if record is not None else None)


# --- 2. the server is killed mid-call ----------------------------------------------------


@contextlib.contextmanager
def serve_subprocess(data_dir: Path, log: Path, env: dict[str, str]) -> Iterator[tuple[Any, int]]:
    from hotline.bench.calls import free_port

    port = free_port()
    command = [
        sys.executable,
        "-c",
        "import sys; from hotline.cli import main; sys.exit(main(sys.argv[1:]))",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(**UNLIMITED_SERVER_ENV, **env),
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def wait_healthy(port: int, process: Any, timeout: float = 180.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode} while starting")
        try:
            await asyncio.to_thread(
                urllib.request.urlopen, f"http://127.0.0.1:{port}/healthz", timeout=2
            )
            return
        except OSError:
            await asyncio.sleep(0.3)
    raise BenchError("the server did not become healthy")


async def run_sigkill(engines: Engines, workdir: Path, trials: int, seed: int = 777) -> FaultResult:
    """``hotline serve`` is killed (SIGKILL) while a caller speaks; after a restart on the
    same data, the call must be ``interrupted``, hold every final the operator saw, and
    its WAVs must be readable up to the last second before the kill."""
    rng = random.Random(seed)
    result = FaultResult("server SIGKILL mid-call", trials, 0)
    pcm = await speech(engines)
    for trial in range(trials):
        data_dir = workdir / f"sigkill-{trial}"
        log = workdir / f"sigkill-{trial}.log"
        try:
            problems = await _one_kill(data_dir, log, pcm, rng.uniform(0.3, 1.0))
        except Exception as exc:
            result.crashes += 1
            result.failures.append(f"trial {trial}: {exc!r}")
            continue
        if problems:
            result.failures.append(f"trial {trial}: {'; '.join(problems)}")
            result.lost += sum(1 for p in problems if p.startswith("lost"))
        else:
            result.passed += 1
    return result


async def _one_kill(data_dir: Path, log: Path, pcm: np.ndarray, extra_s: float) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    add_account(data_dir, "ana", ["es"])
    with serve_subprocess(data_dir, log, {}) as (process, port):
        await wait_healthy(port, process)
        base = f"ws://127.0.0.1:{port}"
        operator = OperatorClient(f"{base}/operator", RATE)
        await operator.sign_in("ana", ["es"], password=PASSWORD, hear_original=False)
        caller = CallerClient(f"{base}/call", RATE)
        ready = await caller.call("en")
        await caller.connected()
        connected_at = time.monotonic()
        sender = asyncio.create_task(stream_pcm(caller, pcm))
        await until(lambda: bool(caller_finals(operator)), 30.0)
        await asyncio.sleep(extra_s)
        os.killpg(process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        sender.cancel()
        seen = {m["utterance_id"]: m["original"] for m in caller_finals(operator)}
        for client in (caller, operator):
            with contextlib.suppress(Exception):
                await client.close()
    with serve_subprocess(data_dir, log, {}) as (process, port):
        await wait_healthy(port, process)
    problems = []
    record = await record_of(data_dir, ready["call_id"], timeout=1.0)
    if record is None:
        return ["the call has no record"]
    if record.call.status != "interrupted":
        problems.append(f"status {record.call.status}, not interrupted")
    kept = {u.id for u in record.utterances}
    problems += [f"lost utterance {uid}: {text!r}" for uid, text in seen.items() if uid not in kept]
    for recording in record.recordings:
        try:
            audio, rate = read_wav(data_dir / recording.path)
        except Exception as exc:
            problems.append(f"{recording.leg}.wav unreadable: {exc}")
            continue
        if recording.leg == "caller_in":
            expected = killed_at - connected_at - 1.0
            if len(audio) / rate < expected:
                problems.append(
                    f"caller_in.wav holds {len(audio) / rate:.1f} s, less than the "
                    f"{expected:.1f} s spoken before the kill's last second"
                )
    return problems


# --- 3. an engine fails mid-call ---------------------------------------------------------


async def run_engine_failures(engines: Engines, workdir: Path) -> FaultResult:
    """Mid-call: the voice worker processes are killed; a recognizer raises; a translator
    hangs past its timeout. Each time the call goes on, and the next utterance gets
    through."""
    from hotline.engines import _LegStream

    result = FaultResult("an engine fails mid-call", 3, 0)
    data_dir = workdir / "engines"
    async with in_process(engines, data_dir, stage_timeout_s=5.0) as server:
        base = f"ws://127.0.0.1:{server.port}"
        operator = await operator_for(base, data_dir)
        caller = CallerClient(f"{base}/call", RATE)
        await caller.call("en")
        await caller.connected()

        async def got_through(text: str) -> bool:
            await caller.type_text(text)
            return await until(
                lambda: any(m.get("original") == text for m in caller_finals(operator)), 30.0
            )

        # a) the voice's worker processes die (espeak-ng's: Piper, where it speaks English,
        # runs in threads and falls back to espeak-ng on a failure of its own)
        voice = getattr(engines._voice, "fallback", engines._voice)
        pool = getattr(voice, "_pool", None)
        killed = 0
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
                killed += 1
        await operator.reply("Gracias por llamar.")
        spoken = await until(lambda: bool(caller.of_type("say")), 30.0)
        ok = spoken and await got_through("Are you still there?")
        result.figures["tts_workers_killed"] = killed
        _tally(result, ok, "voice workers killed")

        # b) a recognizer raises
        original = _LegStream.feed
        failed = asyncio.Event()

        async def raising(self: _LegStream, pcm: bytes) -> list:
            _LegStream.feed = original  # type: ignore[method-assign]
            failed.set()
            raise RuntimeError("injected recognizer failure")

        _LegStream.feed = raising  # type: ignore[method-assign]
        try:
            await stream_pcm(caller, await engines.speak(SENTENCES[0], "en", RATE))
            await stream_pcm(caller, np.zeros(RATE, dtype=np.int16))
            before = len(caller_finals(operator))
            await stream_pcm(caller, await engines.speak(SENTENCES[1], "en", RATE))
            await stream_pcm(caller, np.zeros(RATE, dtype=np.int16))
            heard = await until(lambda: len(caller_finals(operator)) > before, 30.0)
        finally:
            _LegStream.feed = original  # type: ignore[method-assign]
        _tally(result, failed.is_set() and heard, "recognizer raised")

        # c) a translator hangs
        router = engines._router
        slow = router.translate_or_keep

        def hanging(texts: list[str], source: str, target: str) -> Any:
            router.translate_or_keep = slow  # type: ignore[method-assign]
            time.sleep(engines.config.translate.timeout_s + 2)
            return slow(texts, source, target)

        router.translate_or_keep = hanging  # type: ignore[method-assign]
        try:
            await caller.type_text("The lift is broken again.")
            kept = await until(
                lambda: any(
                    m.get("original") == "The lift is broken again." and not m.get("translated")
                    for m in caller_finals(operator)
                ),
                engines.config.translate.timeout_s + 10,
            )
        finally:
            router.translate_or_keep = slow  # type: ignore[method-assign]
        _tally(result, kept and await got_through("Thank you."), "translator hung")
        await caller.hangup()
        for client in (caller, operator):
            await client.close()
    return result


def _tally(result: FaultResult, ok: bool, what: str) -> None:
    if ok:
        result.passed += 1
    else:
        result.failures.append(f"{what}: the call did not go on")


# --- 4. overload at twice the capacity -----------------------------------------------------


async def run_overload(engines: Engines, workdir: Path, capacity: int = 2) -> FaultResult:
    """Twice ``capacity`` callers at once, with as many operators free: the first
    ``capacity`` are connected, the rest hear the queue prompt in their language, and
    ``/asr`` refuses new sessions rather than slowing the calls. The admitted calls'
    caption latency (end of speech to the operator's final caption) is measured against
    one call alone on the same server."""
    import websockets

    result = FaultResult(f"overload at 2x capacity ({capacity})", 2 * capacity, 0)
    data_dir = workdir / "overload"
    pcm = await engines.speak(SENTENCES[0], "en", RATE)
    async with in_process(engines, data_dir, capacity=capacity) as server:
        base = f"ws://127.0.0.1:{server.port}"
        operators = [await operator_for(base, data_dir, f"op{i}") for i in range(2 * capacity)]
        alone = CallerClient(f"{base}/call", RATE)
        await alone.call("en")
        await alone.connected()
        baseline = await _caption_latency(alone, operators, pcm)
        await alone.hangup()
        await alone.close()
        await until(lambda: not server.switchboard.calls, 10.0)

        callers = [CallerClient(f"{base}/call", RATE) for _ in range(2 * capacity)]
        for caller, language in zip(callers, ["en", "es"] * capacity, strict=True):
            await caller.call(language)
        # Connecting takes a greeting's time, longer on a busy machine; then a moment more
        # shows whether anyone past capacity gets through.
        await until(lambda: sum(map(_admitted, callers)) >= capacity, 60.0)
        await asyncio.sleep(2.0)
        admitted = [c for c in callers if _admitted(c)]
        queued = [c for c in callers if c not in admitted]
        heard_queue = [
            c
            for c in queued
            if await until(lambda c=c: any(m.get("prompt") == "position" for m in c.messages), 20)
        ]
        asr = await websockets.connect(f"{base}/asr")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asr.recv(), 5)
        loaded = await asyncio.gather(
            *(_caption_latency(c, operators, pcm) for c in admitted if _language(c) == "en")
        )
        result.passed = (len(admitted) == capacity) * len(admitted) + len(heard_queue)
        result.figures = {
            "admitted": len(admitted),
            "queued_heard_prompt": len(heard_queue),
            "asr_refused": asr.close_code == 1013,
            "caption_latency_alone_s": round(baseline, 2) if baseline else None,
            "caption_latency_admitted_max_s": round(max(loaded), 2) if loaded else None,
        }
        for client in (*callers, *operators):
            with contextlib.suppress(Exception):
                await client.close()
    return result


def _admitted(caller: CallerClient) -> bool:
    return bool(caller.of_type("connected")) or _connected(caller)


def _connected(caller: CallerClient) -> bool:
    return any(m["type"] == "status" and m.get("state") == "connected" for m in caller.messages)


def _language(caller: CallerClient) -> str | None:
    ready = caller.of_type("ready")
    return ready[0].get("language") if ready else None


async def _caption_latency(
    caller: CallerClient, operators: list[OperatorClient], pcm: np.ndarray
) -> float:
    """Seconds from the last sample of ``pcm`` (spoken by ``caller``) to its final caption
    at whichever operator has the call."""
    call_id = caller.of_type("ready")[0]["call_id"]
    operator = next(
        op for op in operators if any(m.get("call_id") == call_id for m in op.of_type("connected"))
    )
    before = len(caller_finals(operator))
    await stream_pcm(caller, pcm)
    spoken = time.monotonic()
    pause = asyncio.create_task(stream_pcm(caller, np.zeros(RATE, dtype=np.int16)))
    try:
        if not await until(lambda: len(caller_finals(operator)) > before, 30.0):
            raise BenchError("no caption for the caller's sentence")
        return time.monotonic() - spoken
    finally:
        await pause


# --- 5. a slow operator network --------------------------------------------------------------


async def run_slow_operator(engines: Engines, workdir: Path, seconds: float = 15.0) -> FaultResult:
    """The operator's client stops reading for ``seconds`` while translated speech keeps
    coming for them: audio for them is dropped and counted, what waits for them stays
    bounded, and the call goes on once they read again."""
    import resource

    result = FaultResult("slow operator network", 1, 0)
    data_dir = workdir / "slow"
    async with in_process(engines, data_dir) as server:
        base = f"ws://127.0.0.1:{server.port}"
        operator = await operator_for(base, data_dir)
        caller = CallerClient(f"{base}/call", RATE)
        await caller.call("en")
        await caller.connected()
        assert operator._ws is not None
        # A slow network: a small receive window, and nothing read from it for a while.
        sock = operator._ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        operator._ws.transport.pause_reading()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        deadline = time.monotonic() + seconds
        backlog = 0
        while time.monotonic() < deadline:
            await caller.type_text(SENTENCES[0] + " " + SENTENCES[1])
            await asyncio.sleep(1.0)
            for connection in server._server.connections if server._server else []:
                transport = connection.transport
                if transport is not None:
                    backlog = max(backlog, transport.get_write_buffer_size())
        dropped = server.metrics.audio_frames_dropped.labels("slow_network")._value.get()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        operator._ws.transport.resume_reading()
        await caller.type_text("Are you there?")
        went_on = await until(
            lambda: any(m.get("original") == "Are you there?" for m in caller_finals(operator)),
            60.0,
        )
        result.figures = {
            "frames_dropped": dropped,
            "max_backlog_kib": round(backlog / 1024, 1),
            "peak_rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
        }
        if dropped > 0 and went_on and backlog < 1 << 20:
            result.passed = 1
        else:
            result.failures.append(f"dropped {dropped}, went on {went_on}, backlog {backlog}")
        await caller.hangup()
        for client in (caller, operator):
            await client.close()
    return result


# --- all of them -------------------------------------------------------------------------


async def run_faults(workdir: Path, drops: int, kills: int, slow_s: float) -> list[FaultResult]:
    config = load_config()
    engines = await asyncio.to_thread(Engines, config)
    try:
        await engines.warm_up()
        results = []
        for name, job in (
            ("drops", run_drops(engines, workdir, drops)),
            ("sigkill", run_sigkill(engines, workdir, kills)),
            ("engines", run_engine_failures(engines, workdir)),
            ("overload", run_overload(engines, workdir)),
            ("slow", run_slow_operator(engines, workdir, slow_s)),
        ):
            print(f"faults: {name}…", file=sys.stderr, flush=True)
            results.append(await job)
        return results
    finally:
        engines.close()


def report_faults(results: list[FaultResult]) -> None:
    rows = []
    for r in results:
        figures = ", ".join(f"{k} {v}" for k, v in r.figures.items() if k != "before")
        rows.append(
            [r.scenario, str(r.trials), str(r.passed), str(r.lost), str(r.crashes), figures]
        )
    print_table(
        "Faults (each trial a real call on a real server)",
        ["scenario", "trials", "passed", "lost", "crashes", "figures"],
        rows,
    )
    for r in results:
        for failure in r.failures[:5]:
            print(f"  {r.scenario}: {failure}")
