"""Model management: install, list and remove model folders in the models directory.

The models directory (``asr.models_dir``, else ``$HOTLINE_MODELS_DIR``, else
``~/.local/share/hotline/models``) holds:

- Vosk folders at its top, named so that the server's scan finds their language
  (``vosk-model-small-ko-0.22``, ``ko``): a folder added here is used at the next start;
- transformers folders under ``transformers/``: used at the next start for the pairs they
  were added for (unless ``translate.use_added_models`` is false);
- ``models.toml``: what was added, from where, with which checksum.

A model is checked before it is installed: the archive's SHA-256 when given, its members
(nothing outside the target), and that it loads and works (hotline.engines). A refusal is a
:class:`ModelError` with a one-line message, and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from hotline.engines import (
    ENGINE_ERRORS,
    models_directory,
    speech_model_language,
    verify_speech_model,
    verify_translation_model,
)
from hotline.model_registry import (
    REGISTRY,
    TRANSFORMERS_DIR,
    InstalledModel,
    ModelError,
    neural_model_entries,
    read_registry,
    write_registry,
)

__all__ = [
    "KINDS",
    "REGISTRY",
    "InstalledModel",
    "ModelError",
    "add_model",
    "human_size",
    "list_models",
    "models_directory",
    "neural_model_entries",
    "remove_model",
]

KINDS = ("vosk", "transformers")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
_LANGUAGE_NAMES = {
    "arabic": "ar",
    "catalan": "ca",
    "chinese": "zh",
    "czech": "cs",
    "dutch": "nl",
    "english": "en",
    "french": "fr",
    "german": "de",
    "greek": "el",
    "hindi": "hi",
    "italian": "it",
    "japanese": "ja",
    "korean": "ko",
    "persian": "fa",
    "polish": "pl",
    "portuguese": "pt",
    "russian": "ru",
    "spanish": "es",
    "swedish": "sv",
    "turkish": "tr",
    "ukrainian": "uk",
    "vietnamese": "vi",
}
"""Language names a Vosk README states ("Small Korean for Vosk"), for the language check."""


# --- listing and removing ------------------------------------------------------------------


def list_models(models_dir: Path) -> list[InstalledModel]:
    """The models added here, then Vosk folders put here by hand (``registered`` False)."""
    models = read_registry(models_dir)
    known = {m.path.resolve() for m in models}
    if models_dir.is_dir():
        for folder in sorted(models_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith(".") or folder.resolve() in known:
                continue
            language = speech_model_language(folder.name)
            if language and (folder / "conf").exists():
                models.append(
                    InstalledModel(folder.name, "vosk", language, folder, "-", registered=False)
                )
    return models


def remove_model(models_dir: Path, name: str) -> InstalledModel:
    """Delete a model's folder and its registry entry."""
    models = list_models(models_dir)
    for model in models:
        if model.name == name:
            break
    else:
        names = ", ".join(m.name for m in models) or "none"
        raise ModelError(f"no model named {name!r} in {models_dir} (installed: {names})")
    if model.path.exists():
        shutil.rmtree(model.path)
    with contextlib.suppress(OSError):  # only when empty
        (models_dir / TRANSFORMERS_DIR).rmdir()
    write_registry(models_dir, [m for m in models if m.registered and m.name != name])
    return model


# --- adding --------------------------------------------------------------------------------


