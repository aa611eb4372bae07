"""Sound-card audio for the terminal softphone, on sounddevice (PortAudio).

A call runs at one rate, the one declared in ``hello``; a sound card runs at whatever rate it
can open at. `Microphone` and `Speaker` open the card at the call rate when it accepts that
rate and otherwise at the card's own rate, and resample with `StreamResampler` in between, so
the rest of the softphone only ever sees mono int16 at the call rate. `LevelMeter`,
`VoiceGate` and `PushToTalkGate` work on those frames and touch no device.
"""

from __future__ import annotations

import asyncio
import collections
import math
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sounddevice as sd

from telephony.frames import SILENCE_DBFS, Framer, as_pcm, rms_dbfs
from telephony.resample import StreamResampler

__all__ = [
    "AudioDevice",
    "AudioDeviceError",
    "DeviceKind",
    "LevelMeter",
    "Microphone",
    "PlaybackBuffer",
    "PushToTalkGate",
    "Speaker",
    "VoiceGate",
    "choose_rate",
    "find_device",
    "format_devices",
    "list_devices",
    "rescan_devices",
]

DeviceKind = Literal["input", "output"]


class AudioDeviceError(RuntimeError):
    """A sound device that does not exist, is ambiguous, or cannot be opened as asked."""


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """One PortAudio device as the softphone needs it."""

    index: int
    name: str
    host_api: str
    inputs: int
    outputs: int
    default_rate: int
    default_input: bool = False
    default_output: bool = False

    def channels(self, kind: DeviceKind) -> int:
        return self.inputs if kind == "input" else self.outputs


def rescan_devices() -> None:
    """Make PortAudio list the devices again: it lists them once, when it starts, so a sound
    server started later (PulseAudio in a test, a headset plugged in) is not seen otherwise.
    Every stream must be closed first."""
    sd._terminate()
    sd._initialize()


def _default_index(kind: DeviceKind) -> int:
    try:
        index = sd.default.device[0 if kind == "input" else 1]
        if index is None or index < 0:
            index = sd.query_devices(kind=kind)["index"]
        return int(index)
    except (sd.PortAudioError, ValueError, TypeError, KeyError):
        return -1


def list_devices() -> list[AudioDevice]:
    """Every device PortAudio offers, with the defaults marked."""
    host_apis = [api["name"] for api in sd.query_hostapis()]
    default_in, default_out = _default_index("input"), _default_index("output")
    return [
        AudioDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            host_api=host_apis[info["hostapi"]],
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            default_rate=int(round(info["default_samplerate"])),
            default_input=info["index"] == default_in,
            default_output=info["index"] == default_out,
        )
        for info in sd.query_devices()
    ]


def format_devices(devices: list[AudioDevice]) -> str:
    """The table printed by ``--list-devices``; ``>`` marks the default input, ``<`` the output."""
    if not devices:
        return "no sound devices found (is an audio server running? see PULSE_SERVER)"
    rows = [f"{'':2}{'#':>3}  {'name':32} {'host':6} {'in':>3} {'out':>4} {'rate':>7}"]
    for d in devices:
        mark = (">" if d.default_input else " ") + ("<" if d.default_output else " ")
        rows.append(
            f"{mark}{d.index:>3}  {d.name[:32]:32} {d.host_api[:6]:6} "
            f"{d.inputs:>3} {d.outputs:>4} {d.default_rate:>7}"
        )
    return "\n".join(rows)


