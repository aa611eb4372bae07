"""SIP without a socket: what real phones send parses, what we answer routes back to them,
and any datagram either parses or raises SipError with a status to answer."""

from __future__ import annotations

import itertools
import random

import pytest

from hotline.wire import sip


def crlf(text: str) -> bytes:
    """A message as captured, written here with LF line ends, back to its CRLF bytes."""
    return text.replace("\n", "\r\n").encode("utf-8")


# What uas.py on 127.0.0.1:5090 received from each phone (../research for issue 9, §1.4,
# §2 and §3), byte for byte but for the line ends. Each dialog's ACK and BYE are from the
# same capture as its INVITE; our 200 OK gave the tags uas6003, uas4781 and uas9871.
BARESIP_INVITE = crlf("""\
INVITE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK68f549e83ade0907;rport
Contact: <sip:caller-0x55dde4dcddb0@127.0.0.1:5070>
Max-Forwards: 70
To: <sip:ko@127.0.0.1:5090>
From: <sip:caller@127.0.0.1>;tag=c41ef12aacc26657
Call-ID: 13ec4742f0ded282
CSeq: 46133 INVITE
User-Agent: baresip v1.0.0 (x86_64/linux)
Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,REFER
Supported:
Content-Type: application/sdp
Content-Length: 337

v=0
o=- 753278793 2001837464 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=tool:baresip 1.0.0
m=audio 40228 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:82979068 cname:sip:caller@127.0.0.1
a=minptime:20
a=ptime:20
""")

BARESIP_ACK = crlf("""\
ACK sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2603053831cfb84e;rport
Max-Forwards: 70
To: <sip:ko@127.0.0.1:5090>;tag=uas6003
From: <sip:caller@127.0.0.1>;tag=c41ef12aacc26657
Call-ID: 13ec4742f0ded282
CSeq: 46133 ACK
User-Agent: baresip v1.0.0 (x86_64/linux)
Content-Length: 0

""")

BARESIP_BYE = crlf("""\
BYE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK4e7d8afd74ab8513;rport
Max-Forwards: 70
To: <sip:ko@127.0.0.1:5090>;tag=uas6003
From: <sip:caller@127.0.0.1>;tag=c41ef12aacc26657
Call-ID: 13ec4742f0ded282
CSeq: 46134 BYE
User-Agent: baresip v1.0.0 (x86_64/linux)
Content-Length: 0

""")

SIPP_INVITE = crlf("""\
INVITE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-15096-1-0
From: "sipp" <sip:sipp@127.0.0.1:5072>;tag=15096SIPpTag001
To: <sip:ko@127.0.0.1:5090>
Call-ID: 1-15096@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:sipp@127.0.0.1:5072>
Max-Forwards: 70
Subject: hotline test
Content-Type: application/sdp
Content-Length:   209

v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
""")

SIPP_ACK = crlf("""\
ACK sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-15096-1-5
From: "sipp" <sip:sipp@127.0.0.1:5072>;tag=15096SIPpTag001
To: <sip:ko@127.0.0.1:5090>;tag=uas4781
Call-ID: 1-15096@127.0.0.1
CSeq: 1 ACK
Contact: <sip:sipp@127.0.0.1:5072>
Max-Forwards: 70
Content-Length: 0

""")

SIPP_BYE = crlf("""\
BYE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-15096-1-10
From: "sipp" <sip:sipp@127.0.0.1:5072>;tag=15096SIPpTag001
To: <sip:ko@127.0.0.1:5090>;tag=uas4781
Call-ID: 1-15096@127.0.0.1
CSeq: 2 BYE
Contact: <sip:sipp@127.0.0.1:5072>
Max-Forwards: 70
Content-Length: 0

""")

LINPHONE_INVITE = crlf("""\
INVITE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5076;branch=z9hG4bK.wyxrjJHuO;rport
From: <sip:linphone@192.0.2.2>;tag=fP7PlT6Fs
To: sip:ko@127.0.0.1
CSeq: 20 INVITE
Call-ID: rDpDK4kNHn
Max-Forwards: 70
Supported: replaces, outbound, gruu
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, PRACK, UPDATE
Content-Type: application/sdp
Content-Length: 515
Contact: <sip:127.0.0.1:5076;transport=udp>;+sip.instance="<urn:uuid:15ec87c1-ada3-0058-800a-9499e2d4abfd>"
User-Agent: Linphonec/5.1.65

v=0
o=linphone 2467 540 IN IP4 127.0.0.1
s=Talk
c=IN IP4 127.0.0.1
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 99 100 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:99 telephone-event/48000
a=rtpmap:100 telephone-event/16000
a=rtpmap:101 telephone-event/8000
a=rtcp-fb:* trr-int 5000
a=rtcp-fb:* ccm tmmbr
""")

