"""The one seam between the product and the engine packages (``asr/``, ``translate/``, ``tts/``).

:class:`Engines` holds what one server process drives, loaded once, and offers operations:
open a speech stream for a call leg, lend a recognizer to an ``/asr`` connection, translate,
speak. It keeps its executors and pools to itself, so blocking engine work never reaches the
event loop and nothing else learns which engine it drives. The module-level functions give
the command line the same engines one at a time (``hotline transcribe|translate|say|engines``).

No other product module imports an engine package; the benchmarks, which measure the
engines themselves, are the one exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from asr import (
    AsrEngine,
    AsrError,
    AsyncUtteranceStream,
    Final,
    Partial,
    Recognizer,
    UtteranceStream,
)
from asr.base import AddedWords
from asr.registry import AsrRegistry, build_registry
from asr.spoken_language import (
    SLOWER,
    FirstWords,
    SpokenLanguage,
    candidate,
    decide,
    hear,
)
from asr.vad import make_endpointer, usable_vad
from hotline.config import Config, ConfigError
from hotline.model_registry import ModelError, neural_model_entries
from telephony import resample
from telephony.wideband import BandFold, HighBandNoise
from translate import Router, Translation, TranslationError, build_router
from translate.glossary import Glossary, GlossaryError
from translate.identify import Identified, LanguageIdentifier
from tts import Synthesizer, TtsError, default_synthesizer

__all__ = [
    "ASR_RATE",
    "ENGINE_ERRORS",
    "AsrError",
    "Engines",
    "Final",
    "FirstWords",
    "Identified",
    "Partial",
    "Recognizer",
    "RecognizerLoan",
    "SpeechStream",
    "SpokenLanguage",
    "Translation",
    "engine_inventory",
    "synthesizer",
    "transcribe",
    "translation_router",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

ASR_RATE = 16000
"""The rate every recognizer runs at; call legs and ``/asr`` resample to it."""

ENGINE_ERRORS: tuple[type[Exception], ...] = (AsrError, TranslationError, TtsError)
"""What engines raise for bad input or a missing model: a clear message, never a bug."""

# A call leg's recognizer finishes at a 100 ms pause (its result held until the endpointer's
# trailing silence confirms the end), and hears only speech plus 0.5 s of pre-roll.
EARLY_FINISH_MS = 100
GATE_PREROLL_S = 0.5
NARROWBAND_RATE = 8000
"""Legs at or below this rate are phone calls: the recognizer gets a fill above 4 kHz."""
NARROWBAND_FILLS = {"fold": lambda: BandFold(-30.0), "noise": lambda: HighBandNoise(-50.0)}
BEST_FILL = {"vosk": "fold", "pocketsphinx": "noise"}
"""Which fill helped which engine most on real phone-band speech (docs/quality.md)."""
CAPACITY_UTILIZATION = 0.6
ACCEPT_S = 0.02
"""A call leg's recognizer hears 20 ms pieces, the frames transports deliver, however they
were batched: the same audio gives the same words, live or in a QA replay."""
CALL_OVERHEAD = 0.03
"""CPU seconds per call-second besides recognition (voices, translation, the call loop)."""
WARM_UP_PHRASES = {
    "en": "Hello, I would like to report a problem in my street.",
    "ko": "안녕하세요, 우리 동네에 문제가 있어서 전화했습니다.",
    "ja": "はい、お電話ありがとうございます。",
}


class SpeechStream(Protocol):
    """One call leg's recognizer: PCM16 at :data:`ASR_RATE` in, Partial and Final events out."""

    async def feed(self, pcm: bytes) -> list[Partial | Final]: ...

    async def close(self) -> list[Partial | Final]:
        """Finish the utterance in progress; the stream takes no more audio."""
        ...

    def release(self) -> None:
        """Give the recognizer back to its pool (after ``close``)."""
        ...


