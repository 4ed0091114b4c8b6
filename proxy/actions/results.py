"""What happened to each command, as the HTTP API, ``0x04`` events and the history report it.

:class:`CommandResult` is one command's fate; :class:`ActionReport` is the answer to one user
action.  The functions below build the result of a step that did not run (refused, asking,
held, cancelled, expired, dropped) from the fate the machine gave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from proxy.actions.events import Asks, Blocked, Dropped, Held, Pending, Step

CommandStatus = Literal[
    "executed", "blocked", "needs_confirmation", "held", "failed", "cancelled", "expired"
]
ReportOutcome = Literal[
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
    outcome: ReportOutcome
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
            return CommandResult(step.id, command, "blocked", reason=reason, rule=rule)
        case Asks(approval=approval, why=why):
            return CommandResult(
                step.id,
                command,
                "needs_confirmation",
                approval.argv,
                reason=why,
                rule=approval.rule,
            )
        case Held(approval=approval, behind=behind, asks=asks):
            reason = f"held: runs after {behind} is confirmed"
            if asks is not None:
                reason += f", then needs its own confirmation ({asks})"
            return CommandResult(
                step.id, command, "held", approval.argv, reason=reason, rule=approval.rule
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
    return CommandResult(step.id, step.proposed.command, fate.how, step_argv(step), reason=reason)


def pending_json(entry: Pending, now: float) -> dict[str, object]:
    """A pending command as ``GET`` answers and events show it (``expires_in`` from ``now``)."""
    step = entry.step
    return {
        "id": step.id,
        "request_id": step.request_id,
        "command": step.proposed.command,
        "argv": list(step_argv(step) or ()),
        "expires_in": max(0.0, round(entry.expires_at - now, 1)),
        "held": [{"id": s.id, "command": s.proposed.command} for s in entry.held],
    }
