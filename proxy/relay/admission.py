"""Admission: one conversation per upstream, everyone else waits in a bounded FIFO.

A PersonaPlex / moshi server holds one conversation at a time behind a lock; a second socket is
upgraded and then stays silent, and with three or more waiting their prompts overwrite each other.
So the proxy never sends a second conversation to a busy upstream.  Each client gets a
:class:`Ticket`; the ticket is admitted (given an upstream URL) in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from voiceops.errors import VoiceOpsError


class QueueFullError(VoiceOpsError):
    """Every upstream is busy and the waiting line is full."""


class Ticket:
    """One client's place in line.  Await :meth:`wait` until it is admitted; :attr:`upstream`
    is then the one it may use."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._upstream: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._moved = asyncio.Event()
        self._released = False

    @property
    def upstream(self) -> str | None:
        """The upstream URL once admitted, else None."""
        return self._upstream.result() if self._upstream.done() else None

    @property
    def position(self) -> int:
        """1-based place in the waiting line; 0 once admitted."""
        return self._admission.position(self)

    async def wait(self, within: float) -> bool:
        """Wait until admitted or the line moved (at most ``within`` s); True once admitted."""
        if not self._upstream.done():
            self._moved.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), within)
        return self._upstream.done()

    def release(self) -> None:
        """Leave the line, or free the upstream for the next in line.  Idempotent."""
        if not self._released:
            self._released = True
            self._admission._release(self)

    def _admit(self, upstream: str) -> None:
        self._upstream.set_result(upstream)
        self._moved.set()

    def _nudge(self) -> None:
        self._moved.set()


class Admission:
    """A pool of upstream URLs, each serving at most one conversation, and a waiting line."""

    def __init__(self, upstreams: list[str], max_waiting: int) -> None:
        if not upstreams:
            raise ValueError("at least one upstream is needed")
        self._free: deque[str] = deque(upstreams)
        self._busy: dict[Ticket, str] = {}
        self._waiting: deque[Ticket] = deque()
        self.max_waiting = max_waiting
        self.upstreams = tuple(upstreams)

    @property
    def waiting(self) -> int:
        """How many clients are in line."""
        return len(self._waiting)

    @property
    def active(self) -> int:
        """How many conversations hold an upstream."""
        return len(self._busy)

    def is_busy(self, upstream: str) -> bool:
        """True while ``upstream`` holds a conversation."""
        return upstream in self._busy.values()

    def enqueue(self) -> Ticket:
        """Take a ticket: admitted at once if an upstream is free, else placed in line.

        Raises :class:`QueueFullError` when the line already holds ``max_waiting`` clients.
        """
        ticket = Ticket(self)
        if self._free:
            self._grant(ticket, self._free.popleft())
        elif len(self._waiting) >= self.max_waiting:
            raise QueueFullError(
                f"all {len(self.upstreams)} upstream(s) are busy and "
                f"{len(self._waiting)} client(s) are already waiting"
            )
        else:
            self._waiting.append(ticket)
        return ticket

    def position(self, ticket: Ticket) -> int:
        """1-based place of ``ticket`` in line, 0 if it is not waiting."""
        try:
            return self._waiting.index(ticket) + 1
        except ValueError:
            return 0

    def _grant(self, ticket: Ticket, upstream: str) -> None:
        self._busy[ticket] = upstream
        ticket._admit(upstream)

    def _release(self, ticket: Ticket) -> None:
        upstream = self._busy.pop(ticket, None)
        if upstream is None:
            self._waiting.remove(ticket)
        elif self._waiting:
            self._grant(self._waiting.popleft(), upstream)
        else:
            self._free.append(upstream)
        for waiter in self._waiting:
            waiter._nudge()
