"""Better voices where we have them, one engine that speaks everything behind them.

A preferred engine (Piper for English, Kokoro for Japanese) speaks the languages it has a
voice for; every other language, and any request the preferred engine fails, goes to the
fallback (espeak-ng).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tts.base import Synthesizer, TtsError, Voice

__all__ = ["FallbackSynthesizer"]

log = logging.getLogger(__name__)


class FallbackSynthesizer(Synthesizer):
    """Routes each language to the first preferred engine that speaks it, else the fallback.

    A ``TtsError`` from a preferred engine is logged and the request is spoken again by the
    fallback; ``describe()`` counts which engine spoke and how often the fallback stood in.
    """

    def __init__(
        self,
        preferred: Sequence[Synthesizer],
        fallback: Synthesizer,
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        self._preferred = tuple(preferred)
        self._fallback = fallback
        self._unavailable = dict(unavailable or {})
        """Preferred engines that could not be built here (name → why), for ``describe``."""
        self._routes: dict[str, Synthesizer] = {}
        for engine in self._preferred:
            for language in engine.languages():
                self._routes.setdefault(language, engine)
        self.name = "+".join(e.name for e in (*self._preferred, fallback))
        self._lock = threading.Lock()
        self._spoken_by: dict[str, int] = {e.name: 0 for e in (*self._preferred, fallback)}
        self._fallbacks = 0
        self._closed = False

    @property
    def fallback(self) -> Synthesizer:
        """The engine behind the preferred ones (espeak-ng)."""
        return self._fallback

    def engine_for(self, language: str) -> str:
        """Name of the engine that is asked first for ``language``."""
        return self._route(language).name

    def voices(self) -> list[Voice]:
        """The preferred engines' voices, then the fallback's."""
        return [v for e in self._preferred for v in e.voices()] + self._fallback.voices()

    def synthesize(self, text: str, language: str, sample_rate: int = 16000) -> np.ndarray:
        """Speech from the preferred engine for ``language``, or from the fallback."""
        engine = self._check(language)
        if engine is not self._fallback:
            try:
                return self._count(engine, engine.synthesize(text, language, sample_rate))
            except TtsError as exc:
                self._stood_in(engine, language, exc)
        return self._count(self._fallback, self._fallback.synthesize(text, language, sample_rate))

    async def synthesize_async(
        self, text: str, language: str, sample_rate: int = 16000
    ) -> np.ndarray:
        """``synthesize`` without blocking the event loop (each engine keeps its own pool)."""
        engine = self._check(language)
        if engine is not self._fallback:
            try:
                pcm = await engine.synthesize_async(text, language, sample_rate)
                return self._count(engine, pcm)
            except TtsError as exc:
                self._stood_in(engine, language, exc)
        pcm = await self._fallback.synthesize_async(text, language, sample_rate)
        return self._count(self._fallback, pcm)

    def describe(self) -> dict[str, Any]:
        """The fallback's report (so its counters stay where readers expect them), plus
        which engine each preferred language goes to and who spoke how often."""
        report = dict(self._fallback.describe())
        with self._lock:
            spoken_by = dict(self._spoken_by)
            fallbacks = self._fallbacks
        report.update(
            name=self.name,
            engine=" + ".join(str(e.describe().get("engine", e.name)) for e in self._engines()),
            languages=self.languages() if report.get("languages") is not None else None,
            preferred={language: engine.name for language, engine in sorted(self._routes.items())},
            engines={e.name: e.describe() for e in self._engines()},
            spoken_by=spoken_by,
            fallbacks=fallbacks,
            unavailable=dict(self._unavailable),
        )
        return report

    def close(self) -> None:
        """Close every engine; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for engine in self._engines():
            engine.close()

    def _engines(self) -> tuple[Synthesizer, ...]:
        return (*self._preferred, self._fallback)

    def _route(self, language: str) -> Synthesizer:
        primary = language.strip().lower().replace("_", "-").split("-", 1)[0]
        return self._routes.get(primary, self._fallback)

    def _check(self, language: str) -> Synthesizer:
        if self._closed:
            raise TtsError(f"the {self.name} synthesizer is closed")
        return self._route(language)

    def _count(self, engine: Synthesizer, pcm: np.ndarray) -> np.ndarray:
        with self._lock:
            self._spoken_by[engine.name] += 1
        return pcm

    def _stood_in(self, engine: Synthesizer, language: str, error: TtsError) -> None:
        with self._lock:
            self._fallbacks += 1
        log.warning(
            "tts %s failed for %s, %s speaks instead: %s",
            engine.name,
            language,
            self._fallback.name,
            error,
        )
