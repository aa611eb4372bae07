"""A whole translated call on embedded defaults, and a caller that streams a file.

The demo starts a real server on a free loopback port, signs in a scripted Spanish-speaking
operator, and places an English call with speech made by the TTS layer: on the browser's
protocol, or (``--via``) through Twilio Media Streams or Asterisk AudioSocket with the
project's own peers, or from a real SIP phone (baresip).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from hotline.accounts import AccountStore
from hotline.clients.client import CallerClient, HotlineClient, OperatorClient, stream_pcm
from hotline.clients.phone import AudioSocketCaller, Baresip, TwilioCaller, free_port
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
DEMO_OPERATOR = "ana"


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


VIAS = ("web", "twilio", "audiosocket", "sip")
PHONE_RATE = 8000


class _WebCaller:
    """The caller on the browser's protocol (``/call``)."""

    def __init__(self, server, rate: int) -> None:
        self.client = CallerClient(f"ws://127.0.0.1:{server.port}/call", rate)
        self.client.on_message = lambda m: _print_message("caller", m)
        self.rate = rate

    async def start(self) -> None:
        ready = await self.client.call("en")
        print(f"Caller (English, web) is calling: reference {ready['reference']}")
        await self.client.connected()
        await wait_until_quiet(self.client)

    async def speak(self, speech: np.ndarray) -> None:
        await stream_pcm(self.client, speech)

    async def heard_everything(self) -> None:
        await wait_until_quiet(self.client, 0.8)

    async def hang_up(self) -> None:
        await self.client.hangup()
        await self.client.wait_for(lambda m: m["type"] == ServerType.ENDED)
        await self.client.close()

    def heard(self) -> np.ndarray:
        return self.client.received_pcm()


class _TwilioCaller:
    """The caller on the phone network, through Twilio Media Streams (``/twilio``)."""

    def __init__(self, server, rate: int) -> None:
        self.phone = TwilioCaller(
            f"ws://127.0.0.1:{server.port}/twilio", caller="+15551234567", language="en"
        )
        self.rate = PHONE_RATE

    async def start(self) -> None:
        await self.phone.connect()
        print("Caller (English, phone) is calling through Twilio Media Streams.")
        await _until(lambda: any(n.endswith("-connected") for n in self.phone.marks_echoed))

    async def speak(self, speech: np.ndarray) -> None:
        await self.phone.say(speech)

    async def heard_everything(self) -> None:
        await _until(lambda: not self.phone._echoes and self.phone.of("mark"))
        await asyncio.sleep(0.5)
        await _until(lambda: not self.phone._echoes)

    async def hang_up(self) -> None:
        await self.phone.hang_up()

    def heard(self) -> np.ndarray:
        return self.phone.heard()


class _AudioSocketCaller:
    """The caller through an Asterisk PBX, over AudioSocket."""

    def __init__(self, server, rate: int) -> None:
        assert server.audiosocket is not None
        self.phone = AudioSocketCaller("127.0.0.1", server.audiosocket.port)
        self.rate = PHONE_RATE

    async def start(self) -> None:
        await self.phone.connect()
        print("Caller (English, phone) is calling through Asterisk AudioSocket.")
        await _quiet_line(lambda: self.phone.frames_received, 5.0)

    async def speak(self, speech: np.ndarray) -> None:
        await self.phone.say(speech)

    async def heard_everything(self) -> None:
        await _quiet_line(lambda: self.phone.frames_received)

    async def hang_up(self) -> None:
        await self.phone.hang_up()

    def heard(self) -> np.ndarray:
        return self.phone.heard()


class _SipCaller:
    """The caller on a real SIP phone (baresip) calling the hotline's SIP port."""

    LEAD_S = 9.0

    def __init__(self, server, rate: int) -> None:
        assert server.sip is not None
        self.uri = f"sip:en@127.0.0.1:{server.sip.port}"
        self.rate = PHONE_RATE
        self.phone: Baresip | None = None

    async def start(self) -> None:
        print(f"Caller (English, SIP phone) is dialling {self.uri} with baresip.")

    async def speak(self, speech: np.ndarray) -> None:
        # baresip plays its microphone file from the moment the call is answered.
        silence = np.zeros(int(self.LEAD_S * PHONE_RATE), dtype=np.int16)
        tail = np.zeros(60 * PHONE_RATE, dtype=np.int16)
        self.phone = Baresip(np.concatenate([silence, speech, tail]))
        await self.phone.start()
        await self.phone.dial(self.uri)
        await self.phone.wait_event("CALL_ESTABLISHED")

    async def heard_everything(self) -> None:
        await asyncio.sleep(8.0)

    async def hang_up(self) -> None:
        assert self.phone is not None
        await self.phone.hang_up()
        await self.phone.stop()

    def heard(self) -> np.ndarray:
        return self.phone.heard() if self.phone is not None else np.zeros(0, dtype=np.int16)


