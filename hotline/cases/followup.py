"""What the hotline writes to a caller once their case is resolved, in the caller's language,
and the key that tells two calls about the same place apart from two calls about different
places, whatever language each was made in.

The messages are written by people (like the call's prompts), never machine-translated; the
agency's own note is added as it was written, with its translation when the server has one.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FOLLOW_UPS", "follow_up", "place_key"]

FOLLOW_UPS: dict[str, str] = {
    "en": "Your request {id} ({service}{at_place}) has been resolved. {note}",
    "es": "Su solicitud {id} ({service}{at_place}) ha sido resuelta. {note}",
    "ca": "La seva sol·licitud {id} ({service}{at_place}) ha estat resolta. {note}",
    "ko": "접수 번호 {id} ({service}{at_place}) 민원이 처리되었습니다. {note}",
    "zh": "您的诉求 {id}（{service}{at_place}）已办结。{note}",
    "fr": "Votre demande {id} ({service}{at_place}) a été traitée. {note}",
}

_AT = {
    "en": ", at {place}",
    "es": ", en {place}",
    "ca": ", a {place}",
    "ko": ", {place}",
    "zh": "，{place}",
    "fr": ", à {place}",
}


def follow_up(language: str, reference: str, service: str, place: str | None, note: str) -> str:
    """The follow-up message in ``language`` (English where nobody has written one)."""
    lang = language if language in FOLLOW_UPS else "en"
    at_place = _AT[lang].format(place=place) if place else ""
    return (
        FOLLOW_UPS[lang]
        .format(id=reference, service=service, at_place=at_place, note=note.strip())
        .strip()
    )


_STREET_WORDS = re.compile(
    r"\b(?:the|street|st|avenue|ave|road|rd|boulevard|blvd|square|lane|drive|place|corner|of|"
    r"calle|c|avenida|av|plaza|paseo|carrer|avinguda|placa|passeig|rue|de|del|la|el|les|le|"
    r"dels|d|num|numero|no|n)\b"
)
_CJK_STREET = re.compile(r"(?:路|街|大道|广场|号|로|길|대로|동|번지|번길)")


def place_key(place: str | None) -> str | None:
    """A place as said, reduced to what stays the same across languages: the street's own
    name and number, without accents, case or the word for "street" (``Calle Mayor 5`` and
    ``5 Mayor Street`` give the same key)."""
    if not place:
        return None
    text = unicodedata.normalize("NFKD", place.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _CJK_STREET.sub(" ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    words = _STREET_WORDS.sub(" ", text).split()
    return " ".join(sorted(words)) or None