# linphone sends no Content-Length on its ACK and BYE: over UDP the body is the rest.
LINPHONE_ACK = crlf("""\
ACK sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5076;rport;branch=z9hG4bK.t79IpRV3q
From: <sip:linphone@192.0.2.2>;tag=fP7PlT6Fs
To: <sip:ko@127.0.0.1>;tag=uas9871
CSeq: 20 ACK
Call-ID: rDpDK4kNHn
Max-Forwards: 70
User-Agent: Linphonec/5.1.65

""")

LINPHONE_BYE = crlf("""\
BYE sip:ko@127.0.0.1:5090 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5076;branch=z9hG4bK.ymE3B4vCV;rport
From: <sip:linphone@192.0.2.2>;tag=fP7PlT6Fs
To: <sip:ko@127.0.0.1>;tag=uas9871
CSeq: 21 BYE
Call-ID: rDpDK4kNHn
Max-Forwards: 70
User-Agent: Linphonec/5.1.65

""")

PHONE_MESSAGES = [
    BARESIP_INVITE,
    BARESIP_ACK,
    BARESIP_BYE,
    SIPP_INVITE,
    SIPP_ACK,
    SIPP_BYE,
    LINPHONE_INVITE,
    LINPHONE_ACK,
    LINPHONE_BYE,
]

MINIMAL = (
    "OPTIONS sip:ko@127.0.0.1:5090 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt1\r\n"
    "From: <sip:probe@127.0.0.1>;tag=p1\r\n"
    "To: <sip:ko@127.0.0.1:5090>\r\n"
    "Call-ID: opt-1\r\n"
    "CSeq: 7 OPTIONS\r\n"
)


def minimal(extra: str = "", body: str = "", without: str | None = None) -> bytes:
    lines = [line for line in MINIMAL.split("\r\n") if line]
    if without is not None:
        lines = [line for line in lines if not line.startswith(without + ":")]
    head = "\r\n".join(lines) + "\r\n" + extra
    return (head + "\r\n" + body).encode("utf-8")


# --- the phones' messages ----------------------------------------------------------------


def test_baresip_invite_parses_with_its_empty_supported_header_and_late_cseq():
    invite = sip.parse_message(BARESIP_INVITE)
    assert isinstance(invite, sip.SipRequest)
    assert (invite.method, invite.uri) == ("INVITE", "sip:ko@127.0.0.1:5090")
    assert invite.call_id == "13ec4742f0ded282"
    assert invite.cseq == (46133, "INVITE")
    assert invite.from_tag == "c41ef12aacc26657"
    assert invite.to_tag is None
    assert invite.headers.get("Supported") == ""
    assert "Supported" in invite.headers
    assert len(invite.body) == 337
    assert invite.body.startswith(b"v=0\r\n") and invite.body.endswith(b"a=ptime:20\r\n")
    assert sip.top_via(invite).wants_rport


def test_sipp_invite_parses_with_its_padded_content_length_and_quoted_display_name():
    invite = sip.parse_message(SIPP_INVITE)
    assert invite.cseq == (1, "INVITE")
    assert len(invite.body) == 209
    assert invite.from_tag == "15096SIPpTag001"
    caller = sip.parse_name_addr(invite.headers.get("From"))
    assert caller.display == "sipp"
    assert caller.uri == sip.SipUri("sip", "sipp", "127.0.0.1", 5072)
    assert invite.headers.get("Subject") == "hotline test"
    assert not sip.top_via(invite).wants_rport


def test_linphone_invite_parses_with_a_bare_to_and_an_instance_in_its_contact():
    invite = sip.parse_message(LINPHONE_INVITE)
    assert invite.cseq == (20, "INVITE")
    assert invite.call_id == "rDpDK4kNHn"
    assert len(invite.body) == 515
    assert invite.to_tag is None
    to = sip.parse_name_addr(invite.headers.get("To"))
    assert (to.display, to.uri.user, to.uri.host, to.uri.port) == (None, "ko", "127.0.0.1", None)
    contact = sip.parse_name_addr(invite.headers.get("Contact"))
    assert contact.uri == sip.SipUri("sip", None, "127.0.0.1", 5076, {"transport": "udp"})
    assert contact.params == {"+sip.instance": '"<urn:uuid:15ec87c1-ada3-0058-800a-9499e2d4abfd>"'}


