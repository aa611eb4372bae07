"""``hotline bench transcribe``: how well ``hotline transcribe`` does on real English read
speech, against the same engine streamed cold and against one decoder in batch mode.

PocketSphinx normalises each frame by a running cepstral mean; a fresh decoder starts that
mean cold. ``transcribe`` knows the whole file in advance and settles on it first. The three
ways are scored by word error rate (jiwer) over all the clips of a folder that has a
``transcripts.tsv`` (file name, tab, what was said): ``../shared/data/speech/en`` here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import jiwer
import pocketsphinx

from hotline.bench.common import BenchError, print_table
from hotline.engines import ASR_RATE, transcribe
from telephony import decode_audio_file

__all__ = ["add_arguments", "run"]

DEFAULT_FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech" / "en"


def add_arguments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe", help="WER of hotline transcribe vs. streamed cold vs. batch, real English"
    )
    p.add_argument(
        "--folder",
        type=Path,
        default=DEFAULT_FOLDER,
        help="WAVs and their transcripts.tsv (default: ../shared/data/speech/en)",
    )


def _batch(pcm) -> str:
    """One fresh decoder, the whole clip as one utterance (``full_utt``)."""
    decoder = pocketsphinx.Decoder(samprate=ASR_RATE, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), False, True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def run(args: argparse.Namespace) -> int:
    listing = args.folder / "transcripts.tsv"
    if not listing.is_file():
        raise BenchError(f"no {listing}: give --folder with WAVs and a transcripts.tsv")
    said = dict(
        line.split("\t", 1)
        for line in listing.read_text(encoding="utf-8").splitlines()
        if "\t" in line
    )
    names = sorted(said)
    truth = [_words(said[name]) for name in names]
    ways = {
        "streamed, cold decoder": lambda pcm: " ".join(
            f.text for f in transcribe(pcm, "en", engine="pocketsphinx", settle=False)
        ),
        "hotline transcribe (settled on the file)": lambda pcm: " ".join(
            f.text for f in transcribe(pcm, "en", engine="pocketsphinx")
        ),
        "batch, one decoder per clip": _batch,
    }
    rows = []
    for way, run_one in ways.items():
        heard = [_words(run_one(decode_audio_file(args.folder / name, ASR_RATE))) for name in names]
        rows.append((way, f"{jiwer.wer(truth, heard):.3f}", str(len(names))))
    print_table(f"PocketSphinx en-US on {args.folder}", ["way", "WER", "clips"], rows)
    return 0
