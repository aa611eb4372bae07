"""Configuration: defaults, then TOML, then environment variables, then explicit values."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, load_config


def test_defaults_are_usable_without_any_file():
    config = load_config(environ={})
    assert config.port == 8765 and config.call.max_queue == 10 and config.translate.apertium


def test_toml_then_environment_then_explicit_values_win_in_that_order(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text(
        'port = 9000\ndata_dir = "/srv/hotline"\n'
        '[asr]\nvosk_models = { zh = "/models/vosk-model-small-cn-0.22" }\ntrailing_silence_ms = 400\n'
        '[call]\nmax_queue = 5\nmenu_languages = ["en", "zh"]\n'
    )
    config = load_config(
        path,
        environ={
            "HOTLINE_CALL_MAX_QUEUE": "7",
            "HOTLINE_LOG_LEVEL": "DEBUG",
            "HOTLINE_TTS_WORKERS": "3",
        },
        data_dir="/tmp/override",
    )
    assert config.port == 9000
    assert config.asr.vosk_models == {"zh": "/models/vosk-model-small-cn-0.22"}
    assert config.asr.trailing_silence_ms == 400
    assert config.call.max_queue == 7 and config.call.menu_languages == ["en", "zh"]
    assert config.log_level == "DEBUG" and config.tts.workers == 3
    assert config.data_dir == "/tmp/override"


@pytest.mark.parametrize(
    "text,environ,fragment",
    [
        ("[call]\nmax_queeu = 3\n", {}, "call.max_queeu"),
        ("port = [\n", {}, "hotline.toml"),
        ("", {"HOTLINE_CALL_MAX_QUEUE": "lots"}, "call.max_queue"),
        ("call = 3\n", {}, "call must be a table"),
    ],
)
def test_bad_configuration_names_the_key(tmp_path, text, environ, fragment):
    path = tmp_path / "hotline.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_config(path, environ=environ)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
