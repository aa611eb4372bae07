"""PocketSphinx for English: the en-US model ships in the wheel, so English always works."""

from __future__ import annotations

import functools
import logging
import re
import struct
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pocketsphinx

from asr.base import (
    AddedWords,
    AsrEngine,
    AsrError,
    Final,
    ModelNotFound,
    Recognizer,
    Word,
    make_final,
    normalize_language,
)
from asr.pool import RecognizerPool
from asr.pronounce import PronunciationError, pronounce

log = logging.getLogger(__name__)

_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")
_NOT_SPEECH_PHONES = {"SIL"}
_WORD_EDGES = '.,;:!?()[]{}"“”«»'


@functools.cache
def model_phones(model: Path | None = None) -> frozenset[str]:
    """The speech phones of an acoustic model (its ``mdef``, binary or text): what a new
    word's pronunciation may use. Silence and noise phones (``SIL``, ``+NSN+``) are left out."""
    mdef = Path(model or Path(pocketsphinx.get_model_path()) / "en-us" / "en-us") / "mdef"
    data = mdef.read_bytes()
    if data.startswith(b"BMDF"):
        # magic, version, the format description's length, the description; then ten int32
        # counts (the first: how many base phones) and the base phones' names, NUL-ended.
        skip = 12 + struct.unpack_from("<i", data, 8)[0]
        count = struct.unpack_from("<i", data, skip)[0]
        names = data[skip + 40 :].split(b"\0", count)[:count]
        found = [name.decode("ascii") for name in names]
    else:
        lines = data.decode("ascii").splitlines()
        header = next(line for line in lines if line.endswith("n_base"))
        start = next(i for i, line in enumerate(lines) if line.startswith("#base"))
        found = [line.split()[0] for line in lines[start + 1 :][: int(header.split()[0])]]
    return frozenset(p for p in found if p not in _NOT_SPEECH_PHONES and not p.startswith("+"))


def dictionary_word(word: str) -> str:
    """``word`` as PocketSphinx's dictionary writes words: lower case, no edge punctuation."""
    return word.strip().strip(_WORD_EDGES).casefold()


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+"))