class _LegStream:
    """A pooled recognizer with our VAD endpointing, decoding in the call-leg threads; for a
    phone leg, the band it lost is filled before the recognizer hears it."""

    def __init__(
        self,
        engine: AsrEngine,
        stream: UtteranceStream,
        executor: ThreadPoolExecutor,
        fill: BandFold | HighBandNoise | None = None,
    ):
        self._engine = engine
        self._stream = AsyncUtteranceStream(stream, executor=executor)
        self._fill = fill

    async def feed(self, pcm: bytes) -> list[Partial | Final]:
        if self._fill is not None:
            pcm = self._fill.process(np.frombuffer(pcm, dtype="<i2")).astype("<i2").tobytes()
        return await self._stream.feed(pcm)

    async def close(self) -> list[Partial | Final]:
        return await self._stream.close()

    def release(self) -> None:
        try:
            self._engine.release(self._stream.stream.recognizer)
        except Exception:
            log.exception("could not return a recognizer to its pool")


class RecognizerLoan:
    """A pooled recognizer lent to one ``/asr`` connection. Blocking work on it runs in the
    ASR threads through :meth:`run`; :meth:`give_back` returns it to its pool once no such
    work is still running."""

    def __init__(self, engine: AsrEngine, recognizer: Recognizer, executor: ThreadPoolExecutor):
        self.engine_name = engine.name
        self.recognizer = recognizer
        self._engine = engine
        self._executor = executor
        self._pending: Future | None = None
        self._returned = False

    async def run(self, work: Callable[..., T], *args: object) -> T:
        self._pending = self._executor.submit(work, *args)
        return await asyncio.wrap_future(self._pending)

    def give_back(self) -> None:
        if self._returned:
            return
        self._returned = True
        pending = self._pending
        if pending is not None and not pending.done():
            pending.add_done_callback(lambda _: _release(self._engine, self.recognizer))
        else:
            _release(self._engine, self.recognizer)


def _release(engine: AsrEngine, recognizer: Recognizer) -> None:
    try:
        engine.release(recognizer)
    except Exception:
        log.exception("could not return a recognizer to its pool")


