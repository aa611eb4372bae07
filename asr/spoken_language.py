"""Which of the installed recognizers' languages one utterance is in, or "not sure".

Every recognizer only knows its own language and answers in it whatever it hears (Korean
Vosk writes Hangul for English speech, PocketSphinx writes English words for Spanish), so a
recognizer's text alone proves little, and how sure it says it is proves less (Vosk is as
sure of its Hangul for French as for Korean). What a recognizer that understands the speech
does and one that does not cannot is keep its words when the same utterance is played a
little slower: :func:`decide` asks each reading for that agreement, enough confident words
at a speaking pace, no tokens foreign to the language, and a text the text identifier does
not place in another language, against a bar per engine measured on espeak-ng speech in
many languages (``hotline bench langid --calibrate``). It answers only when exactly one
language clears its bar. Sending a caller down the wrong language costs more than asking,
so every doubt ends in ``None``: the caller hears the menu.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from asr.base import Final, Recognizer, Word
from asr.endpoint import Endpointer, SpeechEnd, SpeechStart
from asr.stream import UtteranceStream

__all__ = [
    "BARS",
    "Bar",
    "Candidate",
    "FirstWords",
    "SLOWER",
    "SpokenLanguage",
    "agreement",
    "candidate",
    "clears",
    "decide",
    "hear",
]

ACCEPT_S = 0.02


@dataclass(frozen=True, slots=True)
class Candidate:
    """What one language's recognizer made of the utterance."""

    language: str
    engine: str
    text: str
    confidence: float
    """Mean word confidence (0-1); 0 when it heard no words."""
    words: int
    speech_s: float
    """The utterance's length in seconds."""
    doubtful: float = 1.0
    """The share of its words below :data:`DOUBTFUL` confidence (1 when it heard none)."""
    odd: int = 0
    """Tokens no sentence of the language has: numbers, brackets, another script."""
    text_language: str | None = None
    """The language of ``text`` by a text identifier, None when unsure."""
    text_confidence: float = 0.0
    agreement: float = 0.0
    """How alike its texts for the utterance and for the utterance played :data:`SLOWER`
    are (0-1, characters): a recognizer that understands the speech keeps its words."""

    @property
    def words_per_s(self) -> float:
        return self.words / self.speech_s if self.speech_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SpokenLanguage:
    """The verdict: ``language`` None means not sure (keep the menu)."""

    language: str | None
    confidence: float
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True, slots=True)
class Bar:
    """What one engine's reading of an utterance must clear to name its language."""

    min_confidence: float
    max_doubtful: float
    """The share of doubtful words must stay below this."""
    min_words: int
    max_words_per_s: float
    min_agreement: float


SLOWER = 1.06
"""The second hearing of an utterance is played this much slower (and lower)."""
DOUBTFUL = 0.5
"""A word below this confidence is a guess."""

BARS: dict[str, Bar] = {
    "pocketsphinx": Bar(
        min_confidence=0.6, max_doubtful=0.3, min_words=6, max_words_per_s=4.0, min_agreement=0.75
    ),
    "vosk": Bar(
        min_confidence=0.8, max_doubtful=0.2, min_words=5, max_words_per_s=4.0, min_agreement=0.9
    ),
}
"""Per engine, a bar that no calibration clip in another language cleared, even with its
confidence, doubtful share and agreement loosened by 0.05 (``hotline bench langid
--calibrate``: 476 readings per engine, espeak-ng in 26 languages and Piper's English, at 16
and 8 kHz; docs/quality.md). Vosk keeps its Hangul for a slowed German sentence more often
than PocketSphinx its English words for a slowed Spanish one, so its bar is higher."""
STRICTEST = Bar(
    min_confidence=max(b.min_confidence for b in BARS.values()),
    max_doubtful=min(b.max_doubtful for b in BARS.values()),
    min_words=max(b.min_words for b in BARS.values()),
    max_words_per_s=min(b.max_words_per_s for b in BARS.values()),
    min_agreement=max(b.min_agreement for b in BARS.values()),
)
"""For an engine not calibrated yet: every bar's strictest part."""

_ODD_TOKEN = re.compile(r"[\[\]()0-9+/=~]|^-$")
_LATIN = re.compile(r"[A-Za-z]")


def hear(recognizer: Recognizer, pcm: bytes) -> Final:
    """The whole utterance through a reset recognizer, as one Final (an engine that endpoints
    by itself, as Vosk does at a long pause, gives several: they are joined)."""
    stream = UtteranceStream(recognizer, accept_s=ACCEPT_S)
    finals = [e for e in stream.feed(pcm) + stream.close() if isinstance(e, Final)]
    words: list[Word] = [w for f in finals for w in f.words]
    text = " ".join(f.text for f in finals if f.text.strip())
    end = len(pcm) / 2 / recognizer.sample_rate
    confidence = sum(w.conf for w in words) / len(words) if words else 0.0
    return Final(text, words, confidence, 0.0, end)


