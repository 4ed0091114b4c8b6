"""A loopback HTTP server that speaks enough of Anthropic's Messages API for the tests.

Each test scripts the answers (status, JSON body or raw text, delay) and afterwards inspects
the requests the server received, headers and body, exactly as the SDK sent them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    """One scripted answer; ``body`` is JSON unless it is a str (sent as raw text)."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """What the server saw: headers and the parsed JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]


def tool_message(commands: list[dict[str, str]], reason: str | None = None) -> dict[str, Any]:
    """A well-formed Messages API answer that calls the propose_commands tool."""
    payload: dict[str, Any] = {"commands": commands}
    if reason is not None:
        payload["reason"] = reason
    return message(
        [{"type": "tool_use", "id": "toolu_1", "name": "propose_commands", "input": payload}]
    )


def message(content: Any, stop_reason: str = "tool_use") -> dict[str, Any]:
    """A Messages API answer with the given content blocks."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


def api_error(status: int, kind: str, text: str, retry_after_ms: int = 10) -> Reply:
    """An error answer in the API's error envelope; ``retry-after-ms`` tells the SDK how long to
    wait before it retries (short, so the tests stay fast)."""
    body = {"type": "error", "error": {"type": kind, "message": text}}
    return Reply(status, body, headers={"retry-after-ms": str(retry_after_ms)})


class FakeAnthropic:
    """Serves scripted replies in order; the last one repeats when the script runs out."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [Reply(body=tool_message([]))]
        self.received: list[Received] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(headers, body))
        index = min(len(self.received) - 1, len(self.replies) - 1)
        reply = self.replies[index]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, str):
            return web.Response(status=reply.status, text=reply.body, headers=reply.headers)
        return web.Response(
            status=reply.status,
            text=json.dumps(reply.body),
            content_type="application/json",
            headers=reply.headers,
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def running() -> AsyncIterator[FakeAnthropic]:
    """Start a server for one test and stop it afterwards."""
    server = FakeAnthropic()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
