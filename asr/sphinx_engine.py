"""PocketSphinx for English: the en-US model ships in the wheel, so English always works."""

from __future__ import annotations

import re
from typing import Any

import pocketsphinx

from asr.base import (
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

_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")


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
        code = normalize_language(language)
        if code != "en":
            raise ModelNotFound(
                f"PocketSphinx has no model for {code!r}: only the en-US model ships with it"
            )
        grammar = tuple(phrases) if phrases is not None else None
        key = (sample_rate, grammar, words)
        recognizer = self._pool.acquire(key, lambda: self._create(sample_rate, grammar, words))
        recognizer.start_from(self._settled.get((sample_rate, band)))
        return recognizer

    def _create(
        self, sample_rate: int, phrases: tuple[str, ...] | None, words: bool
    ) -> SphinxRecognizer:
        decoder = pocketsphinx.Decoder(samprate=sample_rate, loglevel="FATAL")
        if phrases is not None:
            decoder.set_jsgf_string("phrases", _jsgf(decoder, phrases))
            decoder.activate_search("phrases")
        return SphinxRecognizer(decoder, sample_rate, words)

    def release(self, recognizer: Recognizer) -> None:
        self._pool.release(recognizer)  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "languages": {"en": {"model": str(pocketsphinx.get_model_path()), "phrases": True}},
            "pool": self._pool.stats(),
        }


def _jsgf(decoder: pocketsphinx.Decoder, phrases: tuple[str, ...]) -> str:
    """A grammar accepting any sequence of the phrases; every word must be in the dictionary."""
    spoken = [" ".join(p.lower().split()) for p in phrases if p.strip()]
    unknown = sorted({w for p in spoken for w in p.split() if decoder.lookup_word(w) is None})
    if not spoken or unknown:
        reason = f"words not in the dictionary: {', '.join(unknown)}" if unknown else "it is empty"
        raise AsrError(f"PocketSphinx cannot use this phrase list: {reason}")
    return "#JSGF V1.0;\ngrammar phrases;\npublic <phrases> = (" + " | ".join(spoken) + ")+;\n"
