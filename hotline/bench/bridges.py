"""``hotline bench bridges``: what each phone bridge adds to a call, against the web caller.

One ``hotline serve`` subprocess listens on all four ways in. The same translated calls
(English caller, Spanish operator, three complaints each) come in through each, with the
project's own peer for each network speaking its exact format: the web caller's protocol,
Twilio Media Streams, Asterisk AudioSocket, and SIP/RTP. Each figure is measured as for
``hotline bench call``: voice to voice is from the caller's last speech sample leaving the
peer to the operator's first audio of its translation. Then simultaneous SIP calls step up
until one misses the latency targets. Timings are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.bench.calls import (
    CHANNELS,
    CallStep,
    Targets,
    call_counts,
    make_scripts,
    parse_env,
    run_step,
    serving,
    warm_up_call,
)
from hotline.bench.common import COMPLAINTS, fmt, print_table

__all__ = ["BridgesBench", "report_bridges", "run_bridges_bench"]

GOAL_CPU_ADDED = 0.05
GOAL_V2V_P95_ADDED_S = 0.030


@dataclass(slots=True)
class BridgesBench:
    calls: int
    repeat: int
    channels: list[CallStep]
    sip_steps: list[CallStep]
    sip_calls_meeting_targets: int | None
    sip_calls_meeting_voice_and_caption: int | None
    targets: dict[str, float]
    notes: list[str]


async def run_bridges_bench(
    calls: int = 2,
    repeat: int = 2,
    max_sip_calls: int = 8,
    server_env: Sequence[str] = (),
    targets: Targets | None = None,
) -> BridgesBench:
    targets = targets or Targets()
    env = parse_env(server_env)
    scripts = await make_scripts(min(max(calls * repeat, max_sip_calls), len(COMPLAINTS) // 3))
    channels: list[CallStep] = []
    sip_steps: list[CallStep] = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as workdir:
        with serving(Path(workdir), env, bridges=True) as server:
            await warm_up_call(server)
            for step, channel in enumerate(CHANNELS):
                await asyncio.sleep(2.0)
                channels.append(
                    await run_step(server, calls, scripts, step, targets, repeat, channel=channel)
                )
                _print_step(channels[-1])
            for step, count in enumerate(call_counts(1, max_sip_calls), start=len(CHANNELS)):
                await asyncio.sleep(2.0)
                sip_steps.append(
                    await run_step(server, count, scripts, step, targets, repeat, channel="sip")
                )
                _print_step(sip_steps[-1])
    largest = _largest(sip_steps, lambda s: s.meets_targets)
    voice = _largest(
        sip_steps,
        lambda s: (
            not s.lost
            and s.end_to_audio_s.p95 is not None
            and s.end_to_audio_s.p95 <= targets.voice_to_voice_s
            and s.end_to_translated_s.p95 is not None
            and s.end_to_translated_s.p95 <= targets.caption_s
        ),
    )
    return BridgesBench(
        calls=calls,
        repeat=repeat,
        channels=channels,
        sip_steps=sip_steps,
        sip_calls_meeting_targets=largest,
        sip_calls_meeting_voice_and_caption=voice,
        targets={
            "voice_to_voice_p95_s": targets.voice_to_voice_s,
            "caption_p95_s": targets.caption_s,
            "partial_lag_p95_s": targets.partial_lag_s,
            "bridge_cpu_added": GOAL_CPU_ADDED,
            "bridge_v2v_p95_added_s": GOAL_V2V_P95_ADDED_S,
        },
        notes=[
            "phone peers stream audio every 20 ms from the moment the call is up, silence "
            "included, as the networks do; the web caller sends only while it speaks",
            "CPU per call-second is the server process tree's CPU over the calls' durations",
            "SIP adds its jitter buffer's delay (3 frames, 60 ms) before the caller's audio "
            "reaches the recognizer",
            "web-8k is the web caller sending 8 kHz audio from hello to hang-up, as a browser's "
            "microphone does: the phone band (its resampling and recognition) and a continuous "
            "stream without any bridge, so that each bridge's own cost stands apart",
        ],
    )


def _largest(steps: list[CallStep], holds: Callable[[CallStep], bool]) -> int | None:
    """The most calls of the steps that hold, counting up until the first that does not."""
    largest = None
    for step in steps:
        if not holds(step):
            break
        largest = step.calls
    return largest


def _print_step(step: CallStep) -> None:
    e2a = step.end_to_audio_s
    print(
        f"{step.channel:11} N={step.calls}: v2v p50/p95 {fmt(e2a.p50)} / {fmt(e2a.p95)} s, "
        f"lost {step.lost}/{step.utterances}, CPU/call-s {step.cpu_per_call_second:.3f}",
        flush=True,
    )


def _added(value: float | None, base: float | None, scale: float = 1.0) -> str:
    if value is None or base is None:
        return "-"
    return f"{(value - base) * scale:+.0f}"


def report_bridges(result: BridgesBench) -> None:
    by = {step.channel: step for step in result.channels}
    web, narrow = by["web"], by["web-8k"]
    rows = []
    for step in result.channels:
        base = narrow if step.channel in ("twilio", "audiosocket", "sip") else web
        cpu_added = step.cpu_per_call_second / base.cpu_per_call_second - 1
        rows.append(
            [
                step.channel,
                f"{step.utterances - step.lost}/{step.utterances}",
                f"{fmt(step.end_to_audio_s.p50)} / {fmt(step.end_to_audio_s.p95)}",
                f"{fmt(step.end_to_translated_s.p50)} / {fmt(step.end_to_translated_s.p95)}",
                f"{step.cpu_per_call_second:.3f}",
                "-" if step is web else f"{base.channel}",
                "-" if step is web else f"{cpu_added:+.1%}",
                "-"
                if step is web
                else _added(step.end_to_audio_s.p95, base.end_to_audio_s.p95, 1000),
                "-"
                if step is web
                else _added(step.end_to_audio_s.p50, base.end_to_audio_s.p50, 1000),
            ]
        )
    print_table(
        f"Each way in, {result.calls} calls at once × {result.repeat} rounds "
        "(seconds after the caller's last speech sample; p50 / p95)",
        [
            "channel",
            "finals",
            "-> audio (v2v)",
            "-> caption",
            "CPU s/call-s",
            "against",
            "CPU added",
            "v2v p95 added (ms)",
            "v2v p50 added (ms)",
        ],
        rows,
    )
    rows = [
        [
            str(s.calls),
            f"{s.utterances - s.lost}/{s.utterances}",
            f"{fmt(s.end_to_audio_s.p50)} / {fmt(s.end_to_audio_s.p95)}",
            f"{fmt(s.end_to_translated_s.p50)} / {fmt(s.end_to_translated_s.p95)}",
            f"{fmt(s.partial_lag_s.p50)} / {fmt(s.partial_lag_s.p95)}",
            "yes" if s.meets_targets else "no: " + "; ".join(s.misses),
        ]
        for s in result.sip_steps
    ]
    print_table(
        "Simultaneous SIP calls",
        ["calls", "finals", "-> audio (v2v)", "-> caption", "partial lag", "targets"],
        rows,
    )
    print(f"\nSIP calls held with every target: {result.sip_calls_meeting_targets}")
    print(
        "SIP calls held with the voice-to-voice and caption targets: "
        f"{result.sip_calls_meeting_voice_and_caption}"
    )
    print(
        f"goal per bridge: at most {GOAL_CPU_ADDED:.0%} more CPU per call-second and "
        f"{GOAL_V2V_P95_ADDED_S * 1000:.0f} ms more voice-to-voice p95 than the web caller; "
        "each bridge is measured against the web caller at 8 kHz, which hears the same phone "
        "band without a bridge, and web-8k against the web caller at 16 kHz"
    )
    for note in result.notes:
        print(f"note: {note}")
