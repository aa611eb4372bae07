"""Closed doors: what a connection must pass before the server does any work for it.

* **Origin.** A browser says which page opened a websocket; only the hotline's own pages
  (same origin) or the configured ``security.allowed_origins`` may open one. Clients that
  are not browsers send no ``Origin``, and only the endpoints made for them take that: the
  phone bridge ``/twilio`` and the ASR endpoint ``/asr``.
* **Per-address limits.** Call set-ups per address per minute; concurrent ``/asr`` sessions
  per address and in all. Sign-in has its own throttle (:mod:`hotline.accounts.throttle`).

Everything here is sans-I/O with the clock passed in; the server turns a refusal into an
HTTP 403 (origin) or a websocket close with ``TRY_AGAIN_LATER`` and the reason.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from hotline.config import SecurityConfig

__all__ = ["BROWSERLESS_PATHS", "Doors", "Refused", "SlidingWindow"]

BROWSERLESS_PATHS = frozenset({"/asr", "/twilio"})
"""Websocket paths that clients other than browsers use, so a missing Origin is fine."""


PRUNE_ABOVE = 4096
"""Addresses remembered before the ones with no recent event are forgotten."""


class Refused(Exception):
    """A connection the server will not serve now; ``str()`` is the reason to send."""


class SlidingWindow:
    """At most ``limit`` events per key within ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may have another event; 0 when it may now."""
        events = self._events.get(key)
        if not events:
            return 0.0
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return 0.0
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.window_s - now

    def record(self, key: str, now: float) -> None:
        self._events[key].append(now)
        if len(self._events) > PRUNE_ABOVE:
            for stale in [k for k, e in self._events.items() if e[-1] <= now - self.window_s]:
                del self._events[stale]

    def __len__(self) -> int:
        return len(self._events)


class Doors:
    """The checks of one server; one instance is shared by all its connections."""

    def __init__(self, config: SecurityConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in config.allowed_origins)
        self.call_set_ups = SlidingWindow(config.calls_per_minute_per_address, 60.0)
        self.asr_per_address = config.asr_sessions_per_address
        self.asr_max = config.asr_sessions_max
        self.asr_open: defaultdict[str, int] = defaultdict(int)
        self._clock = clock

    # --- origin ----------------------------------------------------------------------

    def origin_refusal(self, path: str, origin: str | None, host: str | None) -> str | None:
        """Why a websocket on ``path`` opened from ``origin`` is refused, or None."""
        if origin is None:
            if path in BROWSERLESS_PATHS:
                return None
            return (
                f"{path} takes connections from the hotline's own pages only, and this "
                "request has no Origin header"
            )
        normalized = origin.rstrip("/").lower()
        if self.allowed_origins:
            if normalized in self.allowed_origins:
                return None
        elif host and urlsplit(normalized).netloc == host.lower():
            return None
        return f"a page from {origin} may not open {path}"

    # --- call set-up -----------------------------------------------------------------

    def call_set_up(self, address: str) -> None:
        """Count one call set-up from ``address``; :class:`Refused` past the limit."""
        now = self._clock()
        wait = self.call_set_ups.wait(address, now)
        if wait > 0:
            raise Refused(f"too many calls from your address; try again in {max(1, round(wait))} s")
        self.call_set_ups.record(address, now)

    # --- /asr ------------------------------------------------------------------------

    @contextlib.contextmanager
    def asr_session(
        self,
        address: str,
        signed_in: bool = False,
        has_room: Callable[[], bool] = lambda: True,
    ) -> Iterator[None]:
        """Hold one ``/asr`` slot for the session's life. A signed-in client (a session
        token) is not held to the per-address limit, only to the server's: its session cap
        and ``has_room`` (the capacity it shares with calls), so that a new stream is
        refused rather than every stream slowed."""
        total = sum(self.asr_open.values())
        if total >= self.asr_max or not has_room():
            raise Refused(
                f"the speech recognition service is full ({self.asr_max} sessions); try again later"
            )
        if not signed_in and self.asr_open[address] >= self.asr_per_address:
            raise Refused(
                f"too many recognition sessions from your address ({self.asr_per_address}); "
                "close one first"
            )
        self.asr_open[address] += 1
        try:
            yield
        finally:
            self.asr_open[address] -= 1
            if self.asr_open[address] <= 0:
                del self.asr_open[address]
