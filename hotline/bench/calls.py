"""``hotline bench call`` and ``hotline bench soak``: whole translated calls against
``hotline serve`` running in its own process.

The server is a subprocess, so the clients' CPU never lands on it; its CPU and memory are
read from ``/proc`` for it and every descendant (PocketSphinx and TTS workers, Apertium
pipelines). Callers speak English (espeak-ng sentences, real-time paced 20 ms frames); each
call has its own Spanish operator who hears only the translation.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from hotline.bench.common import (
    COMPLAINTS,
    RATE,
    UNLIMITED_SERVER_ENV,
    BenchError,
    Summary,
    busy_cpu_s,
    child_env,
    fmt,
    free_port,
    print_table,
    silence,
    summarize,
    synthesize_lines,
)

if TYPE_CHECKING:
    from hotline.clients.client import CallerClient, OperatorClient
    from tts import Synthesizer

__all__ = ["Targets", "run_call_bench", "run_soak", "report_calls", "report_soak"]

T = TypeVar("T")

SEND_CHUNK_MS = 20
UTTERANCE_GAP_S = 1.2
LEAD_SILENCE_S = 0.5
TAIL_SILENCE_S = 2.0
STEPS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32)
STAGGER_S = 3.0
START_TIMEOUT_S = 300.0
SOAK_SAMPLE_S = 10.0
COST_CURVE_TITLE = "hotline: cost and latency of simultaneous translated calls (2-core machine)"
SERVER_LAUNCHER = "import sys; from hotline.cli import main; sys.exit(main(sys.argv[1:]))"
WARM_UP_SENTENCES = [
    "I would like to report a broken window at the bus stop.",
    "The lift in my building makes a strange noise.",
]


@dataclass(slots=True, frozen=True)
class Targets:
    """Issue 4, target 1: what a step of simultaneous calls must keep (seconds, p95)."""

    voice_to_voice_s: float = 0.8
    caption_s: float = 0.5
    partial_lag_s: float = 0.3

    def misses(self, step: CallStep) -> list[str]:
        out = []
        if step.lost:
            out.append(f"{step.lost} lost")
        for name, summary, limit in (
            ("v2v", step.end_to_audio_s, self.voice_to_voice_s),
            ("caption", step.end_to_translated_s, self.caption_s),
            ("partial", step.partial_lag_s, self.partial_lag_s),
        ):
            if summary.p95 is None or summary.p95 > limit:
                out.append(f"{name} p95 {fmt(summary.p95)} > {limit}")
        return out


# --- the server under test --------------------------------------------------------------------


@dataclass(slots=True)
class TreeUsage:
    """CPU seconds (reaped children included) and RSS of a process and all its descendants."""

    cpu_s: float
    rss_mb: float
    own_rss_mb: float
    processes: int


def tree_usage(root: int) -> TreeUsage | None:
    """Read from /proc: TTS and PocketSphinx workers (forkserver children) and Apertium
    pipelines are separate processes, so the server's own figures miss them."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                text = (entry / "stat").read_text()
                stats[int(entry.name)] = text[text.rfind(")") + 2 :].split()
    if root not in stats:
        return None
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    cpu, rss, count, todo = 0.0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        cpu += sum(int(fields[k]) for k in (11, 12, 13, 14)) / ticks
        rss += int(fields[21]) * page
        count += 1
        todo += children.get(pid, [])
    own = int(stats[root][21]) * page
    return TreeUsage(cpu, rss / 2**20, own / 2**20, count)


@dataclass(slots=True)
class ServerUnderTest:
    process: subprocess.Popen
    port: int
    log: Path
    data_dir: Path
    audiosocket_port: int | None = None
    sip_port: int | None = None

    @property
    def base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def usage(self) -> TreeUsage:
        found = tree_usage(self.process.pid)
        if found is None:
            raise BenchError(f"the server process {self.process.pid} is gone; see {self.log}")
        return found


