"""The contract every translation engine keeps, and the errors it may raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from translate.languages import pair_label

__all__ = ["ModelLoadError", "NoEngineForPair", "TranslationError", "Translator"]


class TranslationError(Exception):
    """An engine could not translate; callers may fall back to the original text."""


class NoEngineForPair(TranslationError):
    """No engine (nor pivot path) covers this direction.

    ``str(err)`` is exactly ``"no engine for ko→es"`` so it can be shown to people as is;
    ``available`` holds the directions that do exist.
    """

    def __init__(self, source: str, target: str, available: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(f"no engine for {pair_label(source, target)}")
        self.source = source
        self.target = target
        self.available: frozenset[tuple[str, str]] = frozenset(available)

    @property
    def detail(self) -> str:
        """The message plus which directions are available, for logs."""
        listed = ", ".join(pair_label(s, t) for s, t in sorted(self.available)) or "none"
        return f"{self}. Available: {listed}."


class ModelLoadError(TranslationError):
    """A model folder is missing, incomplete or not a translation model."""


class Translator(ABC):
    """A blocking, batched translation engine; the server runs it in an executor."""

    name: str = "translator"

    @abstractmethod
    def pairs(self) -> set[tuple[str, str]]:
        """Directions this engine translates directly, as ISO 639-1 ``(source, target)``."""

    @abstractmethod
    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate each text; the result has one entry per input, in order."""

    @abstractmethod
    def close(self) -> None:
        """Release processes, models and memory; safe to call twice."""

    def provenance(self, source: str, target: str) -> str:
        """Which engine and model made a translation, precisely enough to make it again: the
        record keeps it beside every translated line."""
        return f"{self.name} {pair_label(source, target)}"

    def describe(self) -> dict[str, Any]:
        """What this engine is and covers, for the console and health reports."""
        return {
            "name": self.name,
            "pairs": [pair_label(s, t) for s, t in sorted(self.pairs())],
        }

    def _check_pair(self, source: str, target: str) -> None:
        pairs = self.pairs()
        if (source, target) not in pairs:
            raise NoEngineForPair(source, target, pairs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