@pytest.mark.parametrize(
    ("invite", "line"),
    [(BARESIP_INVITE, "ko"), (SIPP_INVITE, "ko"), (LINPHONE_INVITE, "ko")],
)
def test_the_request_uri_user_names_the_line_for_every_phone(invite, line):
    assert sip.parse_uri(sip.parse_message(invite).uri).user == line


@pytest.mark.parametrize(
    ("invite", "ack", "bye", "tag"),
    [
        (BARESIP_INVITE, BARESIP_ACK, BARESIP_BYE, "uas6003"),
        (SIPP_INVITE, SIPP_ACK, SIPP_BYE, "uas4781"),
        (LINPHONE_INVITE, LINPHONE_ACK, LINPHONE_BYE, "uas9871"),
    ],
)
def test_a_phones_ack_and_bye_carry_the_dialog_our_200_created(invite, ack, bye, tag):
    invite, ack, bye = map(sip.parse_message, (invite, ack, bye))
    ok = sip.parse_message(sip.serialize(sip.response_to(invite, 200, to_tag=tag)))
    dialog = (ok.call_id, ok.from_tag, ok.to_tag)
    assert dialog == (invite.call_id, invite.from_tag, tag)
    assert (ack.call_id, ack.from_tag, ack.to_tag) == dialog
    assert (bye.call_id, bye.from_tag, bye.to_tag) == dialog
    assert ack.cseq == (invite.cseq[0], "ACK")
    assert bye.cseq[0] > invite.cseq[0] and bye.cseq[1] == "BYE"
    assert ack.body == bye.body == b""
    assert sip.top_via(ack).branch != sip.top_via(invite).branch


@pytest.mark.parametrize("message", PHONE_MESSAGES)
def test_serializing_what_a_phone_sent_keeps_every_header_and_the_body(message):
    parsed = sip.parse_message(message)
    again = sip.parse_message(sip.serialize(parsed))
    assert type(again) is type(parsed)
    assert again.body == parsed.body

    def without_length(headers):
        return [(n.lower(), v) for n, v in headers if n.lower() != "content-length"]

    assert without_length(again.headers) == without_length(parsed.headers)
    assert sip.serialize(again) == sip.serialize(parsed)


def test_serialize_writes_crlf_and_a_content_length_from_the_body():
    request = sip.parse_message(minimal())
    request.body = b"hello"
    data = sip.serialize(request)
    assert b"\r\nContent-Length: 5\r\n\r\nhello" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


# --- tolerance ----------------------------------------------------------------------------


def test_lf_only_line_ends_parse_like_crlf():
    head, _, body = BARESIP_INVITE.partition(b"\r\n\r\n")
    lf = sip.parse_message(head.replace(b"\r\n", b"\n") + b"\n\n" + body)
    crlf_message = sip.parse_message(BARESIP_INVITE)
    assert list(lf.headers) == list(crlf_message.headers)
    assert lf.body == crlf_message.body


def test_a_body_without_content_length_is_the_rest_of_the_datagram():
    message = sip.parse_message(minimal(body="v=0\n"))
    assert message.body == b"v=0\n"


def test_a_body_longer_than_content_length_is_cut_to_it():
    message = sip.parse_message(minimal("Content-Length: 3\r\n", "v=0\r\nextra"))
    assert message.body == b"v=0"


def test_compact_header_names_are_expanded():
    data = (
        b"BYE sip:ko@127.0.0.1 SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKc1\r\n"
        b"f: <sip:a@10.0.0.1>;tag=1\r\n"
        b"t: <sip:ko@127.0.0.1>;tag=2\r\n"
        b"i: compact-1\r\n"
        b"CSeq: 2 BYE\r\n"
        b"m: <sip:a@10.0.0.1>\r\n"
        b"k: timer\r\n"
        b"s: hi\r\n"
        b"l: 0\r\n\r\n"
    )
    message = sip.parse_message(data)
    names = [name for name, _ in message.headers]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Supported",
        "Subject",
        "Content-Length",
    ]
    assert message.call_id == "compact-1"
    assert (message.from_tag, message.to_tag) == ("1", "2")
    assert message.headers.get("i") == "compact-1"


def test_folded_headers_are_joined_with_one_space():
    message = sip.parse_message(minimal("Subject: a long\r\n   subject\r\n\tline\r\n"))
    assert message.headers.get("Subject") == "a long subject line"


