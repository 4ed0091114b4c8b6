"""Limits below HTTP: connections per client address, and time to send the request headers.

Each accepted connection is wrapped before aiohttp sees it.  Beyond the per-address limit the
client gets a plain ``HTTP/1.1 429`` saying why, and the socket closes; a connection that has not
finished its first request's headers within the timeout is answered ``408`` and closed, so idle
or trickling sockets (slowloris) cannot pile up.  Behind a gateway every client shares the
gateway's address: set the limit to what the gateway may open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

log = logging.getLogger("proxy.server.connections")

_HEADERS_END = b"\r\n\r\n"
#: Bytes of a first request kept to find the end of its headers (aiohttp refuses larger ones).
_MAX_HEAD = 64 * 1024


def _plain(status: str, text: str) -> bytes:
    body = text.encode("utf-8") + b"\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


@dataclass
class ConnectionLimits:
    """Open connections per client address, shared by every accepted connection."""

    per_address: int
    header_timeout: float
    open: dict[str, int] = field(default_factory=dict)

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False when it is over the limit."""
        if self.open.get(address, 0) >= self.per_address:
            return False
        self.open[address] = self.open.get(address, 0) + 1
        return True

    def release(self, address: str) -> None:
        """A connection from ``address`` closed."""
        left = self.open.get(address, 0) - 1
        if left > 0:
            self.open[address] = left
        else:
            self.open.pop(address, None)


class GuardedConnection(asyncio.Protocol):
    """Passes everything to aiohttp's protocol once the connection is admitted."""

    def __init__(self, inner: asyncio.Protocol, limits: ConnectionLimits) -> None:
        self._inner = inner
        self._limits = limits
        self._address = ""
        self._admitted = False
        self._head = b""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit or refuse; start the header clock."""
        # uvloop's transports are not asyncio.Transport subclasses but have the same methods.
        transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if peer else "unknown"
        if not self._limits.admit(self._address):
            limit = self._limits.per_address
            log.warning("refused a connection from %s: over %d open", self._address, limit)
            transport.write(_plain("429 Too Many Requests", f"over {limit} open connections"))
            transport.close()
            return
        self._admitted = True
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._limits.header_timeout, self._too_slow, transport)
        self._inner.connection_made(transport)

    def _too_slow(self, transport: asyncio.Transport) -> None:
        log.warning(
            "closed a connection from %s: no request headers within %g s",
            self._address,
            self._limits.header_timeout,
        )
        transport.write(_plain("408 Request Timeout", "request headers took too long"))
        transport.close()

    def data_received(self, data: bytes) -> None:
        """Watch for the end of the first request's headers, then pass the bytes on."""
        if self._timer is not None:
            self._head = (self._head + data)[-_MAX_HEAD:]
            if _HEADERS_END in self._head:
                self._timer.cancel()
                self._timer = None
                self._head = b""
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        """Half-close, as aiohttp decides."""
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        """Backpressure from the socket."""
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        """Backpressure released."""
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        """Release the address's slot and tell aiohttp."""
        if self._timer is not None:
            self._timer.cancel()
        if self._admitted:
            self._limits.release(self._address)
            self._inner.connection_lost(exc)


def guarded(
    factory: Callable[[], asyncio.Protocol], limits: ConnectionLimits
) -> Callable[[], asyncio.Protocol]:
    """A protocol factory that wraps ``factory``'s protocols in :class:`GuardedConnection`."""
    return lambda: GuardedConnection(factory(), limits)
