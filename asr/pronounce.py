"""Pronunciations for words a recognizer's dictionary lacks (street, district and agency
names from the city glossary), so PocketSphinx can learn them at run time.

espeak-ng reads each word with its American English voice and prints the reading in IPA;
:data:`IPA_TO_ARPABET` turns that into the CMU ARPAbet phones of PocketSphinx's en-US
model. A reading with a sound the table does not know, or a phone the model lacks, gives
no pronunciation rather than a wrong one.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Collection, Iterable

__all__ = ["IPA_TO_ARPABET", "PronunciationError", "ipa_to_arpabet", "pronounce", "spelling"]

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
VOICE = "en-us"
TIMEOUT_S = 30.0

IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # diphthongs and r-coloured vowels first: the longest match wins
    "aɪ": ("AY",),
    "aʊ": ("AW",),
    "eɪ": ("EY",),
    "oʊ": ("OW",),
    "əʊ": ("OW",),
    "ɔɪ": ("OY",),
    "ɜː": ("ER",),
    "ɜ": ("ER",),
    "ɝ": ("ER",),
    "ɚ": ("ER",),
    "l̩": ("AH", "L"),
    "n̩": ("AH", "N"),
    "m̩": ("AH", "M"),
    # vowels
    "iː": ("IY",),
    "i": ("IY",),
    "ɪ": ("IH",),
    "ᵻ": ("IH",),
    "ɛ": ("EH",),
    "e": ("EH",),
    "æ": ("AE",),
    "a": ("AE",),
    "ɑː": ("AA",),
    "ɑ": ("AA",),
    "ɒ": ("AA",),
    "ɔː": ("AO",),
    "oː": ("AO",),  # espeak's "or" (wˈoːɹn): cmudict has W AO R N
    "ɔ": ("AO",),
    "o": ("OW",),
    "ʌ": ("AH",),
    "ə": ("AH",),
    "ɐ": ("AH",),
    "ʊ": ("UH",),
    "uː": ("UW",),
    "u": ("UW",),
    # consonants
    "tʃ": ("CH",),
    "dʒ": ("JH",),
    "p": ("P",),
    "b": ("B",),
    "t": ("T",),
    "d": ("D",),
    "k": ("K",),
    "ɡ": ("G",),
    "g": ("G",),
    "f": ("F",),
    "v": ("V",),
    "θ": ("TH",),
    "ð": ("DH",),
    "s": ("S",),
    "z": ("Z",),
    "ʃ": ("SH",),
    "ʒ": ("ZH",),
    "h": ("HH",),
    "x": ("K",),
    "m": ("M",),
    "n": ("N",),
    "ŋ": ("NG",),
    "l": ("L",),
    "ɹ": ("R",),
    "r": ("R",),
    "j": ("Y",),
    "w": ("W",),
    "ʍ": ("W",),
    "ɾ": ("T",),  # the American flap: cmudict writes "city", "better" with T
    "ʔ": ("T",),  # "button" bˈʌʔn̩: B AH T AH N, as cmudict has it
}
"""espeak-ng's en-us IPA symbols → CMU ARPAbet (stress dropped: the model has none)."""

_IGNORED = set("ˈˌːˑ‿.-_ ")
_LONGEST = max(len(symbol) for symbol in IPA_TO_ARPABET)
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")
_SPELLABLE = re.compile(r"[a-z](?:[a-z'-]*[a-z])?")
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


class PronunciationError(RuntimeError):
    """espeak-ng could not be run: no pronunciation can be derived at all."""


def spelling(word: str) -> str | None:
    """The word in plain ASCII letters for espeak-ng to read (``Gràcia`` → ``gracia``), or
    None when it is not written in Latin letters: an English voice cannot read it."""
    folded = unicodedata.normalize("NFKD", word.casefold().translate(_LETTERS))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    plain = plain.replace("’", "'")
    return plain if _SPELLABLE.fullmatch(plain) else None


def ipa_to_arpabet(ipa: str) -> list[str] | None:
    """ARPAbet phones for espeak-ng's IPA reading, or None when a symbol is not in the table."""
    text = _LANGUAGE_SWITCH.sub("", ipa)
    phones: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in _IGNORED:
            i += 1
            continue
        for size in range(min(_LONGEST, len(text) - i), 0, -1):
            mapped = IPA_TO_ARPABET.get(text[i : i + size])
            if mapped is not None:
                phones.extend(mapped)
                i += size
                break
        else:
            return None
    # ARPAbet's ER already holds the r espeak may write after ɚ; a doubled letter (sycara:
    # ɑːɹɹ) is one sound.
    merged = [
        p
        for k, p in enumerate(phones)
        if not k or (p != phones[k - 1] and not (p == "R" and phones[k - 1] == "ER"))
    ]
    return merged or None


def pronounce(
    words: Iterable[str], phones: Collection[str], voice: str = VOICE
) -> dict[str, str | None]:
    """Each word's pronunciation as space-separated phones, all in ``phones`` (the model's
    phone set), or None where none could be derived (logged with the reason). One
    espeak-ng process reads every word. PronunciationError when espeak-ng cannot run."""
    unique = list(dict.fromkeys(words))
    readable = {w: spelled for w in unique if (spelled := spelling(w)) is not None}
    readings = _read(voice, list(readable.values())) if readable else []
    ipa = dict(zip(readable, readings, strict=True))
    result: dict[str, str | None] = {}
    for word in unique:
        if word not in ipa:
            log.info("no pronunciation for %r: not written in Latin letters only", word)
            result[word] = None
            continue
        arpabet = ipa_to_arpabet(ipa[word])
        if arpabet is None:
            log.info("no pronunciation for %r: espeak-ng read it as %r", word, ipa[word])
            result[word] = None
        elif missing := sorted(set(arpabet) - set(phones)):
            log.info("no pronunciation for %r: the model has no %s", word, ", ".join(missing))
            result[word] = None
        else:
            result[word] = " ".join(arpabet)
    return result


def _read(voice: str, words: list[str]) -> list[str]:
    """espeak-ng's IPA for each word: one clause per line, so one reading per word."""
    if shutil.which(ESPEAK) is None:
        raise PronunciationError(f"{ESPEAK} is not installed: no pronunciations for new words")
    try:
        done = subprocess.run(
            [ESPEAK, "-q", "--ipa", "-v", voice],
            input="".join(f"{word}.\n" for word in words),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PronunciationError(f"{ESPEAK} could not read the words: {exc}") from exc
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if len(lines) != len(words):
        if len(words) == 1:
            return [" ".join(lines)]
        # A word read as two clauses would shift every later reading: read them one by one.
        return [_read(voice, [word])[0] for word in words]
    return lines
