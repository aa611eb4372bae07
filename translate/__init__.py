"""Translators behind one interface (Apertium, transformers models) and the router between them.

Every language code is ISO 639-1 ("en", "es", "ca", "ko", "zh"); engine-specific codes live
in translate.languages. Engines are blocking: call them from an executor.
"""

from __future__ import annotations

from translate.apertium import ApertiumTranslator
from translate.base import ModelLoadError, NoEngineForPair, TranslationError, Translator
from translate.neural import TransformersTranslator
from translate.router import Hop, Router, Translation, build_router

__all__ = [
    "ApertiumTranslator",
    "Hop",
    "ModelLoadError",
    "NoEngineForPair",
    "Router",
    "Translation",
    "TranslationError",
    "Translator",
    "TransformersTranslator",
    "build_router",
]
