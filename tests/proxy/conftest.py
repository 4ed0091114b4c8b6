"""Fixtures that run the proxy for real on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace

import aiohttp
import pytest

from devtools.tinymoshi import free_port
from proxy.__main__ import serve
from proxy.config import Config
from proxy.server.pipeline import Services
from tests.proxy.upstream_double import UpstreamDouble


@dataclass
class RunningProxy:
    """A proxy served by :func:`proxy.__main__.serve` in this event loop."""

    config: Config
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def http(self) -> str:
        host = "[::1]" if ":" in self.config.listen else self.config.listen
        return f"http://{host}:{self.config.port}"

    @property
    def ws(self) -> str:
        return self.http.replace("http://", "ws://", 1) + "/api/chat"


StartProxy = Callable[..., AbstractAsyncContextManager[RunningProxy]]


@contextlib.asynccontextmanager
async def running_proxy(
    config: Config, services: Services | None = None
) -> AsyncIterator[RunningProxy]:
    """Serve ``config`` (its port replaced by a free one) until the block ends."""
    host = "::1" if ":" in config.listen else "127.0.0.1"
    config = replace(config, port=free_port(host))
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(config, services, stop=stop, started=started))
    await asyncio.wait(
        {task, asyncio.create_task(started.wait())}, timeout=10, return_when="FIRST_COMPLETED"
    )
    if task.done():
        task.result()
    try:
        yield RunningProxy(config, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamDouble]:
    double = await UpstreamDouble().start()
    yield double
    await double.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def fast_config(*upstreams: str, **overrides: object) -> Config:
    """A config with short timers so failure tests finish quickly."""
    base = Config(
        listen="127.0.0.1",
        upstreams=tuple(upstreams),
        keepalive_after=0.3,
        connect_timeout=2.0,
        handshake_timeout=2.0,
        drain_timeout=1.0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


async def until_close(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0
) -> tuple[aiohttp.WSMessage, list[int]]:
    """Read until the socket closes: the closing message and the kinds of what came before."""
    kinds: list[int] = []
    msg = await ws.receive(timeout=timeout)
    while msg.type is aiohttp.WSMsgType.BINARY:
        kinds.append(msg.data[0])
        msg = await ws.receive(timeout=timeout)
    return msg, kinds
