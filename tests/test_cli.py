"""The `hotline` command, run as a user runs it: a real process, real engines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from hotline.records import RecordStore
from telephony import read_wav, write_wav

HOTLINE = [sys.executable, "-m", "hotline.cli"]


def hotline(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HOTLINE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_engines_lists_what_works_on_this_machine():
    result = hotline("engines")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^\s+ko\s+vosk", out, re.M)
    assert re.search(r"^\s+en\s+pocketsphinx", out, re.M)
    assert re.search(r"en→es\s+apertium", out)
    assert re.search(r"^\s+(\w+)→(\w+)\s+\1 → (?:\w+ → )+\2$", out, re.M), "routes via pivots"
    assert "Speech synthesis" in out and " ko " in out


def test_translate_a_sentence_and_lines_from_stdin():
    result = hotline("translate", "The street light is broken.", "--from", "en", "--to", "es")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "La luz de calle está rota."
    piped = hotline("translate", "--from", "es", "--to", "en", stdin="Gracias.\nHay mucho ruido.\n")
    assert piped.stdout.splitlines() == ["Thank you.", "There is a lot of noise."]


def test_translate_without_an_engine_says_so_and_keeps_the_original():
    result = hotline("translate", "안녕하세요", "--from", "ko", "--to", "es")
    assert result.returncode == 3
    assert result.stdout.strip() == "안녕하세요"
    assert "no engine for ko→es" in result.stderr and "Traceback" not in result.stderr


def test_say_writes_speech_at_the_requested_rate(tmp_path):
    out = tmp_path / "hello.wav"
    result = hotline(
        "say", "안녕하세요, 시민 상담 전화입니다.", "--lang", "ko", "-o", str(out), "--rate", "8000"
    )
    assert result.returncode == 0, result.stderr
    pcm, rate = read_wav(out)
    assert rate == 8000 and 0.8 < len(pcm) / rate < 8 and np.abs(pcm).max() > 2000


def test_transcribe_any_format_and_rate(tmp_path):
    wav = tmp_path / "ko.wav"
    assert (
        hotline(
            "say", "가로등이 고장났습니다", "--lang", "ko", "-o", str(wav), "--rate", "22050"
        ).returncode
        == 0
    )
    mp3 = tmp_path / "ko.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    result = hotline("transcribe", str(mp3), "--lang", "ko")
    assert result.returncode == 0, result.stderr
    assert re.search(r"[가-힣]", result.stdout), result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["transcribe", "{wav}", "--lang", "fr"], "no speech recognizer for 'fr'"),
        (
            ["transcribe", "{wav}", "--lang", "ko", "--model", "/nonexistent/model"],
            "/nonexistent/model",
        ),
        (["transcribe", "/no/such/file.wav", "--lang", "ko"], "/no/such/file.wav"),
        (
            ["translate", "hi", "--from", "en", "--to", "es", "--model", "/nonexistent/mt"],
            "/nonexistent/mt",
        ),
        (["say", "hello", "--lang", "xx", "-o", "{tmp}/x.wav"], "no voice for language 'xx'"),
    ],
)
def test_missing_models_languages_and_files_give_a_clear_error_not_a_traceback(
    tmp_path, args, message
):
    wav = tmp_path / "silence.wav"
    write_wav(wav, np.zeros(8000, dtype=np.int16), 16000)
    args = [a.format(wav=wav, tmp=tmp_path) for a in args]
    result = hotline(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("hotline: error:") and message in result.stderr


def test_records_list_show_and_export(tmp_path):
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        call = store.create_call("en")
        store.add_utterance(
            call.id,
            speaker="caller",
            language="en",
            original="The light is broken.",
            translation="La luz está rota.",
            translation_language="es",
            start_s=1.0,
            end_s=2.5,
        )
        store.finish_call(call.id)
    listed = hotline("records", "--data-dir", str(tmp_path), "list")
    assert call.reference in listed.stdout and "completed" in listed.stdout
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", listed.stdout), listed.stdout
    shown = json.loads(
        hotline("records", "--data-dir", str(tmp_path), "show", call.reference).stdout
    )
    assert shown["utterances"][0]["translation"] == "La luz está rota."
    exported = hotline("records", "--data-dir", str(tmp_path), "export", "--format", "csv").stdout
    assert "The light is broken." in exported and "La luz está rota." in exported
    exported = json.loads(
        hotline("records", "--data-dir", str(tmp_path), "export", "--format", "json").stdout
    )
    assert exported[0]["id"] == call.id
    missing = hotline("records", "--data-dir", str(tmp_path / "empty"), "list")
    assert missing.returncode == 2 and "no records yet" in missing.stderr


def test_serve_reads_a_toml_config_and_answers_health_checks(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "hotline.toml"
    config.write_text(f'port = {port}\ndata_dir = "{tmp_path / "data"}"\n[call]\nmax_queue = 3\n')
    server = subprocess.Popen(
        [*HOTLINE, "serve", "--config", str(config)], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.5)
        assert health["status"] == "ok"
        assert (tmp_path / "data" / "hotline.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_bad_config_file_is_a_clear_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[call]\nmax_queue = "many"\nnot_a_key = 1\n')
    result = hotline("serve", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not_a_key" in result.stderr or "max_queue" in result.stderr


def test_twiml_points_a_twilio_number_at_the_stream():
    done = hotline("twiml", "--url", "https://hotline.example.org", "--language", "ko")
    assert done.returncode == 0, done.stderr
    assert '<Stream url="wss://hotline.example.org/twilio">' in done.stdout
    assert '<Parameter name="caller" value="{{From}}"/>' in done.stdout
    assert '<Parameter name="language" value="ko"/>' in done.stdout
    missing = hotline("twiml")
    assert missing.returncode == 2 and "give --url" in missing.stderr
