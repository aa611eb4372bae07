"""An engine whose decoder holds the GIL (PocketSphinx does) runs in worker processes, so
many streams decode on every core and the server's event loop is never starved.

Each worker process owns one instance of the engine and the recognizers opened in it; the
parent holds thin proxies that keep the :class:`~asr.base.Recognizer` interface. Vosk does
not need this: its decoder releases the GIL, so threads already run it in parallel.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from asr.base import AddedWords, AsrEngine, AsrError, Final, Recognizer

__all__ = ["ProcessEngine", "RemoteRecognizer"]

log = logging.getLogger(__name__)

_RECOGNIZER_OPS = {"accept", "partial", "result", "finish", "reset"}


def _serve(conn: Connection, factory: Callable[[], AsrEngine]) -> None:
    engine = factory()
    recognizers: dict[int, Recognizer] = {}
    ids = itertools.count()
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        if op == "stop":
            return
        try:
            if op == "open":
                rid = next(ids)
                recognizers[rid] = engine.recognizer(*args)
                result: Any = rid
            elif op == "release":
                engine.release(recognizers.pop(args[0]))
                result = None
            elif op == "pid":
                result = os.getpid()
            elif op == "describe":
                result = engine.describe()
            elif op == "settle":
                result = engine.settle(*args)
            elif op == "add_vocabulary":
                result = engine.add_vocabulary(*args)
            elif op in _RECOGNIZER_OPS:
                result = getattr(recognizers[args[0]], op)(*args[1:])
            else:
                raise AsrError(f"unknown request {op!r}")
        except Exception as exc:
            if not isinstance(exc, AsrError):
                exc = AsrError(f"{type(exc).__name__}: {exc}")
            conn.send((False, exc))
        else:
            conn.send((True, result))


class _Worker:
    """One process and its pipe; one request at a time (the process has one core's work)."""

    def __init__(self, factory: Callable[[], AsrEngine]) -> None:
        context = multiprocessing.get_context("forkserver")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, factory), daemon=True)
        self.process.start()
        child.close()
        self._lock = threading.Lock()
        self.streams = 0

    def call(self, op: str, *args: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((op, args))
                ok, value = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                raise AsrError(f"the speech worker process {self.process.pid} stopped") from exc
        if not ok:
            raise value
        return value

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        try:
            with self._lock:
                self._conn.send(("stop", ()))
        except OSError:
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
        self._conn.close()


class RemoteRecognizer:
    """A recognizer living in a worker process; every call is one round trip on its pipe."""

    def __init__(self, worker: _Worker, rid: int, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.worker = worker
        self.rid = rid

    def accept(self, pcm: bytes) -> bool:
        return self.worker.call("accept", self.rid, pcm)

    def partial(self) -> str:
        return self.worker.call("partial", self.rid)

    def result(self) -> Final:
        return self.worker.call("result", self.rid)

    def finish(self) -> Final:
        return self.worker.call("finish", self.rid)

    def reset(self) -> None:
        self.worker.call("reset", self.rid)


class ProcessEngine(AsrEngine):
    """Wraps an engine factory (a picklable callable) and spreads its streams over processes."""

    def __init__(self, factory: Callable[[], AsrEngine], processes: int | None = None) -> None:
        self._factory = factory
        self._local = factory()
        """Where new words get their pronunciations, once, for every worker."""
        self.name = self._local.name
        self._languages = self._local.languages()
        self._describe = self._local.describe()
        self.processes = max(1, processes or os.cpu_count() or 1)
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._settled: list[tuple[str, bytes, int, str]] = []
        self._vocabulary: list[tuple[str, dict[str, str]]] = []

    def add_vocabulary(self, language: str, words: Mapping[str, str | None]) -> AddedWords:
        """Pronunciations are found here, once; every worker then learns the words with
        them, and so does each one started later."""
        added = self._local.add_vocabulary(language, words)
        with self._lock:
            if added.added:
                self._vocabulary.append((language, dict(added.added)))
            self._describe = self._local.describe()
            workers = [w for w in self._workers if w.alive] if added.added else []
        for worker in workers:
            worker.call("add_vocabulary", language, dict(added.added))
        return added

    def settle(self, language: str, pcm: bytes, sample_rate: int, band: str = "wideband") -> None:
        """Every worker settles on the speech, and so does each one started later."""
        with self._lock:
            self._settled.append((language, pcm, sample_rate, band))
            workers = [w for w in self._workers if w.alive]
        for worker in workers:
            worker.call("settle", language, pcm, sample_rate, band)

    def languages(self) -> list[str]:
        return list(self._languages)

    def _worker(self) -> _Worker:
        with self._lock:
            self._workers = [w for w in self._workers if w.alive or w.streams]
            if len(self._workers) < self.processes:
                fresh = _Worker(self._factory)
                for settled in self._settled:
                    fresh.call("settle", *settled)
                for language, words in self._vocabulary:
                    fresh.call("add_vocabulary", language, words)
                self._workers.append(fresh)
            worker = min((w for w in self._workers if w.alive), key=lambda w: w.streams)
            worker.streams += 1
            return worker

    def recognizer(
        self,
        language: str,
        sample_rate: int = 16000,
        phrases: list[str] | None = None,
        words: bool = True,
        band: str = "wideband",
    ) -> RemoteRecognizer:
        worker = self._worker()
        try:
            rid = worker.call("open", language, sample_rate, phrases, words, band)
        except BaseException:
            with self._lock:
                worker.streams -= 1
            raise
        return RemoteRecognizer(worker, rid, sample_rate)

    def release(self, recognizer: Recognizer) -> None:
        if not isinstance(recognizer, RemoteRecognizer):
            raise ValueError("this recognizer did not come from this engine")
        with self._lock:
            recognizer.worker.streams -= 1
        if recognizer.worker.alive:
            recognizer.worker.call("release", recognizer.rid)

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.alive]

    def describe(self) -> dict[str, Any]:
        """The engine as the workers see it; pool figures are summed over the workers."""
        described = {**self._describe, "processes": self.processes}
        pools = []
        for worker in list(self._workers):
            if worker.alive:
                with contextlib.suppress(AsrError):
                    pools.append(worker.call("describe").get("pool", {}))
        if pools:
            described["pool"] = {k: sum(p.get(k, 0) for p in pools) for k in pools[0]}
        return described

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
