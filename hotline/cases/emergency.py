"""The live emergency alert: words of fire, gas, injury or violence in what a caller says raise
an alert on the operator's console while the call goes on.

Rules, not a model: one precompiled pattern per language, so a check costs microseconds on
the event loop and every alert names the words that raised it. Latin scripts are matched on
word boundaries with accents folded (ASR output is lowercase and may drop them); Chinese and
Korean by substring with the spaces taken out, since recognisers split their words where a
writer would not. Near-words that are not emergencies (a fire hydrant, fireworks, a smoke
detector, a gas boiler, 불법, 火锅) are kept out by the patterns themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KINDS",
    "EmergencyAlert",
    "EmergencyDetector",
    "base_language",
    "fold_accents",
    "measure",
]

KINDS = ("fire", "gas", "medical", "violence")


def _fold_table() -> dict[int, str]:
    table = {ord("’"): "'", ord("‘"): "'"}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0]
        if base != chr(code) and base.isascii():
            table[code] = base
    return table


_FOLD = _fold_table()


def fold_accents(text: str) -> str:
    """``text`` with Latin accents dropped (``á`` → ``a``, ``ç`` → ``c``), one character for
    one, so that positions in the folded text are positions in the original."""
    return text.translate(_FOLD)


def base_language(language: str) -> str:
    """``en-US``, ``en_us`` and ``EN`` all name ``en``."""
    return language.strip().replace("_", "-").split("-", 1)[0].lower()


_LATIN: dict[str, dict[str, str]] = {
    "en": {
        "fire": r"\bfire\b"
        r"(?!\s*(?:hydrant|escape|alarm|extinguisher|exit|station|department|drill))"
        r"|\bsmoke\b(?!\s*(?:alarm|detector)s?\b)|\bflames?\b|\bburning\b|\bblaze\b",
        "gas": r"\bgas\s+(?:leak\w*|smell\w*|is\s+leaking)"
        r"|\b(?:smell\w*|stink\w*|reek\w*)\s+(?:of\s+|like\s+)?gas\b|\bleaking\s+gas\b"
        r"|\bcarbon\s+monoxide\b",
        "medical": r"(?<!get )(?<!be )\bhurt\b|\binjur(?:ed|y|ies)\b|\bbleeding\b|\bunconscious\b"
        r"|\bcollapsed\b|\bpassed\s+out\b|\bfainted\b|\b(?:not|isn'?t|stopped)\s+breathing\b"
        r"|\bcan'?t\s+breathe\b|\bheart\s+attack\b|\bseizure\b|\boverdose\b|\bambulance\b",
        "violence": r"\bfight(?:s|ing)?\b|\bassault\w*|\battack(?:ed|ing)\b|\bbeating\b"
        r"|\bbeat\w*\s+(?:him|her|them|me|someone|somebody)\b|\bstabb\w*|\bknife\b|\bknives\b"
        r"|\bguns?\b|\bgunshots?\b|\bshooting\b|\bshots\s+fired\b|\bweapons?\b"
        r"|\bbreak(?:ing)?[\s-]+in(?:to)?\b|\bbroke\s+in(?:to)?\b|\brobb(?:ery|ing|ed)\b|\bmugg\w*",
    },
    "es": {
        "fire": r"\bfuego\b|(?<!boca de )(?<!escalera de )(?<!salida de )\bincendio\b"
        r"|(?<!detector de )(?<!alarma de )\bhumo\b|\b(?:las|hay|en|salen)\s+llamas\b"
        r"|\bardiendo\b|\bse\s+(?:esta\s+)?quema(?:ndo)?\b|\bincendiando\b",
        "gas": r"\b(?:huele|olor|oler|peste|tufo)\s+(?:mucho\s+)?(?:a|de)\s+gas\b"
        r"|\b(?:fuga|escape|perdida)\s+de\s+gas\b"
        r"|\bgas\s+(?:se\s+)?(?:esta\s+)?(?:escapando|saliendo)\b",
        "medical": r"\bherid[oa]s?\b|\binconsciente\b|\bdesmayad[oa]\b|\bse\s+desmayo\b"
        r"|\bno\s+respira\b|\binfarto\b|\bataque\s+(?:al\s+corazon|cardiaco)\b"
        r"|\bsangr(?:ando|a)\b|\bconvulsion\w*|\bsobredosis\b|\bambulancia\b",
        "violence": r"\bpelea\w*|\bpeleando\b|\bagre(?:sion|diendo|did[oa])\b|\bpegando\b"
        r"|\bgolpeando\b|\bcuchillo\b|\bnavaja\b|\bpistola\b|\barmas?\b|\bdisparos?\b|\btiros\b"
        r"|\bapunal\w*|\b(?:entrando|entrado|entrar)\s+a\s+robar\b|\brobando\b|\basalt\w*",
    },
    "ca": {
        "fire": r"\bfoc\b|(?<!boca d')\bincendi\b|(?<!detector de )\bfum\b|\bflames\b"
        r"|\bes\s+crema\b|\bs'esta\s+cremant\b|\bcremant\b",
        "gas": r"\b(?:olor|pudor)\s+(?:de\s+|a\s+)?gas\b|\b(?:fuita|escapament|fuga)\s+de\s+gas\b",
        "medical": r"\bferi(?:t|ts|da|des)\b|\binconscient\b|\bdesmaiad?[at]\b|\bno\s+respira\b"
        r"|\batac\s+de\s+cor\b|\binfart\b|\bsagn(?:ant|a)\b|\bconvulsi\w*|\bambulancia\b",
        "violence": r"\bbaralla\w*|\bbarallant\b|\bagre(?:ssio|dint)\b|\bpegant\b|\bapallissant\b"
        r"|\bganivet\b|\bnavalla\b|\bpistola\b|\barm(?:a|es)\b|\btrets\b|\brob(?:ar|ant)\b"
        r"|\bassalt\w*",
    },
}
"""Matched against the text with accents folded, ignoring case."""

_PERSON_KO = "사람|남자|여자|할머니|할아버지|아이|애기|아기|분|아저씨|아주머니|노인|학생|이웃|친구|엄마|아빠|남편|아내"

_COMPACT: dict[str, dict[str, str]] = {
    "zh": {
        "fire": r"着火|起火|失火|火灾|火災|冒烟|冒煙|浓烟|濃煙|烧起来|燒起來|大火|火势|火勢|火很大",
        "gas": r"(?:煤气|燃气|天然气|瓦斯|煤氣|燃氣|天然氣)(?:味|泄漏|洩漏|泄露|漏了|漏气|漏氣)"
        r"|闻到(?:煤气|燃气|天然气|瓦斯)|聞到(?:煤氣|燃氣|天然氣|瓦斯)",
        "medical": r"(?<!会)(?<!會)(?<!能)(?<!易)(?:受伤|受傷)|晕倒|暈倒|昏倒|昏迷|不省人事"
        r"|(?:没有|没|沒有|沒|不)呼吸|呼吸困难"
        r"|心脏病|心臟病|流血|大出血|抽搐|救护车|救護車|休克|(?:没有|没)意识|昏过去",
        "violence": r"打架|打人|殴打|毆打|打起来|打起來|斗殴|鬥毆|持刀|拿着刀|拿著刀|拿刀|砍人|捅人"
        r"|开枪|開槍|枪声|槍聲|拿枪|拿槍|抢劫|搶劫|闯进|闖進|闯入|闖入|入室|行凶|行兇|家暴",
    },
    "ko": {
        "fire": r"불이?(?:났|나서|나고|난|붙|번지)|불타|불길|화재(?!경보|감지|보험)"
        r"|연기가?(?:나|자욱|많이|올라|피어)|타는냄새",
        "gas": r"가스(?:냄새|가?새|누출|유출|샌)",
        "medical": rf"다쳤|다친사람|부상|피가(?:나|흘)|피를흘|출혈|의식이?없|의식을잃"
        rf"|숨을?(?:안|못)쉬|숨을쉬지|호흡이?없|심장마비|(?:{_PERSON_KO})(?:이|가|께서)?쓰러"
        rf"|기절|구급차|발작",
        "violence": r"싸움|싸우|싸워|때리|때려|폭행|칼(?:을|로|들|부림)|흉기|총(?:을|소리|으로|격)"
        r"|강도|도둑이?들|침입|문을?부수|부수고들어",
    },
}
"""Matched against the text with its spaces taken out."""

_SPACE = re.compile(r"\s+")


def _compile(kinds: dict[str, str], flags: int = 0) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{kind}>{kinds[kind]})" for kind in KINDS), flags)


@dataclass(frozen=True, slots=True)
class EmergencyAlert:
    kinds: tuple[str, ...]
    """Of ``fire``, ``gas``, ``medical``, ``violence``, in that order."""
    words: tuple[str, ...]
    """What matched, as written in the text, in the order spoken."""
    language: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kinds": list(self.kinds),
            "words": list(self.words),
            "language": self.language,
            "text": self.text,
        }


class EmergencyDetector:
    """Checks one utterance at a time; holds only compiled patterns, so one instance serves
    every call."""

    def __init__(self) -> None:
        self._latin = {lang: _compile(k, re.IGNORECASE) for lang, k in _LATIN.items()}
        self._compact = {lang: _compile(k) for lang, k in _COMPACT.items()}
        self.languages: frozenset[str] = frozenset(self._latin) | frozenset(self._compact)

    def covers(self, language: str) -> bool:
        return base_language(language) in self.languages

    def check(self, text: str, language: str) -> EmergencyAlert | None:
        """The alert ``text`` raises, or None: no emergency words, or a language these rules
        do not cover (the caller then checks the translation)."""
        lang = base_language(language)
        if lang in self._latin:
            found = [
                (m.lastgroup, text[m.start() : m.end()])
                for m in self._latin[lang].finditer(fold_accents(text))
            ]
        elif lang in self._compact:
            found = self._compact_matches(self._compact[lang], text)
        else:
            return None
        if not found:
            return None
        kinds = tuple(k for k in KINDS if any(kind == k for kind, _ in found))
        words = tuple(dict.fromkeys(word for _, word in found))
        return EmergencyAlert(kinds=kinds, words=words, language=lang, text=text)

    @staticmethod
    def _compact_matches(pattern: re.Pattern[str], text: str) -> list[tuple[str | None, str]]:
        compact = _SPACE.sub("", text)
        matches = list(pattern.finditer(compact))
        if not matches:
            return []
        where = [i for i, ch in enumerate(text) if not ch.isspace()]
        return [(m.lastgroup, text[where[m.start()] : where[m.end() - 1] + 1]) for m in matches]


def measure(
    examples: Iterable[Any], detector: EmergencyDetector | None = None
) -> dict[str, dict[str, int]]:
    """Per language: ``emergencies`` and how many the detector ``missed``, ``non_emergencies``
    and how many raised ``false_alarms``. ``examples`` have ``text``, ``language`` and a
    boolean ``emergency``."""
    detector = detector or EmergencyDetector()
    out: dict[str, dict[str, int]] = {}
    for example in examples:
        row = out.setdefault(
            example.language,
            {"emergencies": 0, "missed": 0, "non_emergencies": 0, "false_alarms": 0},
        )
        alerted = detector.check(example.text, example.language) is not None
        if example.emergency:
            row["emergencies"] += 1
            row["missed"] += not alerted
        else:
            row["non_emergencies"] += 1
            row["false_alarms"] += alerted
    return out
