"""A neural endpointer (silero-vad) beside the energy one, with the same events and contract.

An energy VAD mistakes loud noise for speech and loses soft speech in noise; silero-vad's
small recurrent network scores each 32 ms frame for speech instead. The ONNX model that the
``silero-vad`` wheel carries is run directly with onnxruntime, so a call leg never imports
torch: one session per process (``InferenceSession.run`` may be called from many threads at
once), the recurrent state per stream.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from asr.base import ModelNotFound
from asr.endpoint import Endpointer, EndpointEvent, SpeechEnd, SpeechPause, SpeechStart

__all__ = [
    "usable_vad",
    "VAD_KINDS",
    "SileroEndpointer",
    "SpeechEndpointer",
    "make_endpointer",
    "silero_model_path",
]

log = logging.getLogger(__name__)

VAD_KINDS = ("energy", "silero")
"""What ``make_endpointer`` builds (``asr.vad`` in the configuration)."""

# Samples per model call and of the previous call's tail the model is shown with them, as
# silero-vad's own wrapper (utils_vad.OnnxWrapper) feeds it: 32 ms frames at either rate.
_FRAME = {16000: 512, 8000: 256}
_CONTEXT = {16000: 64, 8000: 32}
_STATE_SHAPE = (2, 1, 128)


class SpeechEndpointer(Protocol):
    """What UtteranceStream needs of an endpointer: either kind fits."""

    sample_rate: int
    in_speech: bool

    def push(self, pcm: bytes) -> list[EndpointEvent]: ...

    def reset(self) -> None: ...


def silero_model_path() -> Path:
    """The ONNX model inside the installed silero-vad package, found without importing the
    package (its ``__init__`` imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "asr.vad = 'silero' needs the silero-vad package (its wheel carries the model): "
            "pip install silero-vad"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ModelNotFound(f"silero-vad is installed but its model is missing: {path}")
    return path


_session: Any = None
_session_lock = threading.Lock()


def _shared_session() -> Any:
    """The one onnxruntime session of this process, loaded on first use; one thread per call,
    so many legs at once share the cores instead of each fanning out."""
    global _session
    with _session_lock:
        if _session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _session = onnxruntime.InferenceSession(
                str(silero_model_path()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
        return _session


class SileroEndpointer:
    """Endpointing on silero-vad's speech probability, one 32 ms frame at a time.

    A frame is voiced when its probability reaches `start_threshold`, or, once speech (or a
    run of voiced frames that may become speech) is under way, `stop_threshold`: the
    hysteresis keeps soft syllables inside an utterance. Speech starts after min_speech_ms
    of voiced frames (gaps up to hangover_ms allowed), ends after trailing_silence_ms
    without one, and with pause_ms each silence inside speech that lasts pause_ms is
    reported once, as :class:`~asr.endpoint.Endpointer` does. Times are on the frame grid.
    """

    def __init__(
        self,
        sample_rate: int,
        trailing_silence_ms: int = 300,
        min_speech_ms: int = 120,
        start_threshold: float = 0.5,
        stop_threshold: float = 0.35,
        hangover_ms: int = 60,
        pause_ms: int | None = None,
    ) -> None:
        if sample_rate not in _FRAME:
            raise ValueError(f"silero-vad runs at 8000 or 16000 Hz, not {sample_rate}")
        if not 0.0 < stop_threshold <= start_threshold < 1.0:
            raise ValueError("thresholds must satisfy 0 < stop_threshold <= start_threshold < 1")
        self.sample_rate = sample_rate
        self.trailing_silence_ms = trailing_silence_ms
        self.min_speech_ms = min_speech_ms
        self.pause_ms = pause_ms
        self.start_threshold = start_threshold
        self.stop_threshold = stop_threshold
        self.frame_samples = _FRAME[sample_rate]
        self.frame_s = self.frame_samples / sample_rate
        self.trailing_frames = max(1, math.ceil(trailing_silence_ms / 1000 / self.frame_s))
        self.min_speech_frames = max(1, math.ceil(min_speech_ms / 1000 / self.frame_s))
        self.hangover_frames = round(hangover_ms / 1000 / self.frame_s)
        pause_frames = (
            None if pause_ms is None else max(1, math.ceil(pause_ms / 1000 / self.frame_s))
        )
        self.pause_frames = (
            pause_frames
            if pause_frames is not None and pause_frames < self.trailing_frames
            else None
        )
        self._session = _shared_session()
        self._rate = np.array(sample_rate, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._pending = b""
        self._frames = 0
        self._state = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT[self.sample_rate]), dtype=np.float32)
        self.probability = 0.0
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
        frames = np.frombuffer(data[: count * frame_bytes], dtype="<i2").reshape(
            count, self.frame_samples
        )
        events: list[EndpointEvent] = []
        for frame in frames:
            event = self._step(self._speech_probability(frame))
            if event is not None:
                events.append(event)
            self._frames += 1
        return events

    def _speech_probability(self, frame: np.ndarray) -> float:
        """One model call: this frame after the last one's tail, through this stream's state."""
        x = np.concatenate([self._context, frame[np.newaxis, :].astype(np.float32) / 32768.0], 1)
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": self._rate}
        )
        self._context = x[:, -self._context.shape[1] :]
        self.probability = float(out[0, 0])
        return self.probability

    def _step(self, probability: float) -> EndpointEvent | None:
        sticky = self.in_speech or self._voiced_run > 0
        voiced = probability >= (self.stop_threshold if sticky else self.start_threshold)
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


def usable_vad(kind: str) -> str:
    """``kind``, or ``energy`` with a warning when it is ``silero`` and silero-vad is not
    installed (an install without the ``neural`` extra): calls still end their turns."""
    if kind != "silero":
        return kind
    try:
        silero_model_path()
    except ModelNotFound as exc:
        log.warning("%s; call legs endpoint on energy instead", exc)
        return "energy"
    return kind


def make_endpointer(kind: str, sample_rate: int, **settings: Any) -> Endpointer | SileroEndpointer:
    """The endpointer named by ``asr.vad``: ``energy`` (:class:`Endpointer`) or ``silero``;
    ``settings`` are the keywords both take (trailing_silence_ms, min_speech_ms, pause_ms)
    or those of the one named."""
    if kind == "energy":
        return Endpointer(sample_rate, **settings)
    if kind == "silero":
        return SileroEndpointer(sample_rate, **settings)
    raise ValueError(f"unknown VAD {kind!r}: choose one of {', '.join(VAD_KINDS)}")
