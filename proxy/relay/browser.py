"""The browser side of a conversation: ordered sends, notices, and a close with a reason."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from proxy.relay.codec import Text, encode
from proxy.relay.splice import FrameSplice

_MAX_CLOSE_REASON = 123  # bytes: RFC 6455 leaves 123 for the reason after the code


class Browser:
    """The browser side of a conversation: every send goes through one lock, in order."""

    def __init__(
        self, ws: web.WebSocketResponse, wants_events: bool, splice: FrameSplice | None = None
    ) -> None:
        self.ws = ws
        self.wants_events = wants_events
        #: The browser's socket under the splice (audio frames bypass ``ws`` both ways).
        self.splice = splice
        self._lock = asyncio.Lock()

    async def send(self, data: bytes) -> bool:
        """Send one message; False when the socket is already closing."""
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError):
                return False
            return True

    async def notice(self, text: str) -> bool:
        """Show a line of text in the UI's transcript (a ``0x02`` message)."""
        return await self.send(encode(Text(text)))

    async def close(self, code: int, reason: str) -> None:
        """Close with a code and a reason (truncated to what the protocol allows)."""
        message = reason.encode("utf-8")[:_MAX_CLOSE_REASON]
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=message)
