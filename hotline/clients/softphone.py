"""``hotline softphone``: a caller or an operator at a desk, talking through the sound card.

The microphone reaches the call through a send gate (voice-activated by default, or
push-to-talk toggled with Enter); what the call sends back plays on the speaker. Captions
print as they arrive. A typed line is a reply (operator) or text (caller); ``/`` starts a
command. On a terminal, the last line is live: the microphone level and the newest partial
caption, rewritten in place.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import logging
import os
import shutil
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from hotline.clients.client import CallerClient, HotlineClient, OperatorClient
from hotline.wire.vocabulary import SAMPLE_RATES, CallState, ServerType

if TYPE_CHECKING:  # sounddevice loads PortAudio on import; `main` reports when it cannot
    from hotline.clients.softphone_audio import Microphone, Speaker

__all__ = [
    "SoftphoneSettings",
    "add_arguments",
    "caption_line",
    "main",
    "run_softphone",
    "settings_from_args",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "ws://127.0.0.1:8765"
CONNECT_TIMEOUT_S = 15.0
HANGUP_TIMEOUT_S = 5.0
DRAIN_TIMEOUT_S = 5.0
AUDIO_TICK_S = 0.02
LIVE_REDRAW_S = 0.1
QUIET_FLUSH_S = 0.15
QUEUED_LINES = 32
PASSWORD_VARIABLE = "HOTLINE_OPERATOR_PASSWORD"

CALLER_HELP = "type text to send it; /hangup ends the call; a digit answers the language menu"
OPERATOR_HELP = (
    "type a reply to send it; /hangup, /quick ID [key=value…], /available on|off, "
    "/accept [CALL_ID], /quit"
)


@dataclass(slots=True)
class SoftphoneSettings:
    """Everything one softphone session is started with."""

    role: str
    url: str = DEFAULT_URL
    language: str | None = None
    languages: list[str] = field(default_factory=list)
    name: str = "operator"
    input_device: str | None = None
    output_device: str | None = None
    rate: int = 16000
    device_rate: int | None = None
    ptt: bool = False
    threshold_dbfs: float = -40.0
    hang_ms: int = 800
    auto_accept: bool = True
    captions_only: bool = False
    hear_original: bool = True

    def endpoint(self) -> str:
        """``--url`` as given when it names a path, else the role's endpoint on that server."""
        parts = urlsplit(self.url)
        if parts.path in ("", "/"):
            parts = parts._replace(path="/call" if self.role == "caller" else "/operator")
        return urlunsplit(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``softphone`` options; also makes `main` the parser's ``func``."""
    parser.add_argument("--role", choices=["caller", "operator"], help="who you are on the call")
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the hotline server; /call or /operator is added (default {DEFAULT_URL})",
    )
    parser.add_argument("--lang", help="caller: your language (without it, the spoken menu)")
    parser.add_argument(
        "--languages",
        nargs="+",
        default=[],
        metavar="LANG",
        help="operator: the languages you speak (space- or comma-separated)",
    )
    parser.add_argument(
        "--name",
        default="operator",
        help=f"operator: your account name (its password is read from ${PASSWORD_VARIABLE})",
    )
    parser.add_argument("--list-devices", action="store_true", help="list sound devices and exit")
    parser.add_argument("--input", metavar="DEVICE", help="microphone: number or name")
    parser.add_argument("--output", metavar="DEVICE", help="speaker: number or name")
    parser.add_argument(
        "--rate",
        type=int,
        default=16000,
        choices=SAMPLE_RATES,
        help="the call's sample rate (default 16000)",
    )
    parser.add_argument(
        "--device-rate",
        type=int,
        help="open the sound card at this rate and resample (default: the call's rate "
        "where the card takes it, else the card's own rate)",
    )
    parser.add_argument(
        "--ptt", action="store_true", help="push-to-talk: Enter toggles talking (default: voice)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=-40.0,
        metavar="DBFS",
        help="voice-activated sending opens above this level (default -40 dBFS)",
    )
    parser.add_argument(
        "--hang-ms",
        type=int,
        default=800,
        help="voice-activated sending stays open this long after the voice stops",
    )
    parser.add_argument(
        "--manual-accept", action="store_true", help="operator: take calls with /accept"
    )
    parser.add_argument(
        "--captions-only", action="store_true", help="operator: no translated speech"
    )
    parser.add_argument(
        "--no-original",
        action="store_true",
        help="operator: do not hear the caller's own voice under the translation",
    )
    parser.set_defaults(func=main)


