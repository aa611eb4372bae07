"""Neural translation with a user-supplied Hugging Face model folder (Marian, M2M100, NLLB, mBART-50).

Models are only ever read from disk (``local_files_only=True``); nothing is fetched from a hub.
torch and transformers are imported when a model is loaded, so the package imports without them.
Decoding is greedy by default (``num_beams=1``): it is the latency-friendly choice for short
spoken sentences; pass ``num_beams=4`` for a little quality at several times the cost.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from translate.base import ModelLoadError, TranslationError, Translator
from translate.languages import MBART50_CODES, NLLB_CODES, pair_label

__all__ = ["TransformersTranslator"]

log = logging.getLogger(__name__)

_FOLDER_PAIR = re.compile(r"(?:^|[-_])([a-z]{2,3})-([a-z]{2,3})$")
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth"}
_LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError, ImportError, AttributeError)

MARIAN = "marian"
M2M100 = "m2m100"
NLLB = "nllb"
MBART50 = "mbart50"
PLAIN = "plain"


class TransformersTranslator(Translator):
    """One seq2seq model folder; Marian covers one direction, multilingual models many.

    A Marian folder's direction comes from ``pairs=``, else from a name like ``opus-mt-en-de``,
    else from the tokenizer's ``source_lang``/``target_lang``. Multilingual models cover every
    direction between the languages in translate.languages that their tokenizer knows, or
    only ``pairs=`` when given. Recent translations are kept in an LRU cache.
    """

    name = "transformers"

    def __init__(
        self,
        model_dir: str | Path,
        pairs: set[tuple[str, str]] | None = None,
        device: str | None = None,
        cache_size: int = 1024,
        num_beams: int = 1,
        batch_size: int = 16,
    ) -> None:
        self.model_dir = Path(model_dir).expanduser()
        self.cache_size = cache_size
        self.num_beams = num_beams
        self.batch_size = batch_size
        self._check_folder()
        try:
            import torch
            from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as err:
            raise ModelLoadError(
                f"neural translation needs torch and transformers installed: {err}"
            ) from err
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            config = AutoConfig.from_pretrained(self.model_dir, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(self.model_dir, local_files_only=True)
        except _LOAD_ERRORS as err:
            raise ModelLoadError(
                f"cannot load translation model from {self.model_dir}: "
                f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err) else ''}"
            ) from err
        self.model = model.to(self.device).eval()
        self._vocab: dict[str, int] = self.tokenizer.get_vocab()
        self.model_type: str = config.model_type
        self.kind = self._detect_kind(pairs)
        self._pairs = self._resolve_pairs(pairs)
        self.name = f"transformers:{self.model_dir.name}"
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        log.info(
            "loaded %s model %s (%s) on %s for %s",
            self.model_type,
            self.model_dir,
            self.kind,
            self.device,
            ", ".join(pair_label(s, t) for s, t in sorted(self._pairs)[:8]),
        )

    def pairs(self) -> set[tuple[str, str]]:
        return set(self._pairs)

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        self._check_pair(source, target)
        results: list[str | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                if not text.strip():
                    results[i] = text
                    continue
                cached = self._cache.get((source, target, text))
                if cached is not None:
                    self._cache.move_to_end((source, target, text))
                    results[i] = cached
                else:
                    todo.setdefault(text, []).append(i)
            if todo:
                unique = list(todo)
                for start in range(0, len(unique), self.batch_size):
                    chunk = unique[start : start + self.batch_size]
                    for text, out in zip(chunk, self._generate(chunk, source, target), strict=True):
                        for i in todo[text]:
                            results[i] = out
                        self._remember((source, target, text), out)
        return [r if r is not None else "" for r in results]

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            model = getattr(self, "model", None)
            if model is not None:
                del self.model
                if self.device.startswith("cuda"):
                    self._torch.cuda.empty_cache()

    def provenance(self, source: str, target: str) -> str:
        return f"{self.model_dir} @ {self.revision} {pair_label(source, target)}"

    @functools.cached_property
    def revision(self) -> str:
        """The model's revision: the commit of a Hugging Face cache snapshot folder, else the
        first 12 hex digits of a SHA-256 over its config and weight files."""
        if self.model_dir.parent.name == "snapshots":
            return self.model_dir.name[:12]
        digest = hashlib.sha256()
        for path in sorted(self.model_dir.iterdir()):
            if path.name == "config.json" or path.suffix in _WEIGHT_SUFFIXES:
                digest.update(path.name.encode())
                with path.open("rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
        return digest.hexdigest()[:12]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            model_dir=str(self.model_dir),
            model_type=self.model_type,
            kind=self.kind,
            device=self.device,
            num_beams=self.num_beams,
            revision=self.revision,
            cached=len(self._cache),
        )
        return info

    def _check_folder(self) -> None:
        folder = self.model_dir
        if not folder.exists():
            raise ModelLoadError(f"translation model folder {folder} does not exist")
        if not folder.is_dir():
            raise ModelLoadError(f"translation model path {folder} is not a folder")
        if not (folder / "config.json").is_file():
            raise ModelLoadError(
                f"{folder} is not a transformers model folder: config.json is missing "
                "(expected config.json, tokenizer files and weights as written by save_pretrained)"
            )

    def _detect_kind(self, pairs: set[tuple[str, str]] | None) -> str:
        vocab = self._vocab
        if self.model_type == MARIAN:
            return MARIAN
        if self.model_type in {"m2m_100", "nllb-moe"}:
            return NLLB if "eng_Latn" in vocab else M2M100
        if self.model_type == "mbart" and "en_XX" in vocab:
            return MBART50
        if pairs:
            return PLAIN
        raise ModelLoadError(
            f"{self.model_dir}: model type {self.model_type!r} has no known language scheme; "
            "pass pairs= to use it for the directions it was trained on"
        )

    def _lang_token(self, code: str) -> str | None:
        if self.kind == M2M100:
            return f"__{code}__"
        if self.kind == NLLB:
            return NLLB_CODES.get(code)
        if self.kind == MBART50:
            return MBART50_CODES.get(code)
        return None

    def _lang_token_id(self, code: str) -> int | None:
        token = self._lang_token(code)
        if token is None or token not in self._vocab:
            return None
        return self._vocab[token]

    def _resolve_pairs(self, pairs: set[tuple[str, str]] | None) -> set[tuple[str, str]]:
        if self.kind in {MARIAN, PLAIN}:
            if pairs:
                return set(pairs)
            found = _FOLDER_PAIR.search(self.model_dir.name)
            if found:
                return {(found.group(1), found.group(2))}
            src = getattr(self.tokenizer, "source_lang", None)
            tgt = getattr(self.tokenizer, "target_lang", None)
            if isinstance(src, str) and isinstance(tgt, str) and len(src) == len(tgt) == 2:
                return {(src, tgt)}
            raise ModelLoadError(
                f"{self.model_dir}: cannot tell which direction this Marian model translates; "
                "name the folder like opus-mt-en-de or pass pairs={('en', 'de')}"
            )
        if self.kind == M2M100:
            candidates = {tok[2:-2] for tok in self._vocab if re.fullmatch(r"__[a-z]{2,3}__", tok)}
        else:
            candidates = set(NLLB_CODES if self.kind == NLLB else MBART50_CODES)
        known = {code for code in candidates if self._lang_token_id(code) is not None}
        if pairs:
            unknown = {code for pair in pairs for code in pair} - known
            if unknown:
                raise ModelLoadError(
                    f"{self.model_dir}: this {self.kind} model has no language code for "
                    f"{', '.join(sorted(unknown))}"
                )
            return set(pairs)
        if not known:
            raise ModelLoadError(f"{self.model_dir}: found no language codes in the tokenizer")
        return {(s, t) for s in known for t in known if s != t}

    def _generate(self, texts: list[str], source: str, target: str) -> list[str]:
        torch = self._torch
        extra: dict[str, Any] = {}
        if self.kind in {M2M100, NLLB, MBART50}:
            self.tokenizer.src_lang = source if self.kind == M2M100 else self._lang_token(source)
            extra["forced_bos_token_id"] = self._lang_token_id(target)
        try:
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            max_new = min(512, int(batch["input_ids"].shape[1] * 2) + 10)
            with torch.inference_mode():
                out = self.model.generate(
                    **batch, num_beams=self.num_beams, max_new_tokens=max_new, **extra
                )
            return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]
        except (RuntimeError, ValueError, IndexError) as err:
            raise TranslationError(
                f"{self.name} failed on {pair_label(source, target)}: {err}"
            ) from err

    def _remember(self, key: tuple[str, str, str], value: str) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