def find_device(spec: str | int | None, kind: DeviceKind) -> AudioDevice:
    """The device named by ``--input``/``--output``: an index, an exact name, or a unique part
    of a name; None is the system default for ``kind``."""
    devices = [d for d in list_devices() if d.channels(kind) > 0]
    if not devices:
        raise AudioDeviceError(f"no {kind} sound device found (is an audio server running?)")
    if spec is None or spec == "":
        index = _default_index(kind)
        chosen = next((d for d in devices if d.index == index), None)
        if chosen is None:
            raise AudioDeviceError(f"no default {kind} device; pick one with --{kind}")
        return chosen
    text = str(spec).strip()
    if text.isdigit():
        chosen = next((d for d in devices if d.index == int(text)), None)
        if chosen is None:
            raise AudioDeviceError(f"no {kind} device number {text}; see --list-devices")
        return chosen
    exact = [d for d in devices if d.name.casefold() == text.casefold()]
    if exact:
        return exact[0]
    partial = [d for d in devices if text.casefold() in d.name.casefold()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise AudioDeviceError(f"no {kind} device matches {text!r}; see --list-devices")
    names = ", ".join(repr(d.name) for d in partial)
    raise AudioDeviceError(f"{text!r} matches several {kind} devices: {names}")


def _check(device: AudioDevice, kind: DeviceKind, rate: int, channels: int) -> bool:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=rate, channels=channels, dtype="int16")
    except (sd.PortAudioError, ValueError):
        return False
    return True


def _channels(device: AudioDevice, kind: DeviceKind, rate: int) -> int:
    """Mono where the device takes it; some hardware opens only in stereo."""
    for channels in (1, 2):
        if channels <= device.channels(kind) and _check(device, kind, rate, channels):
            return channels
    raise AudioDeviceError(f"{device.name!r} cannot open for {kind} in mono or stereo at {rate} Hz")


def choose_rate(device: AudioDevice, kind: DeviceKind, wanted: int) -> int:
    """``wanted`` when the device opens at it, else the device's own default rate."""
    for rate in (wanted, device.default_rate):
        if any(n <= device.channels(kind) and _check(device, kind, rate, n) for n in (1, 2)):
            return rate
    raise AudioDeviceError(
        f"{device.name!r} opens for {kind} neither at {wanted} Hz nor at its default "
        f"{device.default_rate} Hz"
    )


class LevelMeter:
    """The microphone level for the terminal: dBFS of the newest frame and a peak that holds
    for ``hold_s`` and then falls back to the level."""

    def __init__(self, floor_dbfs: float = -60.0, hold_s: float = 1.0) -> None:
        self.floor_dbfs = floor_dbfs
        self.hold_s = hold_s
        self.level_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self._peak_at = 0.0

    def update(self, pcm: np.ndarray, now: float | None = None) -> float:
        """Measure one frame; returns its level in dBFS."""
        now = time.monotonic() if now is None else now
        self.level_dbfs = rms_dbfs(pcm)
        if self.level_dbfs >= self.peak_dbfs or now - self._peak_at > self.hold_s:
            self.peak_dbfs = self.level_dbfs
            self._peak_at = now
        return self.level_dbfs

    def bar(self, width: int = 20) -> str:
        """``[#########|.....]  -23 dBFS``: the level from the floor to 0 dBFS, ``|`` at the peak."""

        def cells(dbfs: float) -> int:
            share = (max(dbfs, self.floor_dbfs) - self.floor_dbfs) / -self.floor_dbfs
            return min(width, max(0, math.floor(share * width + 0.5)))

        chars = ["#"] * cells(self.level_dbfs) + ["."] * (width - cells(self.level_dbfs))
        peak = cells(self.peak_dbfs)
        if 0 < peak <= width and peak > cells(self.level_dbfs):
            chars[peak - 1] = "|"
        shown = "-inf" if self.level_dbfs <= SILENCE_DBFS else f"{self.level_dbfs:4.0f}"
        return f"[{''.join(chars)}] {shown} dBFS"