def settings_from_args(args: argparse.Namespace) -> SoftphoneSettings:
    """Check the options that argparse cannot; raises ValueError with a user-facing reason."""
    if args.role is None:
        raise ValueError("--role caller|operator is required")
    languages = [lang for item in args.languages for lang in item.replace(",", " ").split()]
    if args.role == "operator" and not os.environ.get(PASSWORD_VARIABLE):
        raise ValueError(
            f"an operator signs in with an account: put its password in ${PASSWORD_VARIABLE}"
            " (--languages may narrow the account's languages)"
        )
    if args.device_rate is not None and args.device_rate <= 0:
        raise ValueError(f"--device-rate must be positive, got {args.device_rate}")
    return SoftphoneSettings(
        role=args.role,
        url=args.url,
        language=args.lang,
        languages=languages,
        name=args.name,
        input_device=args.input,
        output_device=args.output,
        rate=args.rate,
        device_rate=args.device_rate,
        ptt=args.ptt,
        threshold_dbfs=args.threshold,
        hang_ms=args.hang_ms,
        auto_accept=not args.manual_accept,
        captions_only=args.captions_only,
        hear_original=not args.no_original,
    )


def caption_line(message: dict[str, Any]) -> str:
    """A caption as one line: who spoke, what they said, and the translation."""
    speaker = message.get("speaker", "?")
    original = (message.get("original") or "").strip()
    text = (message.get("text") or "").strip()
    if message.get("translated") is False:
        return f"{speaker}: {original or text}  [{message.get('note') or 'untranslated'}]"
    if text and original and text != original:
        return f"{speaker}: {original} → {text}"
    return f"{speaker}: {text or original}"


class Screen:
    """Finished lines scroll; on a terminal one live line stays at the bottom and is
    rewritten in place: the level meter, the newest partial caption, and the line being
    typed, last, where the cursor is."""

    def __init__(self, out: TextIO, live: bool) -> None:
        self.out = out
        self.live = live
        self._live_text = ""

    def print(self, text: str) -> None:
        if self.live:
            self.out.write(f"\r\x1b[K{text}\n{self._live_text}")
        else:
            self.out.write(f"{text}\n")
        self.out.flush()

    def show_live(self, status: str, draft: str = "") -> None:
        if not self.live:
            return
        width = max(20, shutil.get_terminal_size().columns - 1)
        typed = f"> {draft}"[-(width - 10) :] if draft else ""
        text = status[: width - len(typed) - 1] + (f" {typed}" if typed else "")
        if text != self._live_text:
            self._live_text = text
            self.out.write(f"\r\x1b[K{text}")
            self.out.flush()

    def close(self) -> None:
        if self.live and self._live_text:
            self._live_text = ""
            self.out.write("\r\x1b[K")
            self.out.flush()


