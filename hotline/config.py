"""One typed configuration for the server, loaded from TOML plus environment variables.

Precedence: built-in defaults < TOML file < environment (``HOTLINE_<SECTION>_<KEY>``,
or ``HOTLINE_<KEY>`` for top-level keys). Every key is documented in docs/operations.md.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Config", "ConfigError", "load_config"]


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


VAD_KINDS = ("energy", "silero")
"""The values of ``asr.vad`` (asr.vad.VAD_KINDS, kept equal by a test)."""


@dataclass(slots=True)
class AsrConfig:
    vosk_models: dict[str, str] = field(default_factory=dict)
    models_dir: str = ""
    trailing_silence_ms: int = 300
    partial_interval_s: float = 0.25
    asr_endpoint_language: str = "ko"
    sphinx_processes: int = -1
    narrowband_fill: str = "auto"
    vad: str = "silero"
    """The endpointer of call legs and ``hotline transcribe``: ``silero`` (silero-vad's
    network, the default: it keeps speech whole in noise and never takes noise for speech,
    docs/quality.md) or ``energy`` (adaptive noise floor, ~100 ms sooner on clean audio)."""


@dataclass(slots=True)
class TranslateConfig:
    apertium: bool = True
    neural_models: list[dict[str, Any]] = field(default_factory=list)
    timeout_s: float = 10.0
    prefer: dict[str, str] = field(default_factory=dict)
    """Which engine serves a pair, overriding the default (neural before Apertium):
    ``{"en-es" = "apertium"}``; the value is an engine's name or its model folder."""
    apertium_idle_s: float = 300.0
    """An Apertium pipeline unused this long is closed (it starts again when needed)."""
    glossary: str = ""
    """The city's glossary (TOML): terms kept in their official form through translation."""
    use_added_models: bool = True
    """Also translate with the transformers models ``hotline models add`` installed in the
    models directory (after those listed in ``neural_models``)."""


@dataclass(slots=True)
class TtsConfig:
    workers: int = 2
    cache_size: int = 256


@dataclass(slots=True)
class CallConfig:
    max_queue: int = 10
    capacity: int = 0
    queue_announce_s: float = 15.0
    queue_timeout_s: float = 600.0
    original_voice_gain_db: float = -18.0
    max_frame_bytes: int = 96000
    menu_languages: list[str] = field(
        default_factory=lambda: ["en", "es", "ko", "zh", "ca", "fr", "ja", "ru", "de", "ar"]
    )
    """The DTMF language menu: digit 1 is the first language, 0 the tenth; at most ten (one
    key each). The default is every language with written prompts (``PROMPT_LANGUAGES`` of
    hotline/call/prompts.py, which a test keeps equal)."""
    identify_speech: bool = True
    """A caller who speaks at the language menu instead of pressing a key is routed in the
    language their first words are recognized in, when that is sure (a key still wins)."""
    no_audio_timeout_s: float = 10.0
    long_silence_s: float = 30.0
    clipping_ratio: float = 0.01
    stage_timeout_s: float = 10.0
    low_confidence: float = 0.5
    """A recognized utterance below this confidence (0-1) is marked unclear."""
    low_round_trip: float = 0.0
    """A translation whose round trip scores below this chrF (0-100) is marked unclear;
    0 turns the check (an extra translation per utterance) off."""
    repeat_when_unclear: bool = False
    """The caller hears "please repeat" in their language after an unclear utterance."""
    interpreter_after: int = 3
    """After this many unclear turns the call is flagged for a human interpreter."""


@dataclass(slots=True)
class TwilioConfig:
    auth_token: str = ""
    public_url: str = ""


@dataclass(slots=True)
class AudioSocketConfig:
    port: int = 0
    host: str = ""
    language: str = ""


@dataclass(slots=True)
class SipConfig:
    port: int = 0
    host: str = ""
    public_address: str = ""
    rtp_ports: str = ""
    default_language: str = ""
    jitter_ms: int = 60


