"""The async runner around :class:`~proxy.actions.machine.ActionMachine`.

Extract → guard → run → report.

One :class:`SessionFlow` per conversation (WebSocket session or HTTP API session), all made by a
:class:`FlowRegistry` that shares the extractor, guard, executor, audit log and memory between
them and sweeps expired confirmations in the background.

The flow never talks to a socket: it reports through a :class:`Notifier` that the relay provides
(``0x02`` text for the unmodified UI, ``0x04`` events for clients that opted in) and returns an
:class:`ActionReport` that the HTTP API serialises.  Only the user's side reaches
:meth:`SessionFlow.confirm` — control frames, the user's recognised speech
(:meth:`SessionFlow.on_user_utterance`) and the API — never the model's text, so the voice model
cannot confirm its own proposal.

A request's commands run strictly in the order they were agreed (the machine decides which run
now, which one asks for confirmation and which are held behind it; see
``proxy/actions/machine.py``).
Held commands are reported with status ``held``; when the command they wait for is cancelled or
expires they are reported ``cancelled`` / ``expired`` too, and every such fate gets an audit
``confirmation`` record marked ``held_behind``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from aiohttp import web

from extraction.model import Extraction, Extractor, Recollection, Turn
from guard.decision import Allowed, Approval, Decision, NeedsConfirmation, Refused
from proxy.actions.audit import AuditLog, decision_record, run_record
from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.machine import (
    Abort,
    Accepted,
    ActionMachine,
    Busy,
    Cancel,
    Cancelled,
    CancelRequested,
    Confirm,
    Confirmed,
    ConfirmRequested,
    Execute,
    ExecuteRequested,
    Expired,
    Failed,
    InvalidControl,
    Pending,
    Plan,
    Planned,
    Reported,
    State,
    Step,
    StepDone,
    Sweep,
    UserAction,
)
from proxy.listen.confirm import is_cancellation, is_confirmation

if TYPE_CHECKING:
    # extraction.memory loads ChromaDB (seconds); a proxy without memory never needs it.
    from extraction.memory import InteractionRecord

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# What the lead provides


class Notifier(Protocol):
    """Where a session's progress and results go (the relay sends them to the browser)."""

    async def notify_text(self, text: str) -> None:
        """Show ``text`` to the user (as ``0x02`` text in the conversation)."""
        ...

    async def notify_event(self, event: dict[str, object]) -> None:
        """Deliver a structured, JSON-able event (as ``0x04`` to clients that asked for it)."""
        ...


class NullNotifier:
    """A notifier that drops everything (HTTP API sessions read the returned report instead)."""

    async def notify_text(self, text: str) -> None:
        """Drop ``text``."""

    async def notify_event(self, event: dict[str, object]) -> None:
        """Drop ``event``."""


class CommandChecker(Protocol):
    """The guard's interface as the flow uses it (``guard.Guard`` implements it)."""

    def check(self, text: str) -> Decision:
        """Decide about one command text; never raises."""
        ...


class MemoryStore(Protocol):
    """The memory's interface as the flow uses it (``extraction.memory.Memory``); blocking."""

    def store(self, record: InteractionRecord) -> str | None:
        """Remember one finished request; returns its id (or ``None`` when not stored)."""
        ...

    def recall(self, text: str, k: int) -> list[Recollection]:
        """Up to ``k`` past requests similar to ``text``."""
        ...


TranscriptSource = Callable[[], Sequence[Turn]]

# --------------------------------------------------------------------------------------------
# Settings

