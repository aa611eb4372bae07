"""QA replay of real calls: made on a real server with real engines, then run back through
the pipeline from their own recordings.

The calls are in English: PocketSphinx starts every stream from fresh features and one
settled normalisation, and hears 20 ms pieces, so the same audio gives the same words in the call and in its
replay. Vosk's small Korean model does not: the same clip, decoded again in one process,
can come out with a word or two changed (docs/quality.md).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from hotline.clients.client import CallerClient, stream_pcm
from hotline.engines import ASR_RATE, Engines, Final
from hotline.qa import ReplayOptions, error_rate, replay_call
from hotline.qa.command import run_replay
from hotline.records import RecordStore
from hotline.wire.messages import Settings
from telephony import read_wav
from tests.conftest import sign_in_operator, silence, url

RATE = 16000
SAID = ["The street light by my house is broken.", "There is a big hole in the road."]


async def english_call(server, make_speech, *, muted_operator: bool = False) -> str:
    """An English caller says two sentences to a Spanish operator; returns the reference."""
    operator = await sign_in_operator(server, "ana", ["es"], RATE)
    if muted_operator:
        await operator.send(Settings(muted=True))
    caller = CallerClient(url(server, "/call"), RATE)
    ready = await caller.call("en")
    await caller.connected()
    for sentence in SAID:
        await stream_pcm(
            caller, np.concatenate([make_speech(sentence, "en", RATE), silence(1.2, RATE)])
        )
    await operator.wait_for(
        lambda m: m["type"] == "caption" and m.get("final") and m["speaker"] == "caller"
    )
    await stream_pcm(caller, silence(1.0, RATE))
    await caller.hangup()
    await caller.wait_for(lambda m: m["type"] == "ended")
    await operator.wait_for(lambda m: m["type"] == "ended")
    await caller.close()
    await operator.close()
    return ready["reference"]


def record_of(server, reference: str):
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        return store.get(reference)


async def test_a_call_replayed_under_the_same_engines_gives_the_same_transcript(
    start_server, make_speech, engines
):
    server = await start_server()
    reference = await english_call(server, make_speech)
    record = record_of(server, reference)
    said = [u for u in record.utterances if u.speaker == "caller"]
    assert said, "the call recognized the caller"

    report = await replay_call(engines, record, server.data_dir, ReplayOptions(speak=False))

    caller = [line for line in report.lines if line.speaker == "caller"]
    assert [line.original for line in caller] == [u.original for u in said]
    assert len(caller) == len(said), "each utterance of the call has its replay"
    assert [(x.new, x.changed) for x in caller] == [(u.original, False) for u in said], (
        "the same words for every utterance, whatever the pooled decoders heard before"
    )
    assert [x.new_translation for x in caller] == [u.translation for u in said]
    assert report.engines["asr en"].startswith("pocketsphinx ")
    assert report.engines["mt en→es"] == "apertium eng-spa"
    assert all(line.new_latency["asr_final_s"] >= 0 for line in caller)
    assert report.speed["realtime_factor"] > 1, "faster than the call took"


async def test_a_changed_engine_setting_shows_up_as_a_difference(start_server, make_speech):
    server = await start_server()
    reference = await english_call(server, make_speech)
    record = record_of(server, reference)
    config = dataclasses.replace(server.config)
    # Waiting 2 s of silence before ending an utterance joins the caller's two sentences.
    config.asr = dataclasses.replace(config.asr, trailing_silence_ms=2000)
    patient = Engines(config)
    try:
        await patient.warm_up()
        report = await replay_call(patient, record, server.data_dir, ReplayOptions(speak=False))
    finally:
        patient.close()
    caller = [line for line in report.lines if line.speaker == "caller"]
    assert len(caller) == len(SAID), "one line per utterance the call had"
    first, second = caller
    assert first.changed and second.changed, "the report shows what changed"
    assert not second.new, "the second sentence's words now end the first"
    assert len(first.new.split()) > len(first.original.split())
    assert "+" in [op.op for op in first.diff], "the added words are marked"


async def test_a_muted_operators_call_has_four_recordings_of_one_length_and_spans_that_hold_speech(
    start_server, make_speech, engines
):
    server = await start_server()
    record = record_of(server, await english_call(server, make_speech, muted_operator=True))
    lengths = {}
    for recording in record.recordings:
        pcm, rate = read_wav(server.data_dir / recording.path)
        lengths[recording.leg] = pcm.size / rate
    assert len(lengths) == 4 and max(lengths.values()) - min(lengths.values()) < 1e-3, lengths

    caller_in = next(r for r in record.recordings if r.leg == "caller_in")
    pcm, rate = read_wav(server.data_dir / caller_in.path)
    said = [u for u in record.utterances if u.speaker == "caller"]
    assert said
    for utterance in said:
        span = pcm[int(utterance.start_s * rate) : int(utterance.end_s * rate) + rate // 5]
        heard = await recognize(engines, span, rate)
        drift = error_rate([utterance.original], [heard], "en")
        assert drift.value <= 0.25, (
            f"the span cut at the record's times holds what was said: {heard!r} for "
            f"{utterance.original!r}"
        )
    before = pcm[: int(said[0].start_s * rate) - rate // 2]
    assert await recognize(engines, before, rate) == "", "and before it, nothing was said"


async def recognize(engines: Engines, pcm: np.ndarray, rate: int) -> str:
    assert rate == ASR_RATE
    stream = await engines.open_stream("en", rate)
    try:
        padded = np.concatenate([silence(0.3, rate), pcm, silence(1.0, rate)])
        events = await stream.feed(padded.tobytes()) + await stream.close()
    finally:
        stream.release()
    return " ".join(e.text for e in events if isinstance(e, Final) and e.text.strip())


async def test_replaying_every_call_keeps_runs_and_lists_what_got_worse(
    start_server, make_speech, engines, tmp_path
):
    server = await start_server()
    await english_call(server, make_speech)
    first = tmp_path / "first.json"
    out = tmp_path / "out.txt"
    with out.open("w") as printed:
        await run_replay(
            server.config,
            who="qa@test",
            options=ReplayOptions(speak=False),
            json_path=first,
            html=tmp_path / "run.html",
            out=printed,
            progress=False,
            engines=engines,
        )
    table = json.loads(first.read_text())["pairs"]
    assert [row["pair"] for row in table] == ["en→es"]
    metric, drift = table[0]["error_rate"]
    assert metric == "wer" and drift == 0, "the same engines: the same words"
    assert table[0]["chrf"] > 60
    assert table[0]["latency"]["asr_final_s"]["n"] >= 1
    assert "Nothing worse than the previous run." in out.read_text()
    assert "<img" in (tmp_path / "run.html").read_text(), "the report has its plots"

    # The previous run is remembered: a run that comes out worse is listed.
    runs = sorted((server.data_dir / "replays").glob("run-*.json"))
    kept = json.loads(runs[-1].read_text())
    kept["pairs"]["en→es"]["latency"]["asr_final_s"]["p95"] = 1e-6
    runs[-1].write_text(json.dumps(kept))
    with out.open("w") as printed:
        await run_replay(
            server.config,
            who="qa@test",
            options=ReplayOptions(speak=False),
            out=printed,
            progress=False,
            engines=engines,
        )
    assert "Worse than the previous run:" in out.read_text()
    assert "en→es: asr_final p95" in out.read_text()
    with RecordStore(server.data_dir / "hotline.sqlite3") as store:
        assert any(entry.action == "record.replay" for entry in store.audit_log())


async def test_hotline_replay_writes_html_and_json_with_scores_against_a_reference(
    start_server, make_speech, tmp_path
):
    server = await start_server()
    reference = await english_call(server, make_speech)
    await server.stop()
    truth = tmp_path / "said.txt"
    truth.write_text("\n".join(SAID) + "\n", encoding="utf-8")
    report_html, report_json = tmp_path / "r.html", tmp_path / "r.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline.cli",
            "replay",
            reference,
            "--data-dir",
            str(server.data_dir),
            "-o",
            str(report_html),
            "--json",
            str(report_json),
            "--reference",
            str(truth),
            "--no-speech",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert f"Call {reference}" in done.stdout and "transcript WER" in done.stdout
    report = json.loads(report_json.read_text())
    entry = report["utterances"][0]
    assert {"speaker", "original", "new", "diff", "new_translation", "latency"} <= set(entry)
    assert set(entry["latency"]) == {"asr_final_s", "translation_s", "tts_first_byte_s"}
    score = report["summary"]["transcript"]
    assert score["metric"] == "wer" and score["original"] == score["new"]
    assert 0 <= score["new"] < 1
    page = report_html.read_text()
    assert "<img" in page and reference in page and "WER" in page


def test_replay_refuses_unknown_calls_and_bad_choices_clearly(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "replay", "H-1", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "no records yet" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "replay", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "give a call (REF), or --all" in done.stderr
    folder = Path(tmp_path / "model")
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "replay", "--all", "--asr-model", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "which language" in done.stderr
