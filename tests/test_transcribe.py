"""``hotline transcribe`` end to end, with the real engines: phrase lists and file parity."""

from __future__ import annotations

import json

import numpy as np

from hotline.cli import main
from telephony import write_wav
from tests.conftest import read_transcripts, silence


def test_a_phrase_list_limits_pocketsphinx_to_that_phrase(make_speech, tmp_path, capsys):
    wav = tmp_path / "phrase.wav"
    speech = make_speech("go forward ten meters", "en-us")
    write_wav(wav, np.concatenate([silence(0.5), speech, silence(0.8)]), 16000)

    code = main(
        ["transcribe", str(wav), "--lang", "en", "--engine", "pocketsphinx"]
        + ["--phrase", "go forward ten meters", "--format", "text"]
    )

    assert code == 0
    assert capsys.readouterr().out == "go forward ten meters\n"


def test_a_file_is_recognized_as_well_as_in_batch(shared_speech, capsys):
    """Cold cepstral normalization heard "ten years" and "a fan of close" in these
    recordings; settled on the file itself, the streamed decode matches the batch one."""
    folder = shared_speech / "en"
    references = read_transcripts(folder)
    for name in ("psphinx_goforward.wav", "psphinx_cards_001.wav"):
        assert main(["transcribe", str(folder / name), "--lang", "en", "--format", "json"]) == 0
        utterances = json.loads(capsys.readouterr().out)
        assert " ".join(u["text"] for u in utterances) == references[name], name
        assert all(u["words"] and u["start"] < u["end"] for u in utterances), name