def test_whitespace_around_the_colon_is_ignored():
    message = sip.parse_message(minimal("Max-Forwards   :   70\r\nContent-Length\t: 0\r\n"))
    assert message.headers.get("max-forwards") == "70"


def test_crlf_before_the_start_line_is_skipped_and_a_bare_crlf_is_a_keepalive():
    assert sip.parse_message(b"\r\n\r\n" + minimal()).method == "OPTIONS"
    assert sip.is_keepalive(b"\r\n\r\n")
    assert not sip.is_keepalive(minimal())
    assert not sip.is_keepalive(b"")


def test_a_response_parses_with_its_status_and_reason():
    data = crlf("""\
SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKbye1
From: <sip:ko@127.0.0.1:5090>;tag=ours
To: <sip:caller@127.0.0.1>;tag=theirs
Call-ID: c1
CSeq: 3 BYE
Content-Length: 0

""")
    response = sip.parse_message(data)
    assert isinstance(response, sip.SipResponse)
    assert (response.status, response.reason, response.cseq) == (486, "Busy Here", (3, "BYE"))


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_a_request_without_a_mandatory_header_is_a_400(header):
    with pytest.raises(sip.SipError) as caught:
        sip.parse_message(minimal(without=header))
    assert caught.value.status == 400
    assert header in caught.value.reason
    assert caught.value.request is None


@pytest.mark.parametrize(
    "cseq", ["abc OPTIONS", "7", "7 INVITE", "-1 OPTIONS", "99999999999 OPTIONS", "7 OPTIONS x"]
)
def test_a_bad_cseq_is_a_400(cseq):
    data = minimal(without="CSeq").replace(b"\r\n\r\n", f"\r\nCSeq: {cseq}\r\n\r\n".encode())
    with pytest.raises(sip.MalformedMessage) as caught:
        sip.parse_message(data)
    assert caught.value.status == 400


def test_a_body_shorter_than_content_length_is_a_400_that_can_still_be_answered():
    with pytest.raises(sip.SipError) as caught:
        sip.parse_message(BARESIP_INVITE[:-10])
    assert caught.value.status == 400
    request = caught.value.request
    assert request is not None and request.call_id == "13ec4742f0ded282"
    reply = sip.response_to(request, caught.value.status)
    assert (reply.status, reply.reason, reply.cseq) == (400, "Bad Request", (46133, "INVITE"))


@pytest.mark.parametrize("value", ["abc", "-1", "1 2", "12345678901"])
def test_a_bad_content_length_is_a_400(value):
    with pytest.raises(sip.MalformedMessage):
        sip.parse_message(minimal(f"Content-Length: {value}\r\n"))


def test_non_utf8_headers_are_a_400():
    with pytest.raises(sip.MalformedMessage) as caught:
        sip.parse_message(minimal("Subject: caf\xe9\r\n").replace("é".encode(), b"\xe9"))
    assert caught.value.status == 400


def test_a_body_need_not_be_utf8():
    message = sip.parse_message(minimal("Content-Length: 2\r\n", "") + b"\xff\xfe")
    assert message.body == b"\xff\xfe"


@pytest.mark.parametrize(
    "start",
    [
        "INVITE sip:ko@127.0.0.1",
        "INVITE sip:ko@127.0.0.1 SIP/2.0 extra",
        "INVITE sip:ko@127.0.0.1 HTTP/1.1",
        "IN<VITE sip:ko@127.0.0.1 SIP/2.0",
        "SIP/2.0 abc Bad",
        "SIP/2.0 99 Too Low",
        "SIP/2.0 700 Too High",
        "SIP/2.0",
        "",
    ],
)
def test_a_bad_start_line_is_a_400(start):
    data = minimal().split(b"\r\n", 1)[1]
    with pytest.raises(sip.MalformedMessage):
        sip.parse_message(start.encode() + b"\r\n" + data)


def test_another_sip_version_is_a_505_that_can_be_answered():
    data = minimal().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    with pytest.raises(sip.UnsupportedVersion) as caught:
        sip.parse_message(data)
    assert caught.value.status == 505
    assert caught.value.request is not None
    assert sip.response_to(caught.value.request, 505).reason == "Version Not Supported"


@pytest.mark.parametrize(
    "line", ["no colon here", ": no name", "Bad Name: x", "X-Ctl: a\x01b", " folded first"]
)
def test_a_bad_header_line_is_a_400(line):
    lines = minimal().split(b"\r\n")
    lines.insert(1, line.encode())
    with pytest.raises(sip.MalformedMessage):
        sip.parse_message(b"\r\n".join(lines))