@contextlib.contextmanager
def serving(workdir: Path, env: dict[str, str], bridges: bool = False) -> Iterator[ServerUnderTest]:
    """``hotline serve --port P --data-dir TMP`` in a subprocess, up once /healthz answers;
    with ``bridges``, also listening for AudioSocket and SIP."""
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    command = [
        sys.executable,
        "-c",
        SERVER_LAUNCHER,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(workdir / f"data-{port}"),
    ]
    audiosocket_port = sip_port = None
    if bridges:
        audiosocket_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
        command += ["--audiosocket-port", str(audiosocket_port), "--sip-port", str(sip_port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(**env),
            cwd=workdir,
            start_new_session=True,
        )
    server = ServerUnderTest(
        process, port, log_path, workdir / f"data-{port}", audiosocket_port, sip_port
    )
    try:
        _wait_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(server: ServerUnderTest) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://127.0.0.1:{server.port}/healthz"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"the server exited while starting:\n{tail}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.3)
    raise BenchError(f"the server did not answer /healthz within {START_TIMEOUT_S:.0f} s")


class LoadMeter:
    """Server CPU, the bench's own CPU and every core's busy time between two points: what
    is left over is other work on a shared machine, in cores."""

    def __init__(self, server: ServerUnderTest) -> None:
        self.server = server
        self.began = time.monotonic()
        self.server_cpu = server.usage().cpu_s
        self.own_cpu = time.process_time()
        self.busy = busy_cpu_s()

    def read(self) -> tuple[float, float, float | None]:
        """Wall seconds, server CPU seconds, other work in cores."""
        wall = time.monotonic() - self.began
        server = self.server.usage().cpu_s - self.server_cpu
        own = time.process_time() - self.own_cpu
        busy = busy_cpu_s()
        others = None
        if busy is not None and self.busy is not None and wall > 0:
            others = max(0.0, (busy - self.busy) - server - own) / wall
        return wall, server, others


# --- caller scripts and what the operator received --------------------------------------------


@dataclass(slots=True)
class CallerScript:
    """A caller's voice and where each sentence's speech lies in it, in samples."""

    pcm: np.ndarray
    sentences: list[str]
    spans: list[tuple[int, int]]


@dataclass(slots=True)
class UtteranceTiming:
    """Seconds from the send of a sentence's last speech sample to what the operator got."""

    call: int
    sentence: str
    recognized: str | None
    final_s: float | None
    translated_s: float | None
    audio_s: float | None


@dataclass(slots=True)
class CallOutcome:
    timings: list[UtteranceTiming]
    partial_lags: list[float]
    seconds: float


def call_sentences(index: int, per_call: int = 3) -> list[str]:
    """Different complaints for each call of a step."""
    return [COMPLAINTS[(index * per_call + j) % len(COMPLAINTS)] for j in range(per_call)]


async def make_script(synthesizer: Synthesizer, sentences: list[str]) -> CallerScript:
    parts = [silence(LEAD_SILENCE_S)]
    spans = []
    position = len(parts[0])
    for speech in await synthesize_lines(synthesizer, sentences, "en"):
        spans.append((position, position + len(speech)))
        gap = silence(UTTERANCE_GAP_S)
        parts += [speech, gap]
        position += len(speech) + len(gap)
    parts.append(silence(TAIL_SILENCE_S - UTTERANCE_GAP_S))
    return CallerScript(np.concatenate(parts), sentences, spans)


async def send_paced(client: CallerClient, pcm: np.ndarray) -> list[float]:
    """Send like a live microphone (at the client's rate); returns when (monotonic) each
    20 ms chunk went out."""
    rate = client.sample_rate
    step = rate * SEND_CHUNK_MS // 1000
    sent_at: list[float] = []
    began = time.monotonic()
    for offset in range(0, len(pcm), step):
        await client.send_audio(pcm[offset : offset + step])
        sent_at.append(time.monotonic())
        delay = began + (offset + step) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return sent_at


def _is_caller_caption(message: dict[str, Any], final: bool) -> bool:
    return (
        message["type"] == "caption"
        and message.get("speaker") == "caller"
        and bool(message.get("final")) == final
    )


def analyse_call(
    index: int,
    script: CallerScript,
    sent_at: list[float],
    messages: list[dict[str, Any]],
    audio_arrivals: list[tuple[float, int]],
) -> tuple[list[UtteranceTiming], list[float]]:
    """Match what the operator received to the caller's sentences, in order.

    Each sentence takes the next final caption that arrived after its speech ended; finals
    that arrived earlier and were not taken (a sentence split in two) are skipped. So a late
    final still counts for its own sentence, and sentences left without one count as lost.
    """
    step = RATE * SEND_CHUNK_MS // 1000

    def sent(sample: int) -> float:
        return sent_at[min(sample // step, len(sent_at) - 1)]

    starts = [sent(a) for a, _ in script.spans]
    ends = [sent(b - 1) for _, b in script.spans]
    every_final = [m for m in messages if _is_caller_caption(m, final=True)]
    finals = _one_per_utterance(every_final)
    says = [m for m in messages if m["type"] == "say"]
    arrival_times = [t for t, _ in audio_arrivals]
    timings = []
    taken = 0
    for i, sentence in enumerate(script.sentences):
        while taken < len(finals) and finals[taken]["_at"] < ends[i]:
            taken += 1
        final = finals[taken] if taken < len(finals) else None
        taken += 1
        translated = _translated(final, every_final)
        audio_at = _first_audio_after_say(translated, says, arrival_times)
        timings.append(
            UtteranceTiming(
                index,
                sentence,
                final.get("original") if final else None,
                final["_at"] - ends[i] if final else None,
                translated["_at"] - ends[i] if translated else None,
                audio_at - ends[i] if audio_at is not None else None,
            )
        )
    lags = _partial_lags(script, starts, timings, messages, sent_at)
    return timings, lags


def _one_per_utterance(finals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first final of each utterance: a later translated final of it is not a new one."""
    seen: set[object] = set()
    out = []
    for message in finals:
        key = message.get("utterance_id")
        if key is None or key not in seen:
            out.append(message)
            seen.add(key)
    return out


def _translated(final: dict[str, Any] | None, later: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The final itself when it carries the translation, else another final of its utterance."""
    if final is None or final.get("translated"):
        return final
    wanted = final.get("utterance_id")
    return next(
        (m for m in later if m.get("translated") and wanted and m.get("utterance_id") == wanted),
        None,
    )


def _first_audio_after_say(
    caption: dict[str, Any] | None, says: list[dict[str, Any]], arrival_times: list[float]
) -> float | None:
    """The first audio frame after the `say` that announces this caption's speech."""
    if caption is None:
        return None
    say = next((m for m in says if m.get("utterance_id") == caption.get("utterance_id")), None)
    if say is None:
        return None
    at = bisect.bisect_left(arrival_times, say["_at"])
    return arrival_times[at] if at < len(arrival_times) else None


def _partial_lags(
    script: CallerScript,
    starts: list[float],
    timings: list[UtteranceTiming],
    messages: list[dict[str, Any]],
    sent_at: list[float],
) -> list[float]:
    """Approximate lag of each untranslated partial behind the audio already sent.

    The audio a partial covers is estimated as the share of its sentence's speech equal to
    the partial's length over the final's length (never more than had been sent when it
    arrived); the lag is the arrival time minus the moment that audio was sent.
    """
    step = RATE * SEND_CHUNK_MS // 1000
    lags = []
    for message in messages:
        if not _is_caller_caption(message, final=False) or "text" in message:
            continue
        arrived = message["_at"]
        i = bisect.bisect_right(starts, arrived) - 1
        if i < 0 or not timings[i].recognized:
            continue
        share = min(1.0, len(message.get("original", "")) / len(timings[i].recognized or " "))
        begin, end = script.spans[i]
        chunks_sent = bisect.bisect_right(sent_at, arrived)
        covered_chunk = min((begin + int(share * (end - begin))) // step, chunks_sent - 1)
        lags.append(arrived - sent_at[max(0, covered_chunk)])
    return lags


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _operator_for(operators: list[OperatorClient], call_id: str) -> OperatorClient:
    def match() -> OperatorClient | None:
        for operator in operators:
            if any(m.get("call_id") == call_id for m in operator.of_type("connected")):
                return operator
        return None

    await _until(lambda: match() is not None, 10.0)
    operator = match()
    if operator is None:
        raise BenchError(f"call {call_id}: no operator was told it is connected")
    return operator


async def _guarded(what: str, awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except (TimeoutError, ConnectionError) as exc:
        raise BenchError(f"{what}: {type(exc).__name__}: {exc}") from exc


BENCH_PASSWORD = "bench-operator-password"


async def sign_in_operator(server: ServerUnderTest, name: str) -> OperatorClient:
    """A Spanish operator who hears only translations, so the first audio is the
    translation; the account is made in the server's data folder on first use."""
    from hotline.accounts import AccountStore
    from hotline.clients.client import OperatorClient

    with AccountStore.in_data_dir(server.data_dir) as store:
        if store.get(name) is None:
            store.add(name, BENCH_PASSWORD, ["es"])
    operator = OperatorClient(f"{server.base}/operator", RATE)
    answer = await _guarded(
        f"operator {name}: sign-in",
        operator.sign_in(name, ["es"], password=BENCH_PASSWORD, hear_original=False),
    )
    if answer["type"] != "ready":
        raise BenchError(f"operator {name}: the server answered {answer}")
    return operator


CHANNELS = ("web", "web-8k", "twilio", "audiosocket", "sip")
"""Ways in: the web caller at 16 kHz, the web caller at 8 kHz (the phone band without a
bridge), and the three phone bridges."""
PHONE_RATE = 8000


async def _newly_connected(
    operators: list[OperatorClient], seen: dict[int, int], what: str
) -> OperatorClient:
    """The operator who has just been given a call (one more ``connected`` than before)."""

    def found() -> OperatorClient | None:
        for operator in operators:
            if len(operator.of_type("connected")) > seen[id(operator)]:
                return operator
        return None

    if not await _until(lambda: found() is not None, 60.0):
        raise BenchError(f"{what}: no operator was given the call")
    operator = found()
    assert operator is not None
    return operator


async def _quiet(last_sound_at: Callable[[], float], quiet_s: float = 0.6) -> None:
    """Until the phone has heard nothing but silence for ``quiet_s`` (the prompts are over)."""
    await _until(lambda: time.monotonic() - last_sound_at() >= quiet_s, 30.0)


async def run_phone_call(
    server: ServerUnderTest,
    channel: str,
    index: int,
    script: CallerScript,
    operators: list[OperatorClient],
    connecting: asyncio.Lock,
    delay_s: float = 0.0,
) -> CallOutcome:
    """One caller through a phone bridge, with the project's own peer for that network:
    connect, speak the script on the line's clock (8 kHz), listen out, hang up."""
    from hotline.clients.demo import wait_until_quiet
    from hotline.clients.phone import AudioSocketCaller, SipCaller, TwilioCaller
    from telephony import resample

    await asyncio.sleep(delay_s)
    began = time.monotonic()
    what = f"{channel} call {index}"
    pcm = resample(script.pcm, RATE, PHONE_RATE)
    async with connecting:
        seen = {id(op): len(op.of_type("connected")) for op in operators}
        if channel == "twilio":
            phone: Any = TwilioCaller(f"{server.base}/twilio", language="en")
            await _guarded(what, phone.connect())
        elif channel == "audiosocket":
            assert server.audiosocket_port is not None
            phone = AudioSocketCaller("127.0.0.1", server.audiosocket_port)
            await _guarded(what, phone.connect())
            await asyncio.sleep(0.5)
            await phone.press("1")
        else:
            assert server.sip_port is not None
            phone = SipCaller(("127.0.0.1", server.sip_port), "en", caller=f"+1555000{index:04d}")
            await _guarded(what, phone.call())
        operator = await _newly_connected(operators, seen, what)
    try:
        await _quiet(lambda: phone.last_sound_at)
        mark = len(operator.messages)
        sent_at = await phone.say(pcm)
        expected = len(script.sentences)
        await _until(
            lambda: sum(_is_caller_caption(m, True) for m in operator.messages[mark:]) >= expected,
            15.0,
        )
        await wait_until_quiet(operator, 1.0, 20.0)
    finally:
        await phone.hang_up()
        if channel == "sip":
            await asyncio.sleep(0.2)
            phone.close()
    timings, lags = analyse_call(
        index, script, sent_at, operator.messages[mark:], list(operator.audio_arrivals)
    )
    return CallOutcome(timings, lags, time.monotonic() - began)


async def run_call(
    base: str,
    index: int,
    script: CallerScript,
    operators: list[OperatorClient],
    delay_s: float = 0.0,
    rate: int = RATE,
    continuous: bool = False,
) -> CallOutcome:
    """One caller: connect, speak the script at real-time pace (at ``rate``), listen out,
    hang up. ``continuous`` streams audio from hello to hang-up, silence included, as the
    browser page's microphone does (and the phone networks); otherwise only the script."""
    from hotline.clients.client import CallerClient
    from hotline.clients.demo import wait_until_quiet
    from hotline.clients.phone import PhoneLine
    from telephony import resample

    await asyncio.sleep(delay_s)
    began = time.monotonic()
    caller = CallerClient(f"{base}/call", rate)
    ready = await _guarded(f"call {index}: hello", caller.call("en", caller_id=f"bench-{index}"))
    if ready["type"] != "ready":
        raise BenchError(f"call {index}: the server answered {ready}")
    line = PhoneLine(rate, caller.send_audio) if continuous else None
    streaming = asyncio.create_task(line.run()) if line is not None else None
    try:
        await _guarded(f"call {index}: waiting for an operator", caller.connected(timeout=60))
        operator = await _operator_for(operators, ready["call_id"])
        await wait_until_quiet(caller)
        mark = len(operator.messages)
        pcm = script.pcm if rate == RATE else resample(script.pcm, RATE, rate)
        sent_at = await (line.say(pcm) if line is not None else send_paced(caller, pcm))
        expected = len(script.sentences)
        await _until(
            lambda: sum(_is_caller_caption(m, True) for m in operator.messages[mark:]) >= expected,
            15.0,
        )
        await wait_until_quiet(operator, 1.0, 20.0)
        if streaming is not None:
            streaming.cancel()
        await caller.hangup()
        with contextlib.suppress(TimeoutError, ConnectionError):
            await caller.wait_for(lambda m: m["type"] == "ended", timeout=10)
    finally:
        if streaming is not None:
            streaming.cancel()
        await caller.close()
    timings, lags = analyse_call(
        index, script, sent_at, operator.messages[mark:], list(operator.audio_arrivals)
    )
    return CallOutcome(timings, lags, time.monotonic() - began)


async def make_scripts(count: int) -> list[CallerScript]:
    """`count` callers, each with its own three complaints (30 sentences, then they repeat)."""
    from tts import default_synthesizer

    with default_synthesizer(workers=2, cache_size=0) as synthesizer:
        return [await make_script(synthesizer, call_sentences(k)) for k in range(count)]


async def warm_up_call(server: ServerUnderTest) -> None:
    """One unmeasured call, so the Apertium pipeline and Spanish voice are up, as on a server
    that has been taking calls."""
    from tts import default_synthesizer

    with default_synthesizer(workers=1, cache_size=0) as synthesizer:
        script = await make_script(synthesizer, WARM_UP_SENTENCES)
    operator = await sign_in_operator(server, "bench-warm-up")
    try:
        await run_call(server.base, -1, script, [operator])
    finally:
        await operator.close()


# --- simultaneous calls, stepping N --------------------------------------------------------------


@dataclass(slots=True)
class CallStep:
    """N simultaneous calls. CPU is the server's and its descendants', per second of call."""

    calls: int
    utterances: int
    lost: int
    end_to_final_s: Summary
    end_to_translated_s: Summary
    end_to_audio_s: Summary
    partial_lag_s: Summary
    misses: list[str]
    wall_s: float
    call_seconds: float
    server_cpu_s: float
    cpu_per_call_second: float
    cores_busy: float
    others_cores: float | None
    rss_mb: float
    peak_rss_mb: float
    processes: int
    details: list[UtteranceTiming] = field(default_factory=list)
    channel: str = "web"

    @property
    def meets_targets(self) -> bool:
        return not self.misses


@dataclass(slots=True)
class CallBench:
    server_env: dict[str, str]
    repeat: int
    idle_rss_mb: float
    steps: list[CallStep]
    largest_meeting_targets: int | None
    targets: dict[str, float]
    notes: list[str]


async def _sample_peak(server: ServerUnderTest, peak: list[float], every_s: float = 1.0) -> None:
    while True:
        peak[0] = max(peak[0], server.usage().rss_mb)
        await asyncio.sleep(every_s)


async def run_step(
    server: ServerUnderTest,
    calls: int,
    scripts: list[CallerScript],
    step: int,
    targets: Targets,
    repeat: int = 1,
    seed: int = 4,
    channel: str = "web",
) -> CallStep:
    """`calls` simultaneous calls, started at random within STAGGER_S, each with an operator;
    `repeat` rounds of them, each round with other sentences; through ``channel``."""
    rng = random.Random(seed + calls)
    connecting = asyncio.Lock()

    def call(k: int, script: CallerScript, delay: float) -> Awaitable[CallOutcome]:
        if channel == "web":
            return run_call(server.base, k, script, operators, delay)
        if channel == "web-8k":
            return run_call(server.base, k, script, operators, delay, PHONE_RATE, True)
        return run_phone_call(server, channel, k, script, operators, connecting, delay)

    operators = [await sign_in_operator(server, f"bench-{step}-{k}") for k in range(calls)]
    peak = [0.0]
    sampler = asyncio.create_task(_sample_peak(server, peak))
    outcomes: list[CallOutcome] = []
    try:
        meter = LoadMeter(server)
        for round_ in range(repeat):
            outcomes += await asyncio.gather(
                *(
                    call(
                        k,
                        scripts[(k + round_ * calls) % len(scripts)],
                        rng.uniform(0, STAGGER_S) if calls > 1 else 0.0,
                    )
                    for k in range(calls)
                )
            )
        wall, server_cpu, others = meter.read()
        after = server.usage()
    finally:
        sampler.cancel()
        for operator in operators:
            await operator.close()
    details = [t for o in outcomes for t in o.timings]
    call_seconds = sum(o.seconds for o in outcomes)
    result = CallStep(
        channel=channel,
        calls=calls,
        utterances=len(details),
        lost=sum(t.final_s is None for t in details),
        end_to_final_s=summarize(t.final_s for t in details if t.final_s is not None),
        end_to_translated_s=summarize(
            t.translated_s for t in details if t.translated_s is not None
        ),
        end_to_audio_s=summarize(t.audio_s for t in details if t.audio_s is not None),
        partial_lag_s=summarize(lag for o in outcomes for lag in o.partial_lags),
        misses=[],
        wall_s=wall,
        call_seconds=call_seconds,
        server_cpu_s=server_cpu,
        cpu_per_call_second=server_cpu / call_seconds,
        cores_busy=server_cpu / wall,
        others_cores=others,
        rss_mb=after.rss_mb,
        peak_rss_mb=max(peak[0], after.rss_mb),
        processes=after.processes,
        details=details,
    )
    result.misses = targets.misses(result)
    return result


def call_counts(calls: int, max_calls: int | None) -> list[int]:
    """1, 2, 3, 4, 6, 8, ... up to max_calls (and max_calls itself), or just `calls`."""
    if max_calls is None:
        return [calls]
    counts = [n for n in STEPS if n <= max_calls]
    return counts if counts and counts[-1] == max_calls else [*counts, max_calls]


async def _idle_rss(server: ServerUnderTest, samples: int = 3, every_s: float = 1.0) -> float:
    values = []
    for _ in range(samples):
        values.append(server.usage().rss_mb)
        await asyncio.sleep(every_s)
    return float(np.median(values))


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {"HOTLINE_TTS_CACHE_SIZE": "0", **UNLIMITED_SERVER_ENV}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("HOTLINE_"):
            raise BenchError(f"--server-env wants HOTLINE_KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


async def run_call_bench(
    calls: int,
    max_calls: int | None,
    server_env: Sequence[str] = (),
    all_steps: bool = False,
    repeat: int = 1,
    targets: Targets = Targets(),
) -> CallBench:
    """Steps of simultaneous calls against one server subprocess; stops after the first step
    that misses a target unless `all_steps`."""
    counts = call_counts(calls, max_calls)
    env = parse_env(server_env)
    scripts = await make_scripts(min(max(counts) * repeat, len(COMPLAINTS) // 3))
    steps: list[CallStep] = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as workdir:
        with serving(Path(workdir), env) as server:
            await warm_up_call(server)
            await asyncio.sleep(2.0)
            idle = await _idle_rss(server)
            for step, count in enumerate(counts):
                steps.append(await run_step(server, count, scripts, step, targets, repeat))
                _print_step(steps[-1])
                if not all_steps and max_calls is not None and not steps[-1].meets_targets:
                    break
                await asyncio.sleep(2.0)
    largest = None
    for s in steps:
        if not s.meets_targets:
            break
        largest = s.calls
    return CallBench(
        server_env=env,
        repeat=repeat,
        idle_rss_mb=idle,
        steps=steps,
        largest_meeting_targets=largest,
        targets={
            "voice_to_voice_p95_s": targets.voice_to_voice_s,
            "caption_p95_s": targets.caption_s,
            "partial_lag_p95_s": targets.partial_lag_s,
        },
        notes=[
            "hotline serve runs in its own process; CPU and RSS are its process tree from /proc "
            "(PocketSphinx and TTS workers, Apertium pipelines included)",
            "CPU per call-second = server tree CPU seconds during the step / sum of the calls' "
            "durations (hello to ended, greeting and prompts included)",
            "the server's TTS phrase cache is off (HOTLINE_TTS_CACHE_SIZE=0): prompts and "
            "translations are synthesized on every call",
            "final captions carry their translation, so -> final and -> translated coincide",
            "partial lag is approximate: the audio a partial covers is estimated from its length",
            "others = cores that other processes on the machine took during the step",
        ],
    )


def _print_step(s: CallStep) -> None:
    print(
        f"N={s.calls}: v2v p50/p95 {_pair(s.end_to_audio_s)} s, caption {_pair(s.end_to_translated_s)}"
        f" s, partial lag {_pair(s.partial_lag_s)} s, lost {s.lost}/{s.utterances}, "
        f"CPU/call-s {s.cpu_per_call_second:.3f}, others {fmt(s.others_cores)} cores"
        + (f"  MISSES: {', '.join(s.misses)}" if s.misses else ""),
        flush=True,
    )


def _pair(summary: Summary) -> str:
    return f"{fmt(summary.p50)} / {fmt(summary.p95)}"


def report_calls(result: CallBench) -> None:
    rows = [
        [
            str(s.calls),
            f"{s.utterances - s.lost}/{s.utterances}",
            _pair(s.end_to_translated_s),
            _pair(s.end_to_audio_s),
            _pair(s.partial_lag_s),
            "yes" if s.meets_targets else "no",
            f"{s.cpu_per_call_second:.3f}",
            f"{s.cores_busy:.2f}",
            fmt(s.others_cores),
            fmt(s.rss_mb, 0),
            fmt((s.peak_rss_mb - result.idle_rss_mb) / s.calls, 1),
        ]
        for s in result.steps
    ]
    print_table(
        "Calls (seconds after the caller's last speech sample was sent; p50 / p95)",
        [
            "calls",
            "finals",
            "-> caption",
            "-> audio (v2v)",
            "partial lag",
            "targets",
            "CPU s/call-s",
            "server cores",
            "others",
            "RSS MB",
            "peak-idle MB/call",
        ],
        rows,
    )
    print_table(
        "Utterances",
        ["N", "call", "caption s", "audio s", "said", "recognized"],
        [
            [
                str(s.calls),
                str(t.call),
                fmt(t.translated_s),
                fmt(t.audio_s),
                t.sentence,
                t.recognized or "(lost)",
            ]
            for s in result.steps
            for t in s.details
        ],
    )
    print(f"\nidle server RSS (process tree) {result.idle_rss_mb:.0f} MB")
    print(
        f"largest number of calls meeting every target: {result.largest_meeting_targets or 'none'}"
    )
    print("targets: " + ", ".join(f"{k} <= {v}" for k, v in result.targets.items()) + ", none lost")
    for s in result.steps:
        if s.misses:
            print(f"N={s.calls} misses: {', '.join(s.misses)}")
    for note in result.notes:
        print(f"note: {note}")


# --- soak -----------------------------------------------------------------------------------


@dataclass(slots=True)
class SoakSample:
    at_s: float
    rss_mb: float
    own_rss_mb: float
    processes: int
    calls_done: int
    cpu_s: float


@dataclass(slots=True)
class SoakResult:
    minutes: float
    calls: int
    server_env: dict[str, str]
    idle_rss_mb: float
    loaded_rss_mb: float
    memory_per_call_mb: float
    first_rss_mb: float
    last_rss_mb: float
    idle_after_rss_mb: float
    slope_mb_per_10_min: float | None
    own_slope_mb_per_10_min: float | None
    calls_completed: int
    utterances: int
    lost: int
    end_to_translated_s: Summary
    end_to_audio_s: Summary
    partial_lag_s: Summary
    cpu_per_call_second: float
    others_cores: float | None
    samples: list[SoakSample]
    notes: list[str]


def slope_per_10_min(samples: Sequence[SoakSample], key: str) -> float | None:
    """Least-squares slope over the second half of the samples, MB per 10 minutes."""
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return None
    x = np.array([s.at_s for s in half])
    y = np.array([getattr(s, key) for s in half])
    return float(np.polyfit(x, y, 1)[0] * 600)


async def run_soak(minutes: float, calls: int, server_env: Sequence[str] = ()) -> SoakResult:
    """N calls back to back for `minutes`, the server's RSS sampled every SOAK_SAMPLE_S."""
    env = parse_env(server_env)
    scripts = await make_scripts(10)
    outcomes: list[CallOutcome] = []
    samples: list[SoakSample] = []
    with tempfile.TemporaryDirectory(prefix="hotline-soak-") as workdir:
        with serving(Path(workdir), env) as server:
            await warm_up_call(server)
            await asyncio.sleep(5.0)
            idle = await _idle_rss(server, 5)
            print(f"idle RSS {idle:.1f} MB", flush=True)
            operators = [await sign_in_operator(server, f"soak-{k}") for k in range(calls)]
            meter = LoadMeter(server)
            cpu0 = server.usage().cpu_s
            began = time.monotonic()
            deadline = began + minutes * 60

            async def slot(k: int) -> None:
                n = 0
                await asyncio.sleep(k * STAGGER_S / max(1, calls))
                while time.monotonic() < deadline:
                    script = scripts[(k + n * calls) % len(scripts)]
                    outcomes.append(await run_call(server.base, k, script, operators))
                    n += 1

            async def sample() -> None:
                while True:
                    u = server.usage()
                    samples.append(
                        SoakSample(
                            time.monotonic() - began,
                            u.rss_mb,
                            u.own_rss_mb,
                            u.processes,
                            len(outcomes),
                            u.cpu_s - cpu0,
                        )
                    )
                    s = samples[-1]
                    print(
                        f"t={s.at_s:6.0f} s  RSS {s.rss_mb:7.1f} MB (server {s.own_rss_mb:6.1f})"
                        f"  processes {s.processes}  calls {s.calls_done}",
                        flush=True,
                    )
                    await asyncio.sleep(SOAK_SAMPLE_S)

            sampler = asyncio.create_task(sample())
            try:
                await asyncio.gather(*(slot(k) for k in range(calls)))
            finally:
                sampler.cancel()
                wall, server_cpu, others = meter.read()
                for operator in operators:
                    await operator.close()
            await asyncio.sleep(5.0)
            idle_after = await _idle_rss(server, 5)
    details = [t for o in outcomes for t in o.timings]
    loaded = float(np.median([s.rss_mb for s in samples]))
    return SoakResult(
        minutes=minutes,
        calls=calls,
        server_env=env,
        idle_rss_mb=idle,
        loaded_rss_mb=loaded,
        memory_per_call_mb=(loaded - idle) / calls,
        first_rss_mb=samples[0].rss_mb,
        last_rss_mb=samples[-1].rss_mb,
        idle_after_rss_mb=idle_after,
        slope_mb_per_10_min=slope_per_10_min(samples, "rss_mb"),
        own_slope_mb_per_10_min=slope_per_10_min(samples, "own_rss_mb"),
        calls_completed=len(outcomes),
        utterances=len(details),
        lost=sum(t.final_s is None for t in details),
        end_to_translated_s=summarize(
            t.translated_s for t in details if t.translated_s is not None
        ),
        end_to_audio_s=summarize(t.audio_s for t in details if t.audio_s is not None),
        partial_lag_s=summarize(lag for o in outcomes for lag in o.partial_lags),
        cpu_per_call_second=server_cpu / max(1e-9, sum(o.seconds for o in outcomes)),
        others_cores=others,
        samples=samples,
        notes=[
            "RSS is hotline serve and every descendant process, from /proc",
            "memory per call = (median RSS while the calls ran - idle RSS after a warm-up "
            "call) / N",
            "slope: least squares over the second half of the samples",
            "10 different caller scripts (30 sentences) rotate; the TTS phrase cache is off",
        ],
    )


def report_soak(result: SoakResult) -> None:
    print_table(
        f"Soak: {result.calls} calls back to back for {result.minutes:g} min",
        ["metric", "value"],
        [
            ["calls completed", str(result.calls_completed)],
            ["utterances (lost)", f"{result.utterances} ({result.lost})"],
            ["idle RSS before (MB)", f"{result.idle_rss_mb:.1f}"],
            ["median RSS with calls (MB)", f"{result.loaded_rss_mb:.1f}"],
            ["memory per call (MB)", f"{result.memory_per_call_mb:.1f}"],
            ["first / last RSS (MB)", f"{result.first_rss_mb:.1f} / {result.last_rss_mb:.1f}"],
            ["idle RSS after (MB)", f"{result.idle_after_rss_mb:.1f}"],
            ["RSS slope, tree (MB / 10 min)", fmt(result.slope_mb_per_10_min)],
            ["RSS slope, server process (MB / 10 min)", fmt(result.own_slope_mb_per_10_min)],
            ["-> caption p50 / p95 (s)", _pair(result.end_to_translated_s)],
            ["-> audio (v2v) p50 / p95 (s)", _pair(result.end_to_audio_s)],
            ["partial lag p50 / p95 (s)", _pair(result.partial_lag_s)],
            ["server CPU s per call-s", f"{result.cpu_per_call_second:.3f}"],
            ["others (cores)", fmt(result.others_cores)],
        ],
    )
    for note in result.notes:
        print(f"note: {note}")


# --- the cost curve as a plot -------------------------------------------------------------------


def cost_curve_svg(result: CallBench, title: str = "") -> str:
    """Two line charts side by side, from the steps: server CPU per call-second against N, and
    voice-to-voice and caption latency (p50, p95) against N with the targets dashed."""
    steps = result.steps
    xs = [s.calls for s in steps]
    cpu = [s.cpu_per_call_second for s in steps]
    latency = {
        "v2v p95": ([s.end_to_audio_s.p95 for s in steps], "#c0392b", ""),
        "v2v p50": ([s.end_to_audio_s.p50 for s in steps], "#c0392b", "4 3"),
        "caption p95": ([s.end_to_translated_s.p95 for s in steps], "#2471a3", ""),
        "caption p50": ([s.end_to_translated_s.p50 for s in steps], "#2471a3", "4 3"),
        "partial lag p95": ([s.partial_lag_s.p95 for s in steps], "#7d8c3a", ""),
    }
    width, height, pad = 880, 400, 56
    panel_w = (width - 3 * pad) / 2
    top, bottom = 48, height - pad
    x_max = max(xs) if xs else 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{_xml(title)}</text>',
    ]

    def panel(
        left: float,
        y_max: float,
        y_label: str,
        series: dict[str, tuple[list[float | None], str, str]],
        limits: Sequence[tuple[float, str]] = (),
    ) -> None:
        def px(x: float) -> float:
            return left + (x - 1) / max(1, x_max - 1) * panel_w if x_max > 1 else left

        def py(y: float) -> float:
            return bottom - y / y_max * (bottom - top)

        out.append(
            f'<path d="M{left},{top} V{bottom} H{left + panel_w}" stroke="black" fill="none"/>'
        )
        for k in range(6):
            y = y_max * k / 5
            out.append(
                f'<line x1="{left}" x2="{left + panel_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
                f'stroke="#ddd"/><text x="{left - 6}" y="{py(y) + 4:.1f}" '
                f'text-anchor="end">{y:.2f}</text>'
            )
        for x in xs:
            out.append(f'<text x="{px(x):.1f}" y="{bottom + 16}" text-anchor="middle">{x}</text>')
        out.append(
            f'<text x="{left + panel_w / 2}" y="{bottom + 34}" text-anchor="middle">'
            "simultaneous calls N</text>"
        )
        out.append(f'<text x="{left}" y="{top - 10}" text-anchor="start">{_xml(y_label)}</text>')
        for value, label in limits:
            out.append(
                f'<line x1="{left}" x2="{left + panel_w}" y1="{py(value):.1f}" '
                f'y2="{py(value):.1f}" stroke="#888" stroke-dasharray="2 4"/>'
                f'<text x="{left + panel_w - 4}" y="{py(value) - 4:.1f}" text-anchor="end" '
                f'fill="#666">{_xml(label)}</text>'
            )
        legend_y = top + 4
        for name, (values, color, dash) in series.items():
            points = [(px(x), py(y)) for x, y in zip(xs, values, strict=True) if y is not None]
            if not points:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dashed}/>'
            )
            out.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in points
            )
            if len(series) > 1:
                out.append(
                    f'<line x1="{left + 10}" x2="{left + 34}" y1="{legend_y}" y2="{legend_y}" '
                    f'stroke="{color}" stroke-width="2"{dashed}/>'
                    f'<text x="{left + 40}" y="{legend_y + 4}">{_xml(name)}</text>'
                )
                legend_y += 16

    cpu_max = math.ceil(max([0.05, *cpu]) * 1.2 * 20) / 20
    panel(pad, cpu_max, "server CPU s per call-second", {"cpu": (list(cpu), "#333", "")})
    lat_values = [v for values, _, _ in latency.values() for v in values if v is not None]
    lat_max = math.ceil(max([1.0, *lat_values]) * 1.05 * 5) / 5
    panel(
        2 * pad + panel_w,
        lat_max,
        "seconds after end of speech",
        latency,
        [
            (result.targets["voice_to_voice_p95_s"], "v2v target"),
            (result.targets["caption_p95_s"], "caption target"),
            (result.targets["partial_lag_p95_s"], "partial lag target"),
        ],
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
