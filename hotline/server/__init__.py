"""The call server: one port, one websocket session class per kind of connection (``caller``,
``operator``, ``asr_endpoint``), the HTTP pages (``web``), and ``app``, which owns the
engines, the record store and the switchboard of the process.

Sessions move bytes between a socket and a sans-I/O wire module, and hand what a call does to
``hotline.call``. The Open311 API (``open311``) and the dashboard's data (``dashboard``)
serve the cases. May import: ``hotline.call``, ``hotline.cases``, ``hotline.qa``,
``hotline.wire``, ``hotline.engines``, ``hotline.records``, ``hotline.accounts``,
``hotline.config``, ``telephony``. Never the
clients, the benchmarks, or an engine package.
"""

from __future__ import annotations

from hotline.server.app import HotlineServer

__all__ = ["HotlineServer"]
