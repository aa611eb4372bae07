"""The engines one server process drives, behind their interfaces, with the executors that
keep blocking work off the event loop. The server never names a concrete engine."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from asr import AsrRegistry, AsyncUtteranceStream, Endpointer, UtteranceStream
from asr.registry import build_registry
from hotline.config import Config
from translate import Translation, build_router
from tts import Synthesizer, default_synthesizer

__all__ = ["Engines", "ASR_RATE"]

log = logging.getLogger(__name__)

ASR_RATE = 16000
# A call leg's recognizer finishes at a 100 ms pause (its result held until the endpointer's
# trailing silence confirms the end), and hears only speech plus 0.5 s of pre-roll.
EARLY_FINISH_MS = 100
GATE_PREROLL_S = 0.5
WARM_UP_PHRASES = {
    "en": "Hello, I would like to report a problem in my street.",
    "ko": "안녕하세요, 우리 동네에 문제가 있어서 전화했습니다.",
}


class Engines:
    """Recognition, translation and speech for every call in this process, loaded once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        cpus = os.cpu_count() or 2
        self.asr_pool = ThreadPoolExecutor(max_workers=max(2, cpus), thread_name_prefix="asr")
        # Call legs get their own threads, enough that one waiting on a busy PocketSphinx
        # worker process never holds up a stream bound to an idle one.
        self.call_asr_pool = ThreadPoolExecutor(
            max_workers=4 * max(2, cpus),
            thread_name_prefix="call-asr",
        )
        self.translate_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mt")
        processes = config.asr.sphinx_processes
        self.asr: AsrRegistry = build_registry(
            vosk_models=config.asr.vosk_models,
            models_dir=Path(config.asr.models_dir) if config.asr.models_dir else None,
            sphinx_processes=cpus if processes < 0 else processes,
        )
        self.router = build_router(
            neural_models=config.translate.neural_models, apertium=config.translate.apertium
        )
        self.tts: Synthesizer = default_synthesizer(
            workers=config.tts.workers, cache_size=config.tts.cache_size
        )

    def can_translate(self, source: str, target: str) -> bool:
        if source == target:
            return True
        try:
            self.router.route(source, target)
        except Exception:
            return False
        return True

    def asr_languages(self) -> list[str]:
        return sorted(self.asr.languages())

    def open_stream(self, language: str) -> AsyncUtteranceStream:
        """A streaming recognizer with our own VAD endpointing, for one leg of a call."""
        engine = self.asr.engine_for(language)
        recognizer = engine.recognizer(language, ASR_RATE)
        endpointer = Endpointer(
            ASR_RATE,
            trailing_silence_ms=self.config.asr.trailing_silence_ms,
            pause_ms=EARLY_FINISH_MS,
        )
        stream = UtteranceStream(
            recognizer,
            endpointer,
            partial_interval_s=self.config.asr.partial_interval_s,
            gate_preroll_s=GATE_PREROLL_S,
        )
        return AsyncUtteranceStream(stream, executor=self.call_asr_pool)

    def release_stream(self, language: str, stream: AsyncUtteranceStream) -> None:
        try:
            self.asr.engine_for(language).release(stream.stream.recognizer)
        except Exception:
            log.exception("could not return a recognizer to its pool")

    async def translate(self, texts: list[str], source: str, target: str) -> Translation:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.translate_pool, self.router.translate_or_keep, texts, source, target
        )

    async def speak(self, text: str, language: str, sample_rate: int) -> np.ndarray:
        return await self.tts.synthesize_async(text, language, sample_rate)

    async def warm_up(self) -> None:
        """Load models, start workers and settle recognizers on real speech before the first
        call: a fresh recognizer is slow, and PocketSphinx's normalisation needs speech. The
        ``/asr`` language gets one warm recognizer per concurrent stream a core can carry, the
        other languages two per core, so the first simultaneous calls build none."""
        cpus = os.cpu_count() or 2
        for language in self.asr_languages():
            try:
                speech = await self.speak(
                    WARM_UP_PHRASES.get(language, "hello"), language, ASR_RATE
                )
            except Exception:
                speech = np.zeros(ASR_RATE, dtype=np.int16)
            count = 3 * cpus if language == self.config.asr.asr_endpoint_language else 2 * cpus
            streams = [self.open_stream(language) for _ in range(count)]
            try:
                await asyncio.gather(*(self._settle(stream, speech) for stream in streams))
            finally:
                for stream in streams:
                    self.release_stream(language, stream)

    @staticmethod
    async def _settle(stream: AsyncUtteranceStream, speech: np.ndarray) -> None:
        for i in range(0, len(speech), ASR_RATE // 10):
            await stream.feed(speech[i : i + ASR_RATE // 10].tobytes())
        await stream.close()

    def close(self) -> None:
        self.tts.close()
        self.router.close()
        self.asr.close()
        self.asr_pool.shutdown(wait=False, cancel_futures=True)
        self.call_asr_pool.shutdown(wait=False, cancel_futures=True)
        self.translate_pool.shutdown(wait=False, cancel_futures=True)
