"""The service request a call will file, as it forms while the call goes on: the service the
caller's words are classified under (until the operator sets it), the place, emergencies
caught the moment they are said, and the read-back's answer.

Everything learned is written to the call's record as it happens (``CallLog``), so a crash
loses none of it; the case itself is filed from the record when the call ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from hotline.call.log import CallLog
from hotline.cases.catalogue import Catalogue
from hotline.cases.classify import ServiceClassifier
from hotline.cases.emergency import EmergencyDetector
from hotline.cases.places import find_place
from hotline.config import CasesConfig
from hotline.wire.messages import EmergencyAlert, RequestDraft, ServiceOption

__all__ = ["CallRequest", "yes_or_no"]

log = logging.getLogger(__name__)

DETECTOR = EmergencyDetector()
"""Compiled patterns only: one serves every call."""

_YES = {
    "en": r"yes|yeah|yep|correct|right|that's right|that is right",
    "es": r"s[ií]|correcto|exacto|vale|as[ií] es",
    "ca": r"s[ií]|correcte|exacte|d'acord",
    "fr": r"oui|exact|c'est [çc]a|correct",
    "ko": r"네|예|맞아요|맞습니다|응",
    "zh": r"是|对|没错|正确|好的",
}
_NO = {
    "en": r"no|nope|wrong|not right|incorrect",
    "es": r"no|incorrecto|est[aá] mal",
    "ca": r"no|incorrecte",
    "fr": r"non|faux|pas [çc]a",
    "ko": r"아니요|아니오|아니|틀려요|틀렸어요",
    "zh": r"不是|不对|错了|不正确",
}


def _answer_pattern(words: str, language: str) -> re.Pattern[str]:
    if language in ("ko", "zh"):
        return re.compile(rf"^\s*(?:{words})")
    return re.compile(rf"^\s*(?:{words})\b", re.IGNORECASE)


_YES_RE = {lang: _answer_pattern(words, lang) for lang, words in _YES.items()}
_NO_RE = {lang: _answer_pattern(words, lang) for lang, words in _NO.items()}


def yes_or_no(text: str, language: str) -> str | None:
    """``yes`` or ``no`` when an answer to the read-back starts with one, else None. "No"
    wins where both appear at the start (不是 begins with 是's opposite)."""
    lang = language.split("-")[0].lower()
    if lang in _NO_RE and _NO_RE[lang].search(text):
        return "no"
    if lang in _YES_RE and _YES_RE[lang].search(text):
        return "yes"
    return None


@dataclass
class CallRequest:
    """One call's request as it stands; its methods return what the operator should see."""

    call_id: str
    log: CallLog
    catalogue: Catalogue
    settings: CasesConfig
    caller_language: str
    operator_language: str
    service_code: str | None = None
    classification: dict[str, Any] = field(default_factory=dict)
    set_by_operator: bool = False
    place: str | None = None
    emergency_kinds: set[str] = field(default_factory=set)
    emergency_action: str | None = None
    confirmed: bool | None = None
    readback_id: int | None = None
    answered: asyncio.Future[tuple[str, str]] | None = None
    _said: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def awaiting_answer(self) -> bool:
        return self.answered is not None and not self.answered.done()

    def draft(self) -> RequestDraft:
        service = self.catalogue.get(self.service_code) if self.service_code else None
        urgency = "emergency" if self.emergency_kinds else (service.urgency if service else None)
        return RequestDraft(
            call_id=self.call_id,
            service_code=self.service_code,
            service_name=service.name_in(self.operator_language) if service else None,
            agency=service.agency if service else None,
            urgency=urgency,
            place=self.place,
            classification=self.classification,
            services=[
                ServiceOption(s.code, s.name_in(self.operator_language))
                for s in self.catalogue.services
            ],
            emergency=bool(self.emergency_kinds),
            confirmed=self.confirmed,
        )

    async def heard(self, original: str, translation: str | None) -> list[Any]:
        """The caller said (or typed) ``original``; returns the alerts and the new draft for
        the operator, if anything changed."""
        out: list[Any] = []
        alert = DETECTOR.check(original, self.caller_language)
        if alert is None and translation:
            alert = DETECTOR.check(translation, self.operator_language)
        if alert is not None and not set(alert.kinds) <= self.emergency_kinds:
            first = not self.emergency_kinds
            self.emergency_kinds |= set(alert.kinds)
            if first:
                await self.log.request(emergency=True)
            log.warning("call=%s emergency words %s", self.call_id, ", ".join(alert.words))
            out.append(
                EmergencyAlert(
                    call_id=self.call_id,
                    kinds=sorted(self.emergency_kinds),
                    words=list(alert.words),
                    text=original,
                    language=alert.language,
                    numbers=dict(self.settings.emergency_numbers),
                    action=self.emergency_action,
                )
            )
        changed = bool(out)
        self._said.append((original, translation))
        if self.place is None:
            self.place = find_place(original) or (find_place(translation) if translation else None)
            changed |= self.place is not None
        if not self.set_by_operator:
            found = await asyncio.to_thread(self._classify)
            if found is not None and found.get("code") != self.service_code:
                self.service_code = found.get("code")
                self.classification = found
                await self.log.request(service_code=self.service_code, classification=found)
                changed = True
        if changed:
            out.append(self.draft())
        return out

    def _classify(self) -> dict[str, Any] | None:
        originals = " ".join(o for o, _ in self._said)
        translations = " ".join(t for _, t in self._said if t)
        texts = [(originals, self.caller_language), (translations, self.operator_language)]
        try:
            found = ServiceClassifier.default().classify_call(texts, allowed=self.catalogue.codes())
        except Exception:
            log.exception("call=%s the service classifier failed", self.call_id)
            return None
        return {**found.to_dict(), "by": "classifier"}

    async def operator_set(self, service_code: str | None, place: str | None) -> RequestDraft:
        """The operator confirms or corrects the service and place; ValueError for a service
        the catalogue does not have."""
        if service_code is not None:
            if self.catalogue.get(service_code) is None:
                raise ValueError(
                    f"no service {service_code!r} in the catalogue; "
                    f"services: {', '.join(self.catalogue.codes())}"
                )
            self.service_code = service_code
            self.set_by_operator = True
            self.classification = {
                **self.classification,
                "by": "operator",
                "code": service_code,
                "classified": self.classification.get("code"),
            }
            await self.log.request(service_code=service_code, classification=self.classification)
        if place is not None:
            self.place = place.strip() or None
            await self.log.update_fields(place=self.place)
        return self.draft()

    async def emergency_handled(self, action: str) -> EmergencyAlert:
        """The operator transferred the caller or told them to call: recorded, and the case
        is an emergency on the 1 h clock."""
        self.emergency_action = action
        self.emergency_kinds = self.emergency_kinds or {"reported"}
        await self.log.request(emergency=True, emergency_action=action)
        return EmergencyAlert(
            call_id=self.call_id,
            kinds=sorted(self.emergency_kinds),
            words=[],
            text="",
            language=self.caller_language,
            numbers=dict(self.settings.emergency_numbers),
            action=action,
        )

    def readback_subject(self) -> tuple[str, str]:
        """The service's name and the place, in the caller's language, for the read-back."""
        service = self.catalogue.get(self.service_code) if self.service_code else None
        name = service.name_in(self.caller_language) if service else "?"
        return name, self.place or "?"

    def answer(self, answer: str, how: str) -> bool:
        """The caller answered the read-back; False when none was asked."""
        if not self.awaiting_answer:
            return False
        assert self.answered is not None
        self.answered.set_result((answer, how))
        return True
