"""Audio plumbing for the call path: G.711, resampling, fixed frames, WAV files and decoding.

Everything here speaks mono int16 numpy arrays; bytes appear only at the wire and file edges.
"""

from __future__ import annotations

from telephony.frames import (
    SILENCE_DBFS,
    AudioFormatError,
    Framer,
    as_pcm,
    pcm_from_bytes,
    pcm_to_bytes,
    rms_dbfs,
)
from telephony.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from telephony.resample import StreamResampler, resample
from telephony.wavfile import WavWriter, decode_audio_file, read_wav, wav_bytes, write_wav

__all__ = [
    "SILENCE_DBFS",
    "AudioFormatError",
    "Framer",
    "StreamResampler",
    "WavWriter",
    "alaw_decode",
    "alaw_encode",
    "as_pcm",
    "decode_audio_file",
    "pcm_from_bytes",
    "pcm_to_bytes",
    "read_wav",
    "resample",
    "rms_dbfs",
    "ulaw_decode",
    "ulaw_encode",
    "wav_bytes",
    "write_wav",
]
