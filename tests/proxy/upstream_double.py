"""A scriptable upstream for relay tests: the failure modes a real moshi server rarely shows on cue.

The happy path is also tested against the real tiny moshi server; this double exists for what is
hard to provoke there: refusing, dying mid-call, never handshaking, echoing arbitrary kinds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import WSMsgType, web

from devtools.tinymoshi import free_port

Behaviour = Literal[
    "echo", "refuse", "die_after_first", "never_handshake", "close_after_handshake", "flood"
]
#: In "flood" mode: how many messages of FLOOD_BYTES the upstream tries to send.
FLOOD_MESSAGES = 2000
FLOOD_BYTES = 64 * 1024


@dataclass
class UpstreamDouble:
    """An aiohttp server on loopback speaking the ``/api/chat`` framing."""

    behaviour: Behaviour = "echo"
    received: list[bytes] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    connections: int = 0
    sent: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/chat"

    async def start(self) -> UpstreamDouble:
        app = web.Application()
        app.router.add_get("/api/chat", self._chat)
        app.router.add_get("/", self._index)
        app.router.add_get("/assets/app.js", self._asset)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>upstream ui</html>", content_type="text/html")

    async def _asset(self, request: web.Request) -> web.Response:
        return web.Response(body=b"console.log('x');" * 10_000, content_type="text/javascript")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        self.queries.append(dict(request.query))
        if self.behaviour == "refuse":
            return web.Response(status=503, text="busy")
        ws = web.WebSocketResponse(max_msg_size=4 << 20)
        await ws.prepare(request)
        try:
            if self.behaviour == "never_handshake":
                async for _ in ws:
                    pass
                return ws
            await ws.send_bytes(b"\x00")
            if self.behaviour == "close_after_handshake":
                await ws.close()
                return ws
            if self.behaviour == "flood":
                page = b"\x01" + bytes(FLOOD_BYTES - 1)
                for _ in range(FLOOD_MESSAGES):
                    await ws.send_bytes(page)
                    self.sent += 1
            async for msg in ws:
                if msg.type is not WSMsgType.BINARY:
                    continue
                self.received.append(msg.data)
                if self.behaviour == "die_after_first":
                    assert request.transport is not None
                    request.transport.abort()
                    return ws
                await ws.send_bytes(msg.data)
        finally:
            self.closed.set()
        return ws
