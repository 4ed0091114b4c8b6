"""Carrying out what the action machine decided: run, ask, hold, refuse, drop, then report.

:class:`Performer` holds one session's machine together with its effects and reporter.  Every
step comes out of the machine with its fate (:class:`~proxy.actions.events.Runs`, ``Asks``,
``Held``, ``Blocked``, ``Dropped``); this module performs it and reports it, deciding nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from extraction.model import Turn
from proxy.actions import messages, results
from proxy.actions.audit import decision_record, run_record
from proxy.actions.effects import Effects
from proxy.actions.events import (
    Cancelled,
    Confirmed,
    Dropped,
    Expired,
    Failed,
    Plan,
    Planned,
    Reported,
    Runs,
    Scheduled,
    StepDone,
    Unnamed,
)
from proxy.actions.machine import ActionMachine
from proxy.actions.ports import TranscriptSource
from proxy.actions.reporter import Reporter
from voiceops.phrases import confirming
from voiceops.records.commands import ActionReport, CommandResult, ReportOutcome
from voiceops.records.events import (
    AcceptedEvent,
    DoneEvent,
    ExpiredEvent,
    InferredEvent,
    UnnamedEvent,
)


class Performer:
    """Performs one session's requests and confirmed commands, step by step, in order."""

    def __init__(
        self,
        session_id: str,
        *,
        machine: ActionMachine,
        effects: Effects,
        report: Reporter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self.machine = machine
        self.effects = effects
        self.report = report
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
        await self.report.tell(messages.WORKING, AcceptedEvent(request_id, via, request))
        context = await self.effects.recall(" ".join(t.text for t in used if t.speaker == "user"))
        extraction = await self.effects.extract(used, context)
        if extraction is None:
            self.machine.handle(Failed("extraction failed"))
            return await self._finish(request_id, words, (), "failed", messages.EXTRACTION_FAILED)
        if from_conversation and used:
            self._consumed_until = max(t.end for t in used)
        # One step per node a command names, each checked against that node's policy.
        checked = tuple(
            (p, self.effects.check(p.command, node))
            for p in extraction.commands
            for node in p.targets or (None,)
        )
        plan = self.machine.handle(Planned(checked, self._clock()))
        assert isinstance(plan, Plan)
        if not plan.fates:
            message = messages.nothing_to_run(extraction.reason)
            return await self._finish(request_id, words, (), "nothing_to_run", message)
        for step in (fate.step for fate in plan.fates):
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
            origins: dict[str, str] = {
                p.command: p.origin for p in extraction.commands if p.origin != "user"
            }
            await self.report.tell(told, InferredEvent(request_id, origins))
        done = await self._carry_out(plan.fates)
        closing = messages.tally(done, extraction.unmatched)
        return await self._finish(request_id, words, tuple(done), "done", closing)

    async def _carry_out(self, fates: Sequence[Scheduled]) -> list[CommandResult]:
        """Carry out each step's fate in the agreed order: run it, or report that it asks, is
        held or was refused."""
        done = []
        for fate in fates:
            if isinstance(fate, Runs):
                result = await self._run_step(fate)
            else:
                result = results.parked(fate)
                await self.report.command(result, fate.step.request_id, messages.parked(fate))
            done.append(result)
        return done

    async def cancelled(self, outcome: Cancelled, via: str) -> ActionReport:
        """Report the cancelled pending step and the steps held behind it."""
        done = await self._report_dropped(outcome.fates, via)
        message = messages.dropped(outcome.fates[0])
        request_id = outcome.pending.step.request_id
        return ActionReport(self.session_id, "cancel", "cancelled", message, request_id, done)

    async def unnamed(self, outcome: Unnamed) -> ActionReport:
        """Tell the operator the words that run the waiting command: the confirmation named
        no action, or not its action.  Nothing ran."""
        step = outcome.waiting.step
        assert step.say is not None  # a pending step waits for a confirmation
        said = messages.unnamed(step, step.say, outcome.named)
        await self.report.tell(said, UnnamedEvent(step.id, confirming(step.say), outcome.named))
        return ActionReport(self.session_id, "confirm", "unnamed", said.text)

    async def expired(self, outcome: Expired, message: str) -> tuple[CommandResult, ...]:
        """Report pending steps that ran out of time (told together in ``message``) and the
        steps held behind them (told one by one)."""
        done: list[CommandResult] = []
        for fate in outcome.fates:
            if fate.behind is None:
                result = results.dropped(fate)
                self.report.remember(result, fate.step.request_id)
                done.append(result)
        await self.report.tell(message, ExpiredEvent(outcome.ids))
        held = [fate for fate in outcome.fates if fate.behind is not None]
        return (*done, *await self._report_dropped(held))

    async def _report_dropped(
        self, fates: Sequence[Dropped], via: str | None = None
    ) -> tuple[CommandResult, ...]:
        """Tell the user about each dropped step (their audit records are written with the
        pending one's)."""
        done = []
        for fate in fates:
            result = results.dropped(fate, via)
            await self.report.command(result, fate.step.request_id, messages.dropped(fate))
            done.append(result)
        return tuple(done)

    async def _run_step(self, fate: Runs) -> CommandResult:
        step, approval = fate.step, fate.approval
        run = await self.effects.run(step.id, approval)
        await self.effects.write(
            run_record(
                session_id=self.session_id,
                request_id=step.request_id,
                step_id=step.id,
                result=run,
                confirmed=fate.confirmed,
                node=step.node,
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
            node=step.node,
        )
        self.machine.handle(StepDone(step.id, self._clock()))
        message = messages.executed(approval, run, self.effects.executor)
        await self.report.command(result, step.request_id, message)
        return result

    async def run_confirmed(self, confirmed: Confirmed) -> ActionReport:
        """Run the confirmed step, then the steps held behind it, in order, up to the next one
        that needs confirmation (which becomes pending, with the rest held behind it)."""
        step = confirmed.pending.step
        done = await self._carry_out(confirmed.fates)
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
            await self.report.tell(message, DoneEvent(request_id, outcome, done))
        self.machine.handle(Reported())
        return ActionReport(self.session_id, "execute", outcome, message, request_id, done)
