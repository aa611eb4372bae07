"""RTP and RFC 4733 without a socket: packets round-trip, STUN and RTCP on the RTP port are
told apart, and DTMF gives one digit per key press whichever SSRC carries it."""

from __future__ import annotations

import random
import struct

import pytest

from hotline.wire import rtp

# linphone's first STUN Binding Request on the RTP port, as uas.py logged its first 16 bytes
LINPHONE_STUN_HEAD = bytes.fromhex("000100002112a4424ffca9303db9abe7")


def stun_binding_request(rng: random.Random) -> bytes:
    return bytes.fromhex("000100002112a442") + rng.randbytes(12)


def header(
    *, version=2, padding=False, extension=False, cc=0, marker=False, pt=0, seq=1, ts=2, ssrc=3
):
    first = version << 6 | padding << 5 | extension << 4 | cc
    return struct.pack("!BBHII", first, marker << 7 | pt, seq, ts, ssrc)


def events_of(packets: list[bytes]) -> list[tuple[rtp.RtpPacket, rtp.TelephoneEvent]]:
    parsed = [rtp.parse_rtp(data) for data in packets]
    return [(packet, rtp.parse_telephone_event(packet.payload)) for packet in parsed]


# --- packets ------------------------------------------------------------------------------


def test_a_packet_parses_into_its_fields():
    data = bytes.fromhex("80e5123400000fa0deadbeef") + b"\xff" * 160
    packet = rtp.parse_rtp(data)
    assert packet == rtp.RtpPacket(101, 0x1234, 4000, 0xDEADBEEF, b"\xff" * 160, marker=True)
    assert packet.to_bytes() == data


def test_csrcs_are_kept_and_written_back():
    packet = rtp.RtpPacket(8, 65535, 2**32 - 1, 7, b"abc", csrcs=(1, 2**32 - 1))
    data = packet.to_bytes()
    assert data[0] == 0x82
    assert rtp.parse_rtp(data) == packet


def test_a_header_extension_is_skipped():
    extension = struct.pack("!HH", 0xBEDE, 2) + b"\x10\xaa\x00\x00" + b"\x00" * 4
    packet = rtp.parse_rtp(header(extension=True) + extension + b"payload")
    assert packet.payload == b"payload"


def test_padding_is_removed():
    packet = rtp.parse_rtp(header(padding=True) + b"payload" + b"\x00\x00\x03")
    assert packet.payload == b"payload"
    assert rtp.parse_rtp(header(padding=True) + b"\x01").payload == b""


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(11),
        header(version=0) + b"x",
        header(version=1) + b"x",
        header(version=3) + b"x",
        header(cc=2) + bytes(7),
        header(extension=True) + b"\xbe\xde",
        header(extension=True) + struct.pack("!HH", 0xBEDE, 3) + bytes(8),
        header(padding=True) + b"abc\x00",
        header(padding=True) + b"abc\x05",
        header(padding=True),
    ],
)
def test_what_is_not_a_whole_rtp_packet_is_an_rtp_error(data):
    with pytest.raises(rtp.RtpPacketError):
        rtp.parse_rtp(data)


def test_to_bytes_refuses_a_payload_type_outside_seven_bits():
    with pytest.raises(ValueError):
        rtp.RtpPacket(128, 0, 0, 0, b"").to_bytes()


# --- what else arrives on the RTP port ----------------------------------------------------


def test_a_stun_binding_request_is_recognised_and_is_not_rtp():
    rng = random.Random(5389)
    for data in [LINPHONE_STUN_HEAD + rng.randbytes(4)] + [
        stun_binding_request(rng) for _ in range(200)
    ]:
        assert rtp.looks_like_stun(data)
        assert not rtp.looks_like_rtcp(data)
        with pytest.raises(rtp.RtpError):
            rtp.parse_rtp(data)


def test_rtp_is_never_taken_for_stun_even_with_the_cookie_as_timestamp():
    data = header(ts=0x2112A442) + bytes(160)
    assert not rtp.looks_like_stun(data)
    assert rtp.parse_rtp(data).timestamp == 0x2112A442
    assert not rtp.looks_like_stun(bytes.fromhex("000100002112a442"))


@pytest.mark.parametrize("packet_type", [200, 201, 202, 203, 204, 205, 206, 207])
def test_rtcp_on_the_rtp_port_is_recognised_and_is_not_rtp(packet_type):
    data = bytes([0x81, packet_type]) + struct.pack("!H", 6) + bytes(24)
    assert rtp.looks_like_rtcp(data)
    assert not rtp.looks_like_stun(data)
    with pytest.raises(rtp.RtpPacketError):
        rtp.parse_rtp(data)


@pytest.mark.parametrize("pt", [0, 8, 9, 13, 18, *range(96, 128)])
@pytest.mark.parametrize("marker", [False, True])
def test_phone_payload_types_are_never_taken_for_rtcp(pt, marker):
    data = rtp.RtpPacket(pt, 1, 2, 3, bytes(4), marker).to_bytes()
    assert not rtp.looks_like_rtcp(data)
    assert rtp.parse_rtp(data).payload_type == pt