@pytest.mark.parametrize("data", [b"", b"\r\n", b"garbage", b"\x00" * 40, b"INVITE"])
def test_garbage_is_a_sip_error(data):
    with pytest.raises(sip.SipError):
        sip.parse_message(data)


# --- Headers ------------------------------------------------------------------------------


def test_headers_are_ordered_case_insensitive_and_keep_repeated_lines():
    headers = sip.Headers([("Via", "a"), ("From", "f"), ("via", "b, c")])
    assert headers.get("VIA") == "a"
    assert headers.get_all("v") == ["a", "b, c"]
    assert headers.get("Missing") is None
    assert list(headers) == [("Via", "a"), ("From", "f"), ("Via", "b, c")]
    headers.set("Via", "z")
    assert list(headers) == [("Via", "z"), ("From", "f")]
    headers.set("Contact", "<sip:x@y>")
    assert list(headers)[-1] == ("Contact", "<sip:x@y>")
    headers.remove("from")
    assert "From" not in headers and len(headers) == 2
    headers.add("l", "0")
    assert headers.get("Content-Length") == "0"


def test_serialize_refuses_a_header_value_that_would_inject_a_line():
    request = sip.parse_message(minimal())
    request.headers.add("Subject", "hi\r\nVia: SIP/2.0/UDP evil")
    with pytest.raises(ValueError):
        sip.serialize(request)


# --- URIs, addresses, Via -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "uri"),
    [
        ("sip:ko@127.0.0.1:5090", sip.SipUri("sip", "ko", "127.0.0.1", 5090)),
        ("sip:ko@127.0.0.1", sip.SipUri("sip", "ko", "127.0.0.1")),
        ("SIP:ko@example.org", sip.SipUri("sip", "ko", "example.org")),
        (
            "sips:bob@example.com;transport=tcp;lr",
            sip.SipUri("sips", "bob", "example.com", None, {"transport": "tcp", "lr": None}),
        ),
        (
            "sip:127.0.0.1:5076;transport=udp",
            sip.SipUri("sip", None, "127.0.0.1", 5076, {"transport": "udp"}),
        ),
        ("sip:+15551234@[2001:db8::1]:5060", sip.SipUri("sip", "+15551234", "2001:db8::1", 5060)),
        (
            "sip:caller-0x55dde4dcddb0@127.0.0.1:5070",
            sip.SipUri("sip", "caller-0x55dde4dcddb0", "127.0.0.1", 5070),
        ),
        (
            "sip:+1-212-555-1212;isub=1@gw.example.com;user=phone?subject=x",
            sip.SipUri(
                "sip",
                "+1-212-555-1212;isub=1",
                "gw.example.com",
                None,
                {"user": "phone"},
                "subject=x",
            ),
        ),
    ],
)
def test_sip_uris_parse_and_render_back(text, uri):
    assert sip.parse_uri(text) == uri
    assert sip.parse_uri(str(uri)) == uri


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "sip:",
        "sip:@127.0.0.1",
        "sip:ko@",
        "sip:ko@host:port",
        "sip:ko@host:0",
        "sip:ko@host:65536",
        "sip:ko@ho st",
        "sip:k o@host",
        "sip:ko@[::zz]",
        "sip:ko@[::1",
        "sip:ko@host;=x",
        "sip:ko@host;a=",
        "1sip:ko@host",
    ],
)
def test_a_broken_uri_is_a_400(text):
    with pytest.raises(sip.MalformedMessage):
        sip.parse_uri(text)


@pytest.mark.parametrize("text", ["tel:+15551234", "http://example.org/", "mailto:a@b"])
def test_a_uri_of_another_scheme_is_a_416(text):
    with pytest.raises(sip.UnsupportedUriScheme) as caught:
        sip.parse_uri(text)
    assert caught.value.status == 416


