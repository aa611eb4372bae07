"""``/qa``: a QA reviewer's websocket, and ``/qa/audio``, the spans of recordings they play.

A QA account (or a supervisor's, or an admin's) signs in like an operator, lists recorded
calls with filters, opens one (its record, each leg's loudness for the waveform, the
corrections and scores so far), corrects transcripts and translations, and scores calls.
Reviewers read and hear redacted copies (:mod:`hotline.qa.redaction`); admins the
originals. Every open, playback, correction and score goes to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection

from hotline.accounts import Account
from hotline.call.metrics import CallMetrics
from hotline.qa.redaction import bleep, redacted_record, redaction_spans
from hotline.records import AsyncRecordStore, ComplaintRecord, RecordError
from hotline.server import web
from hotline.server.link import WebSocketLink, peer_address, pump_frames, read_hello
from hotline.server.signin import SignIn, require
from hotline.wire.messages import (
    CallDetail,
    CallList,
    Correct,
    Corrected,
    Hello,
    ListCalls,
    OpenCall,
    OperatorReady,
    ProtocolError,
    ScoreCall,
    Scored,
    parse_message,
)
from hotline.wire.vocabulary import AccountRole, ErrorCode, Role
from telephony import read_wav, wav_bytes

__all__ = ["QaSession", "audio_span"]

log = logging.getLogger(__name__)

LIST_LIMIT = 500
ENVELOPE_POINTS = 1200
MAX_SPAN_S = 300.0
REVIEWERS = (AccountRole.QA, AccountRole.SUPERVISOR)


def sees_originals(account: Account) -> bool:
    """Only admins hear and read what was said unredacted."""
    return account.role == AccountRole.ADMIN


class QaSession:
    def __init__(
        self,
        store: AsyncRecordStore,
        data_dir: Path,
        ws: ServerConnection,
        *,
        sign_in: SignIn,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.ws = ws
        self.link = WebSocketLink(ws, metrics)
        self.sign_in = sign_in
        self.account: Account | None = None

    async def run(self) -> None:
        hello = await read_hello(self.ws, self.link, Role.QA)
        if hello is None:
            return
        try:
            session = await self.sign_in.for_hello(hello, peer_address(self.ws), *REVIEWERS)
        except ProtocolError as error:
            await self.link.error(error)
            return
        self.account = account = session.account
        await self.link.send(
            OperatorReady(
                account.name,
                account.display_name,
                account.languages,
                role=account.role,
                token=session.token,
                expires=session.expires.isoformat(timespec="seconds"),
            )
        )
        await pump_frames(self.ws, self.link, self._frame)

    async def _frame(self, frame: str | bytes) -> bool | None:
        account = self.account
        assert account is not None
        if isinstance(frame, bytes):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a QA connection sends no audio")
        address = peer_address(self.ws)
        match parse_message(Role.QA, frame):
            case ListCalls() as wanted:
                await self.link.send(CallList(await self._calls(wanted)))
            case OpenCall(call_id=call_id):
                record = await self._record(call_id)
                originals = sees_originals(account)
                await self.store.audit(
                    account.name, "record.open", target=record.call.id, address=address
                )
                legs = await asyncio.to_thread(envelopes, record, self.data_dir, not originals)
                await self.link.send(
                    CallDetail(
                        record.to_dict() if originals else redacted_record(record),
                        legs,
                        list(record.corrections),
                        list(record.scores),
                        redacted=not originals,
                    )
                )
            case Correct(utterance_id=utterance_id, field=field, text=text):
                try:
                    await self.store.add_correction(utterance_id, field, text, account.name)
                except RecordError as exc:
                    raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
                await self.store.audit(
                    account.name,
                    "record.correct",
                    detail=f"utterance {utterance_id} {field}",
                    address=address,
                )
                await self.link.send(Corrected(utterance_id, field, text, account.name))
            case ScoreCall(call_id=call_id, scores=scores, notes=notes):
                record = await self._record(call_id)
                await self.store.add_score(record.call.id, scores, notes, account.name)
                await self.store.audit(
                    account.name, "record.score", target=record.call.id, address=address
                )
                await self.link.send(Scored(record.call.id, scores, notes, account.name))
            case Hello():
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "hello was already received")
            case _:
                raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "not a QA message")
        return None

    async def _record(self, call_id: str) -> ComplaintRecord:
        record = await self.store.get(call_id)
        if record is None:
            raise ProtocolError(ErrorCode.NO_CALL, f"no recorded call {call_id}")
        return record

    async def _calls(self, wanted: ListCalls) -> list[dict[str, Any]]:
        since = _date(wanted.since, "since")
        until = _date(wanted.until, "until")
        calls = await self.store.list(limit=LIST_LIMIT, since=since)
        found = []
        for call in calls:
            pair = f"{call.caller_language or '?'}-{call.operator_language or '?'}"
            if (
                (until is not None and call.started_at.date() > until.date())
                or (wanted.pair and pair != wanted.pair)
                or (wanted.operator and call.operator != wanted.operator)
                or (wanted.kind and call.kind != wanted.kind)
                or (wanted.status and call.status != wanted.status)
            ):
                continue
            found.append({**call.to_dict(), "pair": pair})
        return found


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{name}' must be a date, YYYY-MM-DD") from None
    return moment if moment.tzinfo else moment.astimezone()


def _leg_audio(
    record: ComplaintRecord, data_dir: Path, leg: str, redacted: bool
) -> tuple[np.ndarray, int]:
    recording = next((r for r in record.recordings if r.leg == leg), None)
    if recording is None or not (data_dir / recording.path).is_file():
        raise FileNotFoundError(f"call {record.call.reference} has no {leg} recording")
    pcm, rate = read_wav(data_dir / recording.path)
    if redacted:
        pcm = pcm.copy()
        bleep(pcm, rate, redaction_spans(record).get(leg, []))
    return pcm, rate


def envelopes(record: ComplaintRecord, data_dir: Path, redacted: bool) -> list[dict[str, Any]]:
    """Each recording's loudness (peak per slice, 0-1) for its waveform on the page."""
    legs = []
    for recording in record.recordings:
        try:
            pcm, rate = _leg_audio(record, data_dir, recording.leg, redacted)
        except (FileNotFoundError, ValueError):
            continue
        step = max(1, len(pcm) // ENVELOPE_POINTS)
        usable = (
            pcm[: len(pcm) // step * step].reshape(-1, step) if len(pcm) >= step else pcm[None, :]
        )
        peaks = (
            np.abs(usable.astype(np.int32)).max(axis=1) / 32768.0 if usable.size else np.zeros(0)
        )
        legs.append(
            {
                "leg": recording.leg,
                "seconds": round(len(pcm) / rate, 3),
                "step_s": step / rate,
                "peaks": [round(float(p), 3) for p in peaks],
            }
        )
    return legs


async def audio_span(
    request: Any, store: AsyncRecordStore, data_dir: Path, sign_in: SignIn, address: str
) -> Any:
    """``GET /qa/audio?token=…&call=…&leg=…&start=…&end=…``: a WAV of one span of one leg,
    redacted unless the account is an admin's; audited."""
    query = parse_qs(urlsplit(request.path).query)

    def one(name: str) -> str:
        values = query.get(name)
        if not values:
            raise ValueError(f"missing '{name}'")
        return values[0]

    try:
        token, call_id, leg = one("token"), one("call"), one("leg")
        start, end = float(one("start")), float(one("end"))
        if not 0 <= start < end or end - start > MAX_SPAN_S:
            raise ValueError(f"a span must have 0 <= start < end, at most {MAX_SPAN_S:g} s long")
    except ValueError as exc:
        return web.text_response(HTTPStatus.BAD_REQUEST, f"{exc}\n")
    try:
        session = await sign_in.with_token(token)
        require(session.account, *REVIEWERS)
    except ProtocolError as error:
        return web.text_response(HTTPStatus.FORBIDDEN, f"{error.message}\n")
    record = await store.get(call_id)
    if record is None:
        return web.text_response(HTTPStatus.NOT_FOUND, f"no recorded call {call_id}\n")
    account = session.account
    try:
        pcm, rate = await asyncio.to_thread(
            _leg_audio, record, data_dir, leg, not sees_originals(account)
        )
    except FileNotFoundError as exc:
        return web.text_response(HTTPStatus.NOT_FOUND, f"{exc}\n")
    await store.audit(
        account.name,
        "recording.play",
        target=record.call.id,
        detail=f"{leg} {start:.2f}-{end:.2f} s",
        address=address,
    )
    span = pcm[int(start * rate) : int(end * rate)]
    return web.binary_response(HTTPStatus.OK, "audio/wav", wav_bytes(span, rate))
