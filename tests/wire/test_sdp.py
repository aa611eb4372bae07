"""SDP offer/answer without a socket: each real phone's offer gets G.711 and its own
telephone-event number back, and a broken or unusable offer is an SdpError with a status."""

from __future__ import annotations

import random

import pytest

from hotline.wire import sdp
from tests.wire.test_sip import BARESIP_INVITE, LINPHONE_INVITE, SIPP_INVITE


def body_of(invite: bytes) -> str:
    return invite.partition(b"\r\n\r\n")[2].decode("utf-8")


BARESIP_OFFER = body_of(BARESIP_INVITE)
SIPP_OFFER = body_of(SIPP_INVITE)
LINPHONE_OFFER = body_of(LINPHONE_INVITE)


def offer(*media_lines: str, session: str = "c=IN IP4 192.0.2.7\r\n") -> str:
    head = f"v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\n{session}t=0 0\r\n"
    return head + "".join(line + "\r\n" for line in media_lines)


# --- the phones' offers -------------------------------------------------------------------


def test_baresip_offer_parses_into_one_audio_stream():
    session = sdp.parse_sdp(BARESIP_OFFER)
    assert session.origin == sdp.Origin("-", "753278793", "2001837464", "IN", "IP4", "127.0.0.1")
    assert session.connection == "127.0.0.1"
    (audio,) = session.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 40228, "RTP/AVP")
    assert audio.formats == [0, 8, 101]
    assert audio.rtpmap[101] == sdp.RtpMap("telephone-event", 8000)
    assert audio.fmtp == {101: "0-15"}
    assert (audio.ptime, audio.direction, audio.connection) == (20, "sendrecv", None)
    assert ("ssrc", "82979068 cname:sip:caller@127.0.0.1") in audio.attributes


@pytest.mark.parametrize(
    ("body", "port", "dtmf"),
    [(BARESIP_OFFER, 40228, 101), (SIPP_OFFER, 6000, 101), (LINPHONE_OFFER, 7078, 101)],
)
def test_every_phone_gets_pcmu_and_its_8khz_telephone_event(body, port, dtmf):
    agreed = sdp.negotiate(sdp.parse_sdp(body))
    assert (agreed.codec, agreed.payload_type, agreed.clock_rate) == ("PCMU", 0, 8000)
    assert agreed.dtmf_payload_type == dtmf
    assert (agreed.remote_ip, agreed.remote_port, agreed.ptime) == ("127.0.0.1", port, 20)


def test_linphone_offer_knows_static_types_without_rtpmap_and_skips_other_event_rates():
    (audio,) = sdp.parse_sdp(LINPHONE_OFFER).media
    assert audio.formats == [96, 97, 98, 0, 8, 18, 99, 100, 101]
    assert 0 not in audio.rtpmap and audio.encoding(0) == sdp.RtpMap("PCMU", 8000)
    assert audio.encoding(18) == sdp.RtpMap("G729", 8000)
    assert audio.encoding(96) == sdp.RtpMap("opus", 48000, 2)
    assert audio.fmtp[18] == "annexb=yes"
    assert [audio.rtpmap[pt].clock_rate for pt in (99, 100, 101)] == [48000, 16000, 8000]
    assert sdp.negotiate(sdp.parse_sdp(LINPHONE_OFFER)).dtmf_payload_type == 101


