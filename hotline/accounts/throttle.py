"""Guessing passwords is made slow: failed sign-ins are counted per account and per
address over a sliding window, and past a limit the next attempt must wait. Sans-I/O, with
the clock passed in, so the tests need no sleeps."""

from __future__ import annotations

from collections import defaultdict, deque

__all__ = ["SignInThrottle"]


class SignInThrottle:
    """At most ``per_account`` failures for one name and ``per_address`` from one address
    within ``window_s``; :meth:`retry_after` says how long until the next attempt may even
    be checked (0 when it may now). The check comes before any password hashing, so a flood
    of guesses costs no scrypt."""

    def __init__(
        self, per_account: int = 5, per_address: int = 20, window_s: float = 900.0
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self._by_name: defaultdict[str, deque[float]] = defaultdict(deque)
        self._by_address: defaultdict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, name: str, address: str, now: float) -> float:
        wait = 0.0
        for table, key, limit in (
            (self._by_name, name, self.per_account),
            (self._by_address, address, self.per_address),
        ):
            failures = self._recent(table, key, now)
            if len(failures) >= limit:
                wait = max(wait, failures[0] + self.window_s - now)
        return wait

    def failed(self, name: str, address: str, now: float) -> None:
        self._by_name[name].append(now)
        self._by_address[address].append(now)

    def succeeded(self, name: str) -> None:
        self._by_name.pop(name, None)

    def _recent(self, table: defaultdict[str, deque[float]], key: str, now: float) -> deque[float]:
        if key not in table:
            return deque()
        failures = table[key]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del table[key]
        return failures