def candidate(
    language: str,
    engine: str,
    final: Final,
    speech_s: float,
    text_language: str | None = None,
    text_confidence: float = 0.0,
    again: Final | None = None,
) -> Candidate:
    """A recognizer's Final for an utterance ``speech_s`` long, with what a text identifier
    said of its words and its Final for the same utterance played :data:`SLOWER` (``again``),
    as the evidence :func:`decide` weighs."""
    words = final.words
    confidences = [w.conf for w in words]
    return Candidate(
        language,
        engine,
        final.text,
        sum(confidences) / len(words) if words else 0.0,
        len(words),
        speech_s,
        sum(c < DOUBTFUL for c in confidences) / len(words) if words else 1.0,
        odd_tokens(final.text),
        text_language,
        text_confidence,
        agreement(final.text, again.text) if again is not None else 0.0,
    )


def agreement(text: str, again: str) -> float:
    """How alike two readings of one utterance are, by characters, spaces aside (word
    boundaries are the first thing a recognizer changes its mind about): 0-1."""
    first, second = "".join(text.split()), "".join(again.split())
    if not first or not second:
        return 0.0
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def odd_tokens(text: str) -> int:
    """Tokens that a recognizer writes when it hears another language: digits and brackets
    (Vosk's Korean model spells unknown sounds as ``[2] 억`` or ``(천)``), and words in another script
    than most of the text (``CEO`` among Hangul)."""
    tokens = text.split()
    latin = sum(bool(_LATIN.search(t)) for t in tokens)
    foreign_latin = 2 * latin < len(tokens)
    return sum(
        bool(_ODD_TOKEN.search(t)) or (foreign_latin and bool(_LATIN.search(t))) for t in tokens
    )


def clears(heard: Candidate, bars: dict[str, Bar] | None = None) -> bool:
    """Whether one recognizer's reading is evidence enough for its language."""
    bar = (bars or BARS).get(heard.engine, STRICTEST)
    return (
        heard.words >= bar.min_words
        and heard.confidence >= bar.min_confidence
        and heard.doubtful < bar.max_doubtful
        and heard.words_per_s <= bar.max_words_per_s
        and heard.agreement >= bar.min_agreement
        and heard.odd == 0
        and heard.text_language in (None, heard.language)
    )


def decide(candidates: Iterable[Candidate], bars: dict[str, Bar] | None = None) -> SpokenLanguage:
    """The language whose recognizer alone clears its bar; None when none does or several do
    (two recognizers each sure of their own language leave the caller to the menu)."""
    heard = tuple(candidates)
    sure = [c for c in heard if clears(c, bars)]
    if len(sure) != 1:
        return SpokenLanguage(None, 0.0, heard)
    return SpokenLanguage(sure[0].language, sure[0].confidence, heard)


class FirstWords:
    """A caller's utterances, cut from a stream of their audio by an energy endpointer, for
    identifying the language they speak: sans-I/O, fed chunks of any length. An utterance
    comes out once it has ended (or run ``max_s`` long, then the rest of it is skipped), with
    ``preroll_s`` before its start; shorter stretches of speech than ``min_speech_s`` (a
    cough, a "hello?") say too little and are dropped."""

    def __init__(
        self,
        sample_rate: int,
        trailing_silence_ms: int = 600,
        preroll_s: float = 0.3,
        min_speech_s: float = 0.8,
        max_s: float = 8.0,
        tail_s: float = 0.2,
    ) -> None:
        self.sample_rate = sample_rate
        self._endpointer = Endpointer(sample_rate, trailing_silence_ms=trailing_silence_ms)
        self._preroll = round(preroll_s * sample_rate)
        self._min_speech = round(min_speech_s * sample_rate)
        self._max = round(max_s * sample_rate)
        self._tail = round(tail_s * sample_rate)
        self._keep = self._preroll + sample_rate  # the endpointer is sure of a start late
        self._buffer = np.zeros(0, dtype=np.int16)
        self._buffer_at = 0
        self._fed = 0
        self._start: int | None = None
        self._speech_at = 0
        self._skipping = False

    def feed(self, pcm: np.ndarray) -> np.ndarray | None:
        """The next chunk of the caller's audio (int16); an utterance when one is complete."""
        pcm = np.asarray(pcm, dtype=np.int16)
        self._buffer = np.concatenate([self._buffer, pcm])
        self._fed += len(pcm)
        found: np.ndarray | None = None
        for event in self._endpointer.push(pcm.astype("<i2").tobytes()):
            at = round(event.at * self.sample_rate)
            if isinstance(event, SpeechStart) and not self._skipping:
                self._start = max(self._buffer_at, at - self._preroll)
                self._speech_at = at
            elif isinstance(event, SpeechEnd):
                if (
                    self._start is not None
                    and found is None
                    and at - self._speech_at >= (self._min_speech)
                ):
                    found = self._cut(self._start, min(self._fed, at + self._tail))
                self._start = None
                self._skipping = False
        if found is None and self._start is not None and self._fed - self._start >= self._max:
            found = self._cut(self._start, self._start + self._max)
            self._start = None
            self._skipping = True
        keep_from = self._start if self._start is not None else self._fed - self._keep
        if keep_from > self._buffer_at:
            self._buffer = self._buffer[keep_from - self._buffer_at :]
            self._buffer_at = keep_from
        return found

    def _cut(self, start: int, end: int) -> np.ndarray:
        return self._buffer[start - self._buffer_at : end - self._buffer_at].copy()
