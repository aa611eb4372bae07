"""The terminal softphone on a real audio server: a private PulseAudio with a null sink as the
speaker (its monitor recorded) and a WAV played into a second null sink as the microphone."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from hotline.clients.client import CallerClient
from hotline.records import RecordStore
from telephony import read_wav, rms_dbfs, write_wav
from tests.conftest import TEST_PASSWORD, add_account, sign_in_operator, silence, url
from tests.pulse import PulseUnavailable, start_pulse

try:
    from hotline.clients import softphone_audio as audio
except OSError as exc:  # sounddevice without the PortAudio library
    pytest.skip(f"sounddevice cannot load PortAudio: {exc}", allow_module_level=True)

RATE = 16000
SOFTPHONE = [sys.executable, "-m", "hotline.clients.softphone"]


def tone(freq: float, seconds: float, dbfs_peak: float = -20.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    amplitude = 32768 * 10 ** (dbfs_peak / 20)
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def frames_of(pcm: np.ndarray, frame: int = RATE // 50) -> list[np.ndarray]:
    return [pcm[i : i + frame] for i in range(0, len(pcm) - frame + 1, frame)]


def dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


def loud_span(pcm: np.ndarray, rate: int, threshold_dbfs: float = -45.0) -> np.ndarray:
    """From the first to the last 20 ms frame louder than ``threshold_dbfs``."""
    frame = rate // 50
    loud = [i for i, f in enumerate(frames_of(pcm, frame)) if rms_dbfs(f) > threshold_dbfs]
    assert loud, "nothing audible"
    return pcm[loud[0] * frame : (loud[-1] + 1) * frame]


def similarity(recording: np.ndarray, sound: np.ndarray) -> float:
    """Correlation of ``sound`` with the part of ``recording`` where it matches best."""
    a, b = recording.astype(np.float64), sound.astype(np.float64)
    n = len(a) + len(b)
    lags = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    lag = int(np.argmax(lags[: len(a)]))
    part = np.pad(a[lag : lag + len(b)], (0, max(0, lag + len(b) - len(a))))
    return float(np.corrcoef(part, b)[0, 1])


def active_seconds(pcm: np.ndarray, rate: int, threshold_dbfs: float = -45.0) -> float:
    """Seconds of 20 ms frames louder than ``threshold_dbfs``."""
    frame = rate // 50
    return sum(rms_dbfs(f) > threshold_dbfs for f in frames_of(pcm, frame)) * 0.02


@pytest.fixture
def pulse(monkeypatch):
    """A private PulseAudio server that this process's PortAudio sees."""
    try:
        server = start_pulse()
    except PulseUnavailable as exc:
        pytest.skip(f"no PulseAudio for the sound-card tests: {exc}")
    for key, value in server.client_env().items():
        monkeypatch.setenv(key, value)
    audio.rescan_devices()
    yield server
    server.stop()
    audio.rescan_devices()


# --- sans device ---------------------------------------------------------------------------


def test_level_meter_reads_a_known_tone_in_dbfs():
    meter = audio.LevelMeter()
    # A sine peaking at -20 dBFS has an RMS 3.01 dB lower.
    assert meter.update(tone(1000, 0.02, -20.0), now=0.0) == pytest.approx(-23.01, abs=0.1)
    assert meter.bar(20).startswith("[" + "#" * 12 + "." * 8 + "]")
    assert meter.bar(20).endswith("-23 dBFS")
    meter.update(silence(0.02), now=0.1)
    assert meter.level_dbfs == -120.0 and meter.peak_dbfs == pytest.approx(-23.01, abs=0.1)
    assert "|" in meter.bar(20) and meter.bar(20).endswith("-inf dBFS")
    meter.update(silence(0.02), now=2.0)
    assert meter.peak_dbfs == -120.0, "the peak falls back after the hold time"