_DEFAULT_REFUSAL = (
    "running commands is switched off: the proxy listens beyond loopback and was not started "
    "with --insecure-exec"
)


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Knobs of the action flow (see the report to the lead for where each comes from)."""

    #: May commands run at all?  The lead computes this from the listen address (see
    #: :func:`exec_permission`); when False every request is refused with ``exec_refusal``.
    exec_allowed: bool = False
    exec_refusal: str = _DEFAULT_REFUSAL
    #: Seconds a destructive command waits for a person's confirmation.
    confirm_ttl: float = 120.0
    #: Seconds between background sweeps of expired confirmations.
    sweep_interval: float = 5.0
    #: How many past interactions memory recalls as extraction context.
    recall_k: int = 3
    #: Result records kept per session for ``GET /api/sessions/{id}/actions``.
    history_limit: int = 200
    #: The in-conversation result summary: at most this many output lines / characters.
    summary_max_lines: int = 10
    summary_max_chars: int = 600
    #: Sessions kept by the registry; idle sessions without a notifier are dropped first.
    max_sessions: int = 1000


def exec_permission(hosts: Iterable[str], *, insecure_exec: bool) -> tuple[bool, str]:
    """Whether commands may run, and why not, for a proxy listening on ``hosts``.

    Allowed when every listen host is loopback (``127.0.0.0/8``, ``::1``, ``localhost``), or when
    the operator passed ``--insecure-exec`` (the caller should log a loud warning then).
    """
    hosts = list(hosts)
    non_loopback = [host for host in hosts if not _is_loopback(host)]
    if not hosts:
        non_loopback = ["all interfaces"]
    if not non_loopback or insecure_exec:
        return True, ""
    return False, (
        f"running commands is switched off: the proxy listens on {', '.join(non_loopback)} and "
        "there is no authentication yet (listen on 127.0.0.1, or start with --insecure-exec)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# Results

CommandStatus = Literal[
    "executed", "blocked", "needs_confirmation", "held", "failed", "cancelled", "expired"
]
Outcome = Literal[
    "done",
    "nothing_to_run",
    "busy",
    "refused",
    "failed",
    "invalid",
    "not_pending",
    "expired",
    "cancelled",
]


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What happened to one extracted command (the items of the API's ``results`` list)."""

    id: str
    command: str
    status: CommandStatus
    argv: tuple[str, ...] | None = None
    reason: str | None = None
    rule: str | None = None
    exit_code: int | None = None
    output: str | None = None
    duration: float | None = None
    timed_out: bool = False
    truncated: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-able form; fields that do not apply are left out."""
        data: dict[str, object] = {"id": self.id, "command": self.command, "status": self.status}
        if self.argv is not None:
            data["argv"] = list(self.argv)
        optional = {
            "reason": self.reason,
            "rule": self.rule,
            "exit_code": self.exit_code,
            "output": self.output,
            "duration": None if self.duration is None else round(self.duration, 4),
        }
        data |= {key: value for key, value in optional.items() if value is not None}
        if self.timed_out:
            data["timed_out"] = True
        if self.truncated:
            data["truncated"] = True
        return data


@dataclass(frozen=True, slots=True)
class ActionReport:
    """The answer to one user action: what was said to the user and each command's result."""

    session_id: str
    action: Literal["execute", "confirm", "cancel"]
    outcome: Outcome
    message: str
    request_id: str | None = None
    results: tuple[CommandResult, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (the HTTP API's response body)."""
        return {
            "session_id": self.session_id,
            "action": self.action,
            "outcome": self.outcome,
            "message": self.message,
            "request_id": self.request_id,
            "results": [result.to_dict() for result in self.results],
        }


# --------------------------------------------------------------------------------------------
# The per-session runner


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
    ) -> None:
        self.session_id = session_id
        self.notifier: Notifier = notifier or NullNotifier()
        self.transcript = transcript
        self._extractor = extractor
        self._guard = guard
        self._executor = executor
        self._settings = settings
        self._audit = audit
        self._memory = memory
        self._clock = clock
        self._machine = ActionMachine(confirm_ttl=settings.confirm_ttl)
        # Serialises decisions about this session's pending set together with their audit
        # records, so two concurrent CONFIRMs cannot both take the same command and the audit
        # log lists decisions in the order they were made.
        self._lock = asyncio.Lock()
        # Conversation turns ending at or before this time were already executed once; saying
        # "execute plan" again must not re-run them.
        self._consumed_until = float("-inf")
        self._history: deque[dict[str, object]] = deque(maxlen=settings.history_limit)
        self._tasks: set[asyncio.Task[ActionReport]] = set()
        self.last_active = clock()

    # -- inspection

    @property
    def state(self) -> State:
        """Where the state machine is."""
        return self._machine.state

    def pending(self) -> list[dict[str, object]]:
        """Commands awaiting confirmation, oldest first, JSON-able."""
        now = self._clock()
        return [_pending_dict(entry, now) for entry in self._machine.pending()]

    def history(self) -> list[dict[str, object]]:
        """This session's command results and confirmation outcomes, oldest first."""
        return list(self._history)

    @property
    def attached(self) -> bool:
        """True when a live conversation (a real notifier) is attached."""
        return not isinstance(self.notifier, NullNotifier)

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
            case Confirm(pending_id):
                return await self.confirm(pending_id, via=via)
            case Cancel(pending_id):
                return await self.cancel(pending_id, via=via)
            case InvalidControl(reason):
                message = f"Control message not understood: {reason}"
                await self._tell(message, {"event": "invalid", "reason": reason})
                return ActionReport(self.session_id, "execute", "invalid", message)

    async def on_user_utterance(self, text: str) -> ActionReport | None:
        """Feed one recognised utterance of the *user*; confirms or cancels when it is a plain
        "yes"/"cancel" and something is pending.  Returns ``None`` when it was neither."""
        if not self._machine.pending():
            return None
        if is_confirmation(text):
            return await self.confirm(None, via="voice")
        if is_cancellation(text):
            return await self.cancel(None, via="voice")
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
            return await self._busy("execute")
        assert isinstance(outcome, Accepted)
        try:
            return await self._run_request(outcome.request_id, request, turns, via)
        except BaseException:
            # Whatever went wrong (including cancellation), the session must not stay busy.
            if self._machine.state.busy:
                self._machine.handle(Abort())
            raise

    async def confirm(self, pending_id: str | None = None, *, via: str = "api") -> ActionReport:
        """Run the pending command ``pending_id`` (default: the newest) exactly as approved,
        then the steps of its request held behind it, in order (up to the next one that needs
        confirmation, which becomes pending)."""
        self.last_active = self._clock()
        if not self._settings.exec_allowed:
            return await self._refuse_exec("confirm", via)
        async with self._lock:
            outcome = self._machine.handle(ConfirmRequested(pending_id, self._clock()))
            if isinstance(outcome, Confirmed | Expired):
                await self._write_confirmation(outcome, via)
        match outcome:
            case Busy():
                return await self._busy("confirm")
            case Expired():
                return await self._expired_answer(outcome)
            case Confirmed():
                try:
                    return await self._run_confirmed(outcome)
                except BaseException:
                    if self._machine.state.busy:
                        self._machine.handle(Abort())
                    raise
            case _:
                return await self._not_pending("confirm", pending_id)

    async def cancel(self, pending_id: str | None = None, *, via: str = "api") -> ActionReport:
        """Drop the pending command ``pending_id`` (default: the newest) and the steps held
        behind it; none of them will run."""
        self.last_active = self._clock()
        async with self._lock:
            outcome = self._machine.handle(CancelRequested(pending_id))
            if isinstance(outcome, Cancelled):
                await self._write_confirmation(outcome, via)
        if isinstance(outcome, Cancelled):
            step = outcome.pending.step
            result = CommandResult(
                step.id,
                step.proposed.command,
                "cancelled",
                _argv(step),
                reason=f"cancelled ({via})",
            )
            self._remember(result, step.request_id)
            message = f"Cancelled {_display(step)} ({step.id}); it was not run."
            await self._tell(message, _event("command", self.session_id, step.request_id, result))
            dropped = await self._drop_held(outcome.pending, "cancelled", "which was cancelled")
            return ActionReport(
                self.session_id,
                "cancel",
                "cancelled",
                message,
                step.request_id,
                (result, *dropped),
            )
        return await self._not_pending("cancel", pending_id)

    async def sweep(self) -> tuple[str, ...]:
        """Drop pending commands whose time is up and tell the user; returns their ids."""
        async with self._lock:
            outcome = self._machine.handle(Sweep(self._clock()))
            assert isinstance(outcome, Expired)
            if outcome.ids:
                await self._write_confirmation(outcome, "sweep")
        for entry in outcome.entries:
            self._remember(_expired_result(entry), entry.step.request_id)
        if outcome.ids:
            ids = ", ".join(outcome.ids)
            await self._tell(
                f"Confirmation for {ids} timed out; nothing was run.",
                {"event": "expired", "ids": list(outcome.ids)},
            )
        for entry in outcome.entries:
            await self._drop_held(entry, "expired", "whose confirmation timed out")
        return outcome.ids

    # -- the request pipeline

    async def _run_request(
        self, request_id: str, request: str | None, turns: Sequence[Turn] | None, via: str
    ) -> ActionReport:
        from_conversation = request is None and turns is None
        if request is not None:
            used: list[Turn] = [Turn("user", request, 0.0, 0.0)]
        elif turns is not None:
            used = list(turns)
        else:
            used = [t for t in self._conversation() if t.end > self._consumed_until]
        words = " | ".join(f"{t.speaker}: {t.text}" for t in used)
        await self._tell(
            "Working on it…",
            {
                "event": "accepted",
                "session_id": self.session_id,
                "request_id": request_id,
                "via": via,
                "request": request,
            },
        )
        context = await self._recall(" ".join(t.text for t in used if t.speaker == "user"))
        extraction = await self._extract(used, context)
        if extraction is None:
            self._machine.handle(Failed("extraction failed"))
            return await self._finish(
                request_id, words, (), "failed", "Could not work out the commands (see the log)."
            )
        if from_conversation and used:
            self._consumed_until = max(t.end for t in used)
        checked = tuple((p, self._check(p.command)) for p in extraction.commands)
        plan = self._machine.handle(Planned(checked, self._clock()))
        assert isinstance(plan, Plan)
        steps = plan.steps
        if not steps:
            reason = extraction.reason or "no command was found"
            return await self._finish(
                request_id, words, (), "nothing_to_run", f"No command to run: {reason}."
            )
        for step in steps:
            await self._write(
                decision_record(
                    session_id=self.session_id,
                    request_id=request_id,
                    step_id=step.id,
                    words=words,
                    command=step.proposed.command,
                    decision=step.decision,
                )
            )
        results = await self._carry_out(steps, plan.run, plan.confirm)
        return await self._finish(request_id, words, tuple(results), "done", _tally(results))

    async def _carry_out(
        self,
        steps: Sequence[Step],
        run: Sequence[Step],
        confirm: Step | None,
        *,
        confirmed: Step | None = None,
    ) -> list[CommandResult]:
        """Go through ``steps`` in the agreed order: run those in ``run`` (``confirmed`` is the
        one a person just confirmed), ask for ``confirm``, and report the refused and the held
        ones.  The machine has already decided which is which; this only carries it out."""
        to_run = {step.id for step in run}
        results = []
        for step in steps:
            if step.id in to_run:
                approval = step.approval
                assert approval is not None  # refused steps are never scheduled to run
                result = await self._run_step(step, approval, confirmed=step is confirmed)
            else:
                result = await self._park(step, confirm)
            results.append(result)
        return results

    async def _park(self, step: Step, confirm: Step | None) -> CommandResult:
        """Refuse, ask about or hold one step that does not run now; tell the user."""
        command = step.proposed.command
        match step.decision:
            case Refused(_, reason, rule):
                result = CommandResult(step.id, command, "blocked", reason=reason, rule=rule)
                message = f"{command} → refused: {reason}"
            case NeedsConfirmation(approval, why) if step is confirm:
                result = CommandResult(
                    step.id,
                    command,
                    "needs_confirmation",
                    approval.argv,
                    reason=why,
                    rule=approval.rule,
                )
                ttl = round(self._settings.confirm_ttl)
                message = (
                    f"{approval.display} needs confirmation ({why}). Say “confirm” or "
                    f"“cancel” within {ttl} s (id {step.id})."
                )
            case Allowed(approval) | NeedsConfirmation(approval, _):
                # Held behind ``confirm``: it runs only after that one, never before.
                assert confirm is not None
                reason = f"held: runs after {confirm.id} is confirmed"
                message = f"{approval.display} ({step.id}) will run after you confirm {confirm.id}."
                if isinstance(step.decision, NeedsConfirmation):
                    why = step.decision.why
                    reason += f", then needs its own confirmation ({why})"
                    message = (
                        f"{approval.display} ({step.id}) is held until you confirm {confirm.id}; "
                        f"then it will ask for its own confirmation ({why})."
                    )
                result = CommandResult(
                    step.id, command, "held", approval.argv, reason=reason, rule=approval.rule
                )
        self._remember(result, step.request_id)
        await self._tell(message, _event("command", self.session_id, step.request_id, result))
        return result

    async def _drop_held(
        self, entry: Pending, status: Literal["cancelled", "expired"], because: str
    ) -> list[CommandResult]:
        """Report the steps held behind ``entry`` as dropped with it (their audit records are
        written with the pending one's)."""
        results = []
        for step in entry.held:
            reason = f"dropped: it was to run after {entry.step.id}, {because}"
            result = CommandResult(
                step.id, step.proposed.command, status, _argv(step), reason=reason
            )
            self._remember(result, step.request_id)
            message = (
                f"Dropped {_display(step)} ({step.id}): it was to run after {entry.step.id}, "
                f"{because}; it was not run."
            )
            await self._tell(message, _event("command", self.session_id, step.request_id, result))
            results.append(result)
        return results

    async def _run_step(self, step: Step, approval: Approval, *, confirmed: bool) -> CommandResult:
        try:
            run = await self._executor.run(approval)
        except Exception as exc:
            log.exception("executor failed for %s", step.id)
            run = RunResult(approval.argv, None, "", "", 0, 0, 0.0, error=f"executor error: {exc}")
        await self._write(
            run_record(
                session_id=self.session_id,
                request_id=step.request_id,
                step_id=step.id,
                result=run,
                confirmed=confirmed,
            )
        )
        result = CommandResult(
            id=step.id,
            command=step.proposed.command,
            status="executed" if run.ok else "failed",
            argv=approval.argv,
            reason=_failure_reason(run, self._executor),
            rule=approval.rule,
            exit_code=run.exit_code,
            output=run.output,
            duration=run.duration,
            timed_out=run.timed_out,
            truncated=run.truncated,
        )
        self._machine.handle(StepDone(step.id, self._clock()))
        self._remember(result, step.request_id)
        await self._tell(
            summarise(
                approval, run, self._settings.summary_max_lines, self._settings.summary_max_chars
            ),
            _event("command", self.session_id, step.request_id, result),
        )
        return result

    async def _run_confirmed(self, confirmed: Confirmed) -> ActionReport:
        """Run the confirmed step, then the steps held behind it, in order, up to the next one
        that needs confirmation (which becomes pending, with the rest held behind it)."""
        step = confirmed.pending.step
        asked = () if confirmed.confirm is None else (confirmed.confirm,)
        steps = (*confirmed.run, *asked, *confirmed.held)
        results = await self._carry_out(steps, confirmed.run, confirmed.confirm, confirmed=step)
        # A lone command's result line says it all; a continuation gets the closing tally.
        message = "" if len(results) == 1 else _tally(results)
        words = f"confirm {step.id}"
        report = await self._finish(
            step.request_id, words, tuple(results), "done", message, quiet=not message
        )
        return ActionReport(
            self.session_id, "confirm", "done", report.message, step.request_id, report.results
        )

    async def _finish(
        self,
        request_id: str,
        words: str,
        results: tuple[CommandResult, ...],
        outcome: Outcome,
        message: str,
        *,
        quiet: bool = False,
    ) -> ActionReport:
        """Reporting: store the interaction in memory, send the closing note, back to rest."""
        if results:
            await self._store(words, results)
        if message and not quiet:
            await self._tell(
                message,
                {
                    "event": "done",
                    "session_id": self.session_id,
                    "request_id": request_id,
                    "outcome": outcome,
                    "results": [r.to_dict() for r in results],
                },
            )
        self._machine.handle(Reported())
        return ActionReport(self.session_id, "execute", outcome, message, request_id, results)

    # -- helpers that must never break a request

    def _conversation(self) -> Sequence[Turn]:
        if self.transcript is None:
            return ()
        try:
            return self.transcript()
        except Exception:
            log.exception("transcript source failed")
            return ()

    async def _recall(self, text: str) -> tuple[Recollection, ...]:
        if self._memory is None or not text.strip():
            return ()
        try:
            found = await asyncio.to_thread(self._memory.recall, text, self._settings.recall_k)
        except Exception:
            log.exception("memory recall failed; extracting without context")
            return ()
        return tuple(found)

    async def _extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection]
    ) -> Extraction | None:
        try:
            return await self._extractor.extract(turns, context)
        except Exception:
            log.exception("extractor failed")
            return None

    def _check(self, command: str) -> Decision:
        try:
            return self._guard.check(command)
        except Exception:
            # Guard.check is documented never to raise; if it does, nothing runs.
            log.exception("guard failed")
            return Refused(command, "the guard could not check this command", "guard-error")

    async def _store(self, words: str, results: Sequence[CommandResult]) -> None:
        if self._memory is None:
            return
        try:
            from extraction.memory import InteractionRecord  # noqa: PLC0415 (see TYPE_CHECKING)

            record = InteractionRecord(
                request=words,
                commands=tuple(r.command for r in results),
                decisions=tuple(r.status for r in results),
                exit_codes=tuple(r.exit_code for r in results),
                output="\n".join(f"{r.command}: {r.output or r.reason or ''}" for r in results)[
                    :4000
                ],
                session_id=self.session_id,
                time=time.time(),
            )
            await asyncio.to_thread(self._memory.store, record)
        except Exception:
            log.exception("memory store failed; the request itself succeeded")

    async def _write(self, record: dict[str, object]) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.write(record)
        except OSError:
            # A full disk must not hide the result from the user; the log line says what is
            # missing from the audit trail.
            log.exception("audit write failed for %s %s", record.get("type"), record.get("id"))

    async def _write_confirmation(self, outcome: Confirmed | Cancelled | Expired, via: str) -> None:
        # One record per step whose fate this decides: the pending one, and for a cancellation
        # or expiry each step held behind it (marked with the pending id it waited for).
        records: list[tuple[str, str | None]] = []
        match outcome:
            case Confirmed(pending=entry):
                kind = "confirmed"
                records = [(entry.step.id, None)]
            case Cancelled(pending=entry):
                kind = "cancelled"
                records = [(entry.step.id, None), *((s.id, entry.step.id) for s in entry.held)]
            case Expired(ids=ids, entries=entries):
                kind = "expired"
                records = [(pending_id, None) for pending_id in ids]
                for entry in entries:
                    records += [(s.id, entry.step.id) for s in entry.held]
        for step_id, behind in records:
            record: dict[str, object] = {
                "type": "confirmation",
                "session_id": self.session_id,
                "id": step_id,
                "outcome": kind,
                "via": via,
            }
            if behind is not None:
                record["held_behind"] = behind
            await self._write(record)

    async def _tell(self, text: str, event: dict[str, object]) -> None:
        event = {"type": "voiceops", "session_id": self.session_id, **event}
        try:
            await self.notifier.notify_text(text)
            await self.notifier.notify_event(event)
        except Exception:
            # The user may have hung up; the result is still in the audit log and the API.
            log.warning("notifier failed for session %s", self.session_id, exc_info=True)

    def _remember(self, result: CommandResult, request_id: str) -> None:
        self._history.append({"request_id": request_id, "time": time.time(), **result.to_dict()})

    async def _refuse_exec(self, action: Literal["execute", "confirm"], via: str) -> ActionReport:
        reason = self._settings.exec_refusal
        await self._write(
            {
                "type": "request",
                "session_id": self.session_id,
                "outcome": "refused",
                "action": action,
                "via": via,
                "reason": reason,
            }
        )
        message = f"Not running anything: {reason}."
        await self._tell(message, {"event": "refused", "reason": reason})
        return ActionReport(self.session_id, action, "refused", message)

    async def _busy(self, action: Literal["execute", "confirm"]) -> ActionReport:
        message = "Still busy with the previous request; try again when it has finished."
        await self._tell(message, {"event": "busy", "request_id": self._machine.current_request})
        return ActionReport(self.session_id, action, "busy", message)

    async def _expired_answer(self, outcome: Expired) -> ActionReport:
        ids = outcome.ids
        message = f"Too late: the confirmation for {', '.join(ids)} expired; nothing was run."
        results: list[CommandResult] = []
        for entry in outcome.entries:
            result = _expired_result(entry)
            self._remember(result, entry.step.request_id)
            results.append(result)
        await self._tell(message, {"event": "expired", "ids": list(ids)})
        for entry in outcome.entries:
            results += await self._drop_held(entry, "expired", "whose confirmation timed out")
        return ActionReport(self.session_id, "confirm", "expired", message, results=tuple(results))

    async def _not_pending(
        self, action: Literal["confirm", "cancel"], pending_id: str | None
    ) -> ActionReport:
        what = f"pending command {pending_id}" if pending_id else "pending command"
        message = f"Nothing to {action}: there is no {what}."
        behind = next(
            (
                entry.step.id
                for entry in self._machine.pending()
                if any(step.id == pending_id for step in entry.held)
            ),
            None,
        )
        if behind is not None:
            then = "it runs after that" if action == "confirm" else "cancelling that drops it too"
            message = (
                f"Nothing to {action}: {pending_id} is not pending yet; it is held until "
                f"{behind} is confirmed ({then})."
            )
        await self._tell(message, {"event": "not_pending", "id": pending_id})
        return ActionReport(self.session_id, action, "not_pending", message)


