"""Pick an engine, or a chain of engines through pivot languages, for each direction.

The route is the shortest over the whole graph of installed pairs: a direct engine first,
then the fewest hops (``fr → es → en``). Among engines for one pair the first listed wins,
so neural models (listed first) beat Apertium, unless ``prefer`` names another engine for
that pair. A call whose languages no engine joins still goes on: ``translate_or_keep``
hands back the original text with a note.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from translate.base import ModelLoadError, NoEngineForPair, TranslationError, Translator
from translate.glossary import Glossary
from translate.languages import pair_label

__all__ = ["Hop", "Router", "Translation", "build_router"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hop:
    """One engine translating one direction; a route is a list of hops."""

    engine: Translator
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.engine.name}({pair_label(self.source, self.target)})"


@dataclass(slots=True)
class Translation:
    """What ``translate_or_keep`` returns.

    ``translated`` is True when ``texts`` are in the target language (also for same-language
    calls, engine ``"identity"``); False means ``texts`` are the originals and ``note`` says why.
    """

    texts: list[str]
    translated: bool
    engine: str
    note: str | None = None
    provenance: str = ""
    """Each engine and model of the route, precisely (``apertium eng-spa``), for the record."""
    path: list[str] | None = None
    """The languages the text went through, source first (``["fr", "es", "en"]``)."""

    @property
    def route(self) -> str | None:
        """The path as shown on captions: ``fr → es → en`` (None when not translated)."""
        return " → ".join(self.path) if self.path and len(self.path) > 1 else None


class Router:
    """Routes each direction to its best engine chain; routes are computed once and cached."""

    def __init__(
        self,
        engines: Iterable[Translator],
        max_hops: int | None = None,
        prefer: dict[tuple[str, str], str] | None = None,
        glossary: Glossary | None = None,
    ) -> None:
        """``max_hops`` limits routes (None: the whole graph); ``prefer`` maps a pair to the
        name of the engine that should serve it (``{("en", "es"): "apertium"}``); terms of
        the ``glossary`` keep their official forms through every route."""
        self.engines: list[Translator] = list(engines)
        self.glossary = glossary
        self.max_hops = max_hops
        self._edges: dict[tuple[str, str], Translator] = {}
        for engine in self.engines:
            for pair in sorted(engine.pairs()):
                self._edges.setdefault(pair, engine)
        for pair, name in (prefer or {}).items():
            chosen = next(
                (e for e in self.engines if pair in e.pairs() and name in (e.name, str(e))),
                None,
            )
            if chosen is None:
                log.warning(
                    "translate.prefer: no engine %r serves %s; keeping %s",
                    name,
                    pair_label(*pair),
                    self._edges[pair].name if pair in self._edges else "none",
                )
            else:
                self._edges[pair] = chosen
        self._routes: dict[tuple[str, str], tuple[Hop, ...]] = {}
        self._lock = threading.Lock()

    def pairs(self) -> set[tuple[str, str]]:
        """Directions served directly by some engine (pivots not included)."""
        return set(self._edges)

    def can_translate(self, source: str, target: str) -> bool:
        """Whether a route exists, directly or through pivots."""
        try:
            self.route(source, target)
        except NoEngineForPair:
            return False
        return True

    def route(self, source: str, target: str) -> list[Hop]:
        """The hops from source to target: none for the same language, else the shortest chain.

        Raises NoEngineForPair when no chain of at most ``max_hops`` engines exists.
        """
        if source == target:
            return []
        key = (source, target)
        with self._lock:
            cached = self._routes.get(key)
        if cached is None:
            cached = tuple(self._search(source, target))
            with self._lock:
                self._routes[key] = cached
        return list(cached)

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate along the route; errors (NoEngineForPair, TranslationError) propagate."""
        hops = self.route(source, target)
        current, used = self._protect(texts, source, hops)
        for hop in hops:
            current = hop.engine.translate(current, hop.source, hop.target)
        return self._restore(current, used, source, target)

    def _protect(self, texts: list[str], source: str, hops: list[Hop]) -> tuple[list[str], list]:
        if self.glossary is None or not hops:
            return list(texts), [[] for _ in texts]
        protected = [self.glossary.protect(text, source) for text in texts]
        return [text for text, _ in protected], [used for _, used in protected]

    def _restore(self, texts: list[str], used: list, source: str, target: str) -> list[str]:
        if self.glossary is None:
            return texts
        return [
            self.glossary.restore(text, terms, source, target)
            for text, terms in zip(texts, used, strict=True)
        ]

    def translate_or_keep(self, texts: list[str], source: str, target: str) -> Translation:
        """Translate, or keep the original texts with a note when no engine can or one fails."""
        try:
            hops = self.route(source, target)
        except NoEngineForPair as err:
            log.info("%s", err.detail)
            return Translation(list(texts), False, "none", str(err))
        if not hops:
            return Translation(list(texts), True, "identity")
        path = [hops[0].source, *(hop.target for hop in hops)]
        engine = "+".join(str(hop) for hop in hops)
        provenance = " + ".join(hop.engine.provenance(hop.source, hop.target) for hop in hops)
        current, used = self._protect(texts, source, hops)
        for hop in hops:
            try:
                current = hop.engine.translate(current, hop.source, hop.target)
            except TranslationError as err:
                log.warning("translation %s failed, keeping the original text: %s", engine, err)
                note = f"{hop.engine.name} failed on {pair_label(hop.source, hop.target)}: {err}"
                return Translation(list(texts), False, engine, note, provenance)
        current = self._restore(current, used, source, target)
        return Translation(current, True, engine, provenance=provenance, path=path)

    def close(self) -> None:
        """Close every engine; one failing to close does not stop the others."""
        for engine in self.engines:
            try:
                engine.close()
            except Exception:
                log.exception("closing %s failed", engine.name)

    def describe(self) -> dict[str, Any]:
        return {"engines": [engine.describe() for engine in self.engines]}

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _search(self, source: str, target: str) -> list[Hop]:
        direct = self._edges.get((source, target))
        if direct is not None:
            return [Hop(direct, source, target)]
        # Among routes of the fewest hops, pivot through the best-connected languages: they
        # have the most developed pairs (Apertium's Spanish, English), which is where a
        # word a smaller pair lacks is most likely known (fr→es→en keeps 'lampadaire').
        degree: dict[str, int] = {}
        for s, t in self._edges:
            degree[s] = degree.get(s, 0) + 1
            degree[t] = degree.get(t, 0) + 1
        neighbours: dict[str, list[str]] = {}
        for s, t in self._edges:
            neighbours.setdefault(s, []).append(t)
        for targets in neighbours.values():
            targets.sort(key=lambda language: (-degree[language], language))
        previous: dict[str, str] = {source: source}
        frontier = deque([(source, 0)])
        while frontier:
            language, depth = frontier.popleft()
            if self.max_hops is not None and depth >= self.max_hops:
                continue
            for nxt in neighbours.get(language, ()):
                if nxt in previous:
                    continue
                previous[nxt] = language
                if nxt == target:
                    return self._path(previous, source, target)
                frontier.append((nxt, depth + 1))
        raise NoEngineForPair(source, target, self._edges)

    def _path(self, previous: dict[str, str], source: str, target: str) -> list[Hop]:
        languages = [target]
        while languages[-1] != source:
            languages.append(previous[languages[-1]])
        languages.reverse()
        return [Hop(self._edges[(s, t)], s, t) for s, t in itertools.pairwise(languages)]


