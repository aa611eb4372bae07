"""Watching a phone line's audio for the faults that spoil a call: clipping, long silence, and
audio that stops arriving (one-way audio). Sans-I/O: feed it frames with the time they came;
it says, once per episode and with a measure, what it found. The caller decides what to do."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from telephony.frames import SILENCE_DBFS, as_pcm

__all__ = ["LineMonitor", "LineReport"]

FULL_SCALE = 32767
CLIP_LEVEL = 32700
"""A sample this close to full scale counts as clipped (codecs rarely reach the rail exactly)."""
WINDOW_S = 1.0


@dataclass(slots=True)
class LineReport:
    """What a line did over a whole call, for the log line at its end."""

    audio_s: float = 0.0
    clipping_episodes: int = 0
    worst_clipping_ratio: float = 0.0
    silence_episodes: int = 0
    longest_silence_s: float = 0.0
    longest_gap_s: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.audio_s:.1f} s of audio, {self.clipping_episodes} clipping episode(s) "
            f"(worst {self.worst_clipping_ratio:.1%} of samples at full scale), "
            f"longest silence {self.longest_silence_s:.1f} s, "
            f"longest gap between packets {self.longest_gap_s:.2f} s"
        )


class LineMonitor:
    """Clipping is judged over 1 s windows: more than ``clipping_ratio`` of the samples at
    full scale. Silence is audio below ``silence_dbfs`` (RMS over 20 ms); it is reported once
    it has lasted ``long_silence_s``. Gaps are the time between two frames' arrivals."""

    def __init__(
        self,
        sample_rate: int,
        clipping_ratio: float = 0.01,
        long_silence_s: float = 30.0,
        silence_dbfs: float = -55.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.clipping_ratio = clipping_ratio
        self.long_silence_s = long_silence_s
        self.silence_dbfs = silence_dbfs
        self.report = LineReport()
        self.last_audio_at: float | None = None
        self._window = int(WINDOW_S * sample_rate)
        self._window_samples = 0
        self._window_clipped = 0
        self._clipping = False
        self._silent_s = 0.0
        self._silence_told = False

    def feed(self, pcm: np.ndarray, now: float) -> list[str]:
        """One frame as it arrived; returns what is worth a log line (usually nothing)."""
        pcm = as_pcm(pcm)
        findings: list[str] = []
        if self.last_audio_at is not None:
            self.report.longest_gap_s = max(self.report.longest_gap_s, now - self.last_audio_at)
        self.last_audio_at = now
        seconds = pcm.size / self.sample_rate
        self.report.audio_s += seconds
        self._window_samples += pcm.size
        wide = pcm.astype(np.int64)
        self._window_clipped += int(np.count_nonzero(np.abs(wide) >= CLIP_LEVEL))
        if self._window_samples >= self._window:
            ratio = self._window_clipped / self._window_samples
            self._window_samples = self._window_clipped = 0
            if ratio > self.clipping_ratio:
                self.report.worst_clipping_ratio = max(self.report.worst_clipping_ratio, ratio)
                if not self._clipping:
                    self._clipping = True
                    self.report.clipping_episodes += 1
                    findings.append(
                        f"clipping: {ratio:.1%} of samples at full scale over the last "
                        f"{WINDOW_S:.0f} s (threshold {self.clipping_ratio:.1%})"
                    )
            else:
                self._clipping = False
        energy = float(np.dot(wide, wide)) if pcm.size else 0.0
        level = 10 * math.log10(energy / pcm.size / 32768.0**2) if energy > 0 else SILENCE_DBFS
        if level < self.silence_dbfs:
            self._silent_s += seconds
            self.report.longest_silence_s = max(self.report.longest_silence_s, self._silent_s)
            if self._silent_s >= self.long_silence_s and not self._silence_told:
                self._silence_told = True
                self.report.silence_episodes += 1
                findings.append(
                    f"long silence: {self._silent_s:.1f} s below {self.silence_dbfs:.0f} dBFS"
                )
        else:
            self._silent_s = 0.0
            self._silence_told = False
        return findings

    def quiet_for(self, now: float, since: float) -> float:
        """Seconds since the last frame arrived (or since ``since``, if none has)."""
        return now - (self.last_audio_at if self.last_audio_at is not None else since)
