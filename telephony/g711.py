"""G.711 µ-law and A-law, bit-exact with CPython's `audioop` (removed in Python 3.13).

Both directions are lookup tables built once at import from the Sun/CCITT formulas
(docs/protocols.md §5), so encoding and decoding are a single numpy indexing step.
"""

from __future__ import annotations

import numpy as np

from telephony.frames import as_pcm, pcm_from_bytes

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _all_int16_by_bit_pattern() -> np.ndarray:
    """Every int16 value, placed at the index of its uint16 bit pattern."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> np.ndarray:
    x = _all_int16_by_bit_pattern() >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    x = np.minimum(np.abs(x), 8159) + 33
    seg = np.searchsorted(_SEG_UEND, x)
    code = ((seg << 4) | ((x >> (seg + 1)) & 0x0F)) ^ mask
    code = np.where(seg >= 8, 0x7F ^ mask, code)
    return code.astype(np.uint8)


def _alaw_encode_table() -> np.ndarray:
    x = _all_int16_by_bit_pattern() >> 3
    mask = np.where(x >= 0, 0xD5, 0x55)
    x = np.where(x >= 0, x, -x - 1)
    seg = np.searchsorted(_SEG_AEND, x)
    mantissa = np.where(seg < 2, x >> 1, x >> seg)
    code = ((seg << 4) | (mantissa & 0x0F)) ^ mask
    code = np.where(seg >= 8, 0x7F ^ mask, code)
    return code.astype(np.uint8)


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.select([seg == 0, seg == 1], [t + 8, t + 0x108], (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ULAW_ENCODE = _ulaw_encode_table()
_ALAW_ENCODE = _alaw_encode_table()
_ULAW_DECODE = _ulaw_decode_table()
_ALAW_DECODE = _alaw_decode_table()


def _bit_patterns(pcm: np.ndarray | bytes | bytearray | memoryview) -> np.ndarray:
    if not isinstance(pcm, np.ndarray):
        pcm = pcm_from_bytes(pcm)
    return as_pcm(pcm).view(np.uint16)


def ulaw_encode(pcm: np.ndarray | bytes | bytearray | memoryview) -> bytes:
    """Int16 PCM (array, or int16 little-endian bytes) to µ-law bytes, as Twilio and PCMU carry."""
    return _ULAW_ENCODE[_bit_patterns(pcm)].tobytes()


def ulaw_decode(data: bytes | bytearray | memoryview) -> np.ndarray:
    """µ-law bytes to int16 PCM."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(pcm: np.ndarray | bytes | bytearray | memoryview) -> bytes:
    """Int16 PCM (array, or int16 little-endian bytes) to A-law bytes, as PCMA carries."""
    return _ALAW_ENCODE[_bit_patterns(pcm)].tobytes()


def alaw_decode(data: bytes | bytearray | memoryview) -> np.ndarray:
    """A-law bytes to int16 PCM."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