@pytest.mark.parametrize(
    ("value", "display", "uri", "params"),
    [
        ("<sip:caller@127.0.0.1>;tag=c41e", None, "sip:caller@127.0.0.1", {"tag": "c41e"}),
        ('"sipp" <sip:sipp@127.0.0.1:5072>;tag=1', "sipp", "sip:sipp@127.0.0.1:5072", {"tag": "1"}),
        ("sip:ko@127.0.0.1", None, "sip:ko@127.0.0.1", {}),
        ("sip:ko@127.0.0.1;tag=x", None, "sip:ko@127.0.0.1", {"tag": "x"}),
        ("Bob  Smith <sip:bob@h>", "Bob Smith", "sip:bob@h", {}),
        ('"A \\"quoted\\" name" <sip:a@h> ; tag = 7', 'A "quoted" name', "sip:a@h", {"tag": "7"}),
        ('"" <sip:a@h;transport=udp>;expires=60', "", "sip:a@h;transport=udp", {"expires": "60"}),
    ],
)
def test_name_addrs_parse_with_or_without_angle_brackets(value, display, uri, params):
    address = sip.parse_name_addr(value)
    assert address.display == display
    assert str(address.uri) == uri
    assert address.params == params
    assert address.tag == params.get("tag")
    assert sip.parse_name_addr(str(address)) == address


@pytest.mark.parametrize(
    "value",
    ["", "<sip:a@h", '"unterminated <sip:a@h>', '"name" sip:a@h', "sip:a@h>", "<sip:a@h>;tag="],
)
def test_a_broken_name_addr_is_a_sip_error(value):
    with pytest.raises(sip.SipError):
        sip.parse_name_addr(value)


def test_split_values_keeps_commas_inside_quotes_and_brackets():
    value = '"Smith, Bob" <sip:b@h;x=1>, <sip:c@h>;q=0.5'
    assert sip.split_values(value) == ['"Smith, Bob" <sip:b@h;x=1>', "<sip:c@h>;q=0.5"]


@pytest.mark.parametrize(
    ("value", "via"),
    [
        (
            "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK68f549e83ade0907;rport",
            sip.Via("UDP", "127.0.0.1", 5070, {"branch": "z9hG4bK68f549e83ade0907", "rport": None}),
        ),
        (
            "SIP/2.0/UDP 127.0.0.1:5076;rport;branch=z9hG4bK.t79IpRV3q",
            sip.Via("UDP", "127.0.0.1", 5076, {"rport": None, "branch": "z9hG4bK.t79IpRV3q"}),
        ),
        (
            "SIP / 2.0 / udp  pc.example.com ; branch=z9hG4bKx ; received=10.0.0.9",
            sip.Via("UDP", "pc.example.com", None, {"branch": "z9hG4bKx", "received": "10.0.0.9"}),
        ),
        (
            "SIP/2.0/UDP [::1]:5062;branch=z9hG4bK6, SIP/2.0/TCP proxy:5060;branch=z9hG4bK5",
            sip.Via("UDP", "::1", 5062, {"branch": "z9hG4bK6"}),
        ),
    ],
)
def test_via_parses_the_topmost_value(value, via):
    parsed = sip.parse_via(value)
    assert parsed == via
    assert parsed.branch == via.params["branch"]
    assert sip.parse_via(str(parsed)) == parsed


@pytest.mark.parametrize(
    "value", ["", "SIP/2.0/UDP", "SIP/2.0/UDP ;branch=x", "HTTP/1.1/TCP h", "SIP/2.0/UDP h:99999"]
)
def test_a_broken_via_is_a_400(value):
    with pytest.raises(sip.MalformedMessage):
        sip.parse_via(value)


@pytest.mark.parametrize(
    ("via", "source", "address"),
    [
        # rport (RFC 3581): back to where it came from, whatever the Via says
        (
            "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;rport",
            ("192.0.2.9", 40123),
            ("192.0.2.9", 40123),
        ),
        # no rport: the source IP (the received address) at the port in the Via
        ("SIP/2.0/UDP 10.0.0.5:5072;branch=z9hG4bK1", ("192.0.2.9", 40123), ("192.0.2.9", 5072)),
        ("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1", ("192.0.2.9", 40123), ("192.0.2.9", 5060)),
        ("SIP/2.0/TLS pc.example.com;branch=z9hG4bK1", ("192.0.2.9", 40123), ("192.0.2.9", 5061)),
        (
            "SIP/2.0/UDP h:5072;branch=z9hG4bK1;maddr=239.1.1.1",
            ("192.0.2.9", 40123),
            ("239.1.1.1", 5072),
        ),
        ("SIP/2.0/UDP [::1]:5062;branch=z9hG4bK1;rport", ("::1", 5062, 0, 0), ("::1", 5062)),
    ],
)
def test_the_response_address_follows_rfc3261_and_rport(via, source, address):
    assert sip.response_address(sip.parse_via(via), source) == address