class Engines:
    """Recognition, translation and speech for every call in this process, loaded once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        cpus = os.cpu_count() or 2
        self._asr_threads = ThreadPoolExecutor(max_workers=max(2, cpus), thread_name_prefix="asr")
        # Call legs get their own threads, enough that one waiting on a busy PocketSphinx
        # worker process never holds up a stream bound to an idle one.
        self._leg_threads = ThreadPoolExecutor(
            max_workers=4 * max(2, cpus), thread_name_prefix="call-asr"
        )
        self._translate_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mt")
        processes = config.asr.sphinx_processes
        self._recognizers: AsrRegistry = build_registry(
            vosk_models=config.asr.vosk_models,
            models_dir=Path(config.asr.models_dir) if config.asr.models_dir else None,
            sphinx_processes=cpus if processes < 0 else processes,
        )
        self._router = build_router(
            neural_models=neural_models(config),
            apertium=config.translate.apertium,
            prefer=preferred_pairs(config.translate.prefer),
            apertium_idle_s=config.translate.apertium_idle_s,
            glossary=load_glossary(config.translate.glossary),
        )
        self._voice: Synthesizer = default_synthesizer(
            workers=config.tts.workers, cache_size=config.tts.cache_size
        )
        self._identifier: LanguageIdentifier | None = None
        self._vad = usable_vad(config.asr.vad)
        self.asr_cost: float | None = None
        """Seconds of one core per second of speech recognized, measured by warm_up."""
        self.failures: Counter[str] = Counter()
        """Engine failures by stage (asr, translate, tts) that calls survived, for metrics."""
        self.restarts: Counter[str] = Counter()

    # --- what is here ---------------------------------------------------------------

    def asr_languages(self) -> list[str]:
        return sorted(self._recognizers.languages())

    def can_recognize(self, language: str) -> bool:
        return language in self._recognizers.languages()

    def can_translate(self, source: str, target: str) -> bool:
        return self._router.can_translate(source, target)

    def identify_language(self, text: str) -> Identified:
        """The language a typed text is in, among those this hotline hears, speaks or
        translates (``language`` None when unsure); fast enough for the event loop."""
        if self._identifier is None:
            languages = {*self.config.call.menu_languages, *self.asr_languages()}
            for source, target in self._router.pairs():
                languages |= {source, target}
            self._identifier = LanguageIdentifier(languages)
        return self._identifier.identify(text)

    def translation_pairs(self) -> set[tuple[str, str]]:
        """Directions an engine serves directly (a route may chain them)."""
        return self._router.pairs()

    def describe(self) -> dict[str, Any]:
        """What is loaded and how busy it is (recognizer pools included), for health and
        metrics: figures, never the pools themselves."""
        return {
            "asr": self._recognizers.describe(),
            "translate": self._router.describe(),
            "tts": self._voice.describe(),
        }

    def check_recognizer(self, language: str) -> str:
        """The name of the engine that would recognize ``language``; AsrError when none can."""
        return self._recognizers.engine_for(language).name

    # --- recognition ----------------------------------------------------------------

    async def open_stream(self, language: str, sample_rate: int = ASR_RATE) -> SpeechStream:
        """A streaming recognizer with our own VAD endpointing, for one leg of a call whose
        audio arrives at ``sample_rate`` (it is fed at :data:`ASR_RATE`). Built off the event
        loop: an empty pool means building a recognizer, which takes a while."""
        return await asyncio.to_thread(self._open_stream, language, sample_rate)

    def _open_stream(self, language: str, sample_rate: int = ASR_RATE) -> _LegStream:
        engine = self._recognizers.engine_for(language)
        recognizer = engine.recognizer(language, ASR_RATE, band=band_of(sample_rate))
        endpointer = make_endpointer(
            self._vad,
            ASR_RATE,
            trailing_silence_ms=self.config.asr.trailing_silence_ms,
            pause_ms=EARLY_FINISH_MS,
        )
        stream = UtteranceStream(
            recognizer,
            endpointer,
            partial_interval_s=self.config.asr.partial_interval_s,
            gate_preroll_s=GATE_PREROLL_S,
            accept_s=ACCEPT_S,
        )
        fill = narrowband_fill(engine.name, sample_rate, self.config.asr.narrowband_fill)
        return _LegStream(engine, stream, self._leg_threads, fill)

    async def identify_speech(self, pcm: np.ndarray, sample_rate: int) -> SpokenLanguage:
        """Which recognizable language one utterance (int16 at ``sample_rate``) is in, for a
        caller who skips the language menu; ``language`` None when unsure. Every installed
        recognizer hears it, and hears it again played a little slower, all at once in the
        call-leg threads on the call's band; asr/spoken_language.py weighs how sure each is
        of its words, whether the words stayed the same, and the language of its text."""
        loop = asyncio.get_running_loop()
        languages = self.asr_languages()
        slower = resample(pcm, sample_rate, round(sample_rate * SLOWER))
        heard = await asyncio.gather(
            *(
                loop.run_in_executor(self._leg_threads, self._hear, language, audio, sample_rate)
                for language in languages
                for audio in (pcm, slower)
            )
        )
        speech_s = len(pcm) / sample_rate
        candidates = []
        for i, language in enumerate(languages):
            (engine, final), (_, again) = heard[2 * i], heard[2 * i + 1]
            said = self.identify_language(final.text)
            candidates.append(
                candidate(language, engine, final, speech_s, said.language, said.confidence, again)
            )
        return decide(candidates)

    def _hear(self, language: str, pcm: np.ndarray, sample_rate: int) -> tuple[str, Final]:
        """One utterance through a fresh pooled recognizer of ``language``, as a leg hears it."""
        engine = self._recognizers.engine_for(language)
        audio = resample(pcm, sample_rate, ASR_RATE)
        fill = narrowband_fill(engine.name, sample_rate, self.config.asr.narrowband_fill)
        if fill is not None:
            audio = fill.process(audio)
        recognizer = engine.recognizer(language, ASR_RATE, band=band_of(sample_rate))
        try:
            return engine.name, hear(recognizer, audio.astype("<i2").tobytes())
        finally:
            _release(engine, recognizer)

    def recognizer_provenance(self, language: str) -> str:
        """Which engine and model recognize ``language`` (for QA reports): ``vosk /path``."""
        engine = self._recognizers.engine_for(language)
        described = engine.describe().get("languages", {}).get(language, {})
        model = described.get("model") if isinstance(described, dict) else None
        return f"{engine.name} {model}" if model else engine.name

    async def lend_recognizer(
        self, language: str, phrases: list[str] | None = None, words: bool = True
    ) -> RecognizerLoan:
        """A pooled recognizer at :data:`ASR_RATE` for an ``/asr`` connection. If the caller
        is cancelled while the pool hands it out, the recognizer goes straight back."""
        engine = self._recognizers.engine_for(language)
        loan = self._asr_threads.submit(engine.recognizer, language, ASR_RATE, phrases, words)
        try:
            recognizer = await asyncio.wrap_future(loan)
        except asyncio.CancelledError:
            loan.add_done_callback(lambda done: _release_orphan(engine, done))
            raise
        return RecognizerLoan(engine, recognizer, self._asr_threads)

    # --- translation and speech -------------------------------------------------------

    async def translate(self, texts: list[str], source: str, target: str) -> Translation:
        """Translated texts, or the originals with a note when no engine can, one fails, or
        one takes longer than ``translate.timeout_s`` (never raises). A translator that hangs
        keeps its thread; the next translations get fresh threads."""
        loop = asyncio.get_running_loop()
        threads = self._translate_threads
        work = loop.run_in_executor(threads, self._router.translate_or_keep, texts, source, target)
        try:
            return await asyncio.wait_for(work, self.config.translate.timeout_s)
        except TimeoutError:
            self._replace_translate_threads(threads)
            note = f"translation took longer than {self.config.translate.timeout_s:g} s"
        except Exception as exc:
            log.exception("translation %s→%s failed", source, target)
            note = f"translation failed: {exc}"
        self.failures["translate"] += 1
        log.warning("%s→%s: %s; the original text is kept", source, target, note)
        return Translation(list(texts), False, "none", note)

    async def round_trip(self, text: str, translation: str, source: str, target: str) -> float:
        """How well a translation kept the meaning, estimated without a reference: the
        translation back into ``source``, scored against ``text`` by chrF (0-100; sacrebleu).
        100 when nothing could be translated back (no estimate, no alarm)."""
        back = await self.translate([translation], target, source)
        if not back.translated:
            return 100.0
        from sacrebleu.metrics import CHRF

        return float(CHRF().sentence_score(back.texts[0], [text]).score)

    def _replace_translate_threads(self, stuck: ThreadPoolExecutor) -> None:
        if self._translate_threads is stuck:
            self._translate_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mt")
            self.restarts["translate"] += 1
            stuck.shutdown(wait=False, cancel_futures=True)

    async def speak(self, text: str, language: str, sample_rate: int) -> np.ndarray:
        return await self._voice.synthesize_async(text, language, sample_rate)

    def speak_stream(self, text: str, language: str, sample_rate: int) -> AsyncIterator[np.ndarray]:
        """Speech sentence by sentence, so the first words can play while the rest is made."""
        return self._voice.stream_async(text, language, sample_rate)

    # --- life -------------------------------------------------------------------------

    def add_glossary_words(self) -> dict[str, AddedWords]:
        """The glossary's words (each language's forms and the ``all`` ones), added to the
        recognizers that can learn words, so street and agency names missing from a model
        can be recognized at all; what each language's engine did with them. Blocking
        (espeak-ng, a decoder): warm_up runs it in a thread."""
        glossary = self._router.glossary
        added: dict[str, AddedWords] = {}
        for language in self.asr_languages() if glossary is not None else []:
            words = glossary.words(language)
            if not words:
                continue
            engine = self._recognizers.engine_for(language)
            try:
                done = engine.add_vocabulary(language, dict.fromkeys(words))
            except AsrError as exc:
                log.warning("glossary: %s %s learned no words: %s", engine.name, language, exc)
                continue
            name, known, skipped = engine.name, len(done.known), ", ".join(done.skipped)
            if done.note:
                log.info(
                    "glossary: no words added to %s %s (%s), %d of %d already known%s",
                    name,
                    language,
                    done.note,
                    known,
                    len(words),
                    f"; unknown: {skipped}" if skipped else "",
                )
            else:
                log.info(
                    "glossary: %d words added to %s %s, %d skipped%s",
                    len(done.added),
                    name,
                    language,
                    len(done.skipped),
                    f" ({skipped})" if skipped else "",
                )
            added[language] = done
        return added

    async def warm_up(self) -> None:
        """Load models, start workers and settle recognizers on real speech before the first
        call: a fresh recognizer is slow, and PocketSphinx's normalisation needs speech. The
        ``/asr`` language gets one warm recognizer per concurrent stream a core can carry, the
        other languages two per core, so the first simultaneous calls build none."""
        cpus = os.cpu_count() or 2
        await asyncio.to_thread(self.add_glossary_words)
        # A neural voice (Piper, Kokoro) loads its model on first use: now, not on a caller.
        for language in self._voice.describe().get("preferred", {}):
            try:
                await self._voice.synthesize_async(
                    WARM_UP_PHRASES.get(language, "Hello."), language, ASR_RATE
                )
            except Exception as exc:
                log.warning("the %s voice could not warm up: %s", language, exc)
        for language in self.asr_languages():
            try:
                # Settled on espeak-ng's rendering even where another voice speaks to
                # callers: the recognizers' starting state was measured on it (Piper's
                # English settles PocketSphinx elsewhere; not measured yet).
                settling_voice = getattr(self._voice, "fallback", self._voice)
                speech = await settling_voice.synthesize_async(
                    WARM_UP_PHRASES.get(language, "hello"), language, ASR_RATE
                )
            except Exception:
                speech = np.zeros(ASR_RATE, dtype=np.int16)
            engine = self._recognizers.engine_for(language)
            await asyncio.to_thread(engine.settle, language, speech.tobytes(), ASR_RATE)
            # A phone leg's streams start from the same phrase as a phone leg hears it.
            phoned = resample(
                resample(speech, ASR_RATE, NARROWBAND_RATE), NARROWBAND_RATE, ASR_RATE
            )
            fill = narrowband_fill(engine.name, NARROWBAND_RATE, self.config.asr.narrowband_fill)
            if fill is not None:
                phoned = fill.process(phoned)
            await asyncio.to_thread(
                engine.settle, language, phoned.astype("<i2").tobytes(), ASR_RATE, "narrowband"
            )
            count = 3 * cpus if language == self.config.asr.asr_endpoint_language else 2 * cpus
            streams = [self._open_stream(language) for _ in range(count)]
            try:
                await asyncio.gather(*(_settle(stream, speech) for stream in streams))
            finally:
                for stream in streams:
                    stream.release()
            # One more pass alone on a settled recognizer, timed: what a second of speech
            # costs this engine.
            timed = self._open_stream(language)
            try:
                started = time.perf_counter()
                await _settle(timed, speech)
                cost = (time.perf_counter() - started) / max(len(speech) / ASR_RATE, 0.1)
                self.asr_cost = max(self.asr_cost or 0.0, cost)
            finally:
                timed.release()

    def estimated_capacity(self) -> int:
        """Simultaneous calls this machine carries within the latency targets, from what
        recognition cost at warm-up: each call runs two recognizer legs, plus a little for
        voices and translation, and the cores are kept at most 60 % busy so that bursts
        (everyone speaking at once) still fit."""
        cpus = os.cpu_count() or 2
        per_call = 2 * (self.asr_cost if self.asr_cost is not None else 0.1) + CALL_OVERHEAD
        return max(1, int(cpus * CAPACITY_UTILIZATION / per_call))

    def close(self) -> None:
        self._voice.close()
        self._router.close()
        self._recognizers.close()
        for pool in (self._asr_threads, self._leg_threads, self._translate_threads):
            pool.shutdown(wait=False, cancel_futures=True)


def neural_models(config: Config) -> list[dict[str, Any]]:
    """The transformers models to translate with: ``translate.neural_models``, then those
    ``hotline models add`` installed (unless ``translate.use_added_models`` is off). A
    register that cannot be read is logged and skipped: translation falls back to Apertium
    rather than the server failing to start."""
    listed = list(config.translate.neural_models)
    if not config.translate.use_added_models:
        return listed
    models_dir = models_directory(config.asr.models_dir)
    try:
        added = neural_model_entries(models_dir)
    except ModelError as exc:
        log.warning("models added in %s are not used: %s", models_dir, exc)
        return listed
    known = {Path(str(entry.get("path", ""))).expanduser().resolve() for entry in listed}
    return listed + [e for e in added if Path(e["path"]).resolve() not in known]


def load_glossary(path: str) -> Glossary | None:
    """``translate.glossary``, or None when not set; a broken file is a ConfigError."""
    if not path:
        return None
    try:
        return Glossary.load(path)
    except GlossaryError as exc:
        raise ConfigError(f"translate.glossary: {exc}") from exc


def preferred_pairs(prefer: dict[str, str]) -> dict[tuple[str, str], str]:
    """``translate.prefer`` (``{"en-es": "apertium"}``) keyed by language pairs; a key that
    is not ``xx-yy`` is a ConfigError naming it."""
    pairs = {}
    for key, engine in prefer.items():
        source, _, target = key.partition("-")
        if not source or not target or "-" in target:
            raise ConfigError(f"translate.prefer: {key!r} is not a pair like 'en-es'")
        pairs[(source, target)] = str(engine)
    return pairs


def band_of(sample_rate: int) -> str:
    """``narrowband`` for a leg at a phone's rate or below, else ``wideband``."""
    return "narrowband" if sample_rate <= NARROWBAND_RATE else "wideband"


def narrowband_fill(
    engine: str, sample_rate: int, choice: str = "auto"
) -> BandFold | HighBandNoise | None:
    """What a leg at ``sample_rate`` adds above 4 kHz for ``engine`` (``asr.narrowband_fill``:
    ``auto`` takes the fill measured best for the engine; ``fold``, ``noise``, ``none``)."""
    if sample_rate > NARROWBAND_RATE:
        return None
    if choice == "auto":
        choice = BEST_FILL.get(engine, "none")
    make = NARROWBAND_FILLS.get(choice)
    return make() if make is not None else None


async def _settle(stream: _LegStream, speech: np.ndarray) -> None:
    for i in range(0, len(speech), ASR_RATE // 10):
        await stream.feed(speech[i : i + ASR_RATE // 10].tobytes())
    await stream.close()


def _release_orphan(engine: AsrEngine, loan: Future) -> None:
    """Give back a recognizer whose borrower was cancelled while the pool was handing it out."""
    if loan.cancelled() or loan.exception() is not None:
        return
    _release(engine, loan.result())


# --- the engines one at a time, for the command line -------------------------------------


def transcribe(
    pcm: np.ndarray,
    language: str,
    *,
    engine: str | None = None,
    model: str | None = None,
    phrases: list[str] | None = None,
    trailing_silence_ms: int = 300,
    settle: bool = True,
    vad: str = "silero",
) -> list[Final]:
    """The utterances in ``pcm`` (mono int16 at :data:`ASR_RATE`), streamed in 100 ms chunks
    as a live call would be. ``model`` is a Vosk model folder for ``language``; ``vad`` the
    endpointer (``energy`` or ``silero``, as ``asr.vad``).

    The whole file is known in advance, so the engine first settles on the file itself
    (PocketSphinx starts from the file's own cepstral mean, as a batch decode would, instead
    of a cold one: WER 0.42 → 0.20 on docs/quality.md's English recordings)."""
    registry = build_registry(vosk_models={language: model} if model else None)
    try:
        asr_engine = registry.engine_for(language, prefer=engine)
        if settle and len(pcm):
            asr_engine.settle(language, pcm.tobytes(), ASR_RATE)
        recognizer = asr_engine.recognizer(language, ASR_RATE, phrases=phrases)
        stream = UtteranceStream(
            recognizer,
            make_endpointer(usable_vad(vad), ASR_RATE, trailing_silence_ms=trailing_silence_ms),
        )
        step = ASR_RATE // 10
        events = []
        for i in range(0, len(pcm), step):
            events += stream.feed(pcm[i : i + step].tobytes())
        events += stream.close()
    finally:
        registry.close()
    return [event for event in events if isinstance(event, Final)]


def translation_router(
    neural_models: list[dict[str, Any]] | None = None, apertium: bool = True
) -> Router:
    """Every translation engine installed here, behind one router (close it when done)."""
    return build_router(neural_models=neural_models, apertium=apertium)


def synthesizer(workers: int = 1) -> Synthesizer:
    """The default voice engine (close it when done)."""
    return default_synthesizer(workers=workers)


def engine_inventory(
    vosk_models: dict[str, str] | None = None,
    models_dir: str | None = None,
    neural_models: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What works on this machine: recognizers, translation pairs (direct and pivoted), voices."""
    registry = build_registry(vosk_models, Path(models_dir) if models_dir else None)
    try:
        asr = dict(registry.languages())
    finally:
        registry.close()
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
                    except TranslationError:
                        continue
                    pivoted.append(
                        (source, target, " → ".join([hops[0].source] + [h.target for h in hops]))
                    )
        engines_by_pair: dict[tuple[str, str], str] = {}
        for engine in router.engines:
            for pair in engine.pairs():
                engines_by_pair.setdefault(pair, engine.name)
    finally:
        router.close()
    voice = default_synthesizer(workers=1)
    try:
        voices = voice.voices()
        neural_voices = dict(voice.describe().get("preferred", {}))
    finally:
        voice.close()
    tts: dict[str, list[str]] = {}
    for v in voices:
        tts.setdefault(v.languages[0], []).append(v.id)
    return {
        "asr": asr,
        "translation": {
            "direct": [
                {"source": s, "target": t, "engine": engines_by_pair[(s, t)]} for s, t in direct
            ],
            "pivot": [{"source": s, "target": t, "path": p} for s, t, p in pivoted],
        },
        "tts": dict(sorted(tts.items())),
        "neural_voices": neural_voices,
    }


# --- checking a model before it is installed (``hotline models add``) --------------------


def models_directory(configured: str = "") -> Path:
    """The models directory the server scans: ``asr.models_dir``, else ``$HOTLINE_MODELS_DIR``,
    else ``~/.local/share/hotline/models``."""
    from asr.vosk_engine import default_models_dir

    return Path(configured).expanduser() if configured else default_models_dir()


def speech_model_language(folder_name: str) -> str | None:
    """The language the server reads from a Vosk folder's name (``vosk-model-small-cn-0.22``
    → ``zh``, ``ko`` → ``ko``), or None when the name says none."""
    from asr.vosk_engine import language_of_model_folder

    return language_of_model_folder(folder_name)


def verify_speech_model(path: Path) -> None:
    """Load a Vosk model folder and recognize half a second of silence with it; AsrError with
    a one-line reason when it cannot. The model is not kept (the server loads its own)."""
    from asr.vosk_engine import model_problem

    problem = model_problem(Path(path))
    if problem:
        raise AsrError(problem)
    import json

    import vosk

    vosk.SetLogLevel(-1)
    # Kaldi prints its errors on file descriptor 2 whatever the log level: keep them for the
    # message instead of letting them reach the terminal.
    import tempfile

    with tempfile.TemporaryFile() as said:
        saved = os.dup(2)
        os.dup2(said.fileno(), 2)
        try:
            model = vosk.Model(str(path))
            recognizer = vosk.KaldiRecognizer(model, ASR_RATE)
            recognizer.AcceptWaveform(bytes(ASR_RATE))  # 0.5 s of PCM16 silence
            result = json.loads(recognizer.FinalResult())
            failure = None
        except Exception as exc:
            failure = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        said.seek(0)
        kaldi = [
            line.split(") ", 1)[-1].split(". ")[0].replace(str(path), Path(path).name)
            for line in said.read().decode("utf-8", "replace").splitlines()
            if "ERROR" in line
        ]
    if failure is not None:
        reason = (kaldi[-1] if kaldi else _one_line(failure)).rstrip(".")
        raise AsrError(f"Vosk could not load or run the model: {reason}") from failure
    if not isinstance(result, dict) or "text" not in result:
        raise AsrError(f"the model gave no recognition result: {result!r}")


def verify_translation_model(
    path: Path, pairs: set[tuple[str, str]] | None = None, sentence: str = "Hello."
) -> set[tuple[str, str]]:
    """Load a transformers model folder on the CPU and translate one sentence with it; the
    directions it will serve (``pairs``, else those the model says it translates).

    The model's own claim (a Marian tokenizer's ``source_lang``/``target_lang``, a folder
    named like ``opus-mt-en-de``, a multilingual tokenizer's language codes) must cover
    ``pairs``; a model that claims nothing is taken at ``pairs``' word. ModelLoadError or
    TranslationError with a one-line reason when the folder is broken or translates other
    languages."""
    import contextlib
    import io

    # transformers draws progress bars and warnings while loading: the caller says what failed.
    with contextlib.redirect_stderr(io.StringIO()):
        return _verify_translation_model(Path(path), pairs, sentence)


def _verify_translation_model(
    path: Path, pairs: set[tuple[str, str]] | None, sentence: str
) -> set[tuple[str, str]]:
    from translate.base import ModelLoadError
    from translate.neural import TransformersTranslator

    try:
        translator = TransformersTranslator(path, device="cpu")
    except TranslationError as exc:
        if not pairs:
            raise ModelLoadError(_one_line(exc)) from exc
        try:  # a model that cannot say its languages is used for those the user names
            translator = TransformersTranslator(path, pairs=set(pairs), device="cpu")
        except TranslationError as again:
            raise ModelLoadError(_one_line(again)) from again
        own = None
    else:
        own = translator.pairs()
    try:
        if pairs and own is not None and not set(pairs) <= own:
            missing = ", ".join(f"{s}-{t}" for s, t in sorted(set(pairs) - own))
            says = ", ".join(f"{s}-{t}" for s, t in sorted(own)[:6])
            raise ModelLoadError(
                f"the model translates {says}{' …' if len(own) > 6 else ''}, not {missing}"
            )
        serves = set(pairs) if pairs else set(own or ())
        source, target = sorted(serves)[0]
        try:
            out = translator.translate([sentence], source, target)
        except Exception as exc:
            raise TranslationError(f"the model could not translate: {_one_line(exc)}") from exc
        if len(out) != 1 or not isinstance(out[0], str):
            raise TranslationError(f"the model gave no translation: {out!r}")
        return serves
    finally:
        translator.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