def build_router(
    neural_models: list[dict[str, Any]] | None = None,
    apertium: bool = True,
    prefer: dict[tuple[str, str], str] | None = None,
    apertium_idle_s: float = 300.0,
    glossary: Glossary | None = None,
) -> Router:
    """The router the server uses: configured neural models first, then Apertium.

    Each neural entry is ``{"path": ..., "pairs": [["en", "es"], ...], "device": ...}``; only
    ``path`` is required. A model that fails to load raises ModelLoadError (misconfiguration
    should stop start-up, not silently degrade every call).
    """
    engines: list[Translator] = []
    try:
        for entry in neural_models or []:
            from translate.neural import TransformersTranslator

            if "path" not in entry:
                raise ModelLoadError(f"neural model entry {entry!r} has no 'path'")
            pairs = entry.get("pairs")
            engines.append(
                TransformersTranslator(
                    entry["path"],
                    pairs={(str(s), str(t)) for s, t in pairs} if pairs else None,
                    device=entry.get("device"),
                    num_beams=int(entry.get("num_beams", 1)),
                )
            )
        if apertium:
            from translate.apertium import ApertiumTranslator

            engines.append(ApertiumTranslator(idle_s=apertium_idle_s))
    except BaseException:
        Router(engines).close()
        raise
    return Router(engines, prefer=prefer, glossary=glossary)
