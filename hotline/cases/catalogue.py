"""The city's catalogue of services (TOML) and the clocks each urgency class runs on.

A service is what Open311 calls a service: a ``code`` a request is filed under, a name, and
the agency that answers it. The default catalogue (``catalogue.toml`` beside this module)
follows real 311 services; a city points ``[cases] catalogue`` at its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

__all__ = ["CLOCKS", "Catalogue", "Clock", "Service", "load_catalogue", "DEFAULT_CATALOGUE"]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "catalogue.toml"


@dataclass(frozen=True, slots=True)
class Clock:
    """How long a case of one urgency class may wait: for dispatch to an agency, and for
    feedback to the caller (the case resolved)."""

    dispatch: timedelta
    feedback: timedelta


CLOCKS: dict[str, Clock] = {
    "emergency": Clock(timedelta(hours=1), timedelta(hours=2)),
    "utility": Clock(timedelta(hours=2), timedelta(hours=24)),
    "standard": Clock(timedelta(hours=24), timedelta(days=7)),
    "complex": Clock(timedelta(hours=24), timedelta(days=15)),
}
"""Beijing 12345's clocks: dispatch within 1 h for emergencies, 2 h for water, power, gas or
heating, 24 h for everything else; feedback within 2 h, 24 h, 7 days or 15 days. A city
changes them under ``[cases.clocks.<class>]`` (``dispatch_hours``, ``feedback_hours``)."""


@dataclass(frozen=True, slots=True, eq=False)
class Service:
    code: str
    name: str
    description: str
    group: str
    agency: str
    urgency: str = "standard"
    keywords: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    """The name in other languages (ISO 639-1), written by people: read back to callers."""

    def name_in(self, language: str) -> str:
        """The name in ``language``, or the catalogue's own name where none is written."""
        return self.names.get(language, self.name)


@dataclass(frozen=True, slots=True)
class Catalogue:
    services: tuple[Service, ...]
    clocks: dict[str, Clock] = field(default_factory=lambda: dict(CLOCKS))

    def get(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def codes(self) -> list[str]:
        return [s.code for s in self.services]

    def clock(self, urgency: str) -> Clock:
        return self.clocks.get(urgency, self.clocks["standard"])


def load_catalogue(
    path: str | Path | None = None, clocks: dict[str, dict[str, float]] | None = None
) -> Catalogue:
    """The catalogue at ``path`` (the default one when empty), with ``clocks`` overriding the
    default hours per urgency class. A malformed file raises ValueError naming what is wrong."""
    source = Path(path) if path else DEFAULT_CATALOGUE
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the service catalogue {source}: {exc}") from exc
    merged = dict(CLOCKS)
    for urgency, hours in (clocks or {}).items():
        base = merged.get(urgency, CLOCKS["standard"])
        merged[urgency] = Clock(
            timedelta(
                hours=float(hours.get("dispatch_hours", base.dispatch.total_seconds() / 3600))
            ),
            timedelta(
                hours=float(hours.get("feedback_hours", base.feedback.total_seconds() / 3600))
            ),
        )
    services = []
    for i, entry in enumerate(data.get("service", [])):
        missing = [k for k in ("code", "name", "agency") if not entry.get(k)]
        if missing:
            raise ValueError(f"{source}: service #{i + 1} has no {', '.join(missing)}")
        urgency = entry.get("urgency", "standard")
        if urgency not in merged:
            raise ValueError(
                f"{source}: service {entry['code']!r} has urgency {urgency!r}; "
                f"known: {', '.join(sorted(merged))}"
            )
        services.append(
            Service(
                code=str(entry["code"]),
                name=str(entry["name"]),
                description=str(entry.get("description", "")),
                group=str(entry.get("group", "")),
                agency=str(entry["agency"]),
                urgency=urgency,
                keywords=tuple(entry.get("keywords", ())),
                names={str(k): str(v) for k, v in entry.get("names", {}).items()},
            )
        )
    codes = [s.code for s in services]
    if not services or len(set(codes)) != len(codes):
        raise ValueError(f"{source}: needs at least one service, each with its own code")
    return Catalogue(tuple(services), merged)
