"""Japanese text made speakable for espeak-ng, which reads every kanji as "Chinese letter".

Kanji are turned into hiragana with pykakasi (its dictionary ships in the wheel); kana,
Latin letters, digits and punctuation pass through unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["has_kanji", "to_kana"]

_WHITESPACE = re.compile(r"(\s+)")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆]")


def has_kanji(text: str) -> bool:
    """Whether ``text`` holds a character espeak-ng cannot read as Japanese."""
    return _KANJI.search(text) is not None


def to_kana(text: str) -> str:
    """``text`` with its kanji read out in hiragana (電気 → でんき); the rest kept as is."""
    if not has_kanji(text):
        return text
    # pykakasi garbles line breaks (it repeats the word before one), so whitespace is
    # kept out of its input.
    return "".join(
        "".join(piece["hira"] for piece in _kakasi().convert(part)) if has_kanji(part) else part
        for part in _WHITESPACE.split(text)
    )


@functools.cache
def _kakasi() -> Any:
    """One converter per process: building it loads the dictionary (~0.4 s)."""
    import pykakasi

    return pykakasi.kakasi()
