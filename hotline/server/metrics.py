"""``/metrics``: the server's Prometheus metrics, behind ``security.metrics_token`` (or on a
port of their own, ``security.metrics_port``, for a scraper on a private network).

The call pipeline counts into :class:`hotline.call.metrics.CallMetrics`; this module adds
what is read from live state at scrape time (the queue, operators, ``/asr`` sessions,
engine pools and restarts) and answers the scrape off the event loop, since an engine's
figures may come from its worker processes.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hotline.call.metrics import CallMetrics
from hotline.call.routing import Switchboard
from hotline.engines import Engines
from hotline.server.doors import Doors
from hotline.server.web import text_response

__all__ = ["LiveState", "metrics_response"]


class LiveState(Collector):
    """Gauges read when Prometheus scrapes, so they are never stale."""

    def __init__(
        self, switchboard: Callable[[], Switchboard | None], engines: Engines, doors: Doors
    ) -> None:
        self._switchboard = switchboard
        self._engines = engines
        self._doors = doors

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        switchboard = self._switchboard()
        waiting = list(switchboard.waiting) if switchboard else []
        yield GaugeMetricFamily(
            "hotline_queue_length", "Callers waiting for an operator", value=len(waiting)
        )
        yield GaugeMetricFamily(
            "hotline_queue_oldest_wait_seconds",
            "How long the longest-waiting caller has waited",
            value=max((w.waiting_s() for w in waiting), default=0.0),
        )
        yield GaugeMetricFamily(
            "hotline_operators_signed_in",
            "Operators at their consoles",
            value=len(switchboard.seats) if switchboard else 0,
        )
        yield GaugeMetricFamily(
            "hotline_asr_sessions", "Open /asr sessions", value=sum(self._doors.asr_open.values())
        )
        if switchboard is not None:
            yield GaugeMetricFamily(
                "hotline_capacity_calls",
                "Simultaneous calls this server carries within its latency targets",
                value=switchboard.capacity,
            )
            yield GaugeMetricFamily(
                "hotline_load_calls", "Calls and /asr work now, in calls", value=switchboard.load()
            )
        pools = GaugeMetricFamily(
            "hotline_engine_pool", "Recognizers per engine and state", labels=["engine", "state"]
        )
        described = self._engines.describe()
        for engine in described.get("asr", []):
            for state in ("idle", "in_use"):
                value = (engine.get("pool") or {}).get(state)
                if value is not None:
                    pools.add_metric([engine.get("name", "?"), state], value)
        yield pools
        tts = described.get("tts", {})
        yield GaugeMetricFamily(
            "hotline_tts_workers", "Voice worker processes", value=tts.get("workers") or 0
        )
        restarts = GaugeMetricFamily(
            "hotline_engine_restarts", "Engine workers restarted after a failure", labels=["stage"]
        )
        restarts.add_metric(["tts"], tts.get("pool_restarts") or 0)
        for stage, count in self._engines.restarts.items():
            restarts.add_metric([stage], count)
        yield restarts
        failures = CounterMetricFamily(
            "hotline_engine_failures",
            "Engine calls that failed or timed out inside the engines seam",
            labels=["stage"],
        )
        for stage, count in self._engines.failures.items():
            failures.add_metric([stage], count)
        yield failures


def _authorized(request: Any, token: str) -> bool:
    header = request.headers.get("Authorization") or ""
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


async def metrics_response(request: Any, metrics: CallMetrics, token: str) -> Any:
    """The scrape, for a request bearing ``Authorization: Bearer <metrics_token>``."""
    if not token:
        return text_response(
            HTTPStatus.NOT_FOUND,
            "metrics are off on this port: set security.metrics_token (or metrics_port)\n",
        )
    if not _authorized(request, token):
        response = text_response(HTTPStatus.UNAUTHORIZED, "metrics need the bearer token\n")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline metrics"'
        return response
    body = await asyncio.to_thread(generate_latest, metrics.registry)
    return text_response(HTTPStatus.OK, body.decode(), CONTENT_TYPE_LATEST)
