"""What every benchmark shares: the speech it feeds, its statistics and tables, and a look at
the machine it runs on."""

from __future__ import annotations

import json
import os
import platform
import socket
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tts import Synthesizer

RATE = 16000
UNLIMITED_SERVER_ENV = {
    "HOTLINE_CALL_CAPACITY": "10000",
    "HOTLINE_SECURITY_CALLS_PER_MINUTE_PER_ADDRESS": "1000000",
    "HOTLINE_SECURITY_ASR_SESSIONS_PER_ADDRESS": "10000",
    "HOTLINE_SECURITY_ASR_SESSIONS_MAX": "10000",
}
"""The servers that the scaling benchmarks load from one address: no admission control and
no per-address limits, so that what is measured is the engines and the call path (the
overload benchmark, ``hotline bench faults``, keeps them)."""
SPEECH_THRESHOLD = 328

REPO = Path(__file__).resolve().parents[2]
SPEECH_DIR = REPO.parent / "shared" / "data" / "speech"
"""Real recordings with transcripts, beside the project (absent in a user's fresh clone)."""
KOREAN_CLIP = SPEECH_DIR / "ko" / "pv_leopard_test_ko.wav"
KOREAN_LINES = [
    "우리 집 앞 가로등이 고장 났어요.",
    "쓰레기가 이 주일 동안 수거되지 않았습니다.",
    "학교 근처 도로에 큰 구멍이 있어요.",
    "오늘 아침 버스가 사십 분 늦게 왔습니다.",
    "이웃이 매일 밤 늦게까지 음악을 크게 틀어요.",
    "어제부터 수돗물이 갈색으로 나옵니다.",
    "어젯밤 폭풍으로 나무가 인도에 쓰러졌어요.",
    "광장 신호등이 작동하지 않습니다.",
]
KOREAN_WARM_UP = [
    "도서관 벽에 누군가 낙서를 했어요.",
    "공원에 밤에 켜지는 전등이 없습니다.",
]
COMPLAINTS = [
    "The street light in front of my house is broken.",
    "Nobody has collected the garbage on our street for two weeks.",
    "There is a large hole in the road near the school.",
    "The bus to the city centre was forty minutes late this morning.",
    "My neighbour plays loud music every night after midnight.",
    "The water from my tap has been brown since yesterday.",
    "A tree fell on the pavement during the storm last night.",
    "The traffic light at the main square does not work.",
    "Someone painted graffiti on the wall of the public library.",
    "The park near my home has no working lights at night.",
    "Cars park on the pavement and block the way for wheelchairs.",
    "The heating in the community centre has been off for a week.",
    "There are rats in the courtyard behind the market.",
    "The recycling bins on my street are always full.",
    "A water pipe is leaking under the bridge on River Street.",
    "The pedestrian crossing near the hospital has faded paint.",
    "The elevator at the metro station has been broken for a month.",
    "Dogs are left without a leash in the children's playground.",
    "The sewer smells very bad in front of the bakery.",
    "Construction work starts at five in the morning every day.",
    "The bench in the square is broken and dangerous.",
    "There is no ramp at the entrance of the town hall.",
    "The snow was not cleared from the sidewalk on Oak Avenue.",
    "Trucks drive too fast through our quiet neighbourhood.",
    "The public toilets in the central park are always closed.",
    "An abandoned car has been parked on my street for months.",
    "The fountain in the old town is full of rubbish.",
    "My water bill is twice as high as last month.",
    "The night bus did not stop at my station yesterday.",
    "The road signs near the airport are hard to read.",
]
SPANISH_SHORT = [
    "La farola está rota.",
    "Gracias por su llamada.",
    "Enviaremos un técnico mañana.",
    "¿Dónde está el problema?",
    "Su queja ha sido registrada.",
    "Un momento, por favor.",
    "¿Puede repetir la dirección?",
    "El camión pasará el lunes.",
]
SPANISH_LONG = [
    "Gracias por su llamada. Hemos registrado su queja. Un técnico irá mañana por la mañana.",
    "La calle estará cerrada hasta el viernes. Puede usar la avenida del parque. Disculpe las molestias.",
    "El autobús llegó tarde por un accidente. Ya hemos avisado a la empresa. Le llamaremos esta semana.",
    "Necesito su dirección completa. También necesito un número de teléfono. Así podremos avisarle.",
    "El agua volverá esta tarde. Los técnicos ya están trabajando. Gracias por su paciencia.",
]


class BenchError(RuntimeError):
    """A benchmark could not run to the end; the message says which step failed and why."""


# --- statistics and output ----------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """The distribution of one metric; percentiles are None when nothing was measured."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None


def summarize(values: Iterable[float]) -> Summary:
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return Summary(0, None, None, None)
    return Summary(
        int(data.size),
        float(np.percentile(data, 50)),
        float(np.percentile(data, 95)),
        float(data.max()),
    )


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ms(value: float | None, digits: int = 1) -> str:
    """Seconds shown as milliseconds."""
    return "-" if value is None else f"{value * 1000:.{digits}f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def machine() -> dict[str, Any]:
    """Enough about the machine to tell results from different ones apart."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "python": platform.python_version(),
    }


def write_json(path: str, kind: str, result: Any) -> None:
    payload = {"benchmark": kind, "machine": machine(), "result": asdict(result)}
    Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    print(f"\nresults written to {path}")


# --- speech to feed the recognizers and the calls -------------------------------------------


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def speech_bounds(pcm: np.ndarray) -> tuple[int, int]:
    """First and one-past-last sample above -40 dBFS: where speech starts and ends in a clip."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SPEECH_THRESHOLD)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


async def synthesize_lines(
    synthesizer: Synthesizer, lines: Sequence[str], language: str
) -> list[np.ndarray]:
    """Each line spoken, trimmed to its speech so that where speech ends is known exactly."""
    out = []
    for line in lines:
        pcm = await synthesizer.synthesize_async(line, language, RATE)
        start, end = speech_bounds(pcm)
        out.append(pcm[start:end])
    return out


def join_with_gaps(parts: Sequence[np.ndarray], gap_s: float) -> np.ndarray:
    pieces: list[np.ndarray] = []
    for part in parts:
        pieces += [part, silence(gap_s)]
    return np.concatenate(pieces)


def fill_to(parts: Sequence[np.ndarray], seconds: float) -> tuple[np.ndarray, int]:
    """Utterances in turn, 0.5 s apart, until `seconds` of audio; also how many were used.

    Audio repeats only when the utterances run out: a recognizer decodes repeated audio far
    faster than new audio (its graph cache already holds the path), which would flatter it.
    """
    wanted = int(seconds * RATE)
    pieces: list[np.ndarray] = []
    total = used = 0
    while total < wanted or not pieces:
        part = np.concatenate([parts[used % len(parts)], silence(0.5)])
        pieces.append(part)
        total += len(part)
        used += 1
    return np.concatenate(pieces)[: max(wanted, len(pieces[0]))], used


# --- the machine ---------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a server the benchmark starts: it runs this very code (the tree
    this module was imported from, a git worktree included), not whatever is installed."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port nothing listens on now (TCP, or UDP with ``socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def busy_cpu_s() -> float | None:
    """CPU seconds all processes on this machine have used, from /proc/stat: other work on a
    shared machine shows up as cores taken from the server under test."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
