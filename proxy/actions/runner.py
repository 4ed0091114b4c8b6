"""The async runner around :class:`~proxy.actions.machine.ActionMachine`: extract → guard → run →
report.

One :class:`SessionFlow` per conversation (WebSocket session or HTTP API session), all made by a
:class:`~proxy.actions.registry.FlowRegistry`.  The machine decides what happens to every step
(runs now, asks for confirmation, held behind a pending one, refused); the runner only performs
those decisions through :class:`~proxy.actions.effects.Effects` and tells the user through a
:class:`~proxy.actions.reporter.Reporter`.  It never talks to a socket: the HTTP API serialises
the :class:`~proxy.actions.results.ActionReport` it returns.

Only the user's side reaches :meth:`SessionFlow.confirm` — control frames, the user's recognised
speech (through the trigger matcher) and the API (typed answers: :meth:`SessionFlow.answer`) —
never the model's text, so the voice model cannot confirm its own proposal.  Held commands are
reported with status ``held``; when the command they wait for is cancelled or expires they are
reported ``cancelled`` / ``expired`` too, and every such fate gets an audit ``confirmation``
record marked ``held_behind``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from extraction.model import Extractor, Turn
from proxy.actions import messages, results
from proxy.actions.audit import AuditLog, confirmation_records
from proxy.actions.controls import Cancel, Confirm, Execute, InvalidControl, UserAction
from proxy.actions.effects import Effects
from proxy.actions.events import (
    Abort,
    Accepted,
    Busy,
    Cancelled,
    CancelRequested,
    Confirmed,
    ConfirmRequested,
    ExecuteRequested,
    Expired,
    NothingPending,
    State,
    Sweep,
    Unnamed,
)
from proxy.actions.executors.base import Executor
from proxy.actions.limits import ExecLimiter
from proxy.actions.machine import ActionMachine
from proxy.actions.perform import Performer
from proxy.actions.ports import CommandChecker, MemoryStore, Notifier, TranscriptSource
from proxy.actions.reporter import Reporter
from proxy.actions.settings import FlowSettings
from proxy.listen.answers import Answer, typed_answer
from proxy.relay.codec import Action
from voiceops.records.audit import RequestRecord
from voiceops.records.commands import ActionReport, HistoryEntry, PendingCommand
from voiceops.records.events import BusyEvent, InvalidEvent, NotPendingEvent, RefusedEvent

log = logging.getLogger(__name__)


class SessionFlow:
    """Runs one session's user actions through the state machine, one request at a time.

    Use :meth:`submit` from the relay (it returns at once; the conversation keeps flowing) and
    the awaitable methods from the HTTP API.
    """

    def __init__(
        self,
        session_id: str,
        *,
        extractor: Extractor,
        guard: CommandChecker,
        executor: Executor,
        settings: FlowSettings,
        audit: AuditLog | None = None,
        memory: MemoryStore | None = None,
        notifier: Notifier | None = None,
        transcript: TranscriptSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        limiter: ExecLimiter | None = None,
    ) -> None:
        self.session_id = session_id
        self.transcript = transcript
        self._effects = Effects(
            session_id,
            extractor=extractor,
            guard=guard,
            executor=executor,
            audit=audit,
            memory=memory,
            recall_k=settings.recall_k,
            limiter=limiter,
        )
        self._report = Reporter(session_id, notifier, settings.history_limit)
        self._settings = settings
        self._clock = clock
        self._machine = ActionMachine(confirm_ttl=settings.confirm_ttl)
        # Serialises decisions about this session's pending set together with their audit
        # records, so two concurrent CONFIRMs cannot both take the same command and the audit
        # log lists decisions in the order they were made.
        self._lock = asyncio.Lock()
        self._perform = Performer(
            session_id,
            machine=self._machine,
            effects=self._effects,
            report=self._report,
            clock=clock,
        )
        self._tasks: set[asyncio.Task[ActionReport]] = set()
        self.last_active = clock()

    # -- inspection

    def act_as(self, principal: str, peer: str) -> None:
        """Name ``principal`` and ``peer`` in this session's audit records from now on."""
        self._effects.actor = {"principal": principal, "peer": peer}

    @property
    def notifier(self) -> Notifier:
        """Where this session's progress goes (replaced when a conversation attaches)."""
        return self._report.notifier

    @notifier.setter
    def notifier(self, notifier: Notifier) -> None:
        self._report.notifier = notifier

    @property
    def state(self) -> State:
        """Where the state machine is."""
        return self._machine.state

    def pending(self) -> list[PendingCommand]:
        """Commands awaiting confirmation, oldest first."""
        now = self._clock()
        return [results.pending_command(entry, now) for entry in self._machine.pending()]

    def history(self) -> list[HistoryEntry]:
        """This session's command results and confirmation outcomes, oldest first."""
        return self._report.history()

    @property
    def attached(self) -> bool:
        """True when a live conversation (a real notifier) is attached."""
        return self._report.attached

    # -- entry points

    def submit(self, action: UserAction | InvalidControl, *, via: str = "control") -> None:
        """Start handling ``action`` in the background (for the relay's receive loop)."""
        task = asyncio.create_task(self.handle(action, via=via), name=f"flow-{self.session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[ActionReport]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("action flow task failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Cancel background work (a running command's process group is killed)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(
        self, action: UserAction | InvalidControl, *, via: str = "control"
    ) -> ActionReport:
        """Handle one user action (from a control frame, the voice path or the API)."""
        match action:
            case Execute(request):
                return await self.execute(request, via=via)
            case Confirm(pending_id, named, spoken):
                return await self.confirm(pending_id, via=via, named=named, spoken=spoken)
            case Cancel(pending_id):
                return await self.cancel(pending_id, via=via)
            case InvalidControl(reason):
                message = messages.invalid(reason)
                await self._report.tell(message, InvalidEvent(reason))
                return ActionReport(self.session_id, "execute", "invalid", message)

    async def answer(self, text: str, *, via: str = "api") -> ActionReport | None:
        """Confirm or cancel the newest pending command when ``text`` (typed, the *user's*) is
        an answer by :func:`~proxy.listen.answers.typed_answer` ("confirm", "no, cancel
        that").  Returns ``None`` when it is not one or nothing is pending."""
        if not self._machine.pending():
            return None
        match typed_answer(text):
            case Answer(Action.CONFIRM, named):
                return await self.confirm(None, via=via, named=named)
            case Answer(Action.CANCEL):
                return await self.cancel(None, via=via)
        return None

    async def execute(
        self, request: str | None = None, *, turns: Sequence[Turn] | None = None, via: str = "api"
    ) -> ActionReport:
        """Extract, check and run: from ``request`` when given, else from ``turns``, else from
        the conversation's transcript since the last execution."""
        self.last_active = self._clock()
        if not self._settings.exec_allowed:
            return await self._refuse_exec("execute", via)
        async with self._lock:
            outcome = self._machine.handle(ExecuteRequested(request))
        if isinstance(outcome, Busy):
            return await self._busy("execute", outcome)
        assert isinstance(outcome, Accepted)
        try:
            return await self._perform.run_request(
                outcome.request_id, request, turns, via, self.transcript
            )
        except BaseException:
            # Whatever went wrong (including cancellation), the session must not stay busy.
            if self._machine.state.busy:
                self._machine.handle(Abort())
            raise

    async def confirm(
        self,
        pending_id: str | None = None,
        *,
        via: str = "api",
        named: str | None = None,
        spoken: bool = False,
    ) -> ActionReport:
        """Run the pending command ``pending_id`` (default: the newest) exactly as approved,
        then the steps of its request held behind it, in order (up to the next one that needs
        confirmation, which becomes pending).  ``named``/``spoken``: see
        :class:`~proxy.actions.controls.Confirm`."""
        self.last_active = self._clock()
        if not self._settings.exec_allowed:
            return await self._refuse_exec("confirm", via)
        async with self._lock:
            event = ConfirmRequested(pending_id, self._clock(), named, spoken)
            outcome = self._machine.handle(event)
            if isinstance(outcome, Confirmed | Expired):
                await self._write_confirmation(outcome, via)
        match outcome:
            case Busy():
                return await self._busy("confirm", outcome)
            case Expired():
                message = messages.too_late(outcome.ids)
                done = await self._perform.expired(outcome, message)
                return ActionReport(self.session_id, "confirm", "expired", message, results=done)
            case Confirmed():
                try:
                    return await self._perform.run_confirmed(outcome)
                except BaseException:
                    if self._machine.state.busy:
                        self._machine.handle(Abort())
                    raise
            case Unnamed():
                return await self._perform.unnamed(outcome)
            case _:
                assert isinstance(outcome, NothingPending)
                return await self._not_pending("confirm", outcome)

    async def cancel(self, pending_id: str | None = None, *, via: str = "api") -> ActionReport:
        """Drop the pending command ``pending_id`` (default: the newest) and the steps held
        behind it; none of them will run."""
        self.last_active = self._clock()
        async with self._lock:
            outcome = self._machine.handle(CancelRequested(pending_id))
            if isinstance(outcome, Cancelled):
                await self._write_confirmation(outcome, via)
        if isinstance(outcome, Cancelled):
            return await self._perform.cancelled(outcome, via)
        assert isinstance(outcome, NothingPending)
        return await self._not_pending("cancel", outcome)

    async def sweep(self) -> tuple[str, ...]:
        """Drop pending commands whose time is up and tell the user; returns their ids."""
        async with self._lock:
            outcome = self._machine.handle(Sweep(self._clock()))
            assert isinstance(outcome, Expired)
            if outcome.ids:
                await self._write_confirmation(outcome, "sweep")
        if outcome.ids:
            await self._perform.expired(outcome, messages.timed_out(outcome.ids))
        return outcome.ids

    # -- answers that run nothing

    async def _write_confirmation(self, outcome: Confirmed | Cancelled | Expired, via: str) -> None:
        for record in confirmation_records(session_id=self.session_id, outcome=outcome, via=via):
            await self._effects.write(record)

    async def _refuse_exec(self, action: Literal["execute", "confirm"], via: str) -> ActionReport:
        reason = self._settings.exec_refusal
        await self._effects.write(RequestRecord(self.session_id, "refused", action, via, reason))
        message = messages.refused(reason)
        await self._report.tell(message, RefusedEvent(reason))
        return ActionReport(self.session_id, action, "refused", message)

    async def _busy(self, action: Literal["execute", "confirm"], outcome: Busy) -> ActionReport:
        await self._report.tell(messages.BUSY, BusyEvent(outcome.request_id))
        return ActionReport(self.session_id, action, "busy", messages.BUSY)

    async def _not_pending(
        self, action: Literal["confirm", "cancel"], outcome: NothingPending
    ) -> ActionReport:
        message = messages.not_pending(action, outcome.pending_id, outcome.behind)
        await self._report.tell(message, NotPendingEvent(outcome.pending_id))
        return ActionReport(self.session_id, action, "not_pending", message)