@dataclass(slots=True)
class SecurityConfig:
    session_hours: float = 12.0
    allowed_origins: list[str] = field(default_factory=list)
    sign_in_failures_per_account: int = 5
    sign_in_failures_per_address: int = 20
    calls_per_minute_per_address: int = 30
    asr_sessions_per_address: int = 4
    asr_sessions_max: int = 16
    asr_requires_token: bool = False
    tls_certfile: str = ""
    tls_keyfile: str = ""
    metrics_token: str = ""
    metrics_port: int = 0


@dataclass(slots=True)
class RecordsConfig:
    retention_days: float = 0.0
    """Recordings of calls older than this are deleted (0: kept for ever); calls on legal
    hold are kept."""


@dataclass(slots=True)
class CasesConfig:
    catalogue: str = ""
    """The city's service catalogue (TOML); empty: the built-in one (hotline/cases)."""
    clocks: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per urgency class (emergency, utility, standard, complex): dispatch_hours and
    feedback_hours, overriding the built-in clocks."""
    duplicate_window_hours: float = 72.0
    emergency_numbers: dict[str, str] = field(default_factory=lambda: {"emergency": "112"})
    """Shown on the console's emergency alert: what the caller should dial, by service."""
    readback: bool = True
    survey: bool = True
    survey_timeout_s: float = 20.0
    answer_target_s: float = 30.0
    """A call counts as answered on time when an operator took it within this."""
    api_keys: list[str] = field(default_factory=list)
    """Keys that may POST Open311 requests; none: posting is refused."""
    jurisdiction_id: str = ""
    open311_contact: str = ""
    overdue_check_s: float = 30.0
    """How often operators' consoles are told which cases are past a clock."""


@dataclass(slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: str = "./data"
    log_level: str = "INFO"
    asr: AsrConfig = field(default_factory=AsrConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    call: CallConfig = field(default_factory=CallConfig)
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    audiosocket: AudioSocketConfig = field(default_factory=AudioSocketConfig)
    sip: SipConfig = field(default_factory=SipConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    cases: CasesConfig = field(default_factory=CasesConfig)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()


def _coerce(value: str, like: Any, key: str) -> Any:
    try:
        if isinstance(like, bool):
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        if isinstance(like, list):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(like, dict):
            return dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    except ValueError as exc:
        raise ConfigError(f"{key}: cannot read {value!r} as {type(like).__name__}") from exc
    return value


def _apply(target: Any, values: dict[str, Any], prefix: str) -> None:
    names = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"unknown configuration key {prefix}{key}")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{prefix}{key} must be a table")
            _apply(current, value, f"{prefix}{key}.")
        else:
            if isinstance(value, str) and not isinstance(current, str):
                value = _coerce(value, current, prefix + key)
            setattr(target, key, value)


def _from_environment(config: Config, environ: dict[str, str]) -> None:
    for f in dataclasses.fields(config):
        current = getattr(config, f.name)
        if dataclasses.is_dataclass(current):
            for sub in dataclasses.fields(current):
                name = f"HOTLINE_{f.name}_{sub.name}".upper()
                if name in environ:
                    _apply(current, {sub.name: environ[name]}, f"{f.name}.")
        else:
            name = f"HOTLINE_{f.name}".upper()
            if name in environ:
                _apply(config, {f.name: environ[name]}, "")


def load_config(
    path: str | Path | None = None, environ: dict[str, str] | None = None, **overrides: Any
) -> Config:
    """Defaults, then the TOML file (if any), then the environment, then explicit overrides."""
    config = Config()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"configuration file not found: {path}")
        try:
            _apply(config, tomllib.loads(path.read_text(encoding="utf-8")), "")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    _from_environment(config, dict(os.environ if environ is None else environ))
    _apply(config, {k: v for k, v in overrides.items() if v is not None}, "")
    if config.asr.vad not in VAD_KINDS:
        raise ConfigError(f"asr.vad must be one of {', '.join(VAD_KINDS)}, not {config.asr.vad!r}")
    return config