def add_model(
    source: str,
    *,
    kind: str,
    language: str,
    models_dir: Path,
    pairs: list[str] | None = None,
    sha256: str | None = None,
    name: str | None = None,
    progress: bool = True,
) -> InstalledModel:
    """Install a Vosk or transformers model folder from a folder, or an archive (.zip,
    .tar.gz) at a local path or an http(s) URL, once it is checked; see the module's doc."""
    if kind not in KINDS:
        raise ModelError(f"unknown kind {kind!r}: use {' or '.join(KINDS)}")
    language = language.strip().lower()
    if not _LANGUAGE.match(language):
        raise ModelError(f"--language {language!r} is not a language code like 'ko'")
    wanted = _parse_pairs(pairs or [])
    if kind == "vosk" and wanted:
        raise ModelError("--pairs is for translation models; a Vosk model has one language")
    if wanted and not any(language in pair for pair in wanted):
        raise ModelError(f"--pairs {', '.join(pairs or [])} do not include --language {language}")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ModelError("--sha256 must be 64 hexadecimal digits")
    if name is not None and not _NAME.match(name):
        raise ModelError(f"--name {name!r}: use letters, digits, '.', '_' and '-'")

    models_dir = Path(models_dir).expanduser()
    created = not models_dir.exists()
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".adding-", dir=models_dir))
    try:
        folder, default_name = _obtain(source, sha256, staging, progress)
        model_name = _model_name(name or default_name, kind, language, folder)
        if any(m.name == model_name for m in list_models(models_dir)):
            raise ModelError(
                f"a model named {model_name!r} is installed; "
                f"`hotline models remove {model_name}` first, or add with --name"
            )
        # Checked under its final name: a transformers folder's name can state its direction.
        checked = staging / "checked" / model_name
        checked.parent.mkdir()
        folder.rename(checked)
        served = _verify(kind, checked, language, wanted)
        target = (
            models_dir / model_name
            if kind == "vosk"
            else models_dir / TRANSFORMERS_DIR / model_name
        )
        if target.exists():
            raise ModelError(f"{target} exists already; remove or rename it first")
        target.parent.mkdir(exist_ok=True)
        checked.rename(target)
        model = InstalledModel(
            name=model_name,
            kind=kind,
            language=language,
            path=target,
            source=_describe_source(source),
            pairs=[f"{s}-{t}" for s, t in sorted(served)],
            sha256=sha256 or "",
            added=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        try:
            write_registry(models_dir, [*read_registry(models_dir), model])
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return model
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(models_dir.iterdir()):
            models_dir.rmdir()


def _parse_pairs(pairs: list[str]) -> set[tuple[str, str]]:
    parsed = set()
    for item in pairs:
        for pair in item.split(","):
            source, _, target = pair.strip().lower().partition("-")
            if not (_LANGUAGE.match(source) and _LANGUAGE.match(target)) or source == target:
                raise ModelError(f"--pairs {pair.strip()!r} is not a direction like 'en-es'")
            parsed.add((source, target))
    return parsed


def _describe_source(source: str) -> str:
    if _is_url(source):
        return source
    return str(Path(source).expanduser().resolve())


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _strip_archive_suffix(filename: str) -> str:
    for suffix in _ARCHIVE_SUFFIXES:
        if filename.lower().endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def _obtain(source: str, sha256: str | None, staging: Path, progress: bool) -> tuple[Path, str]:
    """The model folder, copied or unpacked under ``staging``, and the name it came with."""
    if _is_url(source):
        filename = PurePosixPath(urllib.request.urlparse(source).path).name or "model"
        archive = staging / "download"
        _download(source, archive, progress)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise ModelError(f"{source} does not exist")
        filename = path.name
        if path.is_dir():
            if sha256:
                raise ModelError("--sha256 checks an archive, and the model is a folder")
            folder = staging / "copied"
            shutil.copytree(path, folder, symlinks=False)
            return folder, path.name
        archive = path
    if sha256:
        actual = _sha256_of(archive)
        if actual != sha256:
            raise ModelError(
                f"SHA-256 mismatch for {filename}: expected {sha256}, got {actual}; not installed"
            )
    unpacked = staging / "unpacked"
    unpacked.mkdir()
    _unpack(archive, unpacked, filename)
    entries = [p for p in unpacked.iterdir() if p.name != "__MACOSX"]
    if not entries:
        raise ModelError(f"{filename} is empty")
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0], entries[0].name
    return unpacked, _strip_archive_suffix(filename)


