"""Faults, each on a real server with real engines: a caller cut off mid-utterance, the server
killed mid-call, engines failing mid-call, a slow operator network. These are the scenarios
of ``hotline bench faults`` with fewer trials; here they must all pass."""

from __future__ import annotations

from hotline.bench import faults


async def test_callers_cut_off_mid_utterance_lose_nothing_and_leak_nothing(engines, tmp_path):
    result = await faults.run_drops(engines, tmp_path, trials=5)
    assert result.failures == [] and result.crashes == 0
    assert result.passed == 5 and result.lost == 0, "every final utterance is in the record"
    leaks = result.figures["leaks"]
    assert leaks["tasks"] <= 0 and leaks["fds"] <= 0 and leaks["children"] <= 0, leaks
    assert leaks["threads"] <= 0, leaks


async def test_a_killed_server_leaves_readable_records_closed_as_interrupted(engines, tmp_path):
    result = await faults.run_sigkill(engines, tmp_path, trials=1)
    assert result.failures == [] and result.passed == 1


async def test_the_call_goes_on_when_voice_recognizer_or_translator_fail(engines, tmp_path):
    result = await faults.run_engine_failures(engines, tmp_path)
    assert result.failures == [] and result.passed == 3
    assert result.figures["tts_workers_killed"] >= 1


async def test_a_slow_operator_network_drops_audio_instead_of_growing(engines, tmp_path):
    result = await faults.run_slow_operator(engines, tmp_path, seconds=10.0)
    assert result.failures == [], result.figures
    assert result.figures["frames_dropped"] > 0
