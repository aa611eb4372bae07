"""Rule-based translation with Apertium, through one long-lived pipeline per direction.

Starting ``apertium src-tgt`` costs about a dozen processes (~160 ms) per call, so each
direction keeps its mode's pipeline running in null-flush mode (``-z`` on every stage):
a sentence goes in followed by ``"\\n\\0"`` (the tagger holds a sentence until it sees the
newline) and its translation comes out ending in a NUL, in a couple of milliseconds.

Text handling, equivalent to ``apertium -u -f txt``:
- input is backslash-escaped like ``apertium-destxt`` (every character special to the stream
  format), so user text cannot break the pipe; NULs are removed from input;
- output is unescaped like ``apertium-retxt``;
- the generator runs in unmarked mode (``-n``, what ``apertium -u`` does), so the engine never
  adds ``*``/``#``/``@`` unknown-word marks, and the caller's own ``*``, ``#`` and ``@`` survive.
"""

from __future__ import annotations

import logging
import os
import re
import select
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from translate.base import TranslationError, Translator
from translate.languages import from_apertium, pair_label

__all__ = ["ApertiumTranslator", "ApertiumMode", "missing_files", "read_modes"]

log = logging.getLogger(__name__)

DEFAULT_MODES_DIR = "/usr/share/apertium/modes"

_SPECIAL = re.compile(r"([\\^$\[\]{}/@<>*#+|])")
_STREAM_MARKUP = re.compile(r"\\(.)|[\[\]]", re.DOTALL)
_PLAIN_MODE = re.compile(r"^([a-z]{2,3})-([a-z]{2,3})$")
_ENV = {**os.environ, "LC_ALL": "C.UTF-8"}


@dataclass(frozen=True, slots=True)
class ApertiumMode:
    """One installed mode: its name (``eng-spa``) and pipeline stages, each an argv."""

    name: str
    stages: tuple[tuple[str, ...], ...]

    def null_flush_stages(self) -> list[list[str]]:
        """The stages as run here: ``-z`` on each, unmarked generation, default tagger."""
        out: list[list[str]] = []
        for stage in self.stages:
            argv = [{"$1": "-n"}.get(arg, arg) for arg in stage if arg != "$2"]
            if "-z" not in argv:
                argv.insert(1, "-z")
            out.append(argv)
        return out


def parse_mode(name: str, text: str) -> ApertiumMode:
    """Split a mode file's shell pipeline into argv lists (no shell is ever run)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[tuple[str, ...]] = []
    current: list[str] = []
    for token in lexer:
        if token == "|":
            if current:
                stages.append(tuple(current))
            current = []
        else:
            current.append(token)
    if current:
        stages.append(tuple(current))
    if not stages:
        raise TranslationError(f"apertium mode {name!r} has an empty pipeline")
    return ApertiumMode(name, tuple(stages))


def read_modes(modes_dir: str | Path = DEFAULT_MODES_DIR) -> dict[str, ApertiumMode]:
    """Every readable ``*.mode`` file in the folder, by mode name; a missing folder gives none."""
    folder = Path(modes_dir)
    modes: dict[str, ApertiumMode] = {}
    if not folder.is_dir():
        log.warning("apertium modes folder %s is absent: no apertium pairs", folder)
        return modes
    for path in sorted(folder.glob("*.mode")):
        try:
            mode = parse_mode(path.stem, path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TranslationError) as err:
            log.warning("skipping apertium mode %s: %s", path, err)
            continue
        missing = missing_files(mode)
        if missing:
            # A package whose mode names a data folder it did not install (Debian's es-eo
            # points at apertium-eo-es/, its data is in apertium-es-eo/): offering the pair
            # would send every route through it into a pipeline that dies on start.
            # Loud for a pair the hotline would offer; variants (``en-eo-bytecode``) are
            # never offered, so their absence is only worth a debug line.
            log.log(
                logging.WARNING if _PLAIN_MODE.match(path.stem) else logging.DEBUG,
                "skipping apertium mode %s: %d of its files are missing, e.g. %s",
                path,
                len(missing),
                missing[0],
            )
            continue
        modes[path.stem] = mode
    return modes


def missing_files(mode: ApertiumMode) -> list[str]:
    """The absolute paths a mode's stages name that are not there."""
    return [
        arg
        for stage in mode.stages
        for arg in stage[1:]
        if arg.startswith("/") and not Path(arg).exists()
    ]


