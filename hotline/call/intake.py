"""Suggest complaint-record fields from what the caller said, so the operator's form is
prefilled: a kind, a category and the place as spoken. Rules, not a model: every
suggestion can be traced to the words that triggered it, and the operator has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.cases.places import find_place

__all__ = ["RecordSuggester", "suggest_fields"]

CATEGORIES: dict[str, tuple[str, ...]] = {
    "street lighting": (
        "street light",
        "streetlight",
        "street lamp",
        "lamp post",
        "farola",
        "luz de calle",
        "alumbrado",
        "가로등",
        "路灯",
        "fanal",
    ),
    "noise": (
        "noise",
        "noisy",
        "loud music",
        "ruido",
        "ruidoso",
        "soroll",
        "소음",
        "시끄",
        "噪音",
        "吵",
    ),
    "sanitation": (
        "garbage",
        "rubbish",
        "trash",
        "bins",
        "litter",
        "basura",
        "brossa",
        "쓰레기",
        "垃圾",
    ),
    "roads": (
        "pothole",
        "road is",
        "pavement",
        "sidewalk",
        "bache",
        "acera",
        "도로",
        "道路",
        "路面",
    ),
    "water": (
        "water",
        "leak",
        "flood",
        "sewer",
        "agua",
        "fuga",
        "aigua",
        "누수",
        "수도",
        "漏水",
        "自来水",
    ),
    "parking": ("parking", "parked", "aparcado", "estacionado", "주차", "停车"),
    "public transport": (
        "bus",
        "subway",
        "metro",
        "train",
        "autobús",
        "버스",
        "지하철",
        "公交",
        "地铁",
    ),
    "trees and parks": ("tree", "park bench", "árbol", "arbre", "나무", "树"),
    "animals": ("dog", "rats", "animal", "perro", "ratas", "개", "쥐", "狗", "老鼠"),
}

KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "help_request",
        ("help", "emergency", "urgent", "ayuda", "urgente", "도와", "긴급", "帮助", "紧急"),
    ),
    (
        "suggestion",
        ("suggest", "would be better", "should install", "propongo", "sugerencia", "제안", "建议"),
    ),
    (
        "consultation",
        (
            "how do i",
            "how can i",
            "where can i",
            "question",
            "cómo puedo",
            "pregunta",
            "어떻게",
            "문의",
            "怎么",
            "咨询",
        ),
    ),
    (
        "report",
        ("i want to report", "i would like to report", "report", "denunciar", "신고", "举报"),
    ),
    (
        "complaint",
        (
            "broken",
            "not working",
            "doesn't work",
            "complain",
            "roto",
            "rota",
            "no funciona",
            "queja",
            "고장",
            "불편",
            "坏了",
            "投诉",
        ),
    ),
)


def _category(text: str) -> str | None:
    lowered = text.lower()
    for category, words in CATEGORIES.items():
        if any(word in lowered for word in words):
            return category
    return None


def _kind(text: str) -> str | None:
    lowered = text.lower()
    for kind, words in KINDS:
        if any(word in lowered for word in words):
            return kind
    return None


def suggest_fields(*texts: str) -> dict[str, str]:
    """Fields found in any of ``texts`` (the original and its translation), first text first."""
    found: dict[str, str] = {}
    for text in texts:
        for name, value in (
            ("kind", _kind(text)),
            ("category", _category(text)),
            ("place", find_place(text)),
        ):
            if value and name not in found:
                found[name] = value
    return found


@dataclass(slots=True)
class RecordSuggester:
    """Accumulates suggestions over a call; reports only what is new."""

    fields: dict[str, str] = field(default_factory=dict)

    def hear(self, *texts: str) -> dict[str, str] | None:
        new = {k: v for k, v in suggest_fields(*texts).items() if k not in self.fields}
        if not new:
            return None
        self.fields.update(new)
        return dict(self.fields)
