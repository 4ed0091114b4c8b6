"""Capacity: more conversations than any library default, and limits that name themselves."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from proxy.config import parse_config
from proxy.relay.chat import CLOSE_BAD_GATEWAY
from proxy.relay.codec import Kind
from proxy.security import Limits, SecuritySettings
from proxy.server.app import connection_limit
from tests.proxy.conftest import fast_config, running_proxy
from tests.proxy.relay.test_relay import receive_kind
from tests.proxy.upstream_double import UpstreamDouble

#: Above aiohttp's default connector limit (100) and its listen backlog habit (128).
CONVERSATIONS = 150


async def _converse(
    http: aiohttp.ClientSession, url: str, page: bytes, together: asyncio.Barrier
) -> bytes:
    async with http.ws_connect(url) as ws:
        await receive_kind(ws, Kind.HANDSHAKE, timeout=30)
        await ws.send_bytes(page)
        echo = await receive_kind(ws, Kind.AUDIO, timeout=30)
        # Everyone stays connected until all were relayed: all are open at the same time.
        await asyncio.wait_for(together.wait(), 30)
        return echo


async def test_150_concurrent_conversations_are_all_relayed(upstream: UpstreamDouble) -> None:
    # All from one address: lift the per-address connection limit for this test.
    every = SecuritySettings(limits=Limits(connections_per_address=CONVERSATIONS + 10))
    config = fast_config(*[upstream.url] * CONVERSATIONS, connect_timeout=20.0, security=every)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        running_proxy(config) as proxy,
        aiohttp.ClientSession(connector=connector) as http,
    ):
        pages = [b"\x01" + n.to_bytes(2, "big") for n in range(CONVERSATIONS)]
        together = asyncio.Barrier(CONVERSATIONS)
        echoes = await asyncio.gather(*(_converse(http, proxy.ws, p, together) for p in pages))
    assert echoes == pages
    assert upstream.connections == CONVERSATIONS


async def test_a_full_connection_pool_is_named_as_the_cause(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    # Two upstreams but one connection allowed: the second conversation cannot get one.
    config = fast_config(upstream.url, upstream.url, upstream_connections=1, connect_timeout=0.5)
    async with running_proxy(config) as proxy, http.ws_connect(proxy.ws) as first:
        await receive_kind(first, Kind.HANDSHAKE)
        async with http.ws_connect(proxy.ws) as second:
            closing = await second.receive(timeout=5)
    assert closing.data == CLOSE_BAD_GATEWAY
    assert "connection limit" in str(closing.extra)


def test_the_connection_limit_never_falls_below_the_pool_and_the_line() -> None:
    config = parse_config(
        [
            "--listen",
            "127.0.0.1",
            "--upstream",
            "ws://a:1",
            "--upstream",
            "ws://b:1",
            "--max-waiting",
            "5",
        ]
    )
    assert connection_limit(config) >= 2 + 5
    with pytest.raises(SystemExit):
        parse_config(
            [
                "--listen",
                "::1",
                "--upstream",
                "ws://a:1",
                "--max-waiting",
                "5",
                "--upstream-connections",
                "3",
            ]
        )