class VoiceGate:
    """Voice-activated sending. A frame louder than ``threshold_dbfs`` opens the gate; it
    stays open ``hang_ms`` after the voice stops, so the far end hears the pause that ends a
    sentence, and the ``preroll_ms`` heard before the voice go out with it, so the first
    syllable is not clipped."""

    def __init__(
        self,
        frame_ms: int = 20,
        threshold_dbfs: float = -40.0,
        hang_ms: int = 800,
        preroll_ms: int = 200,
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self._hang_frames = max(1, hang_ms // frame_ms)
        self._preroll: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(0, preroll_ms // frame_ms)
        )
        self._hang_left = 0

    @property
    def sending(self) -> bool:
        return self._hang_left > 0

    def admit(self, frame: np.ndarray, level_dbfs: float | None = None) -> list[np.ndarray]:
        """The frames to send now for this microphone frame (none, it, or preroll plus it)."""
        level = rms_dbfs(frame) if level_dbfs is None else level_dbfs
        if level >= self.threshold_dbfs:
            out = [*self._preroll, frame] if not self.sending else [frame]
            self._preroll.clear()
            self._hang_left = self._hang_frames
            return out
        if self.sending:
            self._hang_left -= 1
            return [frame]
        if self._preroll.maxlen:
            self._preroll.append(frame)
        return []


class PushToTalkGate:
    """Push-to-talk: frames go out only while talking. Releasing sends ``tail_ms`` of silence
    once, so the far end ends the sentence at once rather than waiting for more audio."""

    def __init__(self, frame_ms: int = 20, tail_ms: int = 600) -> None:
        self._tail_frames = max(0, tail_ms // frame_ms)
        self.talking = False
        self._tail_due = False

    @property
    def sending(self) -> bool:
        return self.talking

    def press(self) -> None:
        self.talking = True
        self._tail_due = False

    def release(self) -> None:
        if self.talking:
            self._tail_due = True
        self.talking = False

    def toggle(self) -> bool:
        """Flip between talking and not; returns whether talking now."""
        self.release() if self.talking else self.press()
        return self.talking

    def admit(self, frame: np.ndarray, level_dbfs: float | None = None) -> list[np.ndarray]:
        if self.talking:
            return [frame]
        if self._tail_due:
            self._tail_due = False
            return [np.zeros_like(frame) for _ in range(self._tail_frames)]
        return []


class PlaybackBuffer:
    """The jitter buffer between the network and the sound card's callback thread.

    The server sends 100 ms batches at real-time pace, so a buffer that starts playing at the
    first sample runs dry between batches. After running dry, playback waits until
    ``prefill`` samples are queued or the oldest has waited as long as they would last.
    """

    def __init__(self, rate: int, prefill_ms: int = 150, max_s: float = 120.0) -> None:
        self.rate = rate
        self._prefill = rate * prefill_ms // 1000
        self._capacity = int(rate * max_s)
        self._chunks: collections.deque[np.ndarray] = collections.deque()
        self._offset = 0
        self._buffered = 0
        self._playing = False
        self._waiting_since = 0.0
        self._lock = threading.Lock()
        self.dropped = 0
        self.played = 0

    @property
    def buffered(self) -> int:
        with self._lock:
            return self._buffered

    def write(self, pcm: np.ndarray) -> None:
        pcm = as_pcm(pcm)
        if pcm.size == 0:
            return
        with self._lock:
            if self._buffered + pcm.size > self._capacity:
                self.dropped += pcm.size
                return
            if self._buffered == 0:
                self._waiting_since = time.monotonic()
            self._chunks.append(pcm)
            self._buffered += pcm.size

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._offset = 0
            self._buffered = 0
            self._playing = False

    def read(self, count: int) -> np.ndarray:
        """Exactly ``count`` samples: queued audio, then silence."""
        out = np.zeros(count, dtype=np.int16)
        with self._lock:
            if not self._playing:
                waited = time.monotonic() - self._waiting_since
                ready = self._buffered >= self._prefill or (
                    self._buffered > 0 and waited * self.rate >= self._prefill
                )
                if not ready:
                    return out
                self._playing = True
            filled = 0
            while filled < count and self._chunks:
                chunk = self._chunks[0]
                take = min(count - filled, chunk.size - self._offset)
                out[filled : filled + take] = chunk[self._offset : self._offset + take]
                filled += take
                self._offset += take
                if self._offset == chunk.size:
                    self._chunks.popleft()
                    self._offset = 0
            self._buffered -= filled
            self.played += filled
            if self._buffered == 0:
                self._playing = False
        return out


class Microphone:
    """Sound-card input as fixed frames at the call rate, delivered on the event loop.

    PortAudio's callback thread only copies each block and hands it to the loop; resampling
    from the card's rate and cutting into ``frame_ms`` frames happen there. Frames queue up
    to ``max_queued_s``; beyond that the oldest are dropped (counted in ``dropped``).
    """

    def __init__(
        self,
        device: AudioDevice,
        call_rate: int,
        *,
        device_rate: int | None = None,
        frame_ms: int = 20,
        max_queued_s: float = 2.0,
    ) -> None:
        self.device = device
        self.call_rate = call_rate
        self.frame_ms = frame_ms
        self.device_rate = device_rate or choose_rate(device, "input", call_rate)
        self.channels = _channels(device, "input", self.device_rate)
        self._resampler = StreamResampler(self.device_rate, call_rate)
        self._framer = Framer(call_rate, frame_ms)
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue(
            maxsize=max(1, int(max_queued_s * 1000 / frame_ms))
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream: sd.InputStream | None = None
        self.dropped = 0
        self.overflows = 0

    @property
    def resampling(self) -> bool:
        return self.device_rate != self.call_rate

    def start(self) -> None:
        """Open and start the card; call from a coroutine (frames arrive on its loop)."""
        self._loop = asyncio.get_running_loop()
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self.channels,
                dtype="int16",
                callback=self._on_block,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"cannot record from {self.device.name!r} at {self.device_rate} Hz: {exc}"
            ) from exc

    def _on_block(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        block = indata[:, 0].copy()
        try:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._accept, block)
        except RuntimeError:
            pass  # the loop closed while the card was still delivering; nothing waits now

    def _accept(self, block: np.ndarray) -> None:
        for frame in self._framer.push(self._resampler.process(block)):
            if self._frames.full():
                self._frames.get_nowait()
                self.dropped += 1
            self._frames.put_nowait(frame)

    async def read(self) -> np.ndarray:
        """The next ``frame_ms`` frame at the call rate."""
        return await self._frames.get()

    async def frames(self) -> AsyncIterator[np.ndarray]:
        while True:
            yield await self._frames.get()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.abort()
            self._stream.close()
            self._stream = None

    async def __aenter__(self) -> Microphone:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class Speaker:
    """Call audio out through the sound card: `play` resamples from the call rate to the
    card's rate into a `PlaybackBuffer` that the card's callback drains; `clear` drops what
    has not played yet (barge-in)."""

    def __init__(
        self,
        device: AudioDevice,
        call_rate: int,
        *,
        device_rate: int | None = None,
        block_ms: int = 20,
        prefill_ms: int = 150,
    ) -> None:
        self.device = device
        self.call_rate = call_rate
        self.block_ms = block_ms
        self.device_rate = device_rate or choose_rate(device, "output", call_rate)
        self.channels = _channels(device, "output", self.device_rate)
        self._resampler = StreamResampler(call_rate, self.device_rate)
        self.buffer = PlaybackBuffer(self.device_rate, prefill_ms)
        self._stream: sd.OutputStream | None = None
        self.underflows = 0

    @property
    def resampling(self) -> bool:
        return self.device_rate != self.call_rate

    @property
    def pending_s(self) -> float:
        """Seconds queued and not yet handed to the card."""
        return self.buffer.buffered / self.device_rate

    def start(self) -> None:
        try:
            self._stream = sd.OutputStream(
                device=self.device.index,
                samplerate=self.device_rate,
                channels=self.channels,
                dtype="int16",
                blocksize=self.device_rate * self.block_ms // 1000,
                callback=self._on_block,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"cannot play on {self.device.name!r} at {self.device_rate} Hz: {exc}"
            ) from exc

    def _on_block(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self.underflows += 1
        outdata[:] = self.buffer.read(frames)[:, np.newaxis]

    def play(self, pcm: np.ndarray) -> None:
        """Queue call-rate audio for the card."""
        self.buffer.write(self._resampler.process(pcm))

    def finish(self) -> None:
        """The far end stopped sending: push out what the resampler still holds."""
        self.buffer.write(self._resampler.flush())

    def clear(self) -> None:
        self.buffer.clear()
        self._resampler.flush()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything queued has been played (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.buffer.buffered and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._stream is not None:
            await asyncio.sleep(self._stream.latency + self.block_ms / 1000)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.abort()
            self._stream.close()
            self._stream = None

    async def __aenter__(self) -> Speaker:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
