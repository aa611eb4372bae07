"""A whole translated call on embedded defaults, and a caller that streams a file.

The demo starts a real server on a free loopback port, signs in a scripted Spanish-speaking
operator, and places an English call with speech made by the TTS layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np

from hotline.clients.client import CallerClient, HotlineClient, OperatorClient, stream_pcm
from hotline.config import load_config
from hotline.records import DEFAULT_FILENAME, RecordStore
from hotline.wire.vocabulary import ServerType, Speaker
from telephony import decode_audio_file, write_wav

__all__ = ["run_demo", "place_call", "wait_until_quiet"]

CALLER_LINES = [
    "The street light in front of my house is broken.",
    "It is at the corner of Main Street and Park Avenue.",
]
OPERATOR_REPLY = "Gracias. Enviaremos un técnico mañana."


async def wait_until_quiet(
    client: HotlineClient, quiet_s: float = 0.6, timeout: float = 30.0
) -> None:
    """Wait until the server has sent no audio for ``quiet_s`` (what the party hears ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = client.audio_arrivals[-1][0] if client.audio_arrivals else 0.0
        if time.monotonic() - last >= quiet_s:
            return
        await asyncio.sleep(0.1)


def _print_message(who: str, message: dict) -> None:
    kind = message["type"]
    if kind == ServerType.SAY:
        print(f"  [{who} hears] {message['text']}")
    elif kind == ServerType.CAPTION and message.get("final"):
        mark = "" if message.get("translated", True) else f"  (untranslated: {message.get('note')})"
        print(
            f"  [{who} sees] {message['speaker']}: {message.get('original')!r} → {message.get('text')!r}{mark}"
        )
    elif kind == ServerType.STATUS:
        print(
            f"  [{who}] {message['state']}"
            + (f" #{message['position']}" if "position" in message else "")
        )
    elif kind == ServerType.ERROR:
        print(f"  [{who}] error {message['code']}: {message['message']}")


async def _speech(text_lines: list[str], language: str, rate: int) -> np.ndarray:
    from hotline.engines import synthesizer

    voice = synthesizer(workers=1)
    try:
        parts = []
        for line in text_lines:
            parts.append(await voice.synthesize_async(line, language, rate))
            parts.append(np.zeros(int(1.0 * rate), dtype=np.int16))
        return np.concatenate(parts)
    finally:
        voice.close()


async def run_demo(data_dir: Path | None = None, file: str | None = None) -> int:
    from hotline.server.app import HotlineServer

    with contextlib.ExitStack() as stack:
        keep = data_dir is not None
        if data_dir is None:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="hotline-demo-"))
            )
        config = load_config(port=0, data_dir=str(data_dir))
        print("Starting the hotline (loading speech, translation and voice engines)…")
        async with HotlineServer(config) as server:
            base = f"ws://127.0.0.1:{server.port}"
            rate = 16000
            if file:
                speech = decode_audio_file(file, rate)
                speech = np.concatenate([speech, np.zeros(rate, dtype=np.int16)])
            else:
                speech = await _speech(CALLER_LINES, "en", rate)

            operator = OperatorClient(f"{base}/operator", rate)
            operator.on_message = lambda m: _print_message("operator", m)
            await operator.sign_in("ana", ["es"])
            print("Operator 'ana' (Spanish) is signed in.")

            caller = CallerClient(f"{base}/call", rate)
            caller.on_message = lambda m: _print_message("caller", m)
            ready = await caller.call("en")
            print(
                f"Caller (English) is calling: call {ready['call_id']}, reference {ready['reference']}"
            )
            await caller.connected()
            await wait_until_quiet(caller)

            start = len(operator.messages)
            await stream_pcm(caller, speech)
            await operator.wait_for(
                lambda m: (
                    m["type"] == ServerType.CAPTION
                    and m.get("final")
                    and m["speaker"] == Speaker.CALLER
                ),
                start=start,
            )
            await wait_until_quiet(operator, 0.8)
            await operator.update_record(
                kind="complaint", category="street lighting", place="Main Street and Park Avenue"
            )
            start = len(caller.messages)
            await operator.reply(OPERATOR_REPLY)
            await caller.wait_for(
                lambda m: m["type"] == ServerType.CAPTION and m["speaker"] == Speaker.OPERATOR,
                start=start,
            )
            await operator.quick_reply("registered")
            await caller.wait_for(
                lambda m: (
                    m["type"] == ServerType.CAPTION
                    and m["speaker"] == Speaker.OPERATOR
                    and ready["reference"] in m["text"]
                ),
                start=start,
            )
            await wait_until_quiet(caller, 0.8)
            await caller.hangup()
            ended = await caller.wait_for(lambda m: m["type"] == ServerType.ENDED)
            await caller.close()
            await operator.close()
            write_wav(data_dir / "demo_caller_heard.wav", caller.received_pcm(), rate)

        store = RecordStore(data_dir / DEFAULT_FILENAME)
        try:
            record = store.get(ended["call_id"])
        finally:
            store.close()
        assert record is not None
        print()
        print(
            f"Complaint record {record.call.reference} (id {record.call.id}), status {record.call.status}"
        )
        print(
            f"  kind={record.call.kind} category={record.call.category!r} place={record.call.place!r}"
        )
        print("Bilingual transcript:")
        for u in record.utterances:
            print(
                f"  {u.start_s:6.1f}s {u.speaker:8} [{u.language}] {u.original}\n"
                f"  {'':6}  {'':8} [{u.translation_language}] {u.translation}"
            )
        if keep:
            print(f"Recordings are under {data_dir / 'recordings' / record.call.id}")
    return 0


async def place_call(
    url: str, file: str, language: str, speed: float, output: str, wait: float
) -> int:
    """`hotline call`: a caller whose voice is an audio file; prints what they hear."""
    caller = CallerClient(url, 16000)
    caller.on_message = lambda m: _print_message("caller", m)
    speech = decode_audio_file(file, 16000)
    ready = await caller.call(language)
    if ready["type"] == ServerType.ERROR:
        return 2
    print(f"call {ready.get('call_id')} reference {ready.get('reference')}")
    try:
        await caller.connected(timeout=600)
    except (TimeoutError, ConnectionError):
        print("the call was not connected to an operator")
        await caller.close()
        return 1
    await wait_until_quiet(caller)
    await stream_pcm(caller, speech, speed=speed)
    await stream_pcm(caller, np.zeros(int(wait * 16000), dtype=np.int16), speed=1.0)
    await caller.hangup()
    with contextlib.suppress(TimeoutError, ConnectionError):
        await caller.wait_for(lambda m: m["type"] == ServerType.ENDED, timeout=10)
    await caller.close()
    write_wav(output, caller.received_pcm(), 16000)
    print(f"saved what the caller heard to {output}")
    return 0