# --------------------------------------------------------------------------------------------
# Formatting


def summarise(approval: Approval, run: RunResult, max_lines: int = 10, max_chars: int = 600) -> str:
    """The short result line(s) shown in the conversation, e.g. ``df -h → exit 0`` + output."""
    if run.error is not None:
        return f"{approval.display} → could not run: {run.error}"
    if run.timed_out:
        head = f"{approval.display} → timed out, stopped"
    else:
        head = f"{approval.display} → exit {run.exit_code}"
    lines = run.output.strip("\n").splitlines()
    shown = lines[:max_lines]
    text = "\n".join([head, *shown]) if shown else head
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    elif len(lines) > max_lines:
        text += f"\n… ({len(lines) - max_lines} more lines)"
    return text


def _failure_reason(run: RunResult, executor: Executor) -> str | None:
    if run.error is not None:
        return run.error
    if run.timed_out:
        limit = getattr(executor, "timeout", None)
        return f"timed out after {limit:g} s" if isinstance(limit, float | int) else "timed out"
    if run.exit_code is not None and run.exit_code < 0:
        return f"killed by signal {-run.exit_code}"
    if run.exit_code not in (0, None):
        return f"exit code {run.exit_code}"
    return None


def _tally(results: Sequence[CommandResult]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    words = {
        "executed": "ran",
        "failed": "failed",
        "blocked": "refused",
        "needs_confirmation": "waiting for confirmation",
        "held": "held until then",
    }
    parts = [f"{n} {words.get(status, status)}" for status, n in counts.items()]
    return "Done: " + ", ".join(parts) + "."


def _display(step: Step) -> str:
    approval = step.approval
    return approval.display if approval is not None else step.proposed.command


def _argv(step: Step) -> tuple[str, ...] | None:
    approval = step.approval
    return approval.argv if approval is not None else None


def _event(name: str, session_id: str, request_id: str, result: CommandResult) -> dict[str, object]:
    return {"event": name, "session_id": session_id, "request_id": request_id, **result.to_dict()}


def _pending_dict(entry: Pending, now: float) -> dict[str, object]:
    step = entry.step
    return {
        "id": step.id,
        "request_id": step.request_id,
        "command": step.proposed.command,
        "argv": list(_argv(step) or ()),
        "expires_in": max(0.0, round(entry.expires_at - now, 1)),
        "held": [{"id": s.id, "command": s.proposed.command} for s in entry.held],
    }


def _expired_result(entry: Pending) -> CommandResult:
    step = entry.step
    return CommandResult(
        step.id, step.proposed.command, "expired", _argv(step), reason="confirmation timed out"
    )


# --------------------------------------------------------------------------------------------
# The registry


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
    _flows: dict[str, SessionFlow] = field(default_factory=dict)
    _api_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

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

    def new_api_session(self) -> SessionFlow:
        """A fresh flow for an HTTP request that named no session."""
        while True:
            session_id = f"api-{next(self._api_ids)}"
            if session_id not in self._flows:
                return self.open(session_id)

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
