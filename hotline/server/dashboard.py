"""The supervisors' dashboard: ``GET /dashboard/data`` (the three rates and the rest as JSON,
for ``/dashboard``). Filled in by the dashboard work."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from hotline.cases.store import AsyncCaseStore
from hotline.config import CasesConfig
from hotline.records import AsyncRecordStore
from hotline.server import web
from hotline.server.signin import SignIn

__all__ = ["dashboard_data"]


async def dashboard_data(
    request: Any,
    store: AsyncRecordStore,
    cases: AsyncCaseStore,
    settings: CasesConfig,
    sign_in: SignIn,
    address: str,
) -> Any:
    return web.text_response(HTTPStatus.NOT_IMPLEMENTED, "not yet\n")
