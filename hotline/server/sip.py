"""SIP: the hotline answers calls from SIP phones and trunks directly (``hotline serve
--sip-port``), over UDP.

The narrow profile a user agent server needs: INVITE with an SDP offer (PCMU or PCMA, and
RFC 4733 ``telephone-event`` for keys), 100 Trying, 200 OK with our answer (retransmitted
until the ACK), BYE either way, CANCEL and OPTIONS. The user part of the called URI picks
the line's language (``sip:ko@host``); a number reaches the language menu.

Each call gets its own RTP port. What arrives there is checked (only the address the SDP
named, never STUN or RTCP), reordered and concealed by a jitter buffer, and handed to the
caller's journey every 20 ms; keys go to the same IVR a web caller's do. What the journey
says goes back as 20 ms RTP packets on a steady clock. The SIP and RTP formats themselves
are ``hotline.wire.sip``, ``sdp`` and ``rtp``; this module only moves their bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from dataclasses import dataclass, field

import numpy as np

from hotline.call.journey import CallerJourney, CallServices
from hotline.call.prompts import LANGUAGE_NAMES
from hotline.config import ConfigError, SipConfig
from hotline.server.link import PacedLink
from hotline.wire import rtp, sdp, sip
from hotline.wire.vocabulary import Channel
from telephony import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from telephony.jitter import JitterBuffer, TimestampFrames
from telephony.pacing import FramePacer

__all__ = ["SipServer", "SipCall", "RtpStats"]

log = logging.getLogger(__name__)

RATE = 8000
FRAME_SAMPLES = 160
FRAME_S = 0.02
USER_AGENT = "hotline"
STOP_GRACE_S = 5.0
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(slots=True)
class RtpStats:
    """What one call's RTP port saw; logged when the call ends."""

    packets: int = 0
    bad: int = 0
    strangers: int = 0
    stun_or_rtcp: int = 0
    other_payload: int = 0
    digits: int = 0
    ssrc_changes: int = 0
    jitter: dict[str, int] = field(default_factory=dict)


