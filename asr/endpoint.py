"""Our own end-of-speech detection: Vosk 0.3.45 waits at least 0.5 s of silence, a call can't."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np


@dataclass(slots=True)
class SpeechStart:
    """Speech began `at` seconds from the start of the stream; the endpointer was sure of it
    at `decided` (the end of the frame that settled it), a little later."""

    at: float
    decided: float | None = None


@dataclass(slots=True)
class SpeechEnd:
    """Speech ended `at` seconds from the start of the stream (reported trailing_silence later,
    at `decided`)."""

    at: float
    decided: float | None = None


@dataclass(slots=True)
class SpeechPause:
    """Speech has been silent since `at` for pause_ms: perhaps its end. SpeechEnd confirms it
    (with the same `at`) unless speech resumes first; a recognizer can finish early on it.
    `decided` is when the endpointer saw it."""

    at: float
    decided: float | None = None


EndpointEvent: TypeAlias = SpeechStart | SpeechPause | SpeechEnd

_SILENT_DBFS = -100.0


class Endpointer:
    """Energy VAD over fixed frames with an adaptive noise floor.

    The noise floor is the quietest frame RMS (dBFS) of the last `floor_window_s`, so it follows
    a new steady noise within that window while the pauses inside speech keep it down. A frame is
    voiced when it is above max(floor + margin_db, threshold_dbfs). Speech starts after
    min_speech_ms of voiced frames (gaps up to hangover_ms allowed) and ends after
    trailing_silence_ms without a voiced frame. With pause_ms (shorter than the trailing
    silence), each silence inside speech that lasts pause_ms is also reported, once.
    """

    def __init__(
        self,
        sample_rate: int,
        trailing_silence_ms: int = 300,
        frame_ms: int = 20,
        min_speech_ms: int = 120,
        margin_db: float = 10.0,
        threshold_dbfs: float = -45.0,
        hangover_ms: int = 60,
        floor_window_s: float = 3.0,
        pause_ms: int | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.frame_samples = max(1, sample_rate * frame_ms // 1000)
        self.frame_s = self.frame_samples / sample_rate
        self.trailing_frames = max(1, math.ceil(trailing_silence_ms / 1000 / self.frame_s))
        self.min_speech_frames = max(1, math.ceil(min_speech_ms / 1000 / self.frame_s))
        self.hangover_frames = round(hangover_ms / 1000 / self.frame_s)
        self.margin_db = margin_db
        self.threshold_dbfs = threshold_dbfs
        self.floor_window_frames = max(1, round(floor_window_s / self.frame_s))
        pause_frames = (
            None if pause_ms is None else max(1, math.ceil(pause_ms / 1000 / self.frame_s))
        )
        self.pause_frames = (
            pause_frames
            if pause_frames is not None and pause_frames < self.trailing_frames
            else None
        )
        self.reset()

    def reset(self) -> None:
        self._pending = b""
        self._frames = 0
        self.noise_floor_dbfs = _SILENT_DBFS
        self._quietest: deque[tuple[int, float]] = deque()
        self.in_speech = False
        self._voiced_run = 0
        self._onset_frame = 0
        self._gap = 0
        self._last_voiced_frame = 0
        self._paused = False

    def push(self, pcm: bytes) -> list[EndpointEvent]:
        """Consume PCM16 mono bytes of any length; events come in stream order."""
        data = self._pending + pcm
        frame_bytes = self.frame_samples * 2
        count = len(data) // frame_bytes
        self._pending = data[count * frame_bytes :]
        if count == 0:
            return []
        samples = np.frombuffer(data[: count * frame_bytes], dtype="<i2").astype(np.float32)
        rms = np.sqrt(np.mean(np.square(samples.reshape(count, self.frame_samples)), axis=1))
        levels = 20.0 * np.log10(np.maximum(rms / 32768.0, 10 ** (_SILENT_DBFS / 20)))
        events: list[EndpointEvent] = []
        for level in levels.tolist():
            event = self._step(level)
            if event is not None:
                events.append(event)
            self._frames += 1
        return events

    def _step(self, level: float) -> EndpointEvent | None:
        quietest = self._quietest
        while quietest and quietest[-1][1] >= level:
            quietest.pop()
        quietest.append((self._frames, level))
        if quietest[0][0] <= self._frames - self.floor_window_frames:
            quietest.popleft()
        self.noise_floor_dbfs = quietest[0][1]
        voiced = level > max(self.noise_floor_dbfs + self.margin_db, self.threshold_dbfs)
        if voiced:
            self._last_voiced_frame = self._frames
            self._paused = False
        if self.in_speech:
            silent = self._frames - self._last_voiced_frame
            if silent >= self.trailing_frames:
                self.in_speech = False
                self._voiced_run = 0
                self._paused = False
                return SpeechEnd(
                    (self._last_voiced_frame + 1) * self.frame_s, (self._frames + 1) * self.frame_s
                )
            if self.pause_frames is not None and not self._paused and silent >= self.pause_frames:
                self._paused = True
                return SpeechPause(
                    (self._last_voiced_frame + 1) * self.frame_s, (self._frames + 1) * self.frame_s
                )
            return None
        if voiced:
            if self._voiced_run == 0:
                self._onset_frame = self._frames
            self._voiced_run += 1
            self._gap = 0
            if self._voiced_run >= self.min_speech_frames:
                self.in_speech = True
                return SpeechStart(
                    self._onset_frame * self.frame_s, (self._frames + 1) * self.frame_s
                )
        elif self._voiced_run:
            self._gap += 1
            if self._gap > self.hangover_frames:
                self._voiced_run = 0
                self._gap = 0
        return None
