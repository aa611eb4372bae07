"""The vosk-server protocol without a socket: frames parse to typed events or to a protocol
error, and replies serialize to vosk-server's exact shapes."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest

from hotline.wire import vosk as wire


@dataclass
class Word:
    word: str
    start: float
    end: float
    conf: float


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        ('{"eof" : 1}', wire.Eof()),
        ('{"eof": 1}', wire.Eof()),
        ('{ "eof":1 }', wire.Eof()),
        ('{"reset" : 1}', wire.Reset()),
        ('{"reset":1}', wire.Reset()),
        (b"\x01\x00", wire.Audio(b"\x01\x00")),
        (b"", wire.Audio(b"")),
        ('{"config" : {"sample_rate" : 16000}}', wire.Config(sample_rate=16000)),
        ('{"config": {"sample_rate": "8000.0"}}', wire.Config(sample_rate=8000)),
        (
            '{"config": {"phrase_list": ["on", "off", "[unk]"], "words": 0, '
            '"max_alternatives": 0, "language": "en-US", "future_key": 1}}',
            wire.Config(
                phrase_list=("on", "off", "[unk]"),
                words=False,
                max_alternatives=0,
                language="en-US",
            ),
        ),
    ],
)
def test_frames_parse_to_typed_events(frame, event):
    assert wire.parse_frame(frame) == event


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"\x00", wire.BadAudio),
        ("hello", wire.BadMessage),
        ('{"eof": 0}', wire.BadMessage),
        ('{"eof": true}', wire.BadMessage),
        ('{"eof": 1, "reset": 1}', wire.BadMessage),
        ('{"config": {"sample_rate": 96000}}', wire.BadConfig),
        ('{"config": {"sample_rate": 8000.5}}', wire.BadConfig),
        ('{"config": {"sample_rate": true}}', wire.BadConfig),
        ('{"config": {"words": "yes"}}', wire.BadConfig),
        ('{"config": {"phrase_list": []}}', wire.BadConfig),
        ('{"config": {"max_alternatives": -1}}', wire.BadConfig),
        ('{"config": {"language": ""}}', wire.BadConfig),
        ('["config"]', wire.BadConfig),
    ],
)
def test_bad_frames_raise_the_matching_protocol_error(frame, error):
    with pytest.raises(error) as raised:
        wire.parse_frame(frame)
    assert raised.value.fatal == (error is wire.BadConfig)
    assert raised.value.message


def test_random_frames_parse_or_raise_a_protocol_error():
    rng = random.Random(7)
    alphabet = '{}[]":, 01eofresetconfigsample_rate\\\x00가'
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for frame in (text, text.encode("utf-8")):
            try:
                event = wire.parse_frame(frame)
            except wire.VoskProtocolError:
                continue
            assert isinstance(event, wire.Config | wire.Audio | wire.Eof | wire.Reset)


def test_replies_serialize_to_vosk_shapes():
    assert json.loads(wire.serialize(wire.PartialReply("가로"))) == {"partial": "가로"}
    assert json.loads(wire.serialize(wire.FinalReply("", ()))) == {"text": ""}
    assert json.loads(wire.serialize(wire.FinalReply("hi", None))) == {"text": "hi"}
    final = json.loads(
        wire.serialize(wire.FinalReply("hi", (Word("hi", 0.1200000001, 0.48, 0.9),)))
    )
    assert final == {
        "result": [{"conf": 0.9, "end": 0.48, "start": 0.12, "word": "hi"}],
        "text": "hi",
    }
    assert json.loads(wire.serialize(wire.ErrorReply("no"))) == {"error": "no"}
    assert "가로" in wire.serialize(wire.PartialReply("가로")), "non-ASCII text is sent as is"
