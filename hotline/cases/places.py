"""Where a caller says the problem is: the place as spoken, found in the words of a call in
English, Spanish, Catalan, Korean or Chinese. Rules, so every place can be traced to the
words it came from; the operator corrects it on the console."""

from __future__ import annotations

import re

__all__ = ["PLACE_PATTERNS", "find_place"]

_STREET = r"(?:street|st|avenue|ave|road|rd|boulevard|square|lane|drive|place|park)"
PLACE_PATTERNS = (
    re.compile(
        rf"\bcorner of ((?:\w+ ){{1,3}}?{_STREET}(?: and (?:\w+ ){{1,3}}?{_STREET})?)\b", re.I
    ),
    re.compile(rf"\b(\d+ (?:\w+ ){{1,3}}?{_STREET})\b", re.I),
    re.compile(
        rf"\b(?:on|at|in|near) ((?:the )?(?:\w+ ){{1,3}}?{_STREET}(?: and (?:\w+ ){{1,3}}?{_STREET})?)\b",
        re.I,
    ),
    # A street name after the word: capitalised or a number, so "la calle está rota" is no place.
    re.compile(
        r"\b((?i:calle|avenida|plaza|paseo|carrer|avinguda|plaça) (?:de(?:l| la)? )?"
        r"[A-ZÁÉÍÓÚÑÇ0-9]\w*(?: \d+)?)"
    ),
    re.compile(r"(\S+(?:로|길|대로)(?: ?\d+(?:번길)?)?|\S+동)(?=\s|$|에|의)"),
    re.compile(r"([\u4e00-\u9fff]{1,8}?(?:路|街|大道|广场)(?:\d+号)?)"),
)


def find_place(text: str) -> str | None:
    """The first place named in ``text``, as said; None when it names none."""
    for pattern in PLACE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    return None
