"""The models directory's register, ``models.toml``: what ``hotline models add`` installed.

Kept apart from :mod:`hotline.models` (which checks models with the engines before adding
them) so that :mod:`hotline.engines` can read it too: a transformers model added there is
used without being listed again in ``translate.neural_models``.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "REGISTRY",
    "TRANSFORMERS_DIR",
    "InstalledModel",
    "ModelError",
    "folder_size",
    "neural_model_entries",
    "read_registry",
    "write_registry",
]

REGISTRY = "models.toml"
TRANSFORMERS_DIR = "transformers"


class ModelError(Exception):
    """A model cannot be added, found or removed; ``str(err)`` is one line for people."""


@dataclass(slots=True)
class InstalledModel:
    name: str
    kind: str
    language: str
    path: Path
    source: str = ""
    pairs: list[str] = field(default_factory=list)
    sha256: str = ""
    added: str = ""
    registered: bool = True

    @property
    def size(self) -> int:
        return folder_size(self.path)

    def entry(self) -> dict[str, Any]:
        """This model as a ``models.toml`` table."""
        return {
            "name": self.name,
            "kind": self.kind,
            "language": self.language,
            "pairs": list(self.pairs),
            "path": self.path.name
            if self.kind == "vosk"
            else f"{TRANSFORMERS_DIR}/{self.path.name}",
            "source": self.source,
            "sha256": self.sha256,
            "added": self.added,
        }


def read_registry(models_dir: Path) -> list[InstalledModel]:
    path = models_dir / REGISTRY
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"{path}: {exc}") from exc
    found = []
    for table in data.get("model", []):
        try:
            found.append(
                InstalledModel(
                    name=str(table["name"]),
                    kind=str(table["kind"]),
                    language=str(table["language"]),
                    path=models_dir / str(table["path"]),
                    source=str(table.get("source", "")),
                    pairs=[str(p) for p in table.get("pairs", [])],
                    sha256=str(table.get("sha256", "")),
                    added=str(table.get("added", "")),
                )
            )
        except KeyError as exc:
            raise ModelError(f"{path}: a [[model]] table has no {exc.args[0]!r}") from exc
    return found


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(str(value), ensure_ascii=False)


def write_registry(models_dir: Path, models: list[InstalledModel]) -> None:
    path = models_dir / REGISTRY
    if not models:
        path.unlink(missing_ok=True)
        return
    lines = [
        "# Models added with `hotline models add`; `hotline models remove NAME` deletes one.",
        "",
    ]
    for model in models:
        lines.append("[[model]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in model.entry().items()]
        lines.append("")
    temporary = path.with_name(f".{REGISTRY}.tmp")
    temporary.write_text("\n".join(lines), encoding="utf-8")
    os.replace(temporary, path)


def neural_model_entries(models_dir: Path) -> list[dict[str, Any]]:
    """The transformers models added here as ``translate.neural_models`` entries."""
    return [
        {"path": str(m.path), "pairs": [p.split("-", 1) for p in m.pairs]}
        for m in read_registry(models_dir)
        if m.kind == "transformers"
    ]


def folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += (Path(root) / f).lstat().st_size
            except OSError:
                pass
    return total