class Keyboard:
    """Lines the user types, then None at the end of input, read by a daemon thread (a
    blocking read never reaches the loop, and the thread never holds up exit).

    On a terminal, keys are read one at a time with echo off, so the line being typed
    (``draft``) is drawn inside the live line instead of being wiped by it; Ctrl-C still
    interrupts. Enter, Backspace, Ctrl-U and Ctrl-D (on an empty line) are understood.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.lines: asyncio.Queue[str | None] = asyncio.Queue(QUEUED_LINES)
        self.draft = ""
        self.interactive = self.stream.isatty()
        self.on_change: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved_mode: list[Any] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.interactive:
            fd = self.stream.fileno()
            self._saved_mode = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        pump = self._read_keys if self.interactive else self._read_lines
        threading.Thread(target=pump, name="softphone-keyboard", daemon=True).start()

    def close(self) -> None:
        """Give the terminal its usual mode back."""
        if self._saved_mode is not None:
            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved_mode)
            self._saved_mode = None

    def _put(self, line: str | None) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self.lines.put(line), self._loop).result()

    def _changed(self) -> None:
        if self.on_change is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self.on_change)

    def _read_lines(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the softphone is done
            for line in self.stream:
                self._put(line)
            self._put(None)

    def _read_keys(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = self.stream.fileno()
        in_escape = False
        with contextlib.suppress(RuntimeError, OSError):
            while data := os.read(fd, 1024):
                for key in decoder.decode(data):
                    if in_escape:  # arrow and function keys: ESC [ ... letter
                        in_escape = not (key.isalpha() or key == "~")
                    elif key == "\x1b":
                        in_escape = True
                    elif key in "\r\n":
                        line, self.draft = self.draft, ""
                        self._put(line)
                    elif key in "\x7f\b":
                        self.draft = self.draft[:-1]
                    elif key == "\x15":
                        self.draft = ""
                    elif key == "\x04" and not self.draft:
                        self._put(None)
                        return
                    elif key.isprintable():
                        self.draft += key
                    self._changed()
            self._put(None)


class Softphone:
    """One session: the protocol client, the sound card, the screen and the tasks between
    them. It owns those tasks and cancels them when the call (caller) or the session
    (operator) ends."""

    def __init__(
        self,
        settings: SoftphoneSettings,
        client: HotlineClient,
        microphone: Microphone,
        speaker: Speaker,
        screen: Screen,
        keyboard: Keyboard,
    ) -> None:
        from hotline.clients.softphone_audio import LevelMeter, PushToTalkGate, VoiceGate

        self.settings = settings
        self.client = client
        self.microphone = microphone
        self.speaker = speaker
        self.screen = screen
        self.keyboard = keyboard
        self.meter = LevelMeter()
        self.gate = (
            PushToTalkGate(microphone.frame_ms)
            if settings.ptt
            else VoiceGate(
                microphone.frame_ms,
                threshold_dbfs=settings.threshold_dbfs,
                hang_ms=settings.hang_ms,
            )
        )
        self.is_caller = settings.role == "caller"
        self.can_send_audio = False
        self.in_call = False
        self.menu = False
        self.partial = ""
        self.queue: list[dict[str, Any]] = []
        self.done = asyncio.Event()
        self.exit_code = 0
        self._hanging_up = False
        self._speaker_fed = False
        self._last_audio_at = 0.0
        self._failure: BaseException | None = None

    async def run(self) -> int:
        self.client.on_message = self._on_message
        self.microphone.start()
        self.speaker.start()
        tasks: list[asyncio.Task] = []
        try:
            first = await self._connect()
            if first["type"] == ServerType.ERROR:
                self.screen.print(f"refused: {first.get('code')}: {first.get('message')}")
                return 1
            tasks = [
                asyncio.create_task(self._send_microphone(), name="microphone"),
                asyncio.create_task(self._play_incoming(), name="speaker"),
                asyncio.create_task(self._read_lines(), name="keyboard"),
                asyncio.create_task(self._watch_connection(), name="connection"),
            ]
            if self.screen.live:
                self.keyboard.on_change = self._redraw
                tasks.append(asyncio.create_task(self._keep_redrawing(), name="live line"))
            for task in tasks:
                task.add_done_callback(self._task_ended)
            await self.done.wait()
            if self._failure is not None:
                raise self._failure
            self._take_audio()
            await self.speaker.drain(DRAIN_TIMEOUT_S)
            return self.exit_code
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await asyncio.wait_for(self._end_gracefully(), HANGUP_TIMEOUT_S)
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                log.warning("softphone: could not hang up cleanly: %r", exc)
            self.microphone.close()
            self.speaker.close()
            self.screen.close()

    def _task_ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()
            self.done.set()

    async def _connect(self) -> dict[str, Any]:
        s = self.settings
        if isinstance(self.client, CallerClient):
            coro = self.client.call(s.language)
        else:
            assert isinstance(self.client, OperatorClient)
            password = os.environ.get(PASSWORD_VARIABLE)
            coro = self.client.sign_in(
                s.name,
                s.languages,
                auto_accept=s.auto_accept,
                captions_only=s.captions_only,
                hear_original=s.hear_original,
                **({"password": password} if password else {}),
            )
        return await asyncio.wait_for(coro, CONNECT_TIMEOUT_S)

    async def _end_gracefully(self) -> None:
        talking = self.in_call or (self.is_caller and self.can_send_audio)
        if talking and not self.client.closed.is_set():
            await self.client.hangup()
        await self.client.close()

    def _finish(self, code: int = 0) -> None:
        self.exit_code = code
        self.done.set()

    def _on_message(self, m: dict[str, Any]) -> None:
        """Called by the client's reader for every text message, in arrival order."""
        self._take_audio()
        kind = m["type"]
        if kind == ServerType.CAPTION:
            if m.get("final"):
                self.partial = ""
                self.screen.print(caption_line(m))
            else:
                self.partial = caption_line(m)
        elif kind == ServerType.CLEAR:
            del self.client.audio[:]
            self.speaker.clear()
        elif kind == ServerType.SAY and not m.get("utterance_id"):
            self.screen.print(f"» {m['text']}")
        elif kind == ServerType.ERROR:
            self.screen.print(f"error {m.get('code')}: {m.get('message')}")
            if m.get("fatal"):
                self._finish(1)
        elif self.is_caller:
            self._on_caller_message(m)
        else:
            self._on_operator_message(m)

    def _on_caller_message(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == ServerType.MENU:
            self.menu = True
            options = ", ".join(f"{o['digit']} {o['name']}" for o in m.get("options", []))
            self.screen.print(f"language menu: {options} (type a digit)")
        elif kind == ServerType.READY:
            self.menu = False
            self.can_send_audio = True
            self.screen.print(
                f"call {m['call_id']}, reference {m['reference']} ({m.get('language')})"
            )
        elif kind == ServerType.STATUS:
            state = m.get("state")
            if state == CallState.CONNECTED:
                self.in_call = True
                self.screen.print(f"connected to an operator ({m.get('operator_language')})")
            elif state == CallState.QUEUED:
                self.screen.print(f"waiting for an operator: number {m.get('position')}")
            else:
                self.screen.print(f"status: {state}")
        elif kind == ServerType.ENDED:
            self.in_call = self.can_send_audio = False
            self.screen.print(f"call ended ({m.get('status')}); reference {m.get('reference')}")
            self._finish(0)

    def _on_operator_message(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == ServerType.READY:
            langs = ", ".join(m.get("languages", []))
            self.screen.print(f"signed in as {m.get('operator')} ({langs}); {OPERATOR_HELP}")
        elif kind == ServerType.QUEUE:
            calls = m.get("calls", [])
            if [c["call_id"] for c in calls] != [c["call_id"] for c in self.queue]:
                waiting = ", ".join(f"{c['language']} {c['waiting_s']:.0f}s" for c in calls)
                self.screen.print(
                    f"queue: {len(calls)} waiting" + (f": {waiting}" if calls else "")
                )
            self.queue = calls
        elif kind == ServerType.CONNECTED:
            self.in_call = self.can_send_audio = True
            self.screen.print(
                f"call {m['call_id']}, reference {m['reference']}: caller speaks "
                f"{m.get('caller_language')}, you {m.get('operator_language')}; "
                f"quick replies: {', '.join(m.get('quick_replies', []))}"
            )
        elif kind == ServerType.REPLY_SENT:
            self.screen.print(caption_line({**m, "speaker": "you"}))
        elif kind == ServerType.PREVIEW:
            self.screen.print(f"preview: {m.get('text')} → {m.get('translation')}")
        elif kind == ServerType.RECORD_SAVED:
            self.screen.print("record saved")
        elif kind == ServerType.ENDED:
            self.in_call = self.can_send_audio = False
            self.partial = ""
            self.screen.print(f"call {m.get('reference')} ended; waiting for the next call")

    def _take_audio(self) -> None:
        """Move what the client has received to the speaker. The client keeps all audio for
        its tests; emptying it here keeps a long call's memory flat."""
        if not self.client.audio:
            return
        from telephony import pcm_from_bytes

        data = bytes(self.client.audio)
        del self.client.audio[:]
        self.client.audio_arrivals.clear()
        self.speaker.play(pcm_from_bytes(data))
        self._speaker_fed = True
        self._last_audio_at = time.monotonic()

    async def _play_incoming(self) -> None:
        while True:
            self._take_audio()
            if self._speaker_fed and time.monotonic() - self._last_audio_at > QUIET_FLUSH_S:
                self.speaker.finish()
                self._speaker_fed = False
            await asyncio.sleep(AUDIO_TICK_S)

    async def _send_microphone(self) -> None:
        async for frame in self.microphone.frames():
            level = self.meter.update(frame)
            for out in self.gate.admit(frame, level):
                if self.can_send_audio:
                    try:
                        await self.client.send_audio(out)
                    except ConnectionClosed:
                        return

    async def _watch_connection(self) -> None:
        await self.client.closed.wait()
        if not self.done.is_set():
            self.screen.print("the server closed the connection")
            self._finish(0 if self._hanging_up else 1)

    def _redraw(self) -> None:
        if self.settings.ptt:
            state = "TALKING" if self.gate.sending else "Enter to talk"
        else:
            state = "sending" if self.gate.sending else "listening"
        live = f"mic {self.meter.bar(16)} {state}"
        if self.partial:
            live += f" | {self.partial}"
        self.screen.show_live(live, self.keyboard.draft)

    async def _keep_redrawing(self) -> None:
        while True:
            self._redraw()
            await asyncio.sleep(LIVE_REDRAW_S)

    async def _read_lines(self) -> None:
        while True:
            line = await self.keyboard.lines.get()
            if line is None:
                if self.keyboard.interactive:
                    await self._handle_line("/quit")
                return
            if self.keyboard.interactive and line.strip():
                self.screen.print(f"> {line.strip()}")
            await self._handle_line(line.strip())

    async def _handle_line(self, line: str) -> None:
        if not line:
            if self.settings.ptt:
                talking = self.gate.toggle()
                self.screen.print("talking" if talking else "not talking")
            return
        command, _, rest = line.partition(" ")
        if command in ("/hangup", "/quit"):
            await self._hang_up(quit=command == "/quit")
        elif command == "/help":
            self.screen.print(CALLER_HELP if self.is_caller else OPERATOR_HELP)
        elif self.is_caller:
            await self._caller_line(line, command, rest.strip())
        else:
            await self._operator_line(line, command, rest.strip())

    async def _hang_up(self, quit: bool) -> None:
        if self.is_caller or quit:
            self._hanging_up = True
        if self.in_call or (self.is_caller and self.can_send_audio):
            await self.client.hangup()
            if not self.is_caller:
                self.in_call = False  # the server's "ended" follows; /quit does not wait for it
            if self.is_caller:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.done.wait(), HANGUP_TIMEOUT_S)
        elif not quit and not self.is_caller:
            self.screen.print("no call to hang up")
        if quit or self.is_caller:
            self._finish(0)

    async def _caller_line(self, line: str, command: str, rest: str) -> None:
        assert isinstance(self.client, CallerClient)
        if command == "/dtmf" or (self.menu and len(line) == 1 and line in "0123456789*#"):
            await self.client.dtmf(rest or line)
        elif line.startswith("/"):
            self.screen.print(f"unknown command {command}; {CALLER_HELP}")
        elif self.in_call:
            await self.client.type_text(line)
        else:
            self.screen.print("not connected to an operator yet; the text was not sent")

    async def _operator_line(self, line: str, command: str, rest: str) -> None:
        assert isinstance(self.client, OperatorClient)
        if command == "/quick":
            reply_id, *pairs = rest.split()
            params = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
            await self.client.quick_reply(reply_id, **params)
        elif command == "/available" and rest in ("on", "off"):
            await self.client.set_available(rest == "on")
            self.screen.print(f"available: {rest}")
        elif command == "/accept":
            call_id = rest or (self.queue[0]["call_id"] if self.queue else "")
            if call_id:
                await self.client.accept(call_id)
            else:
                self.screen.print("no call is waiting")
        elif line.startswith("/"):
            self.screen.print(f"unknown command {command}; {OPERATOR_HELP}")
        elif self.in_call:
            await self.client.reply(line)
        else:
            self.screen.print("no call; the reply was not sent")


async def run_softphone(
    settings: SoftphoneSettings,
    *,
    keyboard: Keyboard | None = None,
    out: TextIO | None = None,
) -> int:
    """Run one session until the call ends (caller) or the operator quits; returns the exit
    status. ``keyboard`` reads stdin unless given."""
    from hotline.clients.softphone_audio import Microphone, Speaker, find_device

    out = out or sys.stdout
    screen = Screen(out, live=out.isatty())
    microphone = Microphone(
        find_device(settings.input_device, "input"), settings.rate, device_rate=settings.device_rate
    )
    speaker = Speaker(
        find_device(settings.output_device, "output"),
        settings.rate,
        device_rate=settings.device_rate,
    )
    for what, device, way in (("microphone", microphone, "to"), ("speaker", speaker, "from")):
        resampled = f", resampled {way} {settings.rate} Hz" if device.resampling else ""
        screen.print(f"{what}: {device.device.name} at {device.device_rate} Hz{resampled}")
    if settings.ptt:
        screen.print("push-to-talk: press Enter to start and stop talking")
    client_type = CallerClient if settings.role == "caller" else OperatorClient
    client = client_type(settings.endpoint(), settings.rate)
    keyboard = keyboard or Keyboard()
    keyboard.start()
    try:
        phone = Softphone(settings, client, microphone, speaker, screen, keyboard)
        return await phone.run()
    finally:
        keyboard.close()


def main(args: argparse.Namespace) -> int:
    """``hotline softphone``; returns the exit status."""
    try:
        from hotline.clients import softphone_audio
    except OSError as exc:  # sounddevice could not load PortAudio
        print(f"hotline softphone: error: no sound support: {exc}", file=sys.stderr)
        return 2
    if args.list_devices:
        print(softphone_audio.format_devices(softphone_audio.list_devices()))
        return 0
    try:
        settings = settings_from_args(args)
        return asyncio.run(run_softphone(settings))
    except (ValueError, softphone_audio.AudioDeviceError) as exc:
        print(f"hotline softphone: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError, InvalidURI, InvalidHandshake) as exc:
        print(f"hotline softphone: error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="hotline softphone", description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
