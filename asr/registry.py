"""Pick a speech engine by language, so the server never imports a concrete engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asr.base import AsrEngine, AsrError, LanguageNotSupported, normalize_language
from asr.process_engine import ProcessEngine
from asr.sphinx_engine import PocketSphinxEngine
from asr.vosk_engine import VoskEngine


class AsrRegistry:
    """The installed engines, most accurate first: Vosk where it has a model, then PocketSphinx."""

    def __init__(self, vosk: VoskEngine | None = None, sphinx: AsrEngine | None = None) -> None:
        self.engines: list[AsrEngine] = [
            vosk if vosk is not None else VoskEngine(),
            sphinx if sphinx is not None else PocketSphinxEngine(),
        ]

    def languages(self) -> dict[str, list[str]]:
        """Each recognizable language with the names of the engines that can do it, best first."""
        table: dict[str, list[str]] = {}
        for engine in self.engines:
            for language in engine.languages():
                table.setdefault(language, []).append(engine.name)
        return dict(sorted(table.items()))

    def engine(self, name: str) -> AsrEngine:
        for engine in self.engines:
            if engine.name == name:
                return engine
        known = ", ".join(e.name for e in self.engines)
        raise AsrError(f"no ASR engine named {name!r}; known engines: {known}")

    def engine_for(self, language: str, prefer: str | None = None) -> AsrEngine:
        """The engine for `language`; `prefer` names an engine to use when it can."""
        code = normalize_language(language)
        candidates = [e for e in self.engines if code in e.languages()]
        if prefer is not None:
            preferred = self.engine(prefer)
            if preferred in candidates:
                return preferred
        if candidates:
            return candidates[0]
        available = ", ".join(
            f"{lang} ({'/'.join(names)})" for lang, names in self.languages().items()
        )
        raise LanguageNotSupported(
            f"no speech recognizer for {language!r}; available languages: {available or 'none'}"
        )

    def describe(self) -> list[dict[str, Any]]:
        return [engine.describe() for engine in self.engines]

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def build_registry(
    vosk_models: dict[str, str] | None = None,
    models_dir: Path | None = None,
    sphinx_processes: int = 0,
) -> AsrRegistry:
    """The registry a server or command uses, from configuration values only.

    ``sphinx_processes`` > 0 runs PocketSphinx decoders in that many worker processes:
    PocketSphinx holds the GIL while it decodes, so in a server's threads it would stall
    the event loop and every other stream.
    """
    sphinx: AsrEngine = PocketSphinxEngine()
    if sphinx_processes > 0:
        sphinx = ProcessEngine(PocketSphinxEngine, sphinx_processes)
    return AsrRegistry(
        vosk=VoskEngine(model_paths=vosk_models or None, models_dir=models_dir), sphinx=sphinx
    )
