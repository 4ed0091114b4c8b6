"""The relay, end to end on loopback, against a scriptable upstream."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from proxy.relay.chat import CLOSE_BAD_GATEWAY, CLOSE_TRY_AGAIN_LATER
from proxy.relay.codec import Kind
from proxy.security import SecuritySettings
from tests.proxy.conftest import fast_config, running_proxy, until_close
from tests.proxy.upstream_double import FLOOD_BYTES, FLOOD_MESSAGES, UpstreamDouble

UI_QUERY = {"text_prompt": "hello", "voice_prompt": "NATF0.pt", "text_temperature": "0.7"}


async def receive_kind(ws: aiohttp.ClientWebSocketResponse, kind: int, timeout: float = 5) -> bytes:
    """The next message of ``kind``, skipping keepalives and notices of other kinds."""
    deadline = time.monotonic() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        assert msg.type is aiohttp.WSMsgType.BINARY, (
            f"expected a message, got {msg.type} {msg.extra}"
        )
        if msg.data[0] == kind:
            return bytes(msg.data)


async def test_messages_are_relayed_byte_for_byte_both_ways(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with (
        running_proxy(fast_config(upstream.url)) as proxy,
        http.ws_connect(proxy.ws, params=UI_QUERY) as ws,
    ):
        assert await receive_kind(ws, Kind.HANDSHAKE) == b"\x00"
        sent = [
            b"\x01OggS" + bytes(range(256)) * 4,
            b"\x02 hello\xe2\x96\x81",
            b"\x06",
            b"\x03\x01",
        ]
        for data in sent:
            await ws.send_bytes(data)
        # The upstream echoes all four; the browser only ever gets kinds the UI understands.
        echoed = [await receive_kind(ws, data[0]) for data in sent[:3]]
    assert echoed == sent[:3]
    assert upstream.received == sent


async def test_audio_sent_before_the_upstream_is_connected_is_not_forwarded(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    upstream.behaviour = "echo"
    async with running_proxy(fast_config(upstream.url, max_waiting=1)) as proxy:
        async with http.ws_connect(proxy.ws) as first:
            await receive_kind(first, Kind.HANDSHAKE)
            async with http.ws_connect(proxy.ws) as second:
                notice = await receive_kind(second, Kind.TEXT)
                assert b"number 1 in line" in notice
                await second.send_bytes(b"\x01early")
                await first.close()
                await receive_kind(second, Kind.HANDSHAKE)
                await second.send_bytes(b"\x01late")
                assert await receive_kind(second, Kind.AUDIO) == b"\x01late"
    assert b"\x01early" not in upstream.received


async def test_sanitised_query_reaches_the_upstream(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    query = {**UI_QUERY, "seed": "42", "evil": "1", "events": "1", "text_prompt": ""}
    async with (
        running_proxy(fast_config(upstream.url)) as proxy,
        http.ws_connect(proxy.ws, params=query) as ws,
    ):
        await receive_kind(ws, Kind.HANDSHAKE)
    seen = upstream.queries[0]
    assert "seed" not in seen and "evil" not in seen and "events" not in seen
    assert seen["voice_prompt"] == "NATF0.pt" and seen["text_temperature"] == "0.7"
    assert seen["text_prompt"].startswith("You are")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"voice_prompt": "../../etc/passwd"}, "not one of the known voices"),
        ({"voice_prompt": "evil.pkl"}, "not one of the known voices"),
        ({"text_temperature": "hot"}, "must be a number"),
        ({"text_prompt": "x" * 5000}, "limit is 4000"),
    ],
)
async def test_bad_query_is_refused_before_the_upgrade_with_a_reason(
    upstream: UpstreamDouble, http: aiohttp.ClientSession, query: dict[str, str], reason: str
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(proxy.ws, params=query)
        assert info.value.status == 400
        async with http.get(proxy.ws, params=query) as response:
            assert reason in await response.text()
    assert upstream.connections == 0


async def test_queue_admits_in_order_and_refuses_when_full(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url, max_waiting=2)) as proxy:
        first = await http.ws_connect(proxy.ws)
        await receive_kind(first, Kind.HANDSHAKE)
        second = await http.ws_connect(proxy.ws)
        assert b"number 1 in line" in await receive_kind(second, Kind.TEXT)
        third = await http.ws_connect(proxy.ws)
        assert b"number 2 in line" in await receive_kind(third, Kind.TEXT)
        fourth = await http.ws_connect(proxy.ws)
        closing = await fourth.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == CLOSE_TRY_AGAIN_LATER and "busy" in str(closing.extra)
        await first.close()
        await receive_kind(second, Kind.HANDSHAKE)
        assert b"number 1 in line" in await receive_kind(third, Kind.TEXT)
        await second.close()
        await receive_kind(third, Kind.HANDSHAKE)
        await third.close()
    assert upstream.connections == 3


async def test_waiting_browser_gets_keepalives(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy:
        async with http.ws_connect(proxy.ws) as first, http.ws_connect(proxy.ws) as second:
            await receive_kind(first, Kind.HANDSHAKE)
            await receive_kind(second, Kind.TEXT)
            assert await receive_kind(second, Kind.PING) == b"\x06"


async def test_unreachable_upstream_closes_the_browser_with_1014(
    http: aiohttp.ClientSession,
) -> None:
    async with (
        running_proxy(fast_config("ws://127.0.0.1:9/api/chat")) as proxy,
        http.ws_connect(proxy.ws) as ws,
    ):
        msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == CLOSE_BAD_GATEWAY and "unreachable" in str(msg.extra)


async def test_upstream_refusing_the_upgrade_closes_the_browser_with_1014(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    upstream.behaviour = "refuse"
    async with running_proxy(fast_config(upstream.url)) as proxy, http.ws_connect(proxy.ws) as ws:
        msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == CLOSE_BAD_GATEWAY


async def test_upstream_dying_mid_call_closes_the_browser_within_a_second(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    upstream.behaviour = "die_after_first"
    async with running_proxy(fast_config(upstream.url)) as proxy, http.ws_connect(proxy.ws) as ws:
        await receive_kind(ws, Kind.HANDSHAKE)
        await ws.send_bytes(b"\x01page")
        msg, _ = await until_close(ws, timeout=1.0)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == CLOSE_BAD_GATEWAY and "voice server ended" in str(msg.extra)


async def test_upstream_that_never_handshakes_is_given_up_on(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    upstream.behaviour = "never_handshake"
    config = fast_config(upstream.url, handshake_timeout=1.0)
    async with running_proxy(config) as proxy, http.ws_connect(proxy.ws) as ws:
        msg, kinds = await until_close(ws)
    assert Kind.PING in kinds, "the browser should get keepalives while the upstream is silent"
    assert msg.data == CLOSE_BAD_GATEWAY and "not ready" in str(msg.extra)
    await asyncio.wait_for(upstream.closed.wait(), 2)


async def test_browser_leaving_closes_the_upstream_at_once(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy:
        ws = await http.ws_connect(proxy.ws)
        await receive_kind(ws, Kind.HANDSHAKE)
        await ws.close()
        await asyncio.wait_for(upstream.closed.wait(), 1.0)
        # The slot is free again: the next browser is admitted without waiting.
        async with http.ws_connect(proxy.ws) as again:
            assert await receive_kind(again, Kind.HANDSHAKE) == b"\x00"


async def test_invalid_browser_messages_get_an_error_and_the_call_goes_on(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy, http.ws_connect(proxy.ws) as ws:
        await receive_kind(ws, Kind.HANDSHAKE)
        await ws.send_bytes(b"\x09junk")
        assert b"unknown message kind 0x09" in await receive_kind(ws, Kind.ERROR)
        await ws.send_str("text frame")
        assert b"only binary" in await receive_kind(ws, Kind.ERROR)
        await ws.send_bytes(b"\x03\x10{}")  # EXECUTE: consumed by the proxy, never forwarded
        await ws.send_bytes(b"\x01ok")
        assert await receive_kind(ws, Kind.AUDIO) == b"\x01ok"
    assert upstream.received == [b"\x01ok"]


async def test_oversize_message_closes_with_1009(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    config = fast_config(upstream.url, max_message_bytes=1024)
    async with running_proxy(config) as proxy, http.ws_connect(proxy.ws) as ws:
        await receive_kind(ws, Kind.HANDSHAKE)
        await ws.send_bytes(b"\x01" + b"x" * 2048)
        msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1009
    assert upstream.received == []


@pytest.mark.parametrize("client_host", ["127.0.0.1", "[::1]"])
async def test_dual_stack_listener_accepts_ipv4_and_ipv6(
    upstream: UpstreamDouble, http: aiohttp.ClientSession, client_host: str
) -> None:
    exposed = fast_config(upstream.url, listen="::", security=SecuritySettings(auth_token="t" * 32))
    async with running_proxy(exposed) as proxy:
        url = f"http://{client_host}:{proxy.config.port}/health"
        async with http.get(url) as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}


async def test_ready_reflects_upstream_reachability(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy:
        async with http.get(proxy.http + "/ready") as response:
            assert response.status == 200
        await upstream.stop()
        async with http.get(proxy.http + "/ready") as response:
            body = await response.json()
            assert response.status == 503 and "no upstream" in body["reason"]


async def test_drain_notifies_browsers_then_closes_with_1001(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url, drain_timeout=0.5)) as proxy:
        ws = await http.ws_connect(proxy.ws)
        await receive_kind(ws, Kind.HANDSHAKE)
        proxy.stop.set()
        assert b"restarting" in await receive_kind(ws, Kind.TEXT)
        msg, _ = await until_close(ws)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001
        await asyncio.wait_for(proxy.task, 5)


async def test_ui_is_streamed_from_the_upstream(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    async with running_proxy(fast_config(upstream.url)) as proxy:
        async with http.get(proxy.http + "/") as response:
            assert response.status == 200 and "upstream ui" in await response.text()
        async with http.get(proxy.http + "/assets/app.js") as response:
            assert response.status == 200
            assert len(await response.read()) == len(b"console.log('x');") * 10_000
        async with http.get(proxy.http + "/missing") as response:
            assert response.status == 404


async def test_ui_is_served_from_a_directory(
    upstream: UpstreamDouble, http: aiohttp.ClientSession, tmp_path: pytest.TempPathFactory
) -> None:
    root = tmp_path / "ui"  # type: ignore[operator]
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<html>local ui</html>")
    (root / "assets" / "index.js").write_text("let a = 1;")
    (tmp_path / "secret.txt").write_text("nope")  # type: ignore[operator]
    async with running_proxy(fast_config(upstream.url, ui_dir=root)) as proxy:
        async with http.get(proxy.http + "/") as response:
            assert "local ui" in await response.text()
        async with http.get(proxy.http + "/assets/index.js") as response:
            assert await response.text() == "let a = 1;"
        async with http.get(proxy.http + "/%2e%2e/secret.txt") as response:
            assert response.status == 404


async def test_a_browser_that_stops_reading_slows_the_upstream_instead_of_filling_memory(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    upstream.behaviour = "flood"
    async with running_proxy(fast_config(upstream.url)) as proxy, http.ws_connect(proxy.ws) as ws:
        await receive_kind(ws, Kind.HANDSHAKE)
        await asyncio.sleep(1.5)  # the browser reads nothing meanwhile
        stalled_at = upstream.sent
        print(f"upstream sent {stalled_at} of {FLOOD_MESSAGES} while the browser did not read")
        # Only socket buffers sit between the two: far less than the 128 MiB being pushed.
        assert stalled_at * FLOOD_BYTES < 48 * 1024 * 1024
        received = 0
        while received < FLOOD_MESSAGES:
            msg = await ws.receive(timeout=10)
            assert msg.type is aiohttp.WSMsgType.BINARY
            received += 1
    assert upstream.sent == FLOOD_MESSAGES > stalled_at


async def test_a_burst_of_audio_and_text_keeps_its_order_both_ways(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    # Audio pages take the splice, text the WebSocket library: neither may overtake the other.
    sent = [
        b"\x02 word %d" % i if i % 7 == 3 else b"\x01OggS" + i.to_bytes(2, "big") * 50
        for i in range(300)
    ]
    async with (
        running_proxy(fast_config(upstream.url)) as proxy,
        http.ws_connect(proxy.ws, params=UI_QUERY) as ws,
    ):
        await receive_kind(ws, Kind.HANDSHAKE)
        for data in sent:
            await ws.send_bytes(data)
        echoed: list[bytes] = []
        while len(echoed) < len(sent):
            msg = await ws.receive(timeout=5)
            assert msg.type is aiohttp.WSMsgType.BINARY
            if msg.data[0] != Kind.PING:
                echoed.append(msg.data)
    assert upstream.received == sent
    assert echoed == sent
