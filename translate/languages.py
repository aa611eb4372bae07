"""Language-code tables: the project speaks ISO 639-1, each engine family its own dialect.

Kept in one place so adding a language is one line per engine family.
"""

from __future__ import annotations

__all__ = [
    "APERTIUM_CODES",
    "MBART50_CODES",
    "NLLB_CODES",
    "from_apertium",
    "pair_label",
    "to_apertium",
]

APERTIUM_CODES: dict[str, str] = {
    "an": "arg",
    "ar": "ara",
    "bg": "bul",
    "br": "bre",
    "ca": "cat",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "eu": "eus",
    "fr": "fra",
    "ga": "gle",
    "gl": "glg",
    "hi": "hin",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "kk": "kaz",
    "mk": "mkd",
    "ms": "zlm",
    "mt": "mlt",
    "nb": "nob",
    "nl": "nld",
    "nn": "nno",
    "oc": "oci",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sc": "srd",
    "sh": "hbs",
    "sv": "swe",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
}
"""ISO 639-1 → the three-letter codes in Apertium mode names (``eng-spa``)."""

_APERTIUM_TO_ISO = {v: k for k, v in APERTIUM_CODES.items()} | {"msa": "ms"}

NLLB_CODES: dict[str, str] = {
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "ca": "cat_Latn",
    "cs": "ces_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "eo": "epo_Latn",
    "es": "spa_Latn",
    "eu": "eus_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "gl": "glg_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "nl": "nld_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sv": "swe_Latn",
    "th": "tha_Thai",
    "tl": "tgl_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
}
"""ISO 639-1 → NLLB-200 (FLORES-200) codes; ``zh`` is Simplified Chinese."""

MBART50_CODES: dict[str, str] = {
    "ar": "ar_AR",
    "cs": "cs_CZ",
    "de": "de_DE",
    "en": "en_XX",
    "es": "es_XX",
    "fa": "fa_IR",
    "fi": "fi_FI",
    "fr": "fr_XX",
    "gl": "gl_ES",
    "he": "he_IL",
    "hi": "hi_IN",
    "id": "id_ID",
    "it": "it_IT",
    "ja": "ja_XX",
    "ko": "ko_KR",
    "nl": "nl_XX",
    "pl": "pl_PL",
    "pt": "pt_XX",
    "ro": "ro_RO",
    "ru": "ru_RU",
    "sv": "sv_SE",
    "th": "th_TH",
    "tl": "tl_XX",
    "tr": "tr_TR",
    "uk": "uk_UA",
    "ur": "ur_PK",
    "vi": "vi_VN",
    "zh": "zh_CN",
}
"""ISO 639-1 → mBART-50 codes."""


def to_apertium(code: str) -> str:
    """The Apertium code for an ISO 639-1 code (unknown codes pass through unchanged)."""
    return APERTIUM_CODES.get(code, code)


def from_apertium(code: str) -> str | None:
    """The ISO 639-1 code for an Apertium mode's language, or None when it has no such code.

    Older pairs name languages with two letters already (``en-gl``, ``fr-es``).
    """
    if code in _APERTIUM_TO_ISO:
        return _APERTIUM_TO_ISO[code]
    if len(code) == 2 and code.isalpha() and code.islower():
        return code
    return None


def pair_label(source: str, target: str) -> str:
    """How a direction is written in messages and logs: ``ko→es``."""
    return f"{source}→{target}"