def test_the_answer_to_baresip_is_what_baresip_accepted_in_research():
    agreed = sdp.negotiate(sdp.parse_sdp(BARESIP_OFFER))
    answer = sdp.answer_sdp(agreed, "127.0.0.1", 40000, session_id=1)
    assert answer == (
        "v=0\r\n"
        "o=hotline 1 1 IN IP4 127.0.0.1\r\n"
        "s=-\r\n"
        "c=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )


# --- choosing -----------------------------------------------------------------------------


def test_the_callers_order_decides_between_pcmu_and_pcma():
    agreed = sdp.negotiate(sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 8 0 101")))
    assert (agreed.codec, agreed.payload_type) == ("PCMA", 8)
    assert agreed.dtmf_payload_type is None  # 101 has no rtpmap: not known as an event


def test_supported_limits_the_choice():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0 8"))
    assert sdp.negotiate(parsed, supported=("PCMA",)).codec == "PCMA"


def test_the_answer_mirrors_a_telephone_event_offered_as_96():
    parsed = sdp.parse_sdp(
        offer("m=audio 4000 RTP/AVP 8 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15")
    )
    agreed = sdp.negotiate(parsed)
    assert agreed.dtmf_payload_type == 96
    answer = sdp.answer_sdp(agreed, "192.0.2.1", 30000)
    assert "m=audio 30000 RTP/AVP 8 96\r\n" in answer
    assert "a=rtpmap:96 telephone-event/8000\r\n" in answer
    assert "a=fmtp:96 0-16\r\n" in answer
    assert "101" not in answer.split("t=0 0")[1]


def test_a_dynamic_payload_type_named_pcmu_is_used_as_offered():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 110", "a=rtpmap:110 pcmu/8000"))
    agreed = sdp.negotiate(parsed)
    assert (agreed.codec, agreed.payload_type) == ("PCMU", 110)


def test_pcmu_at_another_rate_or_in_stereo_is_not_g711():
    for rtpmap in ("a=rtpmap:110 PCMU/16000", "a=rtpmap:110 PCMU/8000/2"):
        with pytest.raises(sdp.SdpNegotiationError):
            sdp.negotiate(sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 110", rtpmap)))


def test_a_g729_only_offer_has_no_common_codec():
    parsed = sdp.parse_sdp(
        offer("m=audio 4000 RTP/AVP 18 101", "a=rtpmap:101 telephone-event/8000")
    )
    with pytest.raises(sdp.SdpError) as caught:
        sdp.negotiate(parsed)
    assert caught.value.status == 488
    assert "no common codec" in str(caught.value)
    assert "G729" in str(caught.value)


def test_media_connection_wins_over_the_session_one():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.3"))
    assert sdp.negotiate(parsed).remote_ip == "198.51.100.3"


def test_an_offer_without_any_connection_address_is_refused():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", session=""))
    with pytest.raises(sdp.SdpNegotiationError):
        sdp.negotiate(parsed)


def test_a_connection_address_that_is_not_an_ip_is_refused():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", session="c=IN IP4 pc.example.org\r\n"))
    with pytest.raises(sdp.SdpNegotiationError):
        sdp.negotiate(parsed)


def test_an_offer_without_usable_audio_is_refused():
    for media in (
        ["m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000"],
        ["m=audio 0 RTP/AVP 0"],
        ["m=audio 4000 RTP/SAVP 0"],
        [],
    ):
        with pytest.raises(sdp.SdpNegotiationError) as caught:
            sdp.negotiate(sdp.parse_sdp(offer(*media)))
        assert caught.value.status == 488


def test_the_first_usable_audio_stream_is_chosen_and_the_others_are_rejected_in_the_answer():
    parsed = sdp.parse_sdp(
        offer(
            "m=audio 4000 RTP/SAVP 0",
            "m=audio 4002 RTP/AVP 0 8",
            "m=video 5000 RTP/AVP 96",
            "a=rtpmap:96 H264/90000",
            "m=image 6000 udptl t38",
        )
    )
    agreed = sdp.negotiate(parsed)
    assert (agreed.remote_port, agreed.media_index) == (4002, 1)
    answer = sdp.answer_sdp(agreed, "192.0.2.1", 30000)
    media_lines = [line for line in answer.split("\r\n") if line.startswith("m=")]
    assert media_lines == [
        "m=audio 0 RTP/SAVP 0",
        "m=audio 30000 RTP/AVP 0",
        "m=video 0 RTP/AVP 96",
        "m=image 0 udptl t38",
    ]
    assert len(sdp.parse_sdp(answer).media) == 4


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_the_answer_direction_mirrors_the_offer(offered, answered):
    agreed = sdp.negotiate(sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", f"a={offered}")))
    assert agreed.direction == answered
    assert f"a={answered}\r\n" in sdp.answer_sdp(agreed, "192.0.2.1", 30000)


def test_session_level_ptime_and_direction_apply_to_streams_that_do_not_override_them():
    parsed = sdp.parse_sdp(
        offer(
            "m=audio 4000 RTP/AVP 0",
            "m=audio 4002 RTP/AVP 0",
            "a=ptime:20",
            "a=sendrecv",
            session="c=IN IP4 192.0.2.7\r\na=ptime:30\r\na=sendonly\r\n",
        )
    )
    assert [(m.ptime, m.direction) for m in parsed.media] == [(30, "sendonly"), (20, "sendrecv")]
    assert sdp.negotiate(parsed).ptime == 30


def test_lf_only_sdp_and_bytes_parse_too():
    lf = BARESIP_OFFER.replace("\r\n", "\n")
    assert sdp.parse_sdp(lf) == sdp.parse_sdp(BARESIP_OFFER)
    assert sdp.parse_sdp(BARESIP_OFFER.encode()) == sdp.parse_sdp(BARESIP_OFFER)


def test_an_ipv6_connection_is_kept_without_its_ttl_suffix():
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", session="c=IN IP6 fd00::2\r\n"))
    assert sdp.negotiate(parsed).remote_ip == "fd00::2"
    parsed = sdp.parse_sdp(offer("m=audio 4000 RTP/AVP 0", session="c=IN IP4 224.2.1.1/127\r\n"))
    assert parsed.connection == "224.2.1.1"


# --- writing ------------------------------------------------------------------------------


def test_our_offer_is_negotiated_by_our_own_parser():
    text = sdp.offer_sdp("10.1.2.3", 40010, codecs=("PCMA", "PCMU"), dtmf_payload_type=100)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    agreed = sdp.negotiate(sdp.parse_sdp(text))
    assert (agreed.codec, agreed.payload_type, agreed.dtmf_payload_type) == ("PCMA", 8, 100)
    assert (agreed.remote_ip, agreed.remote_port) == ("10.1.2.3", 40010)


def test_an_offer_without_dtmf_has_no_telephone_event():
    text = sdp.offer_sdp("10.1.2.3", 40010, codecs=("PCMU",), dtmf_payload_type=None)
    assert "telephone-event" not in text
    assert sdp.negotiate(sdp.parse_sdp(text)).dtmf_payload_type is None


def test_an_answer_for_an_ipv6_address_says_ip6():
    agreed = sdp.negotiate(sdp.parse_sdp(SIPP_OFFER))
    answer = sdp.answer_sdp(agreed, "::1", 30000, session_id=5)
    assert "o=hotline 5 5 IN IP6 ::1\r\n" in answer and "c=IN IP6 ::1\r\n" in answer


def test_writing_refuses_what_cannot_be_offered():
    with pytest.raises(ValueError):
        sdp.offer_sdp("10.1.2.3", 40010, codecs=("G729",))
    with pytest.raises(ValueError):
        sdp.offer_sdp("10.1.2.3", 0)
    with pytest.raises(ValueError):
        sdp.answer_sdp(sdp.negotiate(sdp.parse_sdp(SIPP_OFFER)), "bad address", 30000)


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "",
        "m=audio x RTP/AVP 0",
        "v=0\r\nm=audio x RTP/AVP 0\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP zero\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 128\r\n",
        "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
        "v=0\r\nm=audio -1 RTP/AVP 0\r\n",
        "v=0\r\nm=audio 4000/x RTP/AVP 0\r\n",
        "v=1\r\n",
        "v=0\r\nv=0\r\n",
        "v=0\r\nno equals sign\r\n",
        "v=0\r\nA=upper type\r\n",
        "v = 0\r\n",
        "v=0\r\nc=IN IP4\r\n",
        "v=0\r\nc=ATM NSAP x\r\n",
        "v=0\r\no=too few\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:x PCMU/8000\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/fast\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=fmtp:x 0-15\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:soon\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:0\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=\r\n",
    ],
)
def test_broken_sdp_is_a_syntax_error_answered_400(text):
    with pytest.raises(sdp.SdpSyntaxError) as caught:
        sdp.parse_sdp(text)
    assert caught.value.status == 400
    assert isinstance(caught.value, sdp.SdpError) and isinstance(caught.value, ValueError)


def test_non_utf8_sdp_bytes_are_a_syntax_error():
    with pytest.raises(sdp.SdpSyntaxError):
        sdp.parse_sdp(b"v=0\r\ns=\xff\r\n")


def test_unknown_lines_and_non_rtp_streams_do_not_break_parsing():
    parsed = sdp.parse_sdp(
        offer(
            "m=audio 4000 RTP/AVP 0",
            "b=AS:64",
            "a=x-unknown",
            "m=application 9 UDP/BFCP *",
            "a=floorctrl:c-s",
        )
    )
    assert [m.formats for m in parsed.media] == [[0], []]
    assert parsed.media[1].raw_formats == ["*"]


# --- robustness ---------------------------------------------------------------------------


def test_random_and_mutated_offers_parse_or_raise_sdp_error():
    rng = random.Random(4566)
    seeds = [BARESIP_OFFER, SIPP_OFFER, LINPHONE_OFFER]
    pieces = [
        "=",
        " ",
        ":",
        "/",
        "\r\n",
        "\n",
        "m=audio ",
        "a=rtpmap:",
        "x",
        "0",
        "-1",
        "\x00",
        "é",
    ]
    negotiated = 0
    for _ in range(3000):
        text = rng.choice(seeds)
        if rng.random() < 0.2:
            text = "".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(text) + 1)
            action = rng.random()
            if action < 0.4:
                text = text[:position] + rng.choice(pieces) + text[position:]
            elif action < 0.8:
                text = text[:position] + text[position + rng.randint(1, 12) :]
            else:
                lines = text.split("\r\n")
                rng.shuffle(lines)
                text = "\r\n".join(lines)
        try:
            agreed = sdp.negotiate(sdp.parse_sdp(text))
        except sdp.SdpError:
            continue
        negotiated += 1
        answer = sdp.answer_sdp(agreed, "127.0.0.1", 40000)
        assert sdp.negotiate(sdp.parse_sdp(answer)).payload_type == agreed.payload_type
    assert negotiated > 200
