"""The contract every synthesizer keeps, the errors it may raise, and sentence splitting."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

__all__ = [
    "Synthesizer",
    "TtsError",
    "Voice",
    "VoiceNotFound",
    "checked_rate",
    "package_version",
    "speakable",
    "split_sentences",
]

SENTENCE_MAX_CHARS = 240
_UNSPEAKABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_SENTENCE = re.compile(
    r"""
    .+?
    (?:
        [.!?…]+ ["'”’»)\]]* (?=\s|$)
      | [。！？]+ ["'”’」』)\]]*
      | (?=\n)
      | $
    )
    """,
    re.DOTALL | re.VERBOSE,
)
_SOFT_BREAK = re.compile(r"[,;:，；、]\s*|\s+")


class TtsError(Exception):
    """A synthesizer could not produce audio for a request."""


class VoiceNotFound(TtsError):
    """No voice speaks the requested language.

    ``available`` holds the languages that do have a voice, so the caller can say which.
    """

    def __init__(self, language: str, available: Iterable[str] = ()) -> None:
        self.language = language
        self.available: tuple[str, ...] = tuple(sorted(set(available)))
        listed = ", ".join(self.available) or "none"
        super().__init__(f"no voice for language {language!r}; voices exist for: {listed}")


@dataclass(slots=True, frozen=True)
class Voice:
    """One voice of an engine; ``languages`` starts with the ISO 639-1 code it answers to."""

    id: str
    name: str
    languages: tuple[str, ...]


def checked_rate(sample_rate: int) -> int:
    """``sample_rate`` as an int, or ``ValueError`` when no engine could deliver audio at it."""
    if not isinstance(sample_rate, int | np.integer) or not 1000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be an integer in 1000..192000, not {sample_rate}")
    return int(sample_rate)


def speakable(text: str) -> str:
    """``text`` with control characters (which engines choke on) turned into spaces."""
    return _UNSPEAKABLE.sub(" ", text)


def package_version(name: str) -> str | None:
    """The installed version of a distribution, for ``describe()``; None when it is absent."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def split_sentences(text: str, max_chars: int = SENTENCE_MAX_CHARS) -> list[str]:
    """Cut text at sentence ends and line breaks, so speech can start after the first one.

    Pieces without letters or digits (stray quotes, ellipses) join the sentence before them;
    a sentence longer than ``max_chars`` is cut at a comma or space near the limit.
    """
    sentences: list[str] = []
    for match in _SENTENCE.finditer(text):
        piece = match.group().strip()
        if not piece:
            continue
        if sentences and not any(ch.isalnum() for ch in piece):
            sentences[-1] = f"{sentences[-1]} {piece}"
            continue
        sentences.extend(_cut_long(piece, max_chars))
    return sentences


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        breaks = [m.end() for m in _SOFT_BREAK.finditer(rest, 0, max_chars)]
        cut = max((b for b in breaks if b > max_chars // 2), default=max_chars)
        head = rest[:cut].strip()
        if head:
            pieces.append(head)
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


class Synthesizer(ABC):
    """A text-to-speech engine giving mono int16 PCM at the rate the caller asks for.

    ``synthesize`` blocks; the async methods never block the event loop, so a call's
    pipeline can await speech while other calls keep flowing.
    """

    name: str = "synthesizer"

    @abstractmethod
    def voices(self) -> list[Voice]:
        """Every voice this engine has."""

    @abstractmethod
    def synthesize(self, text: str, language: str, sample_rate: int = 16000) -> np.ndarray:
        """Speech for ``text`` in ``language`` (ISO 639-1), as mono int16 at ``sample_rate``."""

    @abstractmethod
    def close(self) -> None:
        """Release worker processes and memory; safe to call twice."""

    def languages(self) -> list[str]:
        """ISO 639-1 codes (or longer tags where none exists) that have at least one voice."""
        return sorted({voice.languages[0] for voice in self.voices() if voice.languages})

    async def synthesize_async(
        self, text: str, language: str, sample_rate: int = 16000
    ) -> np.ndarray:
        """``synthesize`` off the event loop."""
        return await asyncio.to_thread(self.synthesize, text, language, sample_rate)

    async def stream_async(
        self,
        text: str,
        language: str,
        sample_rate: int = 16000,
        chunk_ms: int | None = None,
    ) -> AsyncIterator[np.ndarray]:
        """Speech sentence by sentence: the first audio comes after the first sentence.

        The next sentence is synthesized while the current one is handed out. With
        ``chunk_ms`` each sentence's audio is further cut into pieces of at most that length.
        """
        if chunk_ms is not None and chunk_ms <= 0:
            raise ValueError(f"chunk_ms must be positive, not {chunk_ms}")
        sentences = split_sentences(text)
        if not sentences:
            return
        current: asyncio.Task[np.ndarray] | None = None
        upcoming = asyncio.ensure_future(self.synthesize_async(sentences[0], language, sample_rate))
        try:
            for following in [*sentences[1:], None]:
                current = upcoming
                upcoming = (
                    asyncio.ensure_future(self.synthesize_async(following, language, sample_rate))
                    if following is not None
                    else None
                )
                pcm = await current
                for chunk in _cut_audio(pcm, sample_rate, chunk_ms):
                    yield chunk
        finally:
            for task in (current, upcoming):
                if task is None:
                    continue
                if task.done():
                    if not task.cancelled():
                        task.exception()
                else:
                    task.cancel()

    def describe(self) -> dict[str, Any]:
        """What this engine is and covers, for the console and health reports."""
        return {"name": self.name, "languages": self.languages()}

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _cut_audio(pcm: np.ndarray, sample_rate: int, chunk_ms: int | None) -> list[np.ndarray]:
    if pcm.size == 0:
        return []
    if chunk_ms is None:
        return [pcm]
    step = max(1, sample_rate * chunk_ms // 1000)
    return [pcm[start : start + step] for start in range(0, pcm.size, step)]
