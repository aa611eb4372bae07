"""AudioSocket without a socket: Asterisk's bytes, in any pieces, become typed events; ours
are byte-exact; anything else is refused with a clear error."""

from __future__ import annotations

import random
import uuid

import pytest

from hotline.wire import audiosocket as wire

CALL = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


def test_asterisks_messages_become_events_whatever_pieces_they_arrive_in():
    stream = (
        b"\x01\x00\x10"
        + CALL.bytes
        + b"\x10\x01\x40"
        + b"\x01\x00" * 160
        + b"\x03\x00\x01"
        + b"5"
        + b"\x12\x00\x04"
        + b"\x02\x00\x03\x00"
        + b"\x00\x00\x00"
    )
    for piece in (1, 2, 3, 7, 100, len(stream)):
        parser = wire.AudioSocketParser()
        events = []
        for i in range(0, len(stream), piece):
            events += parser.feed(stream[i : i + piece])
        assert events == [
            wire.Uuid(CALL),
            wire.Audio(b"\x01\x00" * 160, 8000),
            wire.Dtmf("5"),
            wire.Audio(b"\x02\x00\x03\x00", 16000),
            wire.Hangup(),
        ]
        assert parser.pending == 0


def test_what_we_send_is_byte_exact():
    assert wire.audio_frame(b"\x01\x00" * 160) == b"\x10\x01\x40" + b"\x01\x00" * 160
    assert wire.audio_frame(b"\x00\x00" * 320, 16000)[:3] == b"\x12\x02\x80"
    assert wire.hangup_frame() == b"\x00\x00\x00"
    assert wire.uuid_frame(CALL) == b"\x01\x00\x10" + CALL.bytes
    assert wire.dtmf_frame("#") == b"\x03\x00\x01#"


def test_an_error_message_ends_the_stream_with_its_code():
    parser = wire.AudioSocketParser()
    assert parser.feed(b"\x01\x00\x10" + CALL.bytes + b"\xff\x00\x01\x01") == [
        wire.Uuid(CALL),
        wire.Error(1),
    ]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x10\x00\x02\x00\x00", "first message must be the UUID"),
        (b"\x01\x00\x04abcd", "UUID is 16 bytes"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x01\x00\x10" + CALL.bytes, "second UUID"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x10\x00\x03abc", "whole 16-bit samples"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x10\x00\x00", "whole 16-bit samples"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x42\x00\x00", "unknown message kind 0x42"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x03\x00\x01Z", "DTMF must be one key"),
        (b"\x01\x00\x10" + CALL.bytes + b"\x00\x00\x00\x10\x00\x02\x00\x00", "after a hang-up"),
    ],
)
def test_bytes_that_are_not_audiosocket_are_refused_clearly(data, fragment):
    with pytest.raises(wire.AudioSocketError, match=fragment):
        wire.AudioSocketParser().feed(data)


def test_a_truncated_message_waits_for_the_rest():
    parser = wire.AudioSocketParser()
    assert parser.feed(b"\x01\x00\x10" + CALL.bytes[:5]) == []
    assert parser.pending == 8


def test_random_bytes_after_the_uuid_give_events_or_the_protocol_error():
    rng = random.Random(3)
    for _ in range(3000):
        parser = wire.AudioSocketParser()
        parser.feed(b"\x01\x00\x10" + CALL.bytes)
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        try:
            parser.feed(noise)
        except wire.AudioSocketError:
            pass