def test_voice_gate_sends_speech_and_not_silence(make_speech):
    speech = make_speech("The street light is broken.", "en")
    rng = np.random.default_rng(1)
    hiss = np.rint(rng.normal(0, 30, RATE * 2)).astype(np.int16)  # about -61 dBFS
    pcm = np.concatenate([hiss, speech, silence(3.0)])
    gate = audio.VoiceGate(frame_ms=20, threshold_dbfs=-40, hang_ms=800, preroll_ms=200)
    sent_at: list[int] = []
    frames = frames_of(pcm)
    for i, frame in enumerate(frames):
        sent_at += [i] * len(gate.admit(frame))
    first_speech = next(i for i, f in enumerate(frames) if rms_dbfs(f) > -40)
    last_speech = max(i for i, f in enumerate(frames) if rms_dbfs(f) > -40)
    speech_frames = set(range(first_speech, last_speech + 1))
    assert speech_frames <= set(sent_at), "every frame of the sentence is sent"
    assert min(sent_at) == first_speech, "nothing before the voice but its pre-roll"
    assert sent_at.count(first_speech) == 1 + 10, "200 ms pre-roll goes out with the onset"
    assert max(sent_at) == last_speech + 40, "800 ms of the pause after it, then nothing"
    assert len(sent_at) * 0.02 < len(speech) / RATE + 1.5, "the 5 s of hiss and silence stay home"
    assert not gate.sending


def test_push_to_talk_sends_only_while_talking_then_a_silent_tail():
    gate = audio.PushToTalkGate(frame_ms=20, tail_ms=600)
    voice = tone(300, 0.02, -10)
    assert gate.admit(voice) == []
    assert gate.toggle() is True
    assert [f.tolist() for f in gate.admit(voice)] == [voice.tolist()]
    assert gate.toggle() is False
    tail = gate.admit(voice)
    assert len(tail) == 30 and not any(f.any() for f in tail), "600 ms of silence ends the turn"
    assert gate.admit(voice) == []


def test_playback_buffer_waits_for_prefill_then_plays_in_order_and_clears():
    buffer = audio.PlaybackBuffer(RATE, prefill_ms=100)
    first = np.arange(1, 801, dtype=np.int16)
    buffer.write(first)
    assert not buffer.read(320).any(), "50 ms queued: waits for the 100 ms prefill"
    buffer.write(first + 800)
    played = np.concatenate([buffer.read(320) for _ in range(6)])
    assert played[:1600].tolist() == list(range(1, 1601)) and not played[1600:].any()
    buffer.write(first)
    buffer.clear()
    time.sleep(0.12)
    assert not buffer.read(320).any() and buffer.buffered == 0


# --- PulseAudio ----------------------------------------------------------------------------


def test_list_devices_shows_the_pulse_device(pulse):
    devices = {d.name: d for d in audio.list_devices()}
    assert "pulse" in devices and devices["pulse"].inputs > 0 and devices["pulse"].outputs > 0
    assert audio.find_device("pulse", "input").name == "pulse"
    with pytest.raises(audio.AudioDeviceError, match="no input device matches"):
        audio.find_device("no such card", "input")
    listed = subprocess.run(
        [*SOFTPHONE, "--list-devices"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **pulse.client_env()},
    )
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^\s*[<>]*\s*\d+\s+pulse\s+ALSA\s+\d+\s+\d+\s+44100$", listed.stdout, re.M)


def test_rate_the_device_refuses_falls_back_to_its_own_rate(pulse):
    device = audio.find_device("pulse", "output")
    assert audio.choose_rate(device, "output", 16000) == 16000
    # PulseAudio's ALSA plugin stops at 384 kHz; PortAudio refuses the open above that.
    assert audio.choose_rate(device, "output", 1_000_000) == device.default_rate == 44100
    mic = audio.Microphone(audio.find_device("pulse", "input"), RATE, device_rate=None)
    assert mic.device_rate == RATE and not mic.resampling


async def test_speaker_resamples_call_audio_to_the_card_rate(pulse, tmp_path):
    speaker = audio.Speaker(audio.find_device("pulse", "output"), RATE, device_rate=48000)
    assert speaker.resampling
    recording = pulse.record(tmp_path / "speaker.raw", rate=48000)
    await asyncio.sleep(0.3)
    async with speaker:
        for chunk in frames_of(tone(1000, 1.0, -20.0), 1600):
            speaker.play(chunk)
        speaker.finish()
        await speaker.drain()
        await asyncio.sleep(0.3)
    heard = recording.stop()
    loud = loud_span(heard, 48000)
    assert len(loud) / 48000 == pytest.approx(1.0, abs=0.1), "one piece, no gaps"
    loud = loud[960:-960]
    assert active_seconds(heard, 48000) == pytest.approx(1.0, abs=0.1)
    assert dominant_hz(loud, 48000) == pytest.approx(1000, abs=5)
    assert rms_dbfs(loud) == pytest.approx(-23.0, abs=1.5)


