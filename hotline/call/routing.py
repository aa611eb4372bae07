"""Skills-based routing: waiting calls meet free operators who can serve their language.

The best seat speaks the caller's language (no translation needed); next best, a language
the router can translate both ways; failing both, any free operator takes the call with
untranslated captions rather than leave the caller waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hotline.call.link import Link
from hotline.wire.messages import QueuedCall

if TYPE_CHECKING:
    from hotline.call.party import Party
    from hotline.call.pipeline import Call

__all__ = ["OperatorSeat", "WaitingCall", "Switchboard", "QueueFull"]

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue is at its limit; the caller hears the busy message."""


@dataclass(eq=False)
class OperatorSeat:
    """One signed-in operator, as their session hands them to the switchboard: their
    languages, how to reach them, how they like to hear calls, and their current call.

    ``taken_by`` is set the moment a waiting call is routed here; ``call`` and ``party``
    once that call is connected (``join``), until the switchboard releases the seat.
    """

    name: str
    languages: list[str]
    link: Link | None = None
    sample_rate: int = 16000
    auto_accept: bool = True
    captions_only: bool = False
    hear_original: bool = True
    available: bool = True
    taken_by: str | None = None
    call: Call | None = None
    party: Party | None = None
    on_queue_change: Callable[[], None] | None = None

    @property
    def free(self) -> bool:
        return self.available and self.taken_by is None

    def join(self, call: Call, party: Party) -> None:
        """The routed call is connected: the operator's audio and actions now reach it."""
        self.call, self.party = call, party


@dataclass(eq=False)
class WaitingCall:
    call_id: str
    language: str
    reference: str = ""
    since: float = field(default_factory=time.monotonic)
    assigned: asyncio.Future[tuple[OperatorSeat, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def waiting_s(self) -> float:
        return time.monotonic() - self.since


class Switchboard:
    """The queue of waiting calls and the seats of signed-in operators."""

    def __init__(
        self,
        max_queue: int,
        can_translate: Callable[[str, str], bool],
        capacity: float = float("inf"),
        other_load: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """``capacity`` is how many calls this server carries at once within its latency
        targets; past it, callers wait in the queue (or hear busy) even when an operator
        is free. ``other_load`` is the rest of the work that shares the engines (``/asr``
        sessions), counted in calls."""
        self.max_queue = max_queue
        self.can_translate = can_translate
        self.capacity = capacity
        self.other_load = other_load
        self.seats: dict[str, OperatorSeat] = {}
        self.waiting: list[WaitingCall] = []
        self.calls: dict[str, Call] = {}
        """Connected calls, by id, until they end (the supervisors' wall)."""
        self.watchers: list[Callable[[], None]] = []
        """Told of every change to the queue or the connected calls."""

    def serving_language(self, seat: OperatorSeat, caller_language: str) -> tuple[int, str]:
        """The seat language to use with this caller, ranked: 0 the caller's own language,
        1 a language we can translate to, 2 none (the call goes on with untranslated text)."""
        if caller_language in seat.languages:
            return 0, caller_language
        for language in seat.languages:
            if self.can_translate(caller_language, language) and self.can_translate(
                language, caller_language
            ):
                return 1, language
        return 2, seat.languages[0]

    def sign_in(self, seat: OperatorSeat) -> None:
        if seat.name in self.seats:
            raise ValueError(f"operator {seat.name!r} is already signed in")
        self.seats[seat.name] = seat
        self.dispatch()

    def sign_out(self, seat: OperatorSeat) -> None:
        if self.seats.get(seat.name) is seat:
            del self.seats[seat.name]

    def enqueue(self, call_id: str, language: str, reference: str = "") -> WaitingCall:
        if len(self.waiting) >= self.max_queue:
            raise QueueFull(f"{len(self.waiting)} calls are already waiting")
        waiting = WaitingCall(call_id, language, reference)
        self.waiting.append(waiting)
        self.dispatch()
        self._notify()
        return waiting

    def leave(self, waiting: WaitingCall) -> None:
        if waiting in self.waiting:
            self.waiting.remove(waiting)
            self._notify()

    def position(self, waiting: WaitingCall) -> int:
        return self.waiting.index(waiting) + 1 if waiting in self.waiting else 0

    def release(self, seat: OperatorSeat) -> None:
        """The seat's call ended: it can take the next one."""
        seat.taken_by, seat.call, seat.party = None, None, None
        self.dispatch()

    def connected(self, call: Call) -> None:
        self.calls[call.call_id] = call
        self._notify()

    def ended(self, call: Call) -> None:
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
            self._notify()

    def hand_over(self, call: Call) -> OperatorSeat | None:
        """Someone took ``call`` over from its operator: the seat is free for the next call
        (and no longer hears this one). Returns the seat it left, if any."""
        for seat in self.seats.values():
            if seat.call is call:
                self.release(seat)
                return seat
        return None

    def accept(self, seat: OperatorSeat, call_id: str) -> bool:
        """An operator picks a waiting call by hand."""
        if not self.has_room():
            return False
        for waiting in self.waiting:
            if waiting.call_id == call_id and seat.free:
                self._assign(waiting, seat, self.serving_language(seat, waiting.language)[1])
                return True
        return False

    def load(self) -> float:
        """Calls connected or being connected, plus the other work, in calls."""
        busy = {seat.taken_by for seat in self.seats.values() if seat.taken_by is not None}
        return len(busy | set(self.calls)) + self.other_load()

    def has_room(self) -> bool:
        return self.load() + 1 <= self.capacity

    def dispatch(self) -> None:
        """Assign free auto-accepting seats to waiting calls, first come first served, while
        the server has room for another call."""
        for waiting in list(self.waiting):
            if not self.has_room():
                return
            best: tuple[int, OperatorSeat, str] | None = None
            for seat in self.seats.values():
                if not (seat.free and seat.auto_accept):
                    continue
                rank, language = self.serving_language(seat, waiting.language)
                if best is None or rank < best[0]:
                    best = (rank, seat, language)
            if best is not None:
                self._assign(waiting, best[1], best[2])

    def _assign(self, waiting: WaitingCall, seat: OperatorSeat, language: str) -> None:
        self.waiting.remove(waiting)
        seat.taken_by = waiting.call_id
        if not waiting.assigned.done():
            waiting.assigned.set_result((seat, language))
        log.info("call=%s routed to operator=%s language=%s", waiting.call_id, seat.name, language)
        self._notify()

    def queue_snapshot(self) -> list[QueuedCall]:
        return [QueuedCall(w.call_id, w.language, round(w.waiting_s(), 1)) for w in self.waiting]

    def _notify(self) -> None:
        for seat in self.seats.values():
            if seat.on_queue_change is not None:
                seat.on_queue_change()
        for watcher in list(self.watchers):
            watcher()