class SipServer(asyncio.DatagramProtocol):
    """One UDP port for SIP; one :class:`SipCall` per dialog, keyed by Call-ID."""

    def __init__(self, services: CallServices, config: SipConfig, host: str) -> None:
        self.services = services
        self.config = config
        self.host = config.host or host
        self.requested_port = config.port
        self.calls: dict[str, SipCall] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task] = set()
        self._rtp_ports = _port_range(config.rtp_ports)
        self._cseq = 0

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.requested_port)
        )
        log.info("SIP listening on udp://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Calls in progress end (recorded as dropped, with the reason, and the phones sent
        a BYE), given a few seconds before they are cancelled."""
        for call in list(self.calls.values()):
            call.end_from_server_stop()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()

    def send(self, message: sip.SipRequest | sip.SipResponse, address: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(sip.serialize(message), address)

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        if sip.is_keepalive(data):
            return
        try:
            message = sip.parse_message(data)
        except sip.SipError as error:
            log.warning("SIP from %s:%d refused: %s", *address[:2], error.reason)
            if error.request is not None and error.request.method != "ACK":
                self.answer(error.request, address, error.status, error.reason)
            return
        if isinstance(message, sip.SipResponse):
            call = self.calls.get(message.call_id)
            if call is not None:
                call.response(message)
            return
        try:
            self._request(message, address)
        except Exception:
            log.exception("SIP %s from %s:%d failed", message.method, *address[:2])
            if message.method != "ACK":
                self.answer(message, address, 500)

    def answer(
        self,
        request: sip.SipRequest,
        address: tuple[str, int],
        status: int,
        reason: str | None = None,
        **options: object,
    ) -> None:
        """A response to ``request``, sent where RFC 3261 §18.2.2 and RFC 3581 say."""
        response = sip.response_to(request, status, reason, source=address, **options)
        response.headers.add("Server", USER_AGENT)
        target = sip.response_address(sip.top_via(response), address)
        self.send(response, target)

    def _request(self, request: sip.SipRequest, address: tuple[str, int]) -> None:
        call = self.calls.get(request.call_id)
        match request.method:
            case "INVITE" if call is not None:
                call.invite_again(request, address)
            case "INVITE":
                self._invite(request, address)
            case "ACK":
                if call is not None:
                    call.acked(request)
            case "BYE":
                if call is None:
                    self.answer(request, address, 481)
                    return
                self.answer(request, address, 200, to_tag=call.local_tag)
                call.hung_up_by_caller()
            case "CANCEL":
                # Calls are answered at once, so there is no INVITE left to cancel: the
                # caller will send BYE instead (RFC 3261 §9.2).
                self.answer(request, address, 200 if call is not None else 481)
            case "OPTIONS":
                self.answer(
                    request,
                    address,
                    200,
                    headers=[("Allow", sip.ALLOW), ("Accept", "application/sdp")],
                )
            case _:
                self.answer(request, address, 501, headers=[("Allow", sip.ALLOW)])

    def _invite(self, request: sip.SipRequest, address: tuple[str, int]) -> None:
        try:
            offer = sdp.parse_sdp(request.body)
            negotiated = sdp.negotiate(offer)
        except sdp.SdpError as error:
            log.warning("SIP INVITE from %s:%d: %s", *address[:2], error)
            self.answer(
                request, address, error.status, headers=[("Warning", f'399 hotline "{error}"')]
            )
            return
        self.answer(request, address, 100)
        language = self._language(request.uri)
        call = SipCall(self, request, address, negotiated, language)
        self.calls[request.call_id] = call
        task = asyncio.get_running_loop().create_task(call.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _language(self, uri: str) -> str | None:
        """``sip:ko@host`` reaches the Korean line; a number (or nothing) the menu."""
        with contextlib.suppress(sip.SipError):
            user = (sip.parse_uri(uri).user or "").lower()
            if _LANGUAGE.fullmatch(user) and (
                user in LANGUAGE_NAMES or user in self.services.settings.menu_languages
            ):
                return user
        return self.config.default_language or None

    def rtp_port_candidates(self) -> list[int]:
        return list(self._rtp_ports) if self._rtp_ports else [0]

    def finished(self, call: SipCall) -> None:
        self.calls.pop(call.call_id, None)


class SipCall:
    """One SIP dialog and the caller's journey behind it."""

    def __init__(
        self,
        server: SipServer,
        invite: sip.SipRequest,
        address: tuple[str, int],
        negotiated: sdp.Negotiated,
        language: str | None,
    ) -> None:
        self.server = server
        self.invite = invite
        self.address = address
        self.negotiated = negotiated
        self.language = language
        self.call_id = invite.call_id
        self.local_tag = sip.new_tag()
        self.stats = RtpStats()
        self.acked_event = asyncio.Event()
        self.bye_answered = asyncio.Event()
        self.ended_by_caller = False
        self.journey: CallerJourney | None = None
        self.rtp: asyncio.DatagramTransport | None = None
        self.media_address = (negotiated.remote_ip, negotiated.remote_port)
        self._latched = False
        self._ok: sip.SipResponse | None = None
        self._jitter = JitterBuffer(
            FRAME_SAMPLES, delay_frames=max(0, round(server.config.jitter_ms / 20))
        )
        self._frames = TimestampFrames(FRAME_SAMPLES)
        self._audio_ssrc: int | None = None
        self._dtmf = rtp.DtmfReceiver(negotiated.dtmf_payload_type)
        self._sending = rtp.RtpStreamState(negotiated.payload_type, RATE)
        self._decode = ulaw_decode if negotiated.codec == "PCMU" else alaw_decode
        self._encode = ulaw_encode if negotiated.codec == "PCMU" else alaw_encode
        self._silence = self._encode(np.zeros(FRAME_SAMPLES, dtype=np.int16))
        self.link = PacedLink(FramePacer(RATE, self._send_frame, fill_silence=True))

    # --- the dialog -------------------------------------------------------------------

    async def run(self) -> None:
        """Answer, then carry the call until either side hangs up."""
        try:
            await self._open_rtp()
        except OSError as error:
            log.error("SIP call %s: no RTP port: %s", self.call_id, error)
            self.server.answer(self.invite, self.address, 503, to_tag=self.local_tag)
            self.server.finished(self)
            return
        services = self.server.services
        journey = CallerJourney(
            services,
            self.link,
            sample_rate=RATE,
            language=self.language,
            caller_id=_caller_number(self.invite),
            channel=Channel.SIP,
            no_audio_timeout_s=services.settings.no_audio_timeout_s,
        )
        self.journey = journey
        try:
            await journey.open()
            self._send_ok()
            log.info(
                "SIP call %s from %s:%d is call %s (%s, %s, DTMF pt %s)",
                self.call_id,
                *self.address[:2],
                journey.log.call_id,
                self.negotiated.codec,
                self.language or "menu",
                self.negotiated.dtmf_payload_type,
            )
            async with asyncio.TaskGroup() as tg:
                helpers = [
                    tg.create_task(self._retransmit_ok()),
                    tg.create_task(self._media_clock(journey)),
                ]
                try:
                    await journey.run()
                finally:
                    for task in helpers:
                        task.cancel()
            if not self.ended_by_caller:
                await self._bye()
        finally:
            self.stats.jitter = self._jitter.stats()
            log.info("SIP call %s RTP: %s", self.call_id, self.stats)
            if self.rtp is not None:
                self.rtp.close()
            self.server.finished(self)

    def invite_again(self, request: sip.SipRequest, address: tuple[str, int]) -> None:
        """A retransmitted INVITE gets our 200 again; a re-INVITE (new CSeq) keeps the media
        as it is: we answer with the same SDP."""
        if self._ok is not None:
            if request.cseq == self.invite.cseq:
                self.server.send(self._ok, sip.response_address(sip.top_via(self._ok), address))
            else:
                self.server.answer(
                    request,
                    address,
                    200,
                    to_tag=self.local_tag,
                    body=self._ok.body,
                    content_type="application/sdp",
                    headers=[("Contact", self._contact())],
                )

    def acked(self, request: sip.SipRequest) -> None:
        self.acked_event.set()

    def hung_up_by_caller(self) -> None:
        self.ended_by_caller = True
        if self.journey is not None:
            self.journey.hang_up()

    def end_from_server_stop(self) -> None:
        if self.journey is not None:
            self.journey.end_reason = "the server stopped"
            self.journey.lost()

    def response(self, response: sip.SipResponse) -> None:
        if response.cseq[1] == "BYE" and response.status >= 200:
            self.bye_answered.set()

    def _contact(self) -> str:
        return f"<sip:hotline@{_host_for_uri(self.local_ip)}:{self.server.port}>"

    def _send_ok(self) -> None:
        assert self.rtp is not None
        answer = sdp.answer_sdp(self.negotiated, self.local_ip, self.rtp_port)
        self._ok = sip.response_to(
            self.invite,
            200,
            to_tag=self.local_tag,
            body=answer.encode(),
            content_type="application/sdp",
            headers=[("Contact", self._contact()), ("Allow", sip.ALLOW), ("Server", USER_AGENT)],
            source=self.address,
        )
        self.server.send(self._ok, sip.response_address(sip.top_via(self._ok), self.address))

    async def _retransmit_ok(self) -> None:
        """An INVITE's 200 is sent again (0.5 s, 1 s, 2 s, 4 s…) until the ACK comes; a call
        never acknowledged within 32 s is ended (RFC 3261 §13.3.1.4)."""
        assert self._ok is not None
        for wait in sip.retransmit_intervals():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked_event.wait(), wait)
                return
            self.server.send(self._ok, sip.response_address(sip.top_via(self._ok), self.address))
        assert self.journey is not None
        self.journey.end_reason = "the caller never acknowledged the answer (no ACK in 32 s)"
        self.journey.lost()

    async def _bye(self) -> None:
        """We hang up: an in-dialog BYE, resent until answered (or given up after 32 s)."""
        invite = self.invite
        uri, destination = invite.uri, self.address
        with contextlib.suppress(sip.SipError):
            contact = sip.parse_name_addr(invite.headers.get("Contact") or "").uri
            uri = str(contact)
            if _is_ip(contact.host):
                destination = (contact.host, contact.port or 5060)
        from_ = invite.headers.get("To") or ""
        if sip.parse_name_addr(from_).tag is None:
            from_ = f"{from_};tag={self.local_tag}"
        bye = sip.build_request(
            "BYE",
            uri,
            via=f"SIP/2.0/UDP {_host_for_uri(self.local_ip)}:{self.server.port};"
            f"branch={sip.new_branch()};rport",
            from_=from_,
            to=invite.headers.get("From") or "",
            call_id=self.call_id,
            cseq=self.server.next_cseq(),
            headers=[("User-Agent", USER_AGENT)],
        )
        for wait in sip.retransmit_intervals():
            self.server.send(bye, destination)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bye_answered.wait(), wait)
                return
        log.warning("SIP call %s: BYE never answered", self.call_id)

    # --- media ------------------------------------------------------------------------

    async def _open_rtp(self) -> None:
        loop = asyncio.get_running_loop()
        self.local_ip = self._local_ip()
        error: OSError | None = None
        for port in self.server.rtp_port_candidates():
            try:
                self.rtp, _ = await loop.create_datagram_endpoint(
                    lambda: _RtpPort(self), local_addr=(self._bind_ip(), port)
                )
                break
            except OSError as exc:
                error = exc
        if self.rtp is None:
            raise error or OSError("no RTP port")
        self.rtp_port = self.rtp.get_extra_info("sockname")[1]

    def _bind_ip(self) -> str:
        return self.server.host

    def _local_ip(self) -> str:
        """The address to give the caller for our media: configured, the one we listen on,
        or, when we listen on every address, the one the caller's packets would reach."""
        config = self.server.config
        if config.public_address:
            return config.public_address
        if self.server.host not in ("0.0.0.0", "::", ""):
            return self.server.host
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((self.address[0], self.address[1]))
            return probe.getsockname()[0]

    def rtp_received(self, data: bytes, address: tuple[str, int]) -> None:
        if rtp.looks_like_stun(data) or rtp.looks_like_rtcp(data):
            self.stats.stun_or_rtcp += 1
            return
        if address[0] != self.media_address[0]:
            self.stats.strangers += 1
            if self.stats.strangers in (1, 100):
                log.warning(
                    "SIP call %s: RTP from %s:%d, not the caller's %s; dropped",
                    self.call_id,
                    *address[:2],
                    self.media_address[0],
                )
            return
        if not self._latched:
            # Symmetric RTP: answer to where the caller's media really comes from.
            self._latched = True
            self.media_address = (address[0], address[1])
        try:
            packet = rtp.parse_rtp(data)
        except rtp.RtpError:
            self.stats.bad += 1
            return
        self.stats.packets += 1
        if packet.payload_type == self.negotiated.payload_type:
            if packet.ssrc != self._audio_ssrc:
                if self._audio_ssrc is not None:
                    self.stats.ssrc_changes += 1
                self._audio_ssrc = packet.ssrc
                self._frames = TimestampFrames(FRAME_SAMPLES)
                self._jitter.reset()
            if len(packet.payload) != FRAME_SAMPLES:
                self.stats.bad += 1
                return
            self._jitter.push(self._frames.number(packet.timestamp), self._decode(packet.payload))
        elif packet.payload_type == self.negotiated.dtmf_payload_type:
            try:
                digit = self._dtmf.feed(packet)
            except rtp.RtpError:
                self.stats.bad += 1
                return
            if digit is not None and self.journey is not None:
                self.stats.digits += 1
                self.journey.dtmf(digit)
        else:
            self.stats.other_payload += 1

    async def _media_clock(self, journey: CallerJourney) -> None:
        """One 20 ms clock for both directions: each tick sends the next frame of what the
        journey says (silence when it says nothing) and hands the caller's next frame, out
        of the jitter buffer, to the journey. One wake-up per frame, not two."""
        loop = asyncio.get_running_loop()
        pacer = self.link.pacer
        due = loop.time()
        while True:
            outgoing = pacer.next_frame()
            if outgoing is not None:
                await self._send_frame(outgoing)
            frame = self._jitter.pop()
            if frame is not None:
                await journey.audio(frame)
            due += FRAME_S
            now = loop.time()
            if due < now - 0.2:
                due = now
            await asyncio.sleep(max(0.0, due - now))

    async def _send_frame(self, frame: np.ndarray) -> None:
        if self.rtp is None or self.rtp.is_closing():
            return
        if not frame.any():
            payload = self._silence  # most of a call: encode it once
        else:
            payload = self._encode(frame)
        self.rtp.sendto(self._sending.packet(payload, len(frame)), self.media_address)


class _RtpPort(asyncio.DatagramProtocol):
    def __init__(self, call: SipCall) -> None:
        self.call = call

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        self.call.rtp_received(data, address)


def _caller_number(invite: sip.SipRequest) -> str | None:
    with contextlib.suppress(sip.SipError):
        caller = sip.parse_name_addr(invite.headers.get("From") or "")
        return caller.uri.user
    return None


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _host_for_uri(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def _port_range(text: str) -> range | None:
    """``sip.rtp_ports``: ``"20000-20999"``; empty means any free port."""
    if not text.strip():
        return None
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ConfigError(f"sip.rtp_ports must look like 20000-20999, not {text!r}") from None
    if not 1024 <= first <= last <= 65535:
        raise ConfigError(f"sip.rtp_ports {text!r} is not a range of ports above 1023")
    return range(first, last + 1)