# --- RFC 4733 events ----------------------------------------------------------------------


def test_a_telephone_event_parses_and_writes_back():
    event = rtp.parse_telephone_event(bytes.fromhex("058a05a0"))
    assert event == rtp.TelephoneEvent(event=5, end=True, volume=10, duration=1440)
    assert event.digit == "5"
    assert event.to_bytes() == bytes.fromhex("058a05a0")
    assert rtp.parse_telephone_event(bytes.fromhex("0b3f0000")).digit == "#"
    assert rtp.parse_telephone_event(bytes.fromhex("10000000")).digit is None


@pytest.mark.parametrize("payload", [b"", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05", bytes(160)])
def test_a_telephone_event_is_exactly_four_bytes(payload):
    with pytest.raises(rtp.TelephoneEventError):
        rtp.parse_telephone_event(payload)


def test_event_digits_follow_rfc4733_numbering():
    assert rtp.EVENT_DIGITS.index("*") == 10 and rtp.EVENT_DIGITS.index("#") == 11
    assert rtp.EVENT_DIGITS.index("D") == 15


# --- sending ------------------------------------------------------------------------------


def test_audio_packets_advance_sequence_and_timestamp_and_wrap():
    stream = rtp.RtpStreamState(0, ssrc=42, sequence=65534, timestamp=2**32 - 160)
    packets = [rtp.parse_rtp(stream.packet(bytes(160), 160, marker=i == 0)) for i in range(3)]
    assert [p.sequence for p in packets] == [65534, 65535, 0]
    assert [p.timestamp for p in packets] == [2**32 - 160, 0, 160]
    assert [p.marker for p in packets] == [True, False, False]
    assert {p.ssrc for p in packets} == {42} and {p.payload_type for p in packets} == {0}


def test_streams_start_at_random_numbers():
    streams = [rtp.RtpStreamState(8) for _ in range(20)]
    assert len({s.ssrc for s in streams}) == 20
    assert len({s.sequence for s in streams}) > 1 and len({s.timestamp for s in streams}) > 1


def test_a_key_press_goes_out_as_rfc4733_says():
    stream = rtp.RtpStreamState(0, ssrc=9, sequence=100, timestamp=8000, dtmf_payload_type=96)
    stream.packet(bytes(160), 160)
    events = events_of(stream.event_packets("#", duration_ms=160))
    packets = [packet for packet, _ in events]
    assert [p.sequence for p in packets] == list(range(101, 101 + len(packets)))
    assert {(p.ssrc, p.payload_type, p.timestamp) for p in packets} == {(9, 96, 8160)}
    assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    reports = [event for _, event in events]
    assert {event.event for event in reports} == {11}
    assert [event.end for event in reports[-3:]] == [True] * 3
    assert not any(event.end for event in reports[:-3])
    durations = [event.duration for event in reports]
    assert durations == sorted(durations) and durations[-1] == 1280
    assert len(packets) == 10  # like sipp's dtmf_2833 captures: 7 updates, then 3 ends
    assert rtp.parse_rtp(stream.packet(bytes(160), 160)).timestamp == 8160 + 1280


def test_sending_refuses_what_is_not_a_digit():
    stream = rtp.RtpStreamState(0)
    for digit in ("", "12", "E", "x"):
        with pytest.raises(ValueError):
            stream.event_packets(digit)


# --- receiving DTMF -----------------------------------------------------------------------


def press(stream: rtp.RtpStreamState, digits: str) -> list[rtp.RtpPacket]:
    packets = []
    for digit in digits:
        packets += [rtp.parse_rtp(data) for data in stream.event_packets(digit)]
        stream.packet(bytes(160), 160)
    return packets


def test_each_key_press_gives_its_digit_once():
    stream = rtp.RtpStreamState(0, dtmf_payload_type=101)
    receiver = rtp.DtmfReceiver(101)
    heard = [receiver.feed(packet) for packet in press(stream, "0123456789*#ABCD")]
    assert "".join(d for d in heard if d) == "0123456789*#ABCD"
    assert sum(d is not None for d in heard) == 16


def test_the_same_digit_pressed_twice_counts_twice():
    receiver = rtp.DtmfReceiver(101)
    heard = [receiver.feed(packet) for packet in press(rtp.RtpStreamState(0), "55")]
    assert [d for d in heard if d] == ["5", "5"]


def test_a_press_whose_start_was_lost_still_counts_once():
    receiver = rtp.DtmfReceiver(101)
    packets = press(rtp.RtpStreamState(0), "7")
    assert [receiver.feed(packet) for packet in packets[-3:]] == ["7", None, None]


def test_dtmf_on_a_second_ssrc_is_heard_beside_the_audio_as_sipp_sends_it():
    audio = rtp.RtpStreamState(0, ssrc=0x1111)
    dtmf = rtp.RtpStreamState(0, ssrc=0x2222, dtmf_payload_type=101)
    keypad = iter(press(dtmf, "1"))
    receiver = rtp.DtmfReceiver(101)
    heard = []
    for _ in range(30):
        heard.append(receiver.feed(rtp.parse_rtp(audio.packet(bytes(160), 160))))
        heard.append(receiver.feed(next(keypad, rtp.parse_rtp(audio.packet(bytes(160), 160)))))
    assert [d for d in heard if d] == ["1"]


def test_events_from_two_sources_at_the_same_timestamp_are_two_presses():
    one = press(rtp.RtpStreamState(0, ssrc=1, timestamp=500), "3")
    two = press(rtp.RtpStreamState(0, ssrc=2, timestamp=500), "4")
    receiver = rtp.DtmfReceiver()
    heard = [receiver.feed(packet) for packet in one + two]
    assert [d for d in heard if d] == ["3", "4"]


def test_a_late_copy_of_an_earlier_press_is_not_a_new_one():
    packets = press(rtp.RtpStreamState(0), "89")
    receiver = rtp.DtmfReceiver(101)
    heard = [receiver.feed(packet) for packet in packets]
    heard += [receiver.feed(packets[0]), receiver.feed(packets[-1])]
    assert [d for d in heard if d] == ["8", "9"]


def test_events_that_are_not_keys_give_no_digit():
    flash = rtp.RtpPacket(101, 1, 0, 5, rtp.TelephoneEvent(16, False, 10, 160).to_bytes(), True)
    assert rtp.DtmfReceiver(101).feed(flash) is None


def test_a_long_press_sent_in_segments_is_one_digit():
    first = rtp.RtpPacket(101, 1, 1000, 5, rtp.TelephoneEvent(2, False, 10, 160).to_bytes(), True)
    last_of_segment = rtp.RtpPacket(
        101, 2, 1000, 5, rtp.TelephoneEvent(2, False, 10, 65440).to_bytes()
    )
    next_segment = rtp.RtpPacket(
        101, 3, 1000 + 65440, 5, rtp.TelephoneEvent(2, False, 10, 160).to_bytes()
    )
    end = rtp.RtpPacket(101, 4, 1000 + 65440, 5, rtp.TelephoneEvent(2, True, 10, 320).to_bytes())
    receiver = rtp.DtmfReceiver(101)
    assert [receiver.feed(p) for p in (first, last_of_segment, next_segment, end)] == [
        "2",
        None,
        None,
        None,
    ]


def test_a_marked_event_one_segment_later_is_a_new_press_not_a_continuation():
    first = rtp.RtpPacket(101, 1, 1000, 5, rtp.TelephoneEvent(2, False, 10, 65440).to_bytes(), True)
    again = rtp.RtpPacket(
        101, 2, 1000 + 65440, 5, rtp.TelephoneEvent(2, False, 10, 160).to_bytes(), True
    )
    receiver = rtp.DtmfReceiver(101)
    assert [receiver.feed(first), receiver.feed(again)] == ["2", "2"]


def test_an_event_after_an_ended_one_is_a_new_press_even_without_a_marker():
    ended = rtp.RtpPacket(101, 1, 1000, 5, rtp.TelephoneEvent(2, True, 10, 65440).to_bytes())
    again = rtp.RtpPacket(101, 2, 1000 + 65440, 5, rtp.TelephoneEvent(2, False, 10, 160).to_bytes())
    receiver = rtp.DtmfReceiver(101)
    assert [receiver.feed(ended), receiver.feed(again)] == ["2", "2"]


def test_the_receiver_ignores_other_payload_types_and_refuses_a_bad_event():
    receiver = rtp.DtmfReceiver(101)
    assert receiver.feed(rtp.RtpPacket(0, 1, 2, 3, bytes(160))) is None
    with pytest.raises(rtp.TelephoneEventError):
        receiver.feed(rtp.RtpPacket(101, 1, 2, 3, bytes(5)))


# --- robustness ---------------------------------------------------------------------------


def test_random_datagrams_parse_or_raise_rtp_error_and_parsed_ones_round_trip():
    rng = random.Random(3550)
    receiver = rtp.DtmfReceiver()
    parsed = 0
    for _ in range(5000):
        data = rng.randbytes(rng.randrange(0, 64))
        if rng.random() < 0.6 and data:
            data = bytes([rng.choice([0x80, 0x90, 0xA0, 0xB0, 0x81, 0x8F])]) + data[1:]
        try:
            packet = rtp.parse_rtp(data)
        except rtp.RtpError:
            continue
        parsed += 1
        again = rtp.parse_rtp(packet.to_bytes())
        assert again == packet
        try:
            receiver.feed(packet)
        except rtp.TelephoneEventError:
            assert len(packet.payload) != 4
    assert parsed > 500


def test_every_four_byte_payload_is_an_event_that_writes_back():
    rng = random.Random(4733)
    for _ in range(2000):
        payload = rng.randbytes(4)
        event = rtp.parse_telephone_event(payload)
        assert event.to_bytes() == bytes([payload[0], payload[1] & 0xBF, payload[2], payload[3]])
