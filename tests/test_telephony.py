"""Behaviour of the telephony audio plumbing: G.711, resampling, framing, WAV and decoding."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from telephony import (
    SILENCE_DBFS,
    AudioFormatError,
    Framer,
    StreamResampler,
    WavWriter,
    alaw_decode,
    alaw_encode,
    decode_audio_file,
    pcm_from_bytes,
    pcm_to_bytes,
    read_wav,
    resample,
    rms_dbfs,
    ulaw_decode,
    ulaw_encode,
    write_wav,
)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))
RATES = [8000, 16000, 22050, 24000, 48000]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def sweep(seconds: float, rate: int, low: float = 100.0, high: float | None = None) -> np.ndarray:
    high = high if high is not None else 0.4 * rate
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * (low * t + (high - low) * t**2 / (2 * seconds))
    return np.rint(12000 * np.sin(phase)).astype(np.int16)


def peak_frequency(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


# G.711


def test_ulaw_encode_matches_audioop_on_every_int16():
    assert sha256(ulaw_encode(ALL_INT16)) == (
        "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a"
    )


def test_alaw_encode_matches_audioop_on_every_int16():
    assert sha256(alaw_encode(ALL_INT16)) == (
        "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
    )


def test_ulaw_decode_matches_audioop_on_every_code():
    assert sha256(ulaw_decode(ALL_CODES).astype("<i2").tobytes()) == (
        "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"
    )


def test_alaw_decode_matches_audioop_on_every_code():
    assert sha256(alaw_decode(ALL_CODES).astype("<i2").tobytes()) == (
        "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174"
    )


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [
        (0, 0xFF, 0xD5),
        (1, 0xFF, 0xD5),
        (-1, 0x7E, 0x55),
        (100, 0xF2, 0xD3),
        (-100, 0x72, 0x53),
        (1000, 0xCE, 0xFA),
        (-1000, 0x4E, 0x7A),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
    ],
)
def test_g711_encodes_reference_spot_values(sample, ulaw, alaw):
    pcm = np.array([sample], dtype=np.int16)
    assert ulaw_encode(pcm) == bytes([ulaw])
    assert alaw_encode(pcm) == bytes([alaw])


def test_g711_decodes_reference_spot_values():
    assert ulaw_decode(bytes([0xFF, 0x7F, 0xFE, 0x7E, 0x80, 0x00])).tolist() == [
        0,
        0,
        8,
        -8,
        32124,
        -32124,
    ]
    assert alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]


def test_g711_code_round_trip_is_identity_except_ulaw_negative_zero():
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES
    expected = bytearray(ALL_CODES)
    expected[0x7F] = 0xFF
    assert ulaw_encode(ulaw_decode(ALL_CODES)) == bytes(expected)


def test_g711_encode_accepts_little_endian_bytes_like_the_array():
    speech = sweep(0.2, 8000)
    assert ulaw_encode(pcm_to_bytes(speech)) == ulaw_encode(speech)
    assert alaw_encode(pcm_to_bytes(speech)) == alaw_encode(speech)


def test_g711_round_trip_error_stays_within_quantisation_step():
    speech = sweep(0.5, 8000)
    for encode, decode in [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]:
        error = np.abs(decode(encode(speech)).astype(np.int32) - speech)
        assert error.max() <= np.abs(speech.astype(np.int32)).max() // 16 + 16


def test_g711_refuses_float_audio():
    with pytest.raises(AudioFormatError):
        ulaw_encode(np.zeros(160, dtype=np.float32))


# Resampling

RATE_PAIRS = [(a, b) for a in RATES for b in RATES if a != b]


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_chunked_resampling_matches_one_shot(in_rate, out_rate):
    signal = sweep(1.5, in_rate, high=0.45 * min(in_rate, out_rate))
    rng = np.random.default_rng(in_rate * 7 + out_rate)
    resampler = StreamResampler(in_rate, out_rate)
    pieces, start = [], 0
    while start < len(signal):
        size = int(rng.integers(37, 1001))
        pieces.append(resampler.process(signal[start : start + size]))
        start += size
    pieces.append(resampler.flush())
    chunked = np.concatenate(pieces)
    whole = resample(signal, in_rate, out_rate)

    assert chunked.dtype == np.int16
    assert len(chunked) == len(whole)
    assert abs(len(whole) - 1.5 * out_rate) <= 1
    assert np.abs(chunked.astype(np.int32) - whole).max() <= 1


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_resampling_keeps_a_1khz_tone_at_1khz(in_rate, out_rate):
    resampler = StreamResampler(in_rate, out_rate)
    signal = tone(1000, 1.0, in_rate)
    out = np.concatenate(
        [
            resampler.process(signal[i : i + in_rate // 50])
            for i in range(0, len(signal), in_rate // 50)
        ]
        + [resampler.flush()]
    )
    assert abs(peak_frequency(out, out_rate) - 1000) <= 2
    middle = out[out_rate // 10 : -out_rate // 10]
    assert abs(rms_dbfs(middle) - rms_dbfs(signal)) < 0.1


def test_downsampling_to_8khz_removes_what_would_alias():
    out = resample(tone(5000, 1.0, 16000), 16000, 8000)
    assert rms_dbfs(out[800:-800]) < -80


def test_resampler_keeps_digital_silence_silent():
    resampler = StreamResampler(8000, 16000)
    out = np.concatenate([resampler.process(np.zeros(160, np.int16)) for _ in range(50)])
    assert not np.any(np.concatenate([out, resampler.flush()]))


def test_resampler_can_start_a_new_stream_after_flush():
    resampler = StreamResampler(16000, 8000)
    signal = sweep(0.5, 16000)
    first = np.concatenate([resampler.process(signal), resampler.flush()])
    second = np.concatenate([resampler.process(signal), resampler.flush()])
    assert np.array_equal(first, second)


def test_equal_rates_pass_audio_through_untouched():
    signal = sweep(0.1, 16000)
    resampler = StreamResampler(16000, 16000)
    assert resampler.process(signal) is signal
    assert len(resampler.flush()) == 0
    assert resample(signal, 16000, 16000) is signal


def test_full_scale_audio_clips_instead_of_wrapping():
    square = np.tile(np.r_[np.full(20, 32767), np.full(20, -32768)].astype(np.int16), 200)
    out = resample(square, 8000, 48000)
    assert out.max() == 32767 and out.min() == -32768
    assert np.all(np.abs(np.diff(out.astype(np.int32))) < 20000)


# Bytes, frames and levels


def test_pcm_bytes_are_int16_little_endian():
    pcm = np.array([1, -2, 32767, -32768], dtype=np.int16)
    wire = struct.pack("<4h", 1, -2, 32767, -32768)
    assert pcm_to_bytes(pcm) == wire
    assert np.array_equal(pcm_from_bytes(wire), pcm)
    pcm_from_bytes(wire)[0] = 5


def test_odd_byte_count_is_a_format_error():
    with pytest.raises(AudioFormatError):
        pcm_from_bytes(b"\x00\x01\x02")


def test_framer_emits_exact_20ms_frames_across_irregular_pushes():
    framer = Framer(16000)
    assert framer.frame_samples == 320
    signal = np.arange(16000 * 2 - 123, dtype=np.int64).astype(np.int16)
    cuts = np.sort(np.random.default_rng(1).choice(np.arange(1, len(signal)), 80, replace=False))
    frames = []
    for piece in np.split(signal, cuts):
        frames += framer.push(piece)
    assert len(frames) == len(signal) // 320
    assert all(len(frame) == 320 for frame in frames)
    assert np.array_equal(np.concatenate(frames), signal[: len(frames) * 320])
    assert np.array_equal(framer.flush(pad=False), signal[len(frames) * 320 :])


def test_framer_pads_the_last_partial_frame_with_silence():
    framer = Framer(8000, frame_ms=20)
    assert framer.push(np.ones(100, np.int16)) == []
    last = framer.flush()
    assert len(last) == 160 and last[:100].tolist() == [1] * 100 and not last[100:].any()
    assert framer.flush() is None


def test_framer_refuses_frames_that_are_not_whole_samples():
    with pytest.raises(ValueError):
        Framer(22050, frame_ms=10 + 1)


def test_rms_dbfs_reads_levels_and_floors_silence():
    assert rms_dbfs(np.zeros(160, np.int16)) == SILENCE_DBFS
    assert rms_dbfs(np.zeros(0, np.int16)) == SILENCE_DBFS
    assert rms_dbfs(np.full(160, -32768, np.int16)) == pytest.approx(0.0)
    assert rms_dbfs(tone(1000, 1.0, 8000, amplitude=1.0)) == pytest.approx(-3.01, abs=0.01)
    assert rms_dbfs(tone(1000, 1.0, 8000, amplitude=0.1)) == pytest.approx(-23.01, abs=0.01)


# WAV files


def test_wav_round_trip_keeps_samples_and_rate(tmp_path):
    signal = sweep(0.7, 22050)
    write_wav(tmp_path / "a.wav", signal, 22050)
    pcm, rate = read_wav(tmp_path / "a.wav")
    assert rate == 22050 and np.array_equal(pcm, signal)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getnframes()) == (1, 2, len(signal))


def test_unclosed_recording_is_readable_with_everything_written_so_far(tmp_path):
    path = tmp_path / "call.wav"
    writer = WavWriter(path, 8000)
    written = []
    for i in range(5):
        frame = tone(400 + 100 * i, 0.02, 8000)
        writer.write(frame)
        written.append(frame)
        pcm, rate = read_wav(path)
        assert rate == 8000 and np.array_equal(pcm, np.concatenate(written))
        with wave.open(str(path)) as w:
            assert w.getnframes() == sum(map(len, written))
    assert writer.samples_written == 5 * 160
    writer.close()


def test_wav_writer_closes_as_a_context_manager(tmp_path):
    with WavWriter(tmp_path / "r.wav", 16000) as writer:
        writer.write(tone(300, 0.1, 16000))
    with pytest.raises(ValueError):
        writer.write(tone(300, 0.1, 16000))
    assert len(read_wav(tmp_path / "r.wav")[0]) == 1600


def test_stereo_wav_is_downmixed_to_mono(tmp_path):
    left = np.array([1000, 2000, -3000], dtype=np.int16)
    right = np.array([3000, 0, -1000], dtype=np.int16)
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.column_stack([left, right]).astype("<i2").tobytes())
    pcm, rate = read_wav(tmp_path / "s.wav")
    assert rate == 16000 and pcm.tolist() == [2000, 1000, -2000]


def test_read_wav_refuses_8bit_and_non_wav_files(tmp_path):
    with wave.open(str(tmp_path / "u8.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(80))
    with pytest.raises(AudioFormatError, match="16-bit"):
        read_wav(tmp_path / "u8.wav")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(AudioFormatError, match="notes.txt"):
        read_wav(tmp_path / "notes.txt")


# Decoding any file

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def encode_with_ffmpeg(tmp_path: Path, pcm: np.ndarray, rate: int, name: str) -> Path:
    source = tmp_path / "source.wav"
    write_wav(source, pcm, rate)
    target = tmp_path / name
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), str(target)],
        check=True,
    )
    return target


@needs_ffmpeg
@pytest.mark.parametrize("name", ["tone.mp3", "tone.ogg", "tone.flac"])
def test_decode_audio_file_reads_compressed_formats_at_the_asked_rate(tmp_path, name):
    path = encode_with_ffmpeg(tmp_path, tone(1000, 1.0, 44100), 44100, name)
    pcm = decode_audio_file(path, sample_rate=16000)
    assert pcm.dtype == np.int16
    assert abs(len(pcm) - 16000) < 0.1 * 16000
    assert abs(peak_frequency(pcm, 16000) - 1000) <= 5
    assert rms_dbfs(pcm) == pytest.approx(rms_dbfs(tone(1000, 1.0, 16000)), abs=1.0)


def test_decode_audio_file_resamples_an_8khz_wav_to_16khz(tmp_path):
    write_wav(tmp_path / "phone.wav", tone(1000, 1.0, 8000), 8000)
    pcm = decode_audio_file(tmp_path / "phone.wav")
    assert len(pcm) == 16000
    assert abs(peak_frequency(pcm, 16000) - 1000) <= 2


@needs_ffmpeg
def test_decode_audio_file_reads_a_24bit_stereo_wav_via_ffmpeg(tmp_path):
    source = tmp_path / "mono.wav"
    write_wav(source, tone(500, 0.5, 48000), 48000)
    target = tmp_path / "studio.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source)]
        + ["-ac", "2", "-c:a", "pcm_s24le", str(target)],
        check=True,
    )
    with pytest.raises(AudioFormatError):
        read_wav(target)
    pcm = decode_audio_file(target, sample_rate=8000)
    assert len(pcm) == 4000 and abs(peak_frequency(pcm, 8000) - 500) <= 4


def test_decode_audio_file_names_a_missing_file(tmp_path):
    with pytest.raises(AudioFormatError, match="absent.mp3"):
        decode_audio_file(tmp_path / "absent.mp3")


def test_decode_audio_file_names_a_file_it_cannot_decode(tmp_path):
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioFormatError, match="garbage.mp3"):
        decode_audio_file(garbage)