def test_received_via_stamps_received_and_rport_on_the_top_via_only():
    value = "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;rport, SIP/2.0/UDP proxy;branch=z9hG4bK0"
    stamped = sip.received_via(value, ("192.0.2.9", 40123))
    top = sip.parse_via(stamped)
    assert top.params == {"branch": "z9hG4bK1", "rport": "40123", "received": "192.0.2.9"}
    assert sip.split_values(stamped)[1] == "SIP/2.0/UDP proxy;branch=z9hG4bK0"
    assert sip.response_address(top, ("203.0.113.1", 1)) == ("192.0.2.9", 40123)
    same_host = sip.received_via("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1", ("10.0.0.5", 5060))
    assert "received" not in sip.parse_via(same_host).params


# --- what we send -------------------------------------------------------------------------


def test_response_to_copies_the_dialog_headers_and_adds_our_to_tag():
    invite = sip.parse_message(LINPHONE_INVITE)
    ok = sip.response_to(
        invite,
        200,
        to_tag="uas9871",
        body=b"v=0\r\n",
        content_type="application/sdp",
        headers=[("Contact", "<sip:ko@127.0.0.1:5090>"), ("Allow", sip.ALLOW)],
    )
    assert (ok.status, ok.reason) == (200, "OK")
    assert [name for name, _ in ok.headers] == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Allow",
        "Content-Type",
    ]
    assert ok.headers.get("Via") == invite.headers.get("Via")
    assert ok.headers.get("From") == invite.headers.get("From")
    assert ok.headers.get("To") == "sip:ko@127.0.0.1;tag=uas9871"
    assert (ok.call_id, ok.cseq, ok.to_tag) == ("rDpDK4kNHn", (20, "INVITE"), "uas9871")
    assert b"Content-Length: 5\r\n\r\nv=0\r\n" in sip.serialize(ok)


def test_response_to_keeps_every_via_in_order_and_an_existing_to_tag():
    data = BARESIP_BYE.replace(
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK4e7d8afd74ab8513;rport\r\n",
        b"Via: SIP/2.0/UDP a;branch=z9hG4bK3\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2, "
        b"SIP/2.0/UDP c;branch=z9hG4bK1\r\n",
    )
    bye = sip.parse_message(data)
    ok = sip.response_to(bye, 200, to_tag="other")
    assert ok.headers.get_all("Via") == [
        "SIP/2.0/UDP a;branch=z9hG4bK3",
        "SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK1",
    ]
    assert ok.to_tag == "uas6003"


def test_response_to_with_a_source_stamps_the_top_via():
    invite = sip.parse_message(BARESIP_INVITE)
    trying = sip.response_to(invite, 100, source=("127.0.0.1", 5070))
    assert sip.top_via(trying).params["rport"] == "5070"
    assert sip.top_via(trying).received == "127.0.0.1"
    assert trying.to_tag is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (100, "Trying"),
        (180, "Ringing"),
        (200, "OK"),
        (400, "Bad Request"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (415, "Unsupported Media Type"),
        (481, "Call/Transaction Does Not Exist"),
        (486, "Busy Here"),
        (487, "Request Terminated"),
        (488, "Not Acceptable Here"),
        (500, "Server Internal Error"),
        (501, "Not Implemented"),
        (503, "Service Unavailable"),
        (499, "Client Error"),
    ],
)
def test_response_to_gives_the_standard_reason_phrase(status, reason):
    request = sip.parse_message(minimal())
    assert sip.response_to(request, status).reason == reason
    assert sip.response_to(request, status, "Custom").reason == "Custom"


def test_a_100_trying_echoes_the_timestamp_and_a_2xx_to_invite_the_record_route():
    data = BARESIP_INVITE.replace(
        b"Supported:\r\n", b"Supported:\r\nTimestamp: 54\r\nRecord-Route: <sip:p1;lr>\r\n"
    )
    invite = sip.parse_message(data)
    trying = sip.response_to(invite, 100)
    ok = sip.response_to(invite, 200, to_tag="t")
    assert trying.headers.get("Timestamp") == "54" and "Record-Route" not in trying.headers
    assert ok.headers.get("Record-Route") == "<sip:p1;lr>" and "Timestamp" not in ok.headers


def test_response_to_refuses_a_status_that_is_not_sip():
    with pytest.raises(ValueError):
        sip.response_to(sip.parse_message(minimal()), 99)


