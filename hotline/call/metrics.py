"""What a city's monitoring scrapes from a call server (Prometheus, via ``prometheus_client``):
calls by status, the queue, per-stage latency, dropped audio and errors by kind.

Each server has its own registry, so several servers in one process (the tests, the
benchmarks) never share counts. The server adds gauges that read its live state at scrape
time (queue length, engine pools, ``/asr`` sessions) and serves the registry on ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["CallMetrics", "STAGES"]

LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)

STAGES = ("asr_final", "translation", "tts_first_byte", "voice_to_voice")
"""``asr_final``: end of speech to its final text; ``translation``: one utterance's
translation; ``tts_first_byte``: asking for speech to its first audio; ``voice_to_voice``:
end of speech to the first audio of its translation queued for the listener."""


class CallMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.calls_started = Counter(
            "hotline_calls_started", "Calls set up, by way in", ["channel"], registry=r
        )
        self.calls_ended = Counter(
            "hotline_calls", "Calls ended, by final status", ["status"], registry=r
        )
        self.calls_active = Gauge("hotline_calls_active", "Calls not yet ended", registry=r)
        self.queue_wait = Histogram(
            "hotline_queue_wait_seconds",
            "Time a caller waited in the queue before an operator took the call",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "hotline_stage_seconds",
            "Latency of each pipeline stage",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_frames_dropped = Counter(
            "hotline_audio_frames_dropped",
            "Audio frames dropped instead of buffered (a slow network, a full queue)",
            ["where"],
            registry=r,
        )
        self.errors = Counter(
            "hotline_errors", "Errors the server survived, by kind", ["kind"], registry=r
        )
        self.refused = Counter(
            "hotline_connections_refused",
            "Connections refused at the door, by reason",
            ["reason"],
            registry=r,
        )
        for stage in STAGES:
            self.stage_seconds.labels(stage)

    def stage(self, name: str, seconds: float) -> None:
        self.stage_seconds.labels(name).observe(max(0.0, seconds))

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def dropped(self, where: str, frames: int = 1) -> None:
        self.audio_frames_dropped.labels(where).inc(frames)
