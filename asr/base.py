"""The one interface every speech recognizer keeps, so the call path never sees an engine's quirks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable


class AsrError(Exception):
    """A speech recognizer could not be set up or used."""


class ModelNotFound(AsrError):
    """No usable model for a language: the message says where we looked and how to fix it."""


class LanguageNotSupported(AsrError):
    """No installed engine recognizes the language: the message lists the ones that do."""


@dataclass(slots=True)
class Word:
    word: str
    start: float
    end: float
    conf: float


@dataclass(slots=True)
class Partial:
    """Text so far of the utterance in progress; it may still change."""

    text: str


@dataclass(slots=True)
class Final:
    """A finished utterance; times are seconds from the start of the stream."""

    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 1.0
    start: float = 0.0
    end: float = 0.0


AsrEvent: TypeAlias = Partial | Final


@dataclass(slots=True)
class AddedWords:
    """What :meth:`AsrEngine.add_vocabulary` did with the words it was given."""

    added: dict[str, str] = field(default_factory=dict)
    """Words the recognizers can now output → the pronunciation they learned."""
    known: list[str] = field(default_factory=list)
    """Words the model had already."""
    skipped: list[str] = field(default_factory=list)
    """Words it could not add (no pronunciation, or an engine that adds none)."""
    note: str = ""
    """Why the engine adds no words at all, when it cannot."""


def make_final(text: str, words: list[Word], start: float, end: float) -> Final:
    """Build a Final whose span is its words' span when there are words, else the audio span."""
    if words:
        confidence = sum(w.conf for w in words) / len(words)
        return Final(text, words, confidence, words[0].start, words[-1].end)
    return Final(text, [], 1.0, start, end)


def normalize_language(language: str) -> str:
    """Reduce 'en-US', 'ko_KR' or 'EN' to the ISO 639-1 code engines are keyed by."""
    return language.strip().lower().replace("_", "-").split("-")[0]


@runtime_checkable
class Recognizer(Protocol):
    """A streaming recognizer for one audio stream of PCM16 mono little-endian at `sample_rate`.

    Times in its Finals count from its creation or last `reset()`.
    """

    sample_rate: int

    def accept(self, pcm: bytes) -> bool:
        """Decode `pcm`; True when the engine itself found an endpoint and `result()` is ready."""
        ...

    def partial(self) -> str: ...

    def result(self) -> Final:
        """The final that `accept` signalled."""
        ...

    def finish(self) -> Final:
        """Finalize the current utterance now; the recognizer is ready for the next one."""
        ...

    def reset(self) -> None: ...


class AsrEngine(ABC):
    """A family of recognizers (one engine, its models) that hands out pooled recognizers."""

    name: str

    @abstractmethod
    def languages(self) -> list[str]:
        """ISO 639-1 codes this engine has a usable model for."""

    @abstractmethod
    def recognizer(
        self,
        language: str,
        sample_rate: int = 16000,
        phrases: list[str] | None = None,
        words: bool = True,
        band: str = "wideband",
    ) -> Recognizer:
        """A reset recognizer from the pool; give it back with `release`. `band` says what the
        audio went through before it (``narrowband``: a phone call's 8 kHz, brought up to
        `sample_rate`), for an engine that starts each stream from a state settled per band."""

    @abstractmethod
    def release(self, recognizer: Recognizer) -> None:
        """Return a recognizer to the pool once its stream is over."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What this engine can do here, for `hotline engines`."""

    def settle(  # noqa: B027
        self, language: str, pcm: bytes, sample_rate: int, band: str = "wideband"
    ) -> None:
        """Let every stream on `band` from now on start from a state settled on this speech
        (16-bit PCM, as that band's streams will hear it), the same for every stream: an engine
        that adapts to what it has heard (PocketSphinx's normalisation) then gives the same
        words for the same audio, in a call or in its replay, whatever the recognizer heard
        before. Default: nothing to do."""

    def add_vocabulary(self, language: str, words: Mapping[str, str | None]) -> AddedWords:
        """Let every recognizer of `language`, now and later, output these words (the city's
        street and agency names) without limiting it to them, as phrase lists do. `words`
        maps each word to its pronunciation in the model's phones, or None to derive one.
        Default: the engine cannot add words, so every word is skipped."""
        return AddedWords(
            skipped=sorted(words), note=f"{self.name} cannot add words to its vocabulary"
        )

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold only memory
        """Free what the engine holds beyond memory (worker processes); default: nothing."""
