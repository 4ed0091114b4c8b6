"""The records of what happened to each step, built from the fate the machine gave it.

The records themselves (:class:`~voiceops.records.commands.CommandResult`,
:class:`~voiceops.records.commands.PendingCommand` …) are defined once in
:mod:`voiceops.records.commands`, which the client reads too; the functions below build the
result of a step that did not run (refused, asking, held, cancelled, expired, dropped) and the
record of a pending one.
"""

from __future__ import annotations

from proxy.actions.events import Asks, Blocked, Dropped, Held, Pending, Step
from voiceops.phrases import confirming
from voiceops.records.commands import CommandResult, HeldCommand, PendingCommand


def step_argv(step: Step) -> tuple[str, ...] | None:
    """The argv the guard approved for ``step`` (``None`` when it refused it)."""
    approval = step.approval
    return approval.argv if approval is not None else None


def parked(fate: Asks | Held | Blocked) -> CommandResult:
    """The result of a step that does not run now: it asks, is held or was refused."""
    step = fate.step
    command = step.proposed.command
    match fate:
        case Blocked(reason=reason, rule=rule):
            return CommandResult(
                step.id, command, "blocked", reason=reason, rule=rule, node=step.node
            )
        case Asks(approval=approval, why=why):
            return CommandResult(
                step.id,
                command,
                "needs_confirmation",
                approval.argv,
                reason=why,
                rule=approval.rule,
                node=step.node,
                say=_say(step),
            )
        case Held(approval=approval, behind=behind, asks=asks):
            reason = f"held: runs after {behind} is confirmed"
            if asks is not None:
                reason += f", then needs its own confirmation ({asks})"
            return CommandResult(
                step.id,
                command,
                "held",
                approval.argv,
                reason=reason,
                rule=approval.rule,
                node=step.node,
            )


#: Why a held step was dropped, after the step it waited for.
DROPPED_BECAUSE = {"cancelled": "which was cancelled", "expired": "whose confirmation timed out"}


def dropped(fate: Dropped, via: str | None = None) -> CommandResult:
    """The result of a step that will not run: a pending step a person cancelled (through
    ``via``) or whose confirmation timed out, or a step held behind it."""
    step = fate.step
    if fate.behind is not None:
        reason = f"dropped: it was to run after {fate.behind}, {DROPPED_BECAUSE[fate.how]}"
    elif fate.how == "cancelled":
        reason = f"cancelled ({via})" if via else "cancelled"
    else:
        reason = "confirmation timed out"
    return CommandResult(
        step.id, step.proposed.command, fate.how, step_argv(step), reason=reason, node=step.node
    )


def pending_command(entry: Pending, now: float) -> PendingCommand:
    """A pending command as ``GET`` answers and the status page show it (``expires_in`` from
    ``now``)."""
    step = entry.step
    return PendingCommand(
        id=step.id,
        request_id=step.request_id,
        command=step.proposed.command,
        argv=step_argv(step) or (),
        expires_in=max(0.0, round(entry.expires_at - now, 1)),
        held=tuple(HeldCommand(s.id, s.proposed.command) for s in entry.held),
        node=step.node,
        say=_say(step),
    )


def _say(step: Step) -> str | None:
    # What to say to confirm the step aloud ("confirm restart"), for a step that waits.
    return None if step.say is None else confirming(step.say)
