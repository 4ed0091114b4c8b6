"""Minimal loopback WebSocket servers that behave as the proxy does in one situation each.

Each runs in its own thread and event loop so that tests can call the synchronous CLI
``main()`` (which runs its own loop) against them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` at ``/api/chat`` on a free loopback port; yields the ws:// URL."""
    loop = asyncio.new_event_loop()
    app = web.Application()

    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    app.router.add_get("/api/chat", route)
    runner = web.AppRunner(app)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield f"ws://127.0.0.1:{port}/api/chat"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def closed_port_url() -> str:
    """A ws:// URL on a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/api/chat"