class SphinxRecognizer:
    """One PocketSphinx decoder; it has no endpointer here, so utterances end on `finish()`."""

    def __init__(
        self,
        decoder: pocketsphinx.Decoder,
        sample_rate: int,
        words: bool,
    ) -> None:
        self.sample_rate = sample_rate
        self._decoder = decoder
        self._start_cmn: str | None = None
        """The cepstral mean every stream starts from (settled for the band it hears)."""
        self._words = words
        self._frame_rate = float(decoder.config["frate"])
        self._in_utterance = False
        self._fed = 0
        self._utterance_start = 0
        self.learned = 0
        """How many of the engine's added words this decoder knows (they only ever grow)."""

    def accept(self, pcm: bytes) -> bool:
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
            self._utterance_start = self._fed
        self._decoder.process_raw(pcm, False, False)
        self._fed += len(pcm) // 2
        return False

    def partial(self) -> str:
        if not self._in_utterance:
            return ""
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""

    def result(self) -> Final:
        raise AsrError("PocketSphinx never signals an endpoint here; use finish()")

    def finish(self) -> Final:
        start = self._utterance_start / self.sample_rate
        end = self._fed / self.sample_rate
        if not self._in_utterance:
            return make_final("", [], end, end)
        self._decoder.end_utt()
        self._in_utterance = False
        self._utterance_start = self._fed
        hypothesis = self._decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        words = self._segments(start) if self._words and text else []
        return make_final(text, words, start, end)

    def reset(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
            self._in_utterance = False
        # Fresh feature state (live CMN keeps running sums that set_cmn leaves alone), so a
        # stream decodes the same whatever the pooled decoder heard before; 0.1 ms.
        self._decoder.reinit_feat()
        if self._start_cmn is not None:
            self._decoder.set_cmn(self._start_cmn)
        self._fed = 0
        self._utterance_start = 0

    def start_from(self, cmn: str | None) -> None:
        """Start every stream from now on from this cepstral mean (None: from wherever the
        last stream left it)."""
        self._start_cmn = cmn
        self.reset()

    def learn(self, words: tuple[tuple[str, str], ...]) -> None:
        """Add the words added to the engine since this decoder last learned (between
        streams: the search restarts once, after the last word)."""
        self.learned = _teach(self._decoder, words, self.learned)

    def _segments(self, offset: float) -> list[Word]:
        words = []
        for segment in self._decoder.seg():
            if _is_filler(segment.word):
                continue
            words.append(
                Word(
                    _ALTERNATE_PRONUNCIATION.sub("", segment.word),
                    offset + segment.start_frame / self._frame_rate,
                    offset + (segment.end_frame + 1) / self._frame_rate,
                    min(1.0, max(0.0, float(segment.prob))),
                )
            )
        return words


class PocketSphinxEngine(AsrEngine):
    """English recognition with the wheel's en-US acoustic model, dictionary and language model."""

    name = "pocketsphinx"

    def __init__(self, max_uses: int = 50) -> None:
        self._pool: RecognizerPool[SphinxRecognizer] = RecognizerPool(max_uses=max_uses)
        self._settled: dict[tuple[int, str], str] = {}
        self._words: tuple[tuple[str, str], ...] = ()
        """Words added to the dictionary and language model, in order, with their phones."""
        self._words_lock = threading.Lock()

    def add_vocabulary(self, language: str, words: Mapping[str, str | None]) -> AddedWords:
        """New words go into the dictionary and, as unigrams, into the language model of
        every decoder, pooled or made later: recognition is not limited to them. A word
        without a pronunciation gets espeak-ng's (asr/pronounce.py); one whose phones the
        model lacks is skipped and logged."""
        _english_only(language)
        wanted: dict[str, str | None] = {}
        for word, phones in words.items():
            if spoken := dictionary_word(word):
                wanted.setdefault(spoken, phones)
        if not wanted:
            return AddedWords()
        # A decoder of our own to look words up in and try each pronunciation on (0.4 s).
        probe = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
        with self._words_lock:
            already = {word for word, _ in self._words}
        known = sorted(w for w in wanted if w in already or probe.lookup_word(w) is not None)
        new = {w: p for w, p in wanted.items() if w not in known}
        phone_set = model_phones()
        derived: dict[str, str | None] = {}
        unspoken = [w for w, phones in new.items() if phones is None]
        if unspoken:
            try:
                derived = pronounce(unspoken, phone_set)
            except PronunciationError as exc:
                log.warning("pocketsphinx: %s", exc)
        added: dict[str, str] = {}
        skipped: list[str] = []
        for word, given in new.items():
            phones = given if given is not None else derived.get(word)
            if phones is not None and not set(phones.split()) <= phone_set:
                log.info("pocketsphinx: %r as %r uses phones the model lacks", word, phones)
                phones = None
            if phones is None:
                skipped.append(word)
                continue
            try:
                probe.add_word(word, phones, False)
            except RuntimeError:
                log.info("pocketsphinx would not add %r as %r", word, phones)
                skipped.append(word)
                continue
            added[word] = phones
        with self._words_lock:
            # A word another call added meanwhile stays once: a decoder refuses a second.
            already = {word for word, _ in self._words}
            self._words += tuple((w, p) for w, p in added.items() if w not in already)
        return AddedWords(added, known, sorted(skipped))

    def settle(self, language: str, pcm: bytes, sample_rate: int, band: str = "wideband") -> None:
        """The cepstral mean after this speech becomes where every stream on `band` starts
        (live CMN otherwise carries each recognizer's history from call to call). Per band,
        because a phone call's filled-in 8 kHz audio has a mean far from wideband speech's:
        starting a phone caller from the wideband mean garbles the first words."""
        decoder = pocketsphinx.Decoder(samprate=sample_rate, loglevel="FATAL")
        decoder.start_utt()
        decoder.process_raw(pcm, False, True)
        decoder.end_utt()
        self._settled[(sample_rate, band)] = decoder.get_cmn(False)

    def languages(self) -> list[str]:
        return ["en"]

    def recognizer(
        self,
        language: str,
        sample_rate: int = 16000,
        phrases: list[str] | None = None,
        words: bool = True,
        band: str = "wideband",
    ) -> Recognizer:
        _english_only(language)
        grammar = tuple(phrases) if phrases is not None else None
        key = (sample_rate, grammar, words)
        recognizer = self._pool.acquire(key, lambda: self._create(sample_rate, grammar, words))
        recognizer.learn(self._words)
        recognizer.start_from(self._settled.get((sample_rate, band)))
        return recognizer

    def _create(
        self, sample_rate: int, phrases: tuple[str, ...] | None, words: bool
    ) -> SphinxRecognizer:
        decoder = pocketsphinx.Decoder(samprate=sample_rate, loglevel="FATAL")
        # Added words first, so a phrase list may use them too.
        vocabulary = self._words
        learned = _teach(decoder, vocabulary, 0)
        if phrases is not None:
            decoder.set_jsgf_string("phrases", _jsgf(decoder, phrases))
            decoder.activate_search("phrases")
        recognizer = SphinxRecognizer(decoder, sample_rate, words)
        recognizer.learned = learned
        return recognizer

    def release(self, recognizer: Recognizer) -> None:
        self._pool.release(recognizer)  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        english = {
            "model": str(pocketsphinx.get_model_path()),
            "phrases": True,
            "adds_words": True,
            "added_words": len(self._words),
        }
        return {"name": self.name, "languages": {"en": english}, "pool": self._pool.stats()}


def _english_only(language: str) -> None:
    code = normalize_language(language)
    if code != "en":
        raise ModelNotFound(
            f"PocketSphinx has no model for {code!r}: only the en-US model ships with it"
        )


def _teach(decoder: pocketsphinx.Decoder, words: tuple[tuple[str, str], ...], known: int) -> int:
    """Add ``words[known:]`` to the decoder; how many of ``words`` it knows now. Every word
    was tried on a decoder of the same model when it was added, so a refusal is a bug."""
    fresh = words[known:]
    for i, (word, phones) in enumerate(fresh):
        try:
            decoder.add_word(word, phones, i == len(fresh) - 1)
        except RuntimeError as exc:
            raise AsrError(f"PocketSphinx would not learn {word!r} as {phones!r}") from exc
    return len(words)


def _jsgf(decoder: pocketsphinx.Decoder, phrases: tuple[str, ...]) -> str:
    """A grammar accepting any sequence of the phrases; every word must be in the dictionary."""
    spoken = [" ".join(p.lower().split()) for p in phrases if p.strip()]
    unknown = sorted({w for p in spoken for w in p.split() if decoder.lookup_word(w) is None})
    if not spoken or unknown:
        reason = f"words not in the dictionary: {', '.join(unknown)}" if unknown else "it is empty"
        raise AsrError(f"PocketSphinx cannot use this phrase list: {reason}")
    return "#JSGF V1.0;\ngrammar phrases;\npublic <phrases> = (" + " | ".join(spoken) + ")+;\n"
