"""Pools of warm recognizers: a fresh one decodes slowly at first and costs time to build."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Resettable(Protocol):
    def reset(self) -> None: ...


R = TypeVar("R", bound=Resettable)


class RecognizerPool(Generic[R]):
    """Idle recognizers per key; each is reset on release and dropped after `max_uses` loans,
    because engines grow their caches (and memory) with use."""

    def __init__(self, max_uses: int = 50, max_idle: int = 16) -> None:
        self.max_uses = max_uses
        self.max_idle = max_idle
        self._idle: dict[Hashable, list[tuple[R, int]]] = {}
        self._loaned: dict[int, tuple[R, Hashable, int]] = {}
        self._lock = threading.Lock()
        self._created = 0
        self._recycled = 0

    def acquire(self, key: Hashable, create: Callable[[], R]) -> R:
        with self._lock:
            idle = self._idle.get(key)
            recognizer, uses = idle.pop() if idle else (None, 0)
        if recognizer is None:
            recognizer = create()
            with self._lock:
                self._created += 1
        with self._lock:
            self._loaned[id(recognizer)] = (recognizer, key, uses + 1)
        return recognizer

    def release(self, recognizer: R) -> None:
        with self._lock:
            loan = self._loaned.pop(id(recognizer), None)
        if loan is None or loan[0] is not recognizer:
            raise ValueError("this recognizer is not on loan from this pool")
        _, key, uses = loan
        recognizer.reset()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if uses >= self.max_uses or len(idle) >= self.max_idle:
                self._recycled += 1
            else:
                idle.append((recognizer, uses))

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "idle": sum(len(v) for v in self._idle.values()),
                "in_use": len(self._loaned),
                "created": self._created,
                "recycled": self._recycled,
            }
