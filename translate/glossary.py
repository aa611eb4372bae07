"""A city glossary, enforced through translation: agency names, districts, streets and fixed
terms keep the exact form the city gives them in each language.

Before a text is translated, every term found in it (in the source language's form, longest
first, whole words, any case) is replaced by a placeholder that translation engines pass
through untouched (an unknown capitalised token: Apertium and neural models copy it); after
the last hop the placeholder becomes the term's form in the target language. A route through
pivots is protected once, end to end, so ``Calle Mayor`` survives en → es → ca whatever
each hop would have made of it.

The file is TOML: one ``[[term]]`` table per term, with a form per language (ISO 639-1
keys) and/or ``all`` for a name written the same in every language::

    [[term]]
    kind = "agency"
    en = "Department of Transportation"
    es = "Departamento de Transporte"

    [[term]]
    kind = "street"
    all = "Calle Mayor"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Glossary", "GlossaryError", "Term"]

_PLACEHOLDER = "Qxglos{}"
_FOUND_PLACEHOLDER = re.compile(r"Qxglos(\d+)", re.IGNORECASE)
_WORD_EDGES = ".,;:!?()[]{}\"'“”‘’«»"


class GlossaryError(ValueError):
    """The glossary file is missing or malformed; the message names the term."""


@dataclass(frozen=True, slots=True)
class Term:
    forms: dict[str, str]
    """Language → the term's official form in it."""
    same: str | None = None
    """The form in every language that has none of its own (a street's name)."""
    kind: str = ""

    def form(self, language: str) -> str | None:
        return self.forms.get(language, self.same)

    def written(self, language: str) -> list[str]:
        """Every form that may stand for this term in a text in ``language``."""
        found = [self.forms[language]] if language in self.forms else []
        if self.same is not None:
            found.append(self.same)
        return found


@dataclass(slots=True)
class Glossary:
    terms: list[Term] = field(default_factory=list)
    _patterns: dict[str, re.Pattern[str] | None] = field(default_factory=dict)
    _lookup: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Glossary:
        source = Path(path)
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise GlossaryError(f"cannot read the glossary {source}: {exc}") from exc
        terms = []
        for i, entry in enumerate(data.get("term", [])):
            if not isinstance(entry, dict):
                raise GlossaryError(f"{source}: term #{i + 1} is not a table")
            forms = {
                str(k): str(v)
                for k, v in entry.items()
                if k not in ("all", "kind", "id") and isinstance(v, str) and v.strip()
            }
            same = entry.get("all")
            if not forms and not same:
                raise GlossaryError(f"{source}: term #{i + 1} has no form in any language")
            terms.append(Term(forms, str(same) if same else None, str(entry.get("kind", ""))))
        return cls(terms)

    def _pattern(self, language: str) -> re.Pattern[str] | None:
        if language not in self._patterns:
            lookup: dict[str, int] = {}
            for index, term in enumerate(self.terms):
                for written in term.written(language):
                    lookup.setdefault(written.casefold(), index)
            self._lookup[language] = lookup
            if not lookup:
                self._patterns[language] = None
            else:
                alternatives = sorted(lookup, key=len, reverse=True)
                self._patterns[language] = re.compile(
                    r"(?<!\w)(" + "|".join(re.escape(a) for a in alternatives) + r")(?!\w)",
                    re.IGNORECASE,
                )
        return self._patterns[language]

    def protect(self, text: str, language: str) -> tuple[str, list[int]]:
        """``text`` with each term replaced by a placeholder; the terms' indexes, in order."""
        pattern = self._pattern(language)
        if pattern is None:
            return text, []
        used: list[int] = []
        lookup = self._lookup[language]

        def swap(match: re.Match[str]) -> str:
            used.append(lookup[match.group(1).casefold()])
            return _PLACEHOLDER.format(len(used) - 1)

        return pattern.sub(swap, text), used

    def restore(self, text: str, used: list[int], source: str, target: str) -> str:
        """Placeholders back into the terms' forms in ``target`` (the source's form where
        the glossary has none for the target)."""
        if not used:
            return text

        def back(match: re.Match[str]) -> str:
            slot = int(match.group(1))
            if slot >= len(used):
                return match.group(0)
            term = self.terms[used[slot]]
            return term.form(target) or term.form(source) or match.group(0)

        return _FOUND_PLACEHOLDER.sub(back, text)

    def phrases(self, language: str) -> list[str]:
        """The terms as written in ``language``, for recognizers that take phrase hints."""
        return sorted({w for term in self.terms for w in term.written(language)})

    def words(self, language: str) -> list[str]:
        """Every word of the terms as written in ``language`` (``all`` forms included), for
        recognizers that can learn new words: ``Calle Mayor`` gives ``Calle`` and ``Mayor``."""
        found = {
            bare
            for phrase in self.phrases(language)
            for word in phrase.split()
            if (bare := word.strip(_WORD_EDGES))
        }
        return sorted(found)