def _download(url: str, destination: Path, progress: bool) -> None:
    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=PurePosixPath(urllib.request.urlparse(url).path).name or url,
                file=sys.stderr,
                disable=not progress,
                leave=False,
            ) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ModelError(f"cannot download {url}: {reason}") from exc


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _unsafe(member: str) -> bool:
    path = PurePosixPath(member.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member) is not None


def _unpack(archive: Path, target: Path, filename: str) -> None:
    """Unpack a .zip or a tar (gzip, bzip2, xz); any member that would land outside
    ``target`` (absolute, ``..``, a link, a device) refuses the whole archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if _unsafe(info.filename):
                    raise ModelError(
                        f"{filename} has an unsafe member {info.filename!r} "
                        "(absolute or '..' path); not installed"
                    )
            try:
                zf.extractall(target)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ModelError(f"{filename} is a damaged zip archive: {exc}") from exc
        return
    try:
        is_tar = tarfile.is_tarfile(archive)
    except OSError:
        is_tar = False
    if not is_tar:
        raise ModelError(f"{filename} is neither a folder nor a .zip or .tar.gz archive")
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                if _unsafe(member.name):
                    raise ModelError(
                        f"{filename} has an unsafe member {member.name!r} "
                        "(absolute or '..' path); not installed"
                    )
                if not (member.isfile() or member.isdir()):
                    raise ModelError(
                        f"{filename} has a member that is a link or device: {member.name!r}; "
                        "not installed"
                    )
            if hasattr(tarfile, "data_filter"):
                tf.extractall(target, members=members, filter="data")
            else:  # pragma: no cover - Python before 3.11.4; members were checked above
                tf.extractall(target, members=members)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelError(f"{filename} is a damaged archive: {exc}") from exc


def _model_name(name: str, kind: str, language: str, folder: Path) -> str:
    """The installed folder's name: a Vosk folder is named so the server's scan reads
    ``language`` from it (the name given, or ``vosk-model-<language>-<name>``)."""
    if not _NAME.match(name):
        name = re.sub(r"[^A-Za-z0-9._-]", "-", name).lstrip(".-_") or "model"
    if name in {TRANSFORMERS_DIR, REGISTRY}:
        name = f"{kind}-{name}"
    if kind != "vosk":
        return name
    said = speech_model_language(name)
    if said is not None and said != language:
        raise ModelError(
            f"the folder name {name!r} says the model is for {said!r}, not {language!r}; "
            "not installed"
        )
    return name if said == language else f"vosk-model-{language}-{name}"


def _verify(
    kind: str, folder: Path, language: str, pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    try:
        if kind == "vosk":
            readme_says = _readme_languages(folder)
            if readme_says and language not in readme_says:
                raise ModelError(
                    f"the model's README says it is for {', '.join(sorted(readme_says))}, "
                    f"not {language!r}; not installed"
                )
            verify_speech_model(folder)
            return set()
        served = verify_translation_model(folder, pairs or None)
    except ENGINE_ERRORS as exc:
        raise ModelError(f"the {kind} model does not work: {exc}; not installed") from exc
    except ModelError:
        raise
    except Exception as exc:  # a broken model may fail anywhere in a third-party loader
        raise ModelError(
            f"the {kind} model does not work: {type(exc).__name__}: "
            f"{(str(exc).strip().splitlines() or [''])[0]}; not installed"
        ) from exc
    if not any(language in pair for pair in served):
        says = ", ".join(f"{s}-{t}" for s, t in sorted(served)[:6])
        raise ModelError(
            f"the model translates {says}, which does not include {language!r}; not installed"
        )
    return served


def _readme_languages(folder: Path) -> set[str]:
    """Languages a Vosk model's README names in its first lines ("Small Korean for Vosk")."""
    for readme in (folder / "README", folder / "README.md", folder / "README.txt"):
        if readme.is_file():
            head = readme.read_text(encoding="utf-8", errors="replace")[:500].lower()
            return {code for word, code in _LANGUAGE_NAMES.items() if word in head}
    return set()


# --- sizes -----------------------------------------------------------------------------------


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover
