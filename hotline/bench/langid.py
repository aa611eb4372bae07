"""``hotline bench langid``: how often the language a caller speaks at the menu is named
rightly, wrongly, or not at all ("unsure": the caller hears the menu and presses a key).

Every clip of ``../shared/data/speech/<lang>/`` goes the way a caller's first words at the
menu go (:class:`~asr.spoken_language.FirstWords` cuts the utterances, up to
:data:`~hotline.call.journey.SPEECH_TRIES` of them reach ``Engines.identify_speech``), at
16 kHz as recorded and at 8 kHz through the phone band. The right answer is the clip's
language where a recognizer hears it (English, Korean), and "unsure" for the others: the
menu is the right place for them, naming a language is a wrong answer.

``--calibrate`` runs the same on the speech the decision rule was tuned on (espeak-ng in
many languages and voices, Piper's English; never the recordings above), and prints what
each recognizer made of it, so the thresholds in asr/spoken_language.py can be re-derived.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import string
import subprocess
import wave
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hotline.bench.common import (
    COMPLAINTS,
    KOREAN_LINES,
    SPEECH_DIR,
    BenchError,
    machine,
    print_table,
)

if TYPE_CHECKING:
    from hotline.engines import Engines, SpokenLanguage

__all__ = [
    "CALIBRATION_LINES",
    "add_arguments",
    "calibrate_speech_langid",
    "measure_speech_langid",
    "report_langid",
    "run",
]

WIDE_RATE = 16000
PHONE_RATE = 8000
FRAME_S = 0.02
UNSURE = "unsure"
TRAILING_SILENCE_S = 1.0
"""Appended to each clip: the caller goes quiet after speaking, which ends the utterance."""

CALIBRATION_LINES: dict[str, list[str]] = {
    "en": [
        "Hello?",
        "Hi, I need some help please.",
        "Yes, hello, can you hear me?",
        "I want to report a problem.",
        "Good morning, I am calling about my street.",
        "Hello, is anybody there?",
        "I would like to speak to someone, please.",
        "My name is John and I live on Park Road.",
        "There is water everywhere in the basement.",
        "Can I talk to an operator?",
        "The lights went out an hour ago.",
        "Please send somebody quickly.",
        "I have a question about my bill.",
    ],
    "ko": [
        "여보세요?",
        "안녕하세요, 도와주세요.",
        "여보세요, 제 말 들리세요?",
        "문제를 신고하고 싶어요.",
        "안녕하세요, 우리 동네 도로 때문에 전화했어요.",
        "상담원과 통화하고 싶습니다.",
        "지하실에 물이 가득 찼어요.",
        "한 시간 전에 전기가 나갔어요.",
        "빨리 사람을 보내 주세요.",
        "제 요금에 대해 질문이 있어요.",
        "저는 김민수이고 공원로에 살아요.",
        "엘리베이터가 고장 나서 올라갈 수가 없어요.",
        "길에 쓰레기가 너무 많아요.",
    ],
    "es": [
        "Hola, necesito ayuda por favor.",
        "Quiero denunciar un problema en mi calle.",
        "Buenos días, ¿me escucha?",
        "La luz de la calle no funciona desde ayer.",
        "Hay mucha basura delante de mi casa.",
        "¿Puedo hablar con alguien en español?",
        "El autobús no pasó esta mañana.",
        "Mi vecino hace mucho ruido por la noche.",
    ],
    "fr": [
        "Bonjour, j'ai besoin d'aide s'il vous plaît.",
        "Je voudrais signaler un problème dans ma rue.",
        "Allô, vous m'entendez?",
        "Le lampadaire devant chez moi est cassé.",
        "Les poubelles n'ont pas été ramassées depuis deux semaines.",
        "Est-ce que je peux parler à quelqu'un en français?",
        "Il y a une fuite d'eau sous le pont.",
        "Le bus était en retard ce matin.",
    ],
    "de": [
        "Hallo, ich brauche bitte Hilfe.",
        "Ich möchte ein Problem in meiner Straße melden.",
        "Guten Tag, hören Sie mich?",
        "Die Straßenlaterne vor meinem Haus ist kaputt.",
        "Der Müll wurde seit zwei Wochen nicht abgeholt.",
        "Kann ich mit jemandem auf Deutsch sprechen?",
        "Im Keller steht überall Wasser.",
        "Der Bus ist heute Morgen nicht gekommen.",
    ],
    "it": [
        "Pronto, ho bisogno di aiuto per favore.",
        "Vorrei segnalare un problema nella mia strada.",
        "Buongiorno, mi sente?",
        "Il lampione davanti a casa mia è rotto.",
        "La spazzatura non è stata raccolta da due settimane.",
        "Posso parlare con qualcuno in italiano?",
    ],
    "pt": [
        "Olá, preciso de ajuda por favor.",
        "Quero denunciar um problema na minha rua.",
        "Bom dia, está a ouvir-me?",
        "O candeeiro em frente da minha casa está partido.",
        "O lixo não é recolhido há duas semanas.",
        "Posso falar com alguém em português?",
    ],
    "nl": [
        "Hallo, ik heb hulp nodig alstublieft.",
        "Ik wil een probleem in mijn straat melden.",
        "Goedemorgen, hoort u mij?",
        "De straatlantaarn voor mijn huis is kapot.",
        "Het afval is al twee weken niet opgehaald.",
    ],
    "ru": [
        "Алло, мне нужна помощь, пожалуйста.",
        "Я хочу сообщить о проблеме на моей улице.",
        "Добрый день, вы меня слышите?",
        "Фонарь перед моим домом не работает.",
        "Мусор не вывозили уже две недели.",
        "Можно поговорить с кем-нибудь по-русски?",
        "В подвале везде вода.",
        "Автобус сегодня утром не пришёл.",
    ],
    "uk": [
        "Добрий день, мені потрібна допомога.",
        "Я хочу повідомити про проблему на моїй вулиці.",
        "Ліхтар біля мого будинку не працює.",
    ],
    "pl": [
        "Dzień dobry, potrzebuję pomocy.",
        "Chcę zgłosić problem na mojej ulicy.",
        "Czy pan mnie słyszy?",
        "Latarnia przed moim domem jest zepsuta.",
        "Śmieci nie były wywożone od dwóch tygodni.",
    ],
    "tr": [
        "Merhaba, yardıma ihtiyacım var lütfen.",
        "Sokağımdaki bir sorunu bildirmek istiyorum.",
        "Günaydın, beni duyuyor musunuz?",
        "Evimin önündeki sokak lambası bozuk.",
        "Çöpler iki haftadır toplanmadı.",
    ],
    "ja": [
        "もしもし、助けてください。",
        "家の前の道路に問題があります。",
        "もしもし、聞こえますか？",
        "家の前の街灯が壊れています。",
        "ゴミが二週間も回収されていません。",
        "日本語で話せる人はいますか？",
        "地下室が水浸しになっています。",
        "今朝バスが来ませんでした。",
    ],
    "zh": [
        "你好，我需要帮助。",
        "我想报告我家街道上的一个问题。",
        "喂，你能听到我说话吗？",
        "我家门前的路灯坏了。",
        "垃圾已经两个星期没有人收了。",
        "可以找一个说中文的人吗？",
        "地下室里到处都是水。",
        "今天早上公共汽车没有来。",
    ],
    "yue": ["你好，我需要幫手。", "我屋企門口嘅街燈壞咗。", "垃圾兩個星期都冇人收。"],
    "ar": [
        "مرحبا، أحتاج إلى مساعدة من فضلك.",
        "أريد الإبلاغ عن مشكلة في شارعي.",
        "صباح الخير، هل تسمعني؟",
        "مصباح الشارع أمام بيتي مكسور.",
        "لم يتم جمع القمامة منذ أسبوعين.",
    ],
    "hi": [
        "नमस्ते, मुझे मदद चाहिए।",
        "मैं अपनी गली की एक समस्या बताना चाहता हूँ।",
        "क्या आप मुझे सुन सकते हैं?",
        "मेरे घर के सामने की स्ट्रीट लाइट खराब है।",
    ],
    "vi": [
        "Xin chào, tôi cần giúp đỡ.",
        "Tôi muốn báo cáo một vấn đề trên đường của tôi.",
        "Alô, anh có nghe tôi nói không?",
        "Đèn đường trước nhà tôi bị hỏng.",
    ],
    "ca": [
        "Hola, necessito ajuda si us plau.",
        "Vull denunciar un problema al meu carrer.",
        "Bon dia, em sent?",
        "El fanal davant de casa meva està trencat.",
    ],
    "sv": [
        "Hej, jag behöver hjälp.",
        "Jag vill anmäla ett problem på min gata.",
        "Gatlampan utanför mitt hus är trasig.",
    ],
    "el": [
        "Γεια σας, χρειάζομαι βοήθεια.",
        "Θέλω να αναφέρω ένα πρόβλημα στον δρόμο μου.",
        "Ο φανοστάτης μπροστά στο σπίτι μου είναι χαλασμένος.",
    ],
    "id": [
        "Halo, saya butuh bantuan.",
        "Saya ingin melaporkan masalah di jalan saya.",
        "Lampu jalan di depan rumah saya rusak.",
    ],
    "fa": ["سلام، من به کمک نیاز دارم.", "می‌خواهم مشکلی را در خیابانم گزارش کنم."],
    "th": ["สวัสดีครับ ผมต้องการความช่วยเหลือ", "ไฟถนนหน้าบ้านผมเสีย"],
    "ms": ["Helo, saya perlukan bantuan.", "Lampu jalan di depan rumah saya rosak."],
    "sw": [
        "Habari, nahitaji msaada tafadhali.",
        "Taa ya barabarani mbele ya nyumba yangu imeharibika.",
    ],
}
"""What callers might say first, per language (none of it from the measured recordings);
the hotline's own prompts in its ten languages are added to it."""

CALIBRATION_PROMPTS = ("greeting", "menu_item", "connected", "busy")
"""The hotline's own prompts added to the lines, in its ten languages."""

ESPEAK_VOICES: dict[str, list[tuple[str, int]]] = {
    "en": [
        ("en-us", 150),
        ("en-gb", 165),
        ("en-us+f3", 135),
        ("en-gb-scotland", 150),
        ("en-029", 170),
    ],
    "ko": [("ko", 150), ("ko+f2", 135), ("ko+m3", 170)],
    "zh": [("cmn", 150), ("cmn+f2", 140)],
}
"""espeak-ng voices and speeds (words a minute) per language; others get their own voice
at 150 and its female variant at 140, taken in turn sentence by sentence."""


# --- the measurement ------------------------------------------------------------------


def measure_speech_langid(speech_dir: Path) -> dict[str, Any]:
    """Every recording in ``speech_dir/<lang>/`` identified as a caller at the menu would be,
    at 16 kHz and at 8 kHz: ``rows`` (per rate and language: clips, correct, wrong, unsure
    and their shares, the total last), ``confusion`` (rate → language → answer → clips) and
    ``clips`` (each clip's answers)."""
    from telephony import read_wav

    speech_dir = Path(speech_dir)
    if not speech_dir.is_dir():
        raise BenchError(f"no recordings: {speech_dir} is absent")
    clips: list[tuple[str, str, np.ndarray, int]] = []
    for folder in sorted(p for p in speech_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.wav")):
            pcm, rate = read_wav(path)
            clips.append((folder.name, path.name, pcm, rate))
    if not clips:
        raise BenchError(f"no WAV recordings in the language folders of {speech_dir}")
    return asyncio.run(_measure(clips))


def calibrate_speech_langid() -> dict[str, Any]:
    """The same measurement on the calibration speech (espeak-ng, Piper), with what every
    recognizer made of each clip: the data the thresholds of asr/spoken_language.py come
    from."""
    clips = [(lang, name, pcm, WIDE_RATE) for lang, name, pcm in calibration_clips()]
    return asyncio.run(_measure(clips, calibrating=True))


async def _measure(
    clips: list[tuple[str, str, np.ndarray, int]], calibrating: bool = False
) -> dict[str, Any]:
    """Each clip at 16 and 8 kHz: as the menu hears a caller, or (``calibrating``) whole, as
    one utterance, with every recognizer's reading kept."""
    from hotline.config import load_config
    from hotline.engines import Engines
    from telephony import resample

    engines = Engines(load_config())
    try:
        await engines.warm_up()
        recognized = set(engines.asr_languages())
        answers: list[dict[str, Any]] = []
        for language, name, pcm, rate in clips:
            wide = resample(pcm, rate, WIDE_RATE)
            row: dict[str, Any] = {"language": language, "clip": name}
            for label, audio, at in (
                ("16k", wide, WIDE_RATE),
                ("8k", resample(wide, WIDE_RATE, PHONE_RATE), PHONE_RATE),
            ):
                if calibrating:
                    verdicts = [await engines.identify_speech(_padded(audio, at), at)]
                else:
                    verdicts = await identify_like_the_menu(engines, audio, at)
                last = verdicts[-1] if verdicts else None
                row[label] = last.language if last is not None and last.language else UNSURE
                if calibrating:
                    row[f"{label}_heard"] = [_reading(c) for v in verdicts for c in v.candidates]
            answers.append(row)
    finally:
        engines.close()
    return _tally(answers, recognized)


def _padded(pcm: np.ndarray, rate: int) -> np.ndarray:
    """An utterance as FirstWords cuts it: 0.3 s before the speech, 0.2 s after."""
    return np.concatenate(
        [np.zeros(int(0.3 * rate), np.int16), pcm, np.zeros(int(0.2 * rate), np.int16)]
    )


def _reading(heard: Any) -> dict[str, Any]:
    return {
        "language": heard.language,
        "engine": heard.engine,
        "text": heard.text,
        "confidence": round(heard.confidence, 3),
        "doubtful": round(heard.doubtful, 3),
        "words": heard.words,
        "speech_s": round(heard.speech_s, 2),
        "odd": heard.odd,
        "text_language": heard.text_language,
        "agreement": round(heard.agreement, 3),
    }


async def identify_like_the_menu(
    engines: Engines, pcm: np.ndarray, rate: int
) -> list[SpokenLanguage]:
    """What the journey's menu does with a caller who says ``pcm`` and then goes quiet: each
    utterance cut by FirstWords, up to SPEECH_TRIES, to ``identify_speech`` until one is sure.
    The verdicts in order (empty when no utterance was long enough)."""
    from hotline.call.journey import SPEECH_TRIES
    from hotline.engines import FirstWords

    words = FirstWords(rate)
    said = np.concatenate([pcm, np.zeros(int(TRAILING_SILENCE_S * rate), np.int16)])
    step = int(FRAME_S * rate)
    verdicts = []
    for start in range(0, len(said), step):
        utterance = words.feed(said[start : start + step])
        if utterance is None:
            continue
        verdict = await engines.identify_speech(utterance, rate)
        verdicts.append(verdict)
        if verdict.language is not None or len(verdicts) >= SPEECH_TRIES:
            break
    return verdicts


def _tally(answers: list[dict[str, Any]], recognized: set[str]) -> dict[str, Any]:
    confusion: dict[str, dict[str, dict[str, int]]] = {}
    rows: list[dict[str, Any]] = []
    for label in ("16k", "8k"):
        table: dict[str, Counter[str]] = {}
        for row in answers:
            table.setdefault(row["language"], Counter())[row[label]] += 1
        confusion[label] = {lang: dict(counts) for lang, counts in sorted(table.items())}
        totals = Counter[str]()
        for lang, counts in sorted(table.items()):
            right = lang if lang in recognized else UNSURE
            clips = sum(counts.values())
            correct = counts[right]
            unsure = counts[UNSURE] if right != UNSURE else 0
            wrong = clips - correct - unsure
            totals.update(clips=clips, correct=correct, wrong=wrong, unsure=unsure)
            rows.append(_row(label, lang, clips, correct, wrong, unsure))
        rows.append(
            _row(
                label,
                "all",
                totals["clips"],
                totals["correct"],
                totals["wrong"],
                totals["unsure"],
            )
        )
    return {
        "recognized": sorted(recognized),
        "rows": rows,
        "confusion": confusion,
        "clips": answers,
    }


def _row(rate: str, language: str, clips: int, correct: int, wrong: int, unsure: int) -> dict:
    share = (lambda n: n / clips) if clips else (lambda n: 0.0)
    return {
        "rate": rate,
        "language": language,
        "clips": clips,
        "correct": correct,
        "wrong": wrong,
        "unsure": unsure,
        "accuracy": share(correct),
        "wrong_rate": share(wrong),
        "unsure_rate": share(unsure),
    }


# --- the calibration speech -----------------------------------------------------------


def calibration_clips() -> Iterator[tuple[str, str, np.ndarray]]:
    """(language, voice, int16 speech at 16 kHz) for every calibration line: espeak-ng in
    its voices, and Piper's English for the English lines when it is installed."""
    from hotline.call.prompts import PROMPTS

    if shutil.which("espeak-ng") is None:
        raise BenchError("espeak-ng is not installed: it speaks the calibration lines")
    lines = {lang: list(texts) for lang, texts in CALIBRATION_LINES.items()}
    for name in CALIBRATION_PROMPTS:
        for lang, text in PROMPTS[name].items():
            lines.setdefault(lang, []).append(_filled(text))
    lines["en"] += COMPLAINTS[:16]
    lines["ko"] += KOREAN_LINES
    for lang, texts in lines.items():
        voices = ESPEAK_VOICES.get(lang, [(lang, 150), (f"{lang}+f2", 140)])
        for i, text in enumerate(texts):
            voice, speed = voices[i % len(voices)]
            yield lang, f"espeak {voice} {speed}", _espeak(text, voice, speed)
    try:
        from tts.piper import PiperSynthesizer

        piper = PiperSynthesizer(workers=1)
    except Exception:
        return
    try:
        for text in lines["en"]:
            yield "en", "piper", piper.synthesize(text, "en", WIDE_RATE)
    finally:
        piper.close()


def _filled(text: str) -> str:
    """A prompt with its blanks filled in (``{position}`` → 3)."""
    names = [name for _, name, _, _ in string.Formatter().parse(text) if name]
    return text.format_map(dict.fromkeys(names, "3")) if names else text


def _espeak(text: str, voice: str, speed: int) -> np.ndarray:
    from telephony import resample

    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(out), "rb") as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return resample(pcm, rate, WIDE_RATE)


# --- the command ----------------------------------------------------------------------


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "langid",
        help="the language callers speak at the menu: right, wrong or unsure, 16 and 8 kHz",
    )
    p.add_argument(
        "--speech-dir",
        type=Path,
        default=SPEECH_DIR,
        help="one folder of WAVs per language (default: ../shared/data/speech)",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="measure the calibration speech (espeak-ng, Piper) instead, with what each "
        "recognizer heard",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def run(args: argparse.Namespace) -> int:
    result = calibrate_speech_langid() if args.calibrate else measure_speech_langid(args.speech_dir)
    report_langid(result, "calibration speech" if args.calibrate else str(args.speech_dir))
    if args.json:
        payload = {"benchmark": "langid", "machine": machine(), "result": result}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


def report_langid(result: dict[str, Any], source: str) -> None:
    """A confusion table per rate, then right, wrong and unsure per language."""
    answers = [*result["recognized"], UNSURE]
    for label, table in result["confusion"].items():
        rows = [
            [lang, *(str(counts.get(a, 0)) for a in answers), str(_others(counts, answers))]
            for lang, counts in table.items()
        ]
        print_table(
            f"Language named for speech at the menu, {label} ({source})",
            ["spoken \\ named", *answers, "other"],
            rows,
        )
    print_table(
        "Right, wrong and unsure (right: the language where a recognizer hears it, else unsure)",
        ["rate", "language", "clips", "correct", "wrong", "unsure", "accuracy", "wrong", "unsure"],
        [
            [
                r["rate"],
                r["language"],
                str(r["clips"]),
                str(r["correct"]),
                str(r["wrong"]),
                str(r["unsure"]),
                f"{r['accuracy']:.2f}",
                f"{r['wrong_rate']:.2f}",
                f"{r['unsure_rate']:.2f}",
            ]
            for r in result["rows"]
        ],
    )


def _others(counts: dict[str, int], answers: list[str]) -> int:
    return sum(n for a, n in counts.items() if a not in answers)
