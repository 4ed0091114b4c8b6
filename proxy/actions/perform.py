"""Carrying out what the action machine decided: run, ask, hold, refuse, then report.

:class:`Performer` holds one session's machine together with its effects and reporter.  For
each step the machine has already decided whether it runs now, asks for confirmation, waits
behind a pending step or was refused; this module only performs that and reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal

from extraction.model import Turn
from proxy.actions import messages, results
from proxy.actions.audit import decision_record, run_record
from proxy.actions.effects import Effects
from proxy.actions.events import (
    Cancelled,
    Confirmed,
    Expired,
    Failed,
    Pending,
    Plan,
    Planned,
    Reported,
    Step,
    StepDone,
)
from proxy.actions.machine import ActionMachine
from proxy.actions.ports import TranscriptSource
from proxy.actions.reporter import Reporter
from proxy.actions.results import ActionReport, CommandResult, ReportOutcome
from proxy.actions.settings import FlowSettings


class Performer:
    """Performs one session's requests and confirmed commands, step by step, in order."""

    def __init__(
        self,
        session_id: str,
        *,
        machine: ActionMachine,
        effects: Effects,
        report: Reporter,
        settings: FlowSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self.machine = machine
        self.effects = effects
        self.report = report
        self._settings = settings
        self._clock = clock
        # Conversation turns ending at or before this time were already executed once; saying
        # "execute plan" again must not re-run them.
        self._consumed_until = float("-inf")

    async def run_request(
        self,
        request_id: str,
        request: str | None,
        turns: Sequence[Turn] | None,
        via: str,
        transcript: TranscriptSource | None,
    ) -> ActionReport:
        """Extract, check, run and report one accepted request (the machine is EXTRACTING)."""
        from_conversation = request is None and turns is None
        if request is not None:
            used: list[Turn] = [Turn("user", request, 0.0, 0.0)]
        elif turns is not None:
            used = list(turns)
        else:
            conversation = self.effects.conversation(transcript)
            used = [t for t in conversation if t.end > self._consumed_until]
        words = " | ".join(f"{t.speaker}: {t.text}" for t in used)
        accepted = {"event": "accepted", "request_id": request_id, "via": via, "request": request}
        await self.report.tell(messages.WORKING, accepted)
        context = await self.effects.recall(" ".join(t.text for t in used if t.speaker == "user"))
        extraction = await self.effects.extract(used, context)
        if extraction is None:
            self.machine.handle(Failed("extraction failed"))
            return await self._finish(request_id, words, (), "failed", messages.EXTRACTION_FAILED)
        if from_conversation and used:
            self._consumed_until = max(t.end for t in used)
        checked = tuple((p, self.effects.check(p.command)) for p in extraction.commands)
        plan = self.machine.handle(Planned(checked, self._clock()))
        assert isinstance(plan, Plan)
        if not plan.steps:
            message = messages.nothing_to_run(extraction.reason)
            return await self._finish(request_id, words, (), "nothing_to_run", message)
        for step in plan.steps:
            await self.effects.write(
                decision_record(
                    session_id=self.session_id,
                    request_id=request_id,
                    step_id=step.id,
                    words=words,
                    command=step.proposed.command,
                    decision=step.decision,
                )
            )
        told = messages.inferred(extraction.commands)
        if told is not None:
            origins = {p.command: p.origin for p in extraction.commands if p.origin != "user"}
            await self.report.tell(
                told, {"event": "inferred", "request_id": request_id, "origins": origins}
            )
        done = await self._carry_out(plan.steps, plan.run, plan.confirm)
        closing = messages.tally(done, extraction.unmatched)
        return await self._finish(request_id, words, tuple(done), "done", closing)

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
        done = []
        for step in steps:
            if step.id in to_run:
                result = await self._run_step(step, confirmed=step is confirmed)
            else:
                result = results.parked(step, confirm)
                message = messages.parked(step, confirm, self._settings.confirm_ttl)
                await self.report.command(result, step.request_id, message)
            done.append(result)
        return done

    async def cancelled(self, outcome: Cancelled, via: str) -> ActionReport:
        """Report the cancelled pending step and the steps held behind it."""
        step = outcome.pending.step
        result = results.cancelled(step, via)
        message = messages.cancelled(step)
        await self.report.command(result, step.request_id, message)
        dropped = await self.drop_held(outcome.pending, "cancelled", "which was cancelled")
        return ActionReport(
            self.session_id, "cancel", "cancelled", message, step.request_id, (result, *dropped)
        )

    async def expired(self, outcome: Expired, message: str) -> tuple[CommandResult, ...]:
        """Report pending steps that ran out of time (and the steps held behind them)."""
        done: list[CommandResult] = []
        for entry in outcome.entries:
            result = results.expired(entry)
            self.report.remember(result, entry.step.request_id)
            done.append(result)
        await self.report.tell(message, {"event": "expired", "ids": list(outcome.ids)})
        for entry in outcome.entries:
            done += await self.drop_held(entry, "expired", "whose confirmation timed out")
        return tuple(done)

    async def drop_held(
        self, entry: Pending, status: Literal["cancelled", "expired"], because: str
    ) -> list[CommandResult]:
        """Report the steps held behind ``entry`` as dropped with it (their audit records are
        written with the pending one's)."""
        done = []
        for step in entry.held:
            result = results.dropped(step, entry, status, because)
            message = messages.dropped(step, entry.step, because)
            await self.report.command(result, step.request_id, message)
            done.append(result)
        return done

    async def _run_step(self, step: Step, *, confirmed: bool) -> CommandResult:
        approval = step.approval
        assert approval is not None  # refused steps are never scheduled to run
        run = await self.effects.run(step.id, approval)
        await self.effects.write(
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
            reason=messages.failure_reason(run, self.effects.executor),
            rule=approval.rule,
            exit_code=run.exit_code,
            output=run.output,
            duration=run.duration,
            timed_out=run.timed_out,
            truncated=run.truncated,
        )
        self.machine.handle(StepDone(step.id, self._clock()))
        message = messages.executed(approval, run, self.effects.executor)
        await self.report.command(result, step.request_id, message)
        return result

    async def run_confirmed(self, confirmed: Confirmed) -> ActionReport:
        """Run the confirmed step, then the steps held behind it, in order, up to the next one
        that needs confirmation (which becomes pending, with the rest held behind it)."""
        step = confirmed.pending.step
        asked = () if confirmed.confirm is None else (confirmed.confirm,)
        steps = (*confirmed.run, *asked, *confirmed.held)
        done = await self._carry_out(steps, confirmed.run, confirmed.confirm, confirmed=step)
        # A lone command's result line says it all; a continuation gets the closing tally.
        message = "" if len(done) == 1 else messages.tally(done)
        words = f"confirm {step.id}"
        report = await self._finish(
            step.request_id, words, tuple(done), "done", message, quiet=not message
        )
        return ActionReport(
            self.session_id, "confirm", "done", report.message, step.request_id, report.results
        )

    async def _finish(
        self,
        request_id: str,
        words: str,
        done: tuple[CommandResult, ...],
        outcome: ReportOutcome,
        message: str,
        *,
        quiet: bool = False,
    ) -> ActionReport:
        """Reporting: store the interaction in memory, send the closing note, back to rest."""
        if done:
            await self.effects.store(words, done)
        if message and not quiet:
            event = {
                "event": "done",
                "request_id": request_id,
                "outcome": outcome,
                "results": [r.to_dict() for r in done],
            }
            await self.report.tell(message, event)
        self.machine.handle(Reported())
        return ActionReport(self.session_id, "execute", outcome, message, request_id, done)