async def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _quiet_line(count, quiet_s: float = 1.0, timeout: float = 60.0) -> None:
    """Until a paced line has carried nothing new for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if count() != last:
            last, since = count(), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


async def run_demo(data_dir: Path | None = None, file: str | None = None, via: str = "web") -> int:
    """A whole translated call on embedded defaults, placed through ``via``: the browser's
    protocol, or a phone network (Twilio Media Streams, Asterisk AudioSocket, a SIP phone)."""
    from hotline.server.app import HotlineServer

    if via not in VIAS:
        raise ValueError(f"--via must be one of {', '.join(VIAS)}, not {via!r}")
    with contextlib.ExitStack() as stack:
        keep = data_dir is not None
        if data_dir is None:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="hotline-demo-"))
            )
        config = load_config(environ={}, port=0, data_dir=str(data_dir))
        if via == "audiosocket":
            config.audiosocket.port = free_port(socket.SOCK_STREAM)
            config.audiosocket.language = "en"
        elif via == "sip":
            config.sip.port = free_port(socket.SOCK_DGRAM)
        password = secrets.token_urlsafe(12)
        with AccountStore.in_data_dir(data_dir) as accounts:
            if accounts.get(DEMO_OPERATOR) is None:
                accounts.add(DEMO_OPERATOR, password, ["es"], display_name="Ana")
            else:
                accounts.set_password(DEMO_OPERATOR, password)
        print("Starting the hotline (loading speech, translation and voice engines)…")
        async with HotlineServer(config) as server:
            operator = OperatorClient(f"ws://127.0.0.1:{server.port}/operator", 16000)
            operator.on_message = lambda m: _print_message("operator", m)
            # A phone line streams silence all the time; the operator would hear it as the
            # caller's voice underneath and never a quiet moment.
            await operator.sign_in(
                DEMO_OPERATOR, ["es"], password=password, hear_original=via == "web"
            )
            print("Operator 'ana' (Spanish) is signed in.")

            callers = {
                "web": _WebCaller,
                "twilio": _TwilioCaller,
                "audiosocket": _AudioSocketCaller,
                "sip": _SipCaller,
            }
            caller = callers[via](server, 16000)
            if file:
                speech = decode_audio_file(file, caller.rate)
                speech = np.concatenate([speech, np.zeros(caller.rate, dtype=np.int16)])
            else:
                speech = await _speech(CALLER_LINES, "en", caller.rate)
            await caller.start()
            start = len(operator.messages)
            await caller.speak(speech)
            connected = await operator.wait_for(
                lambda m: m["type"] == ServerType.CONNECTED, timeout=120
            )
            said = 1 if file else len(CALLER_LINES)
            await operator.wait_for(
                lambda m: (
                    sum(
                        x["type"] == ServerType.CAPTION
                        and x.get("final")
                        and x["speaker"] == Speaker.CALLER
                        for x in operator.messages[start:]
                    )
                    >= said
                ),
                start=start,
                timeout=120,
            )
            await wait_until_quiet(operator, 0.8)
            await operator.update_record(
                kind="complaint", category="street lighting", place="Main Street and Park Avenue"
            )
            start = len(operator.messages)
            await operator.reply(OPERATOR_REPLY)
            await operator.wait_for(lambda m: m["type"] == ServerType.REPLY_SENT, start=start)
            await operator.quick_reply("registered")
            await operator.wait_for(
                lambda m: (
                    m["type"] == ServerType.REPLY_SENT and connected["reference"] in m["text"]
                ),
                start=start,
            )
            await caller.heard_everything()
            await caller.hang_up()
            await operator.wait_for(lambda m: m["type"] == ServerType.ENDED, timeout=30)
            await operator.close()
            heard = caller.heard()
            write_wav(data_dir / "demo_caller_heard.wav", heard, caller.rate)
            if via != "web":
                print(f"  [caller's phone] heard {len(heard) / caller.rate:.1f} s of the hotline")

        store = RecordStore(data_dir / DEFAULT_FILENAME)
        try:
            record = store.get(connected["call_id"])
        finally:
            store.close()
        assert record is not None
        print()
        print(
            f"Complaint record {record.call.reference} (id {record.call.id}), status "
            f"{record.call.status}, channel {record.call.channel}"
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
