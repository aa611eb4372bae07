"""``hotline bench``: how fast the engines and whole translated calls run on this machine.

Benchmarks are the one place timings are measured; they report and never assert. Results
always print as tables and, with ``--json PATH``, are written out for comparison across
machines and commits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from hotline.bench import (
    asr_peer,
    bridges,
    calls,
    classify,
    faults,
    langid,
    narrowband,
    quality,
    replay,
    transcribe,
    vad,
    voices,
)
from hotline.bench.common import BenchError, write_json
from hotline.bench.engines import report_engines, run_engines_bench

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `hotline bench` sub-commands."""
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("engines", help="ASR real-time factor, translation and TTS latency")
    p.add_argument(
        "--seconds", type=float, default=20.0, help="seconds of speech per ASR stream (default 20)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p = sub.add_parser(
        "call", help="latency, CPU and memory of simultaneous translated calls on hotline serve"
    )
    p.add_argument("--calls", type=int, default=1, help="simultaneous calls (default 1)")
    p.add_argument(
        "--max-calls",
        type=int,
        metavar="M",
        help="step 1, 2, 3, 4, 6, 8, ... up to M calls and report the most that meet the targets",
    )
    p.add_argument(
        "--all-steps",
        action="store_true",
        help="with --max-calls, go on after a step that misses a target (for the cost curve)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="rounds of calls per step, each with other sentences (default 1)",
    )
    _server_env_argument(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--svg", metavar="PATH", help="also draw the cost curve as an SVG line chart")
    p = sub.add_parser("soak", help="calls back to back for minutes; the server's RSS over time")
    p.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    p.add_argument("--calls", type=int, default=2, help="calls at once (default 2)")
    _server_env_argument(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    asr_peer.add_arguments(sub)
    classify.add_arguments(sub)
    quality.add_arguments(sub)
    transcribe.add_arguments(sub)
    vad.add_arguments(sub)
    langid.add_arguments(sub)
    voices.add_arguments(sub)
    _bridges_arguments(sub)
    _faults_arguments(sub)
    _replay_arguments(sub)
    p = sub.add_parser(
        "narrowband", help="ASR error rates on 8 kHz G.711 (phone) audio against 16 kHz"
    )
    p.add_argument("--languages", default="ko,en", help="comma-separated languages (default ko,en)")
    p.add_argument(
        "--synthetic",
        type=int,
        default=20,
        metavar="N",
        help="espeak-ng complaint sentences per language, besides the real recordings "
        "(default 20, at most 30; 0 for none)",
    )
    p.add_argument(
        "--conditions",
        metavar="A,B",
        help="only these conditions (16k and ulaw-8k always run); default: all",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="LANG=PATH",
        help="decode LANG with this Vosk model folder, e.g. a narrowband (8 kHz) one (repeatable)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def _replay_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="QA replay speed: one call, and --all over many calls")
    p.add_argument("--calls", type=int, default=50, help="calls in the store (default 50)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def _faults_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "faults",
        help="drops, a killed server, failing engines, overload and a slow network, counted",
    )
    p.add_argument("--drops", type=int, default=100, help="caller drop trials (default 100)")
    p.add_argument("--kills", type=int, default=10, help="server SIGKILL trials (default 10)")
    p.add_argument(
        "--slow-seconds",
        type=float,
        default=15.0,
        help="how long the slow operator stops reading (default 15)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def _bridges_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bridges", help="CPU and latency each phone bridge adds, and SIP calls held at once"
    )
    p.add_argument("--calls", type=int, default=2, help="calls at once per way in (default 2)")
    p.add_argument("--repeat", type=int, default=2, help="rounds per way in (default 2)")
    p.add_argument(
        "--max-sip-calls", type=int, default=8, help="step SIP calls up to this (default 8)"
    )
    _server_env_argument(p)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def _server_env_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="HOTLINE_KEY=VALUE",
        help="configuration for the server under test, as an environment variable (repeatable)",
    )


def _language_path(value: str) -> tuple[str, str]:
    language, sep, path = value.partition("=")
    if not sep or not language.strip() or not path.strip():
        raise BenchError(f"--model wants LANG=PATH, got {value!r}")
    return language.strip(), path.strip()


def main(args: argparse.Namespace) -> int:
    try:
        if args.bench == "asr-peer":
            return asr_peer.main(args)
        if args.bench == "classify":
            return classify.run(args)
        if args.bench == "quality":
            return quality.run(args)
        if args.bench == "transcribe":
            return transcribe.run(args)
        if args.bench == "langid":
            return langid.run(args)
        if args.bench == "vad":
            return vad.run(args)
        if args.bench == "voices":
            return voices.run(args)
        if args.bench == "faults":
            with tempfile.TemporaryDirectory(prefix="hotline-faults-") as workdir:
                results = asyncio.run(
                    faults.run_faults(Path(workdir), args.drops, args.kills, args.slow_seconds)
                )
            faults.report_faults(results)
            if args.json:
                write_json(args.json, "faults", faults.FaultRun(results))
            return 0 if all(r.ok for r in results) else 1
        if args.bench == "replay":
            with tempfile.TemporaryDirectory(prefix="hotline-replay-") as workdir:
                replayed = asyncio.run(replay.run_replay_bench(Path(workdir), args.calls))
            replay.report_replay(replayed)
            if args.json:
                write_json(args.json, "replay", replayed)
            return 0
        if args.bench == "bridges":
            if min(args.calls, args.repeat, args.max_sip_calls) < 1:
                raise BenchError("--calls, --repeat and --max-sip-calls must be at least 1")
            result = asyncio.run(
                bridges.run_bridges_bench(
                    args.calls, args.repeat, args.max_sip_calls, args.server_env
                )
            )
            bridges.report_bridges(result)
            if args.json:
                write_json(args.json, "bridges", result)
            return 0
        if args.bench == "narrowband":
            result = narrowband.run_narrowband_bench(
                [x.strip() for x in args.languages.split(",") if x.strip()],
                args.synthetic,
                conditions=args.conditions.split(",") if args.conditions else None,
                models=dict(_language_path(m) for m in args.model),
            )
            narrowband.report_narrowband(result)
            if args.json:
                write_json(args.json, "narrowband", result)
            return 0
        if args.bench == "engines":
            if args.seconds <= 0:
                raise BenchError("--seconds must be positive")
            engines = run_engines_bench(args.seconds)
            report_engines(engines)
            if args.json:
                write_json(args.json, "engines", engines)
        elif args.bench == "call":
            if min(args.calls, args.repeat, args.max_calls or 1) < 1:
                raise BenchError("--calls, --max-calls and --repeat must be at least 1")
            result = asyncio.run(
                calls.run_call_bench(
                    args.calls, args.max_calls, args.server_env, args.all_steps, args.repeat
                )
            )
            calls.report_calls(result)
            if args.json:
                write_json(args.json, "call", result)
            if args.svg:
                Path(args.svg).write_text(calls.cost_curve_svg(result, calls.COST_CURVE_TITLE))
                print(f"cost curve drawn in {args.svg}")
        else:
            if args.calls < 1 or args.minutes <= 0:
                raise BenchError("--calls must be at least 1 and --minutes positive")
            soak = asyncio.run(calls.run_soak(args.minutes, args.calls, args.server_env))
            calls.report_soak(soak)
            if args.json:
                write_json(args.json, "soak", soak)
    except BenchError as exc:
        print(f"hotline bench: {exc}", file=sys.stderr)
        return 1
    return 0
