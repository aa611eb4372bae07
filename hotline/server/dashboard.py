"""The supervisors' dashboard: ``GET /dashboard/data`` (the three rates and the rest as JSON,
for ``/dashboard``). Only supervisors and admins may read it; every read is audited."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hotline.cases.models import Case
from hotline.cases.rates import compute
from hotline.cases.store import AsyncCaseStore, CaseStore
from hotline.config import CasesConfig
from hotline.records import AsyncRecordStore
from hotline.server import web
from hotline.server.signin import SignIn, require
from hotline.wire.messages import ProtocolError
from hotline.wire.vocabulary import AccountRole

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "dashboard_data"]

DEFAULT_DAYS = 30
"""Without ``from`` and ``to``: the last 30 days, today included."""
MAX_DAYS = 366
"""The longest window one request may ask for."""
READERS = (AccountRole.SUPERVISOR,)
"""Who may read the dashboard (admins always may)."""


class BadRange(ValueError):
    """The ``from``/``to`` of a request are not a window of dates."""


def _token(request: Any, query: dict[str, list[str]]) -> str | None:
    header = request.headers.get("Authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    values = query.get("token")
    return values[0] if values else None


def _range(query: dict[str, list[str]], today: date) -> tuple[date, date]:
    """The first and last day asked for (both included)."""

    def day(name: str) -> date | None:
        value = (query.get(name) or [""])[0]
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise BadRange(f"'{name}' must be a date, YYYY-MM-DD, not {value!r}") from None

    last = day("to") or today
    first = day("from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadRange(f"'from' ({first}) is after 'to' ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRange(f"a window is at most {MAX_DAYS} days")
    return first, last


async def dashboard_data(
    request: Any,
    store: AsyncRecordStore,
    cases: AsyncCaseStore,
    settings: CasesConfig,
    sign_in: SignIn,
    address: str,
) -> Any:
    """``GET /dashboard/data?from=YYYY-MM-DD&to=YYYY-MM-DD`` with the session token in
    ``Authorization: Bearer …`` or ``?token=…``: :func:`hotline.cases.rates.compute` over
    the calls started and cases requested on those days (UTC, both included), every case
    overdue now, and ``range`` and ``services`` (code → name) for the page."""
    query = parse_qs(urlsplit(request.path).query)
    token = _token(request, query)
    if token is None:
        return web.text_response(
            HTTPStatus.FORBIDDEN, "sign in as a supervisor: this needs a session token\n"
        )
    try:
        session = await sign_in.with_token(token)
        require(session.account, *READERS)
    except ProtocolError as error:
        return web.text_response(HTTPStatus.FORBIDDEN, f"{error.message}\n")
    now = datetime.now(UTC)
    try:
        first, last = _range(query, now.date())
    except BadRange as exc:
        return web.text_response(HTTPStatus.BAD_REQUEST, f"{exc}\n")
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)

    def load_cases(case_store: CaseStore) -> list[Case]:
        # A day past the end: the cases filed when the window's last calls ended.
        requested = case_store.list(start=start, end=end + timedelta(days=1), limit=None)
        late = case_store.list(statuses=["open"], overdue_at=now, limit=None)
        return requested + late

    calls = [call for call in await store.list(limit=None, since=start) if call.started_at < end]
    found = await cases.run(load_cases)
    rates = await asyncio.to_thread(
        compute,
        calls,
        found,
        answer_target_s=settings.answer_target_s,
        now=now,
        start=start,
        end=end,
    )
    account = session.account
    await store.audit(account.name, "dashboard.view", detail=f"{first} to {last}", address=address)
    payload = {
        **rates,
        "range": {"from": first.isoformat(), "to": last.isoformat()},
        "services": {s.code: s.name for s in cases.catalogue.services},
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    return web.binary_response(HTTPStatus.OK, "application/json", body)