def escape(text: str) -> str:
    """Make arbitrary text safe as Apertium stream input (what apertium-destxt does).

    ``~`` goes into a superblank: escaped or not, post-generation would eat it.
    """
    return _SPECIAL.sub(r"\\\1", text.replace("\0", "")).replace("~", "[~]")


def unescape(text: str) -> str:
    """Undo stream escaping and superblank brackets in output (what apertium-retxt does)."""
    return _STREAM_MARKUP.sub(lambda m: m.group(1) or "", text)


class _Pipeline:
    """One running null-flush pipeline; not thread-safe (the translator holds its lock)."""

    def __init__(self, mode: ApertiumMode) -> None:
        self.mode = mode
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            upstream: IO[bytes] | int = subprocess.PIPE
            for argv in mode.null_flush_stages():
                proc = subprocess.Popen(
                    argv,
                    stdin=upstream,
                    stdout=subprocess.PIPE,
                    stderr=self._stderr,
                    env=_ENV,
                )
                if not isinstance(upstream, int):
                    upstream.close()
                upstream = proc.stdout  # type: ignore[assignment]
                self.procs.append(proc)
        except OSError as err:
            self.close()
            raise TranslationError(f"cannot start apertium {mode.name}: {err}") from err
        self._in = self.procs[0].stdin.fileno()  # type: ignore[union-attr]
        self._out = self.procs[-1].stdout.fileno()  # type: ignore[union-attr]
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.procs)

    def alive(self) -> bool:
        return bool(self.procs) and all(p.poll() is None for p in self.procs)

    def exchange(self, sentences: list[str], timeout: float) -> list[str]:
        """Send every sentence, collect one NUL-terminated answer each, without deadlock.

        Writing and reading are multiplexed with select(), so a batch larger than the pipe
        buffers still flows; past the deadline the pipeline is killed and an error raised.
        """
        payload = b"".join(escape(s).encode("utf-8") + b"\n\0" for s in sentences)
        deadline = time.monotonic() + timeout
        received = bytearray()
        answers: list[bytes] = []
        sent = 0
        while len(answers) < len(sentences):
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise TranslationError(
                    f"apertium {self.mode.name} gave no answer within {timeout:.1f} s"
                )
            writers = [self._in] if sent < len(payload) else []
            readable, writable, _ = select.select([self._out], writers, [], left)
            if writable:
                try:
                    sent += os.write(self._in, payload[sent : sent + 65536])
                except BrokenPipeError:
                    self._died()
            if readable:
                chunk = os.read(self._out, 65536)
                if not chunk:
                    self._died()
                received += chunk
                *done, rest = bytes(received).split(b"\0")
                answers.extend(done)
                received = bytearray(rest)
        if received.strip(b"\0\n "):
            self.close()
            raise TranslationError(f"apertium {self.mode.name} answered more than asked")
        return [unescape(a.decode("utf-8", errors="replace")).strip() for a in answers]

    def _died(self) -> None:
        tail = self.stderr_tail()
        self.close()
        raise TranslationError(
            f"apertium {self.mode.name} pipeline exited" + (f": {tail}" if tail else "")
        )

    def stderr_tail(self, limit: int = 400) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            return self._stderr.read().decode("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        for proc in self.procs:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.procs = []
        self._stderr.close()


class ApertiumTranslator(Translator):
    """Apertium's installed pairs, each served by one lazily started, reused pipeline.

    Calls for the same direction are serialized by a per-direction lock; different
    directions run in parallel. A pipeline starts on its direction's first call, is closed
    after ``idle_s`` without one (so thirty installed pairs cost no processes until used),
    and one that died is restarted on the next call.
    """

    name = "apertium"

    def __init__(
        self,
        modes_dir: str | Path = DEFAULT_MODES_DIR,
        timeout: float = 10.0,
        idle_s: float | None = 300.0,
    ) -> None:
        self.modes_dir = Path(modes_dir)
        self.timeout = timeout
        self.idle_s = idle_s
        self._last_used: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self._reaper_lock = threading.Lock()
        self.modes = read_modes(self.modes_dir)
        self._mode_for: dict[tuple[str, str], ApertiumMode] = {}
        for mode in self.modes.values():
            match = _PLAIN_MODE.match(mode.name)
            if match is None:
                continue
            source, target = (from_apertium(code) for code in match.groups())
            if source and target and (source, target) not in self._mode_for:
                self._mode_for[(source, target)] = mode
        self._pipelines: dict[tuple[str, str], _Pipeline] = {}
        self._locks = {pair: threading.Lock() for pair in self._mode_for}
        self._closed = False

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._mode_for)

    def mode_name(self, source: str, target: str) -> str:
        """The Apertium mode that serves a direction (``eng-spa`` for en→es)."""
        self._check_pair(source, target)
        return self._mode_for[(source, target)].name

    def provenance(self, source: str, target: str) -> str:
        return f"apertium {self.mode_name(source, target)}"

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        self._check_pair(source, target)
        if self._closed:
            raise TranslationError("apertium translator is closed")
        wanted = [i for i, text in enumerate(texts) if text.strip()]
        results = [text if not text.strip() else "" for text in texts]
        if not wanted:
            return results
        with self._locks[(source, target)]:
            answers = self._pipeline(source, target).exchange(
                [texts[i] for i in wanted], self.timeout
            )
            self._last_used[(source, target)] = time.monotonic()
        for i, answer in zip(wanted, answers, strict=True):
            results[i] = answer
        return results

    def pipeline_pids(self, source: str, target: str) -> tuple[int, ...]:
        """PIDs of the running pipeline for a direction (empty when none is running)."""
        pipeline = self._pipelines.get((source, target))
        return pipeline.pids if pipeline is not None and pipeline.alive() else ()

    def translate_fresh_process(self, text: str, source: str, target: str) -> str:
        """Translate by running ``apertium -u src-tgt`` once: the slow path, for benchmarks."""
        mode = self.mode_name(source, target)
        done = subprocess.run(
            ["apertium", "-d", str(self.modes_dir.parent), "-u", mode],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=self.timeout,
            env=_ENV,
        )
        if done.returncode != 0:
            raise TranslationError(
                f"apertium {mode} failed: {done.stderr.decode('utf-8', 'replace').strip()}"
            )
        return done.stdout.decode("utf-8", errors="replace").strip()

    def close_idle(self, now: float | None = None) -> list[str]:
        """Close the pipelines unused for ``idle_s``; returns their modes. A direction in
        use right now is left alone (its lock is busy)."""
        if self.idle_s is None:
            return []
        now = time.monotonic() if now is None else now
        closed = []
        for pair, lock in self._locks.items():
            if pair not in self._pipelines or now - self._last_used.get(pair, now) < self.idle_s:
                continue
            if not lock.acquire(blocking=False):
                continue
            try:
                pipeline = self._pipelines.pop(pair, None)
                if pipeline is not None:
                    pipeline.close()
                    closed.append(pipeline.mode.name)
            finally:
                lock.release()
        if closed:
            log.info("apertium: closed idle pipelines %s", ", ".join(closed))
        return closed

    def _start_reaper(self) -> None:
        """One thread per translator, stopped by close(): it wakes a few times per idle
        period to close what nobody used."""
        if self.idle_s is None:
            return
        with self._reaper_lock:
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap, name="apertium-idle", daemon=True
                )
                self._reaper.start()

    def _reap(self) -> None:
        assert self.idle_s is not None
        while not self._stop.wait(max(1.0, self.idle_s / 4)):
            try:
                self.close_idle()
            except Exception:
                log.exception("apertium: closing idle pipelines failed")

    def close(self) -> None:
        self._closed = True
        self._stop.set()
        for pair, lock in self._locks.items():
            with lock:
                pipeline = self._pipelines.pop(pair, None)
                if pipeline is not None:
                    pipeline.close()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["modes_dir"] = str(self.modes_dir)
        info["modes"] = sorted(self.modes)
        info["running"] = [
            pair_label(s, t) for (s, t), p in sorted(self._pipelines.items()) if p.alive()
        ]
        return info

    def _pipeline(self, source: str, target: str) -> _Pipeline:
        pipeline = self._pipelines.get((source, target))
        if pipeline is not None and not pipeline.alive():
            log.warning(
                "apertium %s pipeline died (%s); restarting",
                pipeline.mode.name,
                pipeline.stderr_tail() or "no message",
            )
            pipeline.close()
            pipeline = None
        if pipeline is None:
            pipeline = _Pipeline(self._mode_for[(source, target)])
            self._pipelines[(source, target)] = pipeline
            self._last_used[(source, target)] = time.monotonic()
            self._start_reaper()
            log.info("apertium %s pipeline started (pids %s)", pipeline.mode.name, pipeline.pids)
        return pipeline
