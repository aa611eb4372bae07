"""A real call server on a loopback port, with engines loaded once for the whole session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from hotline.config import load_config
from hotline.engines import Engines
from hotline.server import HotlineServer


@pytest.fixture(scope="session")
def engines() -> Engines:
    loaded = Engines(load_config())
    asyncio.run(loaded.warm_up())
    yield loaded
    loaded.close()


@pytest_asyncio.fixture
async def start_server(engines, tmp_path) -> AsyncIterator:
    """Factory: ``await start_server(**config_overrides)`` → a running HotlineServer."""
    servers: list[HotlineServer] = []

    async def start(**call_settings) -> HotlineServer:
        config = load_config(port=0, data_dir=str(tmp_path / f"data{len(servers)}"))
        for key, value in call_settings.items():
            setattr(config.call, key, value)
        server = HotlineServer(config, engines=engines)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        with contextlib.suppress(Exception):
            await server.stop()


def url(server: HotlineServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"
