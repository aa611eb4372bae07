"""Stand-ins at the two seams a call has, so that the call, routing and playout can be tested
in milliseconds: fake engines at ``hotline.engines.Engines`` and a link that keeps what it is
sent. Everything else in those tests is the real code, on real asyncio."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from asr import Word
from hotline.engines import ASR_RATE, Final, Identified, Partial, Translation
from hotline.wire.messages import ServerMessage

SPEECH_LEVEL = 8000
SILENCE_TO_END_S = 0.3
PARTIAL_EVERY_S = 0.2


def tone(seconds: float, rate: int = ASR_RATE, level: int = SPEECH_LEVEL) -> np.ndarray:
    """A 440 Hz tone: what the fake recognizer takes for speech."""
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def quiet(seconds: float, rate: int = ASR_RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


class FakeStream:
    """A recognizer that hears loud audio as speech: partials while it lasts, and a final
    with the next scripted sentence once 0.3 s of silence follows (or at close)."""

    def __init__(self, sentences: deque[str]) -> None:
        self.sentences = sentences
        self.fed = 0
        self.speech_start: int | None = None
        self.last_loud = 0
        self.last_partial = 0
        self.closed = False
        self.released = False

    async def feed(self, pcm: bytes) -> list[Partial | Final]:
        samples = np.frombuffer(pcm, dtype="<i2")
        events: list[Partial | Final] = []
        for start in range(0, len(samples), ASR_RATE // 50):
            chunk = samples[start : start + ASR_RATE // 50]
            at = self.fed + start
            if np.abs(chunk.astype(np.int32)).mean() > SPEECH_LEVEL / 4:
                if self.speech_start is None:
                    self.speech_start = self.last_partial = at
                self.last_loud = at + len(chunk)
                if at - self.last_partial >= PARTIAL_EVERY_S * ASR_RATE:
                    self.last_partial = at
                    events.append(Partial(self._upcoming(partial=True)))
            elif (
                self.speech_start is not None and at - self.last_loud >= SILENCE_TO_END_S * ASR_RATE
            ):
                events.append(self._final())
        self.fed += len(samples)
        return events

    async def close(self) -> list[Partial | Final]:
        self.closed = True
        return [self._final()] if self.speech_start is not None else []

    def release(self) -> None:
        self.released = True

    def _upcoming(self, partial: bool = False) -> str:
        text = self.sentences[0] if self.sentences else "something"
        return " ".join(text.split()[:2]) if partial else text

    def _final(self) -> Final:
        assert self.speech_start is not None
        text = self.sentences.popleft() if self.sentences else "something"
        start, end = self.speech_start / ASR_RATE, self.last_loud / ASR_RATE
        said = text.split()
        step = (end - start) / max(1, len(said))
        words = [Word(w, start + i * step, start + (i + 1) * step, 0.8) for i, w in enumerate(said)]
        final = Final(text, words, 0.9, start, end)
        self.speech_start = None
        return final


class FakeEngines:
    """The operations of ``hotline.engines.Engines``, answered at once and predictably.

    ``said`` scripts what each language's recognizer hears, in order. Translation marks the
    text with its target language (``"[es] hello"``) for every pair in ``pairs`` (the same
    language is never translated); speech is a tone of ``speech_s`` per sentence.
    """

    def __init__(
        self,
        said: dict[str, list[str]] | None = None,
        pairs: set[tuple[str, str]] | None = None,
        recognizes: set[str] | None = None,
        speech_s: float = 0.05,
    ) -> None:
        self.said = {lang: deque(lines) for lang, lines in (said or {}).items()}
        self.pairs = pairs if pairs is not None else {("en", "es"), ("es", "en")}
        self.recognizes = recognizes if recognizes is not None else {"en", "es", "ko"}
        self.speech_s = speech_s
        self.streams: list[FakeStream] = []
        self.spoken: list[tuple[str, str]] = []
        self.translated: list[tuple[str, str, str]] = []

    def asr_languages(self) -> list[str]:
        return sorted(self.recognizes)

    def can_recognize(self, language: str) -> bool:
        return language in self.recognizes

    def can_translate(self, source: str, target: str) -> bool:
        return source == target or (source, target) in self.pairs

    async def open_stream(self, language: str, sample_rate: int = ASR_RATE) -> FakeStream:
        if language not in self.recognizes:
            raise LookupError(f"no speech recognizer for {language!r}")
        stream = FakeStream(self.said.setdefault(language, deque()))
        self.streams.append(stream)
        return stream

    def identify_language(self, text: str) -> Identified:
        return Identified(None, 0.0)

    round_trip_score = 100.0
    """What every translation's round trip scores (chrF)."""

    async def round_trip(self, text: str, translation: str, source: str, target: str) -> float:
        return self.round_trip_score

    async def translate(self, texts: list[str], source: str, target: str) -> Translation:
        await asyncio.sleep(0)
        for text in texts:
            self.translated.append((text, source, target))
        if source == target:
            return Translation(list(texts), True, "identity")
        if (source, target) not in self.pairs:
            return Translation(list(texts), False, "none", f"no engine for {source}→{target}")
        return Translation([f"[{target}] {t}" for t in texts], True, "fake")

    async def speak(self, text: str, language: str, sample_rate: int) -> np.ndarray:
        self.spoken.append((text, language))
        return tone(self.speech_s, sample_rate)

    async def speak_stream(
        self, text: str, language: str, sample_rate: int
    ) -> AsyncIterator[np.ndarray]:
        self.spoken.append((text, language))
        for _ in text.split(". "):
            yield tone(self.speech_s, sample_rate)


class FakeLink:
    """A party's transport that keeps every message and all audio it is sent."""

    def __init__(self) -> None:
        self.messages: list[ServerMessage] = []
        self.audio = bytearray()
        self.segments: list[str] = []
        self._changed = asyncio.Condition()

    async def send(self, message: ServerMessage) -> None:
        self.messages.append(message)
        async with self._changed:
            self._changed.notify_all()

    async def send_audio(self, pcm: bytes) -> None:
        self.audio += pcm

    async def segment_sent(self, name: str) -> None:
        self.segments.append(name)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.messages if type(m) is kind]

    async def wait_for(
        self, predicate: Callable[[ServerMessage], bool], timeout: float = 5.0
    ) -> ServerMessage:
        async def found() -> ServerMessage:
            async with self._changed:
                while True:
                    for message in self.messages:
                        if predicate(message):
                            return message
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)