async def test_microphone_resamples_the_card_rate_to_call_frames(pulse, tmp_path):
    wav = tmp_path / "tone.wav"
    write_wav(wav, np.concatenate([tone(1000, 1.0, -20.0), silence(0.3)]), RATE)
    mic = audio.Microphone(audio.find_device("pulse", "input"), RATE, device_rate=44100)
    assert mic.resampling and mic.device_rate == 44100
    meter = audio.LevelMeter()
    frames = []
    async with mic:
        await asyncio.wait_for(mic.read(), 5.0)  # the first stream after start-up is slow
        player = pulse.play(wav)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            frames.append(await asyncio.wait_for(mic.read(), 1.0))
        player.wait(5)
    assert {len(f) for f in frames} == {RATE // 50}
    levels = [meter.update(f) for f in frames]
    loud = [f for f, level in zip(frames, levels, strict=True) if level > -40]
    assert len(loud) * 0.02 == pytest.approx(1.0, abs=0.1)
    assert np.median([rms_dbfs(f) for f in loud]) == pytest.approx(-23.0, abs=1.0)
    assert dominant_hz(np.concatenate(loud), RATE) == pytest.approx(1000, abs=10)


class SoftphoneProcess:
    """``python -m hotline.clients.softphone`` as a user runs it, with its output collected."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.stderr = b""
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, pulse, *args: str, env: dict[str, str] | None = None) -> SoftphoneProcess:
        process = await asyncio.create_subprocess_exec(
            *SOFTPHONE,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **pulse.client_env(), "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode().rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def wait_for_line(self, pattern: str, timeout: float = 30.0) -> str:
        async def find() -> str:
            while True:
                found = next((line for line in self.lines if re.search(pattern, line)), None)
                if found is not None:
                    return found
                if self._reader.done():
                    raise AssertionError(f"softphone exited; printed {self.lines}")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def finish(self, timeout: float = 20.0) -> int:
        assert self.process.stderr is not None
        self.stderr = await asyncio.wait_for(self.process.stderr.read(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def test_caller_speaks_through_the_microphone_and_hears_the_reply_on_the_speaker(
    pulse, start_server, make_speech, tmp_path
):
    server = await start_server()
    operator = await sign_in_operator(server, "ana", ["es"], RATE, hear_original=False)
    speaker = pulse.record(tmp_path / "speaker.raw", rate=RATE)
    wav = tmp_path / "caller.wav"
    words = make_speech("The street light is broken.", "en")
    write_wav(wav, np.concatenate([words, silence(1.5)]), RATE)
    phone = await SoftphoneProcess.start(
        pulse,
        *("--role", "caller", "--lang", "en", "--url", f"ws://127.0.0.1:{server.port}"),
        *("--input", "pulse", "--output", "pulse", "--device-rate", "48000"),
    )
    try:
        await phone.wait_for_line(r"^microphone: pulse at 48000 Hz, resampled to 16000 Hz$")
        await phone.wait_for_line(r"^speaker: pulse at 48000 Hz, resampled from 16000 Hz$")
        await phone.wait_for_line(r"^connected to an operator \(es\)$")
        connected = await operator.wait_for(lambda m: m["type"] == "connected")
        await phone.wait_for_line(r"^» Welcome to the city hotline")
        pulse.play(wav).wait(30)

        caption = await operator.wait_for(
            lambda m: m["type"] == "caption" and m.get("final") and m["speaker"] == "caller"
        )
        assert caption["language"] == "es" and caption["translated"] is True
        assert caption["original"] and caption["text"] != caption["original"]
        assert re.search(r"\b(la|el|está|roto|rota)\b", caption["text"].lower()), caption
        await asyncio.sleep(1.0)
        before_reply = len(speaker.samples())
        quiet = speaker.samples()[before_reply - RATE // 2 :]
        assert rms_dbfs(quiet) < -50, "the speaker is quiet before the reply"

        await operator.reply("Gracias.")
        assert await phone.wait_for_line(r"^operator: Gracias\. → Thank you\.$")
        await asyncio.sleep(3.0)
        reply = speaker.samples()[before_reply:]
        assert 0.3 < active_seconds(reply, RATE) < 3.0, "the English reply played on the speaker"

        await phone.type("/hangup")
        assert await phone.finish() == 0, phone.stderr.decode()
        assert any(
            re.fullmatch(r"call ended \(completed\); reference H-\d{8}-\d{4}", line)
            for line in phone.lines
        ), phone.lines
    finally:
        speaker.stop()
        await phone.kill()
        await operator.close()
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        record = store.get(connected["reference"])
    assert record.call.status == "completed"
    sent = next(r for r in record.recordings if r.leg == "caller_in")
    pcm, rate = read_wav(server.data_dir / sent.path)
    assert rate == RATE and similarity(pcm, words) > 0.9, "the WAV reached the call intact"
    assert np.count_nonzero(pcm) < len(words) + 1.2 * RATE, (
        "the voice gate kept the silence around it home (the recording holds that time as "
        "digital silence, on the call's clock)"
    )


async def test_operator_softphone_types_a_reply_and_hears_the_translated_caller(
    pulse, start_server, tmp_path
):
    server = await start_server()
    add_account(server, "ana", ["es", "en"])
    speaker = pulse.record(tmp_path / "speaker.raw", rate=RATE)
    phone = await SoftphoneProcess.start(
        pulse,
        *("--role", "operator", "--languages", "es", "--name", "ana", "--no-original"),
        *("--url", f"ws://127.0.0.1:{server.port}", "--input", "pulse", "--output", "pulse"),
        env={"HOTLINE_OPERATOR_PASSWORD": TEST_PASSWORD},
    )
    caller = CallerClient(url(server, "/call"), RATE)
    try:
        await phone.wait_for_line(r"^signed in as ana \(es\)")
        await caller.call("en")
        await caller.connected()
        await phone.wait_for_line(r"^call .* caller speaks en, you es")
        start = len(speaker.samples())
        await caller.type_text("The street light is broken.")
        await phone.wait_for_line(
            r"^caller: The street light is broken\. → La luz de calle está rota\.$"
        )
        await asyncio.sleep(3.0)
        assert 0.5 < active_seconds(speaker.samples()[start:], RATE) < 4.0, "heard the Spanish"

        await phone.type("Gracias.")
        reply = await caller.wait_for(
            lambda m: m["type"] == "caption" and m["speaker"] == "operator"
        )
        assert reply["original"] == "Gracias." and reply["text"] == "Thank you."
        await phone.wait_for_line(r"^you: Gracias\. → Thank you\.$")
        await phone.type("/hangup")
        assert (await caller.wait_for(lambda m: m["type"] == "ended"))["status"] == "completed"
        await phone.wait_for_line(r"ended; waiting for the next call$")
        await phone.type("/quit")
        assert await phone.finish() == 0, phone.stderr.decode()
    finally:
        speaker.stop()
        await phone.kill()
        await caller.close()


def test_unreachable_server_and_bad_options_are_reported_clearly(pulse):
    env = {**os.environ, **pulse.client_env()}
    run = dict(capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    refused = subprocess.run(
        [*SOFTPHONE, "--role", "caller", "--lang", "en", "--url", "ws://127.0.0.1:9"], **run
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "hotline softphone: error: cannot reach ws://127.0.0.1:9" in refused.stderr
    no_card = subprocess.run([*SOFTPHONE, "--role", "caller", "--input", "nope"], **run)
    assert no_card.returncode == 2
    assert "no input device matches 'nope'; see --list-devices" in no_card.stderr
    no_password = subprocess.run([*SOFTPHONE, "--role", "operator", "--name", "ana"], **run)
    assert no_password.returncode == 2 and "signs in with an account" in no_password.stderr


def test_an_operator_needs_an_account_password_but_no_languages(monkeypatch):
    import argparse

    from hotline.clients.softphone import PASSWORD_VARIABLE, add_arguments, settings_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--role", "operator", "--name", "ana"])
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    with pytest.raises(ValueError, match="signs in with an account"):
        settings_from_args(args)
    monkeypatch.setenv(PASSWORD_VARIABLE, "correct horse battery")
    assert settings_from_args(args).languages == []
