"""The splice: audio frames go from socket to socket inside ``data_received``, no task hop.

A :class:`FrameSplice` sits between a transport and the protocol the WebSocket library gave it
(aiohttp's, or #13's connection guard around it).  It runs every received byte through a
:class:`~proxy.relay.frames.FrameScanner`: spliceable audio frames go to ``forward`` (which
writes them to the other side at once), everything else goes to the library as before, where the
relay's pumps read it as messages.  Two rules keep the wire correct:

- **Order.**  ``pending`` counts messages handed to the library that the pump has not relayed
  yet (:meth:`FrameSplice.delivered`); while any is pending, audio frames take the same path
  behind them.
- **Frame boundaries.**  Forwarded frames are written whole and synchronously, as are the
  library's own frames, so the proxy's frames (notices, events, pings) land only between frames.

A read that holds exactly one whole audio frame (nearly every page) is recognised by a header
check (:meth:`~proxy.relay.frames.FrameScanner.single`) and forwarded without scanner events.

Backpressure: when one side's socket buffer fills, the other side stops reading until it drains,
so a slow reader slows the writer instead of growing a buffer.

The splice must see a stream from a frame boundary.  The browser side is installed before the
101 answer goes out; the upstream side from aiohttp's ``on_request_end`` trace, right after the
101 was parsed.  Bytes the library already holds at that point (sent right behind the 101) are
scanned but not passed (:meth:`FrameSplice.observe`): the library reads them itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from typing import cast

import aiohttp
from aiohttp import web

from proxy.relay.frames import FrameScanner, Passed

#: What a splice does with one spliceable frame (the frame, where its payload starts); False: it
#: could not (the frame goes the slow way).
Forward = Callable[[bytes, int], bool]


class FrameSplice(asyncio.Protocol):
    """Interposed between ``transport`` and its protocol; see the module docstring."""

    def __init__(self, transport: asyncio.Transport, scanner: FrameScanner) -> None:
        self.transport = transport
        self._inner = cast(asyncio.Protocol, transport.get_protocol())
        self._scanner = scanner
        #: Where spliceable frames go; None until both sides are connected.
        self.forward: Forward | None = None
        #: Messages handed to the library and not yet relayed by the pump.
        self.pending = 0
        #: The other side: it stops reading while this side's socket buffer is full.
        self.partner: FrameSplice | None = None
        self._held = False
        transport.set_protocol(self)

    def observe(self, tail: bytes) -> None:
        """Scan bytes the library already holds (it reads them itself): count their messages."""
        self.pending += self._scanner.skip(tail)

    def delivered(self) -> None:
        """The pump has relayed (or refused) one message it read from the library."""
        self.pending -= 1

    def data_received(self, data: bytes) -> None:
        """Splice what may be spliced now; pass everything else on, in order."""
        forward = self.forward
        if forward is not None and not self.pending:
            start = self._scanner.single(data)
            if start:  # one whole audio frame, alone: no events to make
                if not forward(data, start):
                    self.pending += 1
                    self._inner.data_received(data)
                return
        for event in self._scanner.feed(data):
            if isinstance(event, Passed):
                self.pending += event.messages
                self._inner.data_received(event.data)
            elif self.pending or self.forward is None or not self.forward(event.frame, event.start):
                self.pending += 1
                self._inner.data_received(event.frame)

    def eof_received(self) -> bool | None:
        """Half-close, as the library decides."""
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop forwarding; tell the library."""
        self.forward = None
        if self.partner is not None:
            self.partner.forward = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """This socket is full: the other side stops reading."""
        self._inner.pause_writing()
        if self.partner is not None:
            self.partner.hold(True)

    def resume_writing(self) -> None:
        """This socket drained: the other side reads again."""
        self._inner.resume_writing()
        if self.partner is not None:
            self.partner.hold(False)

    def hold(self, held: bool) -> None:
        """Stop (or restart) reading this side for the partner's full buffer."""
        if held == self._held or self.transport.is_closing():
            return
        self._held = held
        if held:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()


def browser_side(
    request: web.Request, ws: web.WebSocketResponse, max_payload: int, kind: int
) -> FrameSplice | None:
    """Install the browser side of the splice; call just before ``ws.prepare(request)``.

    Only for a valid upgrade: after a refused one the connection may carry more HTTP requests,
    which are no frames."""
    transport = request.transport
    if transport is None or not ws.can_prepare(request).ok:
        return None
    splice = FrameSplice(
        transport,
        FrameScanner(masked=True, kind=kind, max_payload=max_payload),
    )
    # Bytes the browser sent right behind its upgrade request, held by aiohttp for the parser.
    splice.observe(getattr(request.protocol, "_message_tail", b""))
    return splice


#: Set by a conversation around its ``ws_connect``: the trace installs the upstream side there.
_UPSTREAM: ContextVar[Callable[[FrameSplice], None] | None] = ContextVar(
    "upstream_splice", default=None
)


def upstream_tracer(scanner: Callable[[], FrameScanner]) -> aiohttp.TraceConfig:
    """A trace that installs the upstream side of a splice once the upstream has upgraded."""

    async def request_end(
        session: aiohttp.ClientSession,
        context: object,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        receive = _UPSTREAM.get()
        connection = params.response.connection
        if receive is None or params.response.status != 101 or connection is None:
            return
        transport, protocol = connection.transport, connection.protocol
        if transport is None or protocol is None:
            return
        splice = FrameSplice(transport, scanner())
        # Frames that came with the 101 wait in aiohttp's tail for its WebSocket parser.
        splice.observe(getattr(protocol, "_tail", b""))
        receive(splice)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(request_end)
    return trace


def expect_upstream(receive: Callable[[FrameSplice], None] | None) -> None:
    """Have the next upstream upgrade in this task hand its splice to ``receive`` (None: stop)."""
    _UPSTREAM.set(receive)
