"""Redaction: personal numbers and addresses leave the text QA reads, in both languages, and
their audio is a tone in the copies QA hears; the originals are untouched."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from hotline.qa.redaction import REDACTED_DIR, TONE_HZ, redact, redact_recordings, redacted_record
from hotline.records import RecordStore, WordTiming
from telephony import read_wav, write_wav

RATE = 16000


def test_phone_numbers_ids_emails_and_cards_are_redacted_in_any_language():
    assert redact("Call me at 555-123-4567 or mail ana.kim@example.com.") == (
        "Call me at [phone] or mail [email]."
    )
    assert redact("Llámeme al +34 612 345 678, por favor") == "Llámeme al [phone], por favor"
    assert redact("my number is five five five one two three four") == "my number is [phone]"
    assert redact("mi número es cinco cinco cinco uno dos tres cuatro") == "mi número es [phone]"
    assert redact("card 4111 1111 1111 1111 expires") == "card [card] expires"
    assert redact("SSN 123-45-6789, 주민번호 900101-1234567") == "SSN [id], 주민번호 [id]"


def test_house_numbers_dates_and_our_own_reference_numbers_stay():
    for text in (
        "I live at 221 Baker Street, flat 12",
        "it happened on 2026-11-29 at 10:30",
        "Your complaint number is H-20261129-0001.",
        "one two three",
    ):
        assert redact(text) == text


def speech_like(seconds: float) -> np.ndarray:
    """Noise shaped like a voice's spectrum: not a tone."""
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 3000, int(seconds * RATE))
    return np.convolve(noise, np.ones(8) / 8, mode="same").astype(np.int16)


def tone_share(pcm: np.ndarray) -> float:
    """How much of the span's energy is within 20 Hz of the redaction tone."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / RATE)
    return float(spectrum[np.abs(freqs - TONE_HZ) < 20].sum() / spectrum.sum())


def test_a_planted_phone_number_leaves_the_text_and_the_audio_qa_gets(tmp_path):
    said = "my number is five five five one two three four"
    words = said.split()
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        call = store.create_call("en", started_at=datetime(2026, 11, 29, tzinfo=UTC))
        folder = tmp_path / "recordings" / call.id
        folder.mkdir(parents=True)
        voice = speech_like(4.0)
        write_wav(folder / "caller_in.wav", voice, RATE)
        write_wav(folder / "operator_heard.wav", speech_like(4.0), RATE)
        store.add_recording(call.id, "caller_in", f"recordings/{call.id}/caller_in.wav", RATE)
        heard = f"recordings/{call.id}/operator_heard.wav"
        store.add_recording(call.id, "operator_heard", heard, RATE)
        utterance = store.add_utterance(
            call.id,
            speaker="caller",
            original=said,
            start_s=0.5,
            end_s=0.5 + 0.25 * len(words),
            words=[
                WordTiming(w, 0.5 + 0.25 * i, 0.75 + 0.25 * i, 0.9) for i, w in enumerate(words)
            ],
        )
        store.set_translation(utterance, "mi número es cinco cinco cinco uno dos tres cuatro", "es")
        store.set_playback(utterance, 3.0, 3.8, cut=False)
        store.finish_call(call.id, "completed")
        record = store.get(call.id)

    shown = redacted_record(record)["utterances"][0]
    assert shown["original"] == "my number is [phone]"
    assert shown["translation"] == "mi número es [phone]"
    assert [w["word"] for w in shown["words"]] == ["my", "number", "is"]

    copies = redact_recordings(record, tmp_path)
    assert copies["caller_in"] == folder / REDACTED_DIR / "caller_in.wav"
    redacted, _ = read_wav(copies["caller_in"])
    number = redacted[int(1.25 * RATE) : int(2.75 * RATE)]  # "five" … "four"
    assert tone_share(number) > 0.95, "the span's energy is a tone, not speech"
    assert tone_share(voice[int(1.25 * RATE) : int(2.75 * RATE)]) < 0.05
    assert np.array_equal(redacted[: int(1.25 * RATE)], voice[: int(1.25 * RATE)]), (
        "what was not personal is as it was"
    )
    heard_copy, _ = read_wav(copies["operator_heard"])
    assert tone_share(heard_copy[int(3.0 * RATE) : int(3.8 * RATE)]) > 0.95
    original, _ = read_wav(folder / "caller_in.wav")
    assert np.array_equal(original, voice), "the original recording is untouched"


def test_hotline_records_show_redacted_and_redact(tmp_path):
    import json
    import subprocess
    import sys

    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        call = store.create_call("en")
        folder = tmp_path / "recordings" / call.id
        folder.mkdir(parents=True)
        write_wav(folder / "caller_in.wav", speech_like(2.0), RATE)
        store.add_recording(call.id, "caller_in", f"recordings/{call.id}/caller_in.wav", RATE)
        store.add_utterance(
            call.id, speaker="caller", original="call 555 123 4567", start_s=0.2, end_s=1.5
        )
        store.finish_call(call.id, "completed")
        reference = call.reference

    def records(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "hotline.cli", "records", "--data-dir", str(tmp_path)]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)

    shown = json.loads(records("show", reference, "--redacted").stdout)
    assert shown["utterances"][0]["original"] == "call [phone]"
    made = records("redact", reference)
    assert made.returncode == 0 and str(folder / REDACTED_DIR / "caller_in.wav") in made.stdout
    with RecordStore(tmp_path / "hotline.sqlite3") as store:
        assert [e.action for e in store.audit_log()][:2] == ["record.redact", "record.show"]
