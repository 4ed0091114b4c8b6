"""All sessions' action flows: made on demand, sharing the pipeline parts, swept in the
background for expired confirmations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

from extraction.model import Extractor
from proxy.actions.audit import AuditLog
from proxy.actions.events import State
from proxy.actions.executors.base import Executor
from proxy.actions.limits import ExecLimiter
from proxy.actions.ports import CommandChecker, MemoryStore, Notifier, TranscriptSource
from proxy.actions.runner import SessionFlow
from proxy.actions.settings import FlowSettings

log = logging.getLogger(__name__)


@dataclass
class FlowRegistry:
    """Creates and finds :class:`SessionFlow` objects; shares the pipeline parts between them."""

    extractor: Extractor
    guard: CommandChecker
    executor: Executor
    settings: FlowSettings = field(default_factory=FlowSettings)
    audit: AuditLog | None = None
    memory: MemoryStore | None = None
    clock: Callable[[], float] = time.monotonic
    limiter: ExecLimiter | None = None
    _flows: dict[str, SessionFlow] = field(default_factory=dict)

    def open(
        self,
        session_id: str,
        *,
        notifier: Notifier | None = None,
        transcript: TranscriptSource | None = None,
    ) -> SessionFlow:
        """The flow for ``session_id`` (created if new); attaches ``notifier``/``transcript``."""
        flow = self._flows.get(session_id)
        if flow is None:
            self._evict()
            flow = SessionFlow(
                session_id,
                extractor=self.extractor,
                guard=self.guard,
                executor=self.executor,
                settings=self.settings,
                audit=self.audit,
                memory=self.memory,
                clock=self.clock,
                limiter=self.limiter,
            )
            self._flows[session_id] = flow
        if notifier is not None:
            flow.notifier = notifier
        if transcript is not None:
            flow.transcript = transcript
        return flow

    def get(self, session_id: str) -> SessionFlow | None:
        """The flow for ``session_id``, or ``None``."""
        return self._flows.get(session_id)

    async def close(self, session_id: str) -> None:
        """Forget ``session_id`` (its pending commands are dropped, running work cancelled)."""
        flow = self._flows.pop(session_id, None)
        if flow is not None:
            await flow.aclose()

    def __len__(self) -> int:
        return len(self._flows)

    def _evict(self) -> None:
        # Only sessions nobody is attached to, with nothing running or pending, may go.
        if len(self._flows) < self.settings.max_sessions:
            return
        idle = sorted(
            (f for f in self._flows.values() if not f.attached and f.state is State.IDLE),
            key=lambda f: f.last_active,
        )
        for flow in idle[: len(self._flows) - self.settings.max_sessions + 1]:
            del self._flows[flow.session_id]

    async def sweep(self) -> None:
        """Expire pending confirmations in every session."""
        for flow in list(self._flows.values()):
            try:
                await flow.sweep()
            except Exception:
                log.exception("sweep failed for session %s", flow.session_id)

    async def run_sweeper(self) -> None:
        """Sweep every ``settings.sweep_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            await self.sweep()

    async def cleanup_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: runs the sweeper while the app runs, then closes flows."""
        sweeper = asyncio.create_task(self.run_sweeper(), name="flow-sweeper")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        for session_id in list(self._flows):
            await self.close(session_id)