def test_build_request_makes_an_in_dialog_bye_that_parses_back():
    bye = sip.build_request(
        "BYE",
        "sip:caller-0x55dde4dcddb0@127.0.0.1:5070",
        via=f"SIP/2.0/UDP 127.0.0.1:5090;branch={sip.new_branch()};rport",
        from_="<sip:ko@127.0.0.1:5090>;tag=uas6003",
        to="<sip:caller@127.0.0.1>;tag=c41ef12aacc26657",
        call_id="13ec4742f0ded282",
        cseq=1,
        contact="<sip:ko@127.0.0.1:5090>",
    )
    data = sip.serialize(bye)
    assert data.startswith(b"BYE sip:caller-0x55dde4dcddb0@127.0.0.1:5070 SIP/2.0\r\nVia: ")
    assert b"\r\nMax-Forwards: 70\r\n" in data and data.endswith(b"Content-Length: 0\r\n\r\n")
    parsed = sip.parse_message(data)
    assert (parsed.cseq, parsed.from_tag, parsed.to_tag) == (
        (1, "BYE"),
        "uas6003",
        "c41ef12aacc26657",
    )


def test_tags_branches_and_call_ids_are_fresh_tokens():
    tags = {sip.new_tag() for _ in range(200)}
    branches = {sip.new_branch() for _ in range(200)}
    call_ids = {sip.new_call_id() for _ in range(200)}
    assert len(tags) == len(branches) == len(call_ids) == 200
    assert all(branch.startswith("z9hG4bK") and len(branch) > 16 for branch in branches)
    for value in itertools.chain(tags, branches, call_ids):
        assert sip._TOKEN.fullmatch(value)


def test_2xx_retransmissions_double_from_t1_to_t2_and_stop_at_timer_h():
    intervals = list(sip.retransmit_intervals())
    assert intervals[:6] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert max(intervals) == sip.T2
    assert sum(intervals) == pytest.approx(sip.TIMER_H) and sip.TIMER_H == 32.0
    assert sum(intervals[:-1]) < sip.TIMER_H


# --- robustness ---------------------------------------------------------------------------


def mutations(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randrange(len(data) + 1)
        if choice < 0.3 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.5:
            data[position:position] = rng.choice(
                [
                    b":",
                    b";",
                    b"<",
                    b">",
                    b'"',
                    b"\r\n",
                    b"\n",
                    b" ",
                    b"\t",
                    b",",
                    b"@",
                    b"\xff",
                    b"0",
                ]
            )
        elif choice < 0.7:
            del data[position : position + rng.randint(1, 20)]
        elif choice < 0.85:
            data = data[:position]
        else:
            lines = bytes(data).split(b"\r\n")
            rng.shuffle(lines)
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)


def test_random_bytes_parse_or_raise_sip_error():
    rng = random.Random(9)
    for _ in range(1500):
        data = rng.randbytes(rng.randrange(0, 300))
        if rng.random() < 0.5:
            data = b"INVITE sip:a@b SIP/2.0\r\n" + data
        try:
            sip.parse_message(data)
        except sip.SipError:
            pass


def test_mutated_phone_messages_parse_or_raise_sip_error_and_parsed_ones_serialize():
    rng = random.Random(3261)
    parsed_count = 0
    for _ in range(3000):
        data = mutations(rng, rng.choice(PHONE_MESSAGES))
        try:
            message = sip.parse_message(data)
        except sip.SipError as error:
            assert 400 <= error.status < 600
            if error.request is not None:
                sip.serialize(sip.response_to(error.request, error.status))
            continue
        parsed_count += 1
        for prop in ("call_id", "cseq", "from_tag", "to_tag"):
            getattr(message, prop)
        sip.parse_message(sip.serialize(message))
    assert parsed_count > 300


def test_random_header_values_parse_or_raise_sip_error():
    rng = random.Random(5)
    alphabet = 'sip:@;=<>" ,.[]/\\abcSIP/2.0UDP5060tagbranch\t'
    seeds = [
        '"sipp" <sip:sipp@127.0.0.1:5072>;tag=15096SIPpTag001',
        "SIP/2.0/UDP 127.0.0.1:5076;rport;branch=z9hG4bK.t79IpRV3q",
        "sip:ko@[::1]:5090;transport=udp",
    ]
    for _ in range(3000):
        if rng.random() < 0.5:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        else:
            text = mutations(rng, rng.choice(seeds).encode()).decode("utf-8", "replace")
        for parse in (sip.parse_uri, sip.parse_name_addr, sip.parse_via, sip.split_values):
            try:
                parse(text)
            except sip.SipError:
                pass
