"""Every sentence the action flow says to the user, in one place.

They appear in the conversation as ``[voiceops] …`` lines (``0x02`` text) and as the ``message``
of the HTTP API's answers.  Plain functions of what happened; nothing here decides anything.
What happened to a command (ran, refused, asks for confirmation) is a
:class:`~proxy.actions.digest.Digest`: one short line, and a sentence the proxy also says.
"""

from __future__ import annotations

from collections.abc import Sequence

from extraction.model import ProposedCommand, Unmatched
from guard.decision import Approval
from proxy.actions import digest
from proxy.actions.digest import Digest
from proxy.actions.events import Asks, Blocked, Dropped, Held, Step
from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.results import DROPPED_BECAUSE
from voiceops.records.commands import CommandResult

WORKING = "Working on it…"
EXTRACTION_FAILED = "Could not work out the commands (see the log)."
BUSY = "Still busy with the previous request; try again when it has finished."

_TALLY_WORDS = {
    "executed": "ran",
    "failed": "failed",
    "blocked": "refused",
    "needs_confirmation": "waiting for confirmation",
    "held": "held until then",
}


def display(step: Step) -> str:
    """How a step is named to the user: the approved command line, else the proposed text,
    and the fleet node it is for."""
    approval = step.approval
    shown = approval.display if approval is not None else step.proposed.command
    return shown if step.node is None else f"{shown} on {step.node}"


def on_node(node: str | None, said: Digest) -> Digest:
    """A digest labelled with the fleet node it is about ("web-1: df -h: 42 % used …")."""
    if node is None:
        return said
    return Digest(digest.line(f"{node}: {said.text}"), f"On {node}: {said.speech}")


def executor_timeout(executor: Executor) -> float | None:
    """The executor's time limit per command, when it has one."""
    limit = getattr(executor, "timeout", None)
    return float(limit) if isinstance(limit, float | int) else None


def executed(approval: Approval, run: RunResult, executor: Executor) -> Digest:
    """A command that ran (or tried to), as one line and a sentence (see :mod:`digest`),
    labelled with its node."""
    said = digest.executed(approval.display, run, executor_timeout(executor))
    return on_node(approval.node, said)


def failure_reason(run: RunResult, executor: Executor) -> str | None:
    """Why a run did not succeed, for a person (``None`` when it did)."""
    if run.error is not None:
        return run.error
    if run.timed_out:
        limit = executor_timeout(executor)
        return f"timed out after {limit:g} s" if limit is not None else "timed out"
    if run.exit_code is not None and run.exit_code < 0:
        return f"killed by signal {-run.exit_code}"
    if run.exit_code not in (0, None):
        return f"exit code {run.exit_code}"
    return None


def tally(results: Sequence[CommandResult], unmatched: Sequence[Unmatched] = ()) -> str:
    """The closing line of a request, e.g. ``Done: 2 ran, 1 refused.``, then what was heard and
    not understood ("I heard 'fix the printer'. Did you mean: …?") so nothing is dropped unsaid."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    parts = [f"{n} {_TALLY_WORDS.get(status, status)}" for status, n in counts.items()]
    return " ".join(["Done: " + ", ".join(parts) + ".", *(u.why for u in unmatched)])


def inferred(commands: Sequence[ProposedCommand]) -> str | None:
    """Commands the operator did not say themselves, named before they run (``None``: none)."""
    lines = []
    offered = [p.command for p in commands if p.origin == "assistant"]
    if offered:
        lines.append(
            f"Taken from the voice model's offer, which you accepted: {'; '.join(offered)}."
        )
    recalled = [p.command for p in commands if p.origin == "memory"]
    if recalled:
        lines.append(f"From memory, as last time: {'; '.join(recalled)}.")
    return " ".join(lines) or None


def nothing_to_run(reason: str | None) -> str:
    """No command came out of the words."""
    return f"No command to run: {reason or 'no command was found'}."


def parked(fate: Asks | Held | Blocked) -> str | Digest:
    """About a step that does not run now: refused or asking (spoken too), or held (shown)."""
    step = fate.step
    match fate:
        case Blocked(reason=reason):
            return on_node(step.node, digest.refused(step.proposed.command, reason))
        case Asks(approval=approval, why=why, ttl=ttl, nodes=nodes):
            assert step.say is not None  # a step that asks waits for a confirmation
            return digest.needs_confirmation(
                approval.display, why, step.say, ttl, step.id, nodes=nodes
            )
        case Held(behind=behind, asks=None):
            return f"{display(step)} ({step.id}) will run after you confirm {behind}."
        case Held(behind=behind, asks=why):
            return (
                f"{display(step)} ({step.id}) is held until you confirm {behind}; "
                f"then it will ask for its own confirmation ({why})."
            )


def unnamed(step: Step, say: str, named: str | None) -> Digest:
    """A confirmation that named no action, or not the waiting one's (``named``)."""
    return digest.unnamed(display(step), say, step.id, named)


def dropped(fate: Dropped) -> str:
    """A pending step was cancelled, or a held step was dropped with the pending step it
    waited for."""
    step = fate.step
    if fate.behind is None:
        # Pending steps that expire are told together (timed_out, too_late), never one by one.
        return f"Cancelled {display(step)} ({step.id}); it was not run."
    return (
        f"Dropped {display(step)} ({step.id}): it was to run after {fate.behind}, "
        f"{DROPPED_BECAUSE[fate.how]}; it was not run."
    )


def too_late(ids: Sequence[str]) -> str:
    """A confirmation came after the pending step expired."""
    return f"Too late: the confirmation for {', '.join(ids)} expired; nothing was run."


def timed_out(ids: Sequence[str]) -> str:
    """The sweeper dropped pending steps whose time was up."""
    return f"Confirmation for {', '.join(ids)} timed out; nothing was run."


def not_pending(action: str, pending_id: str | None, behind: str | None) -> str:
    """CONFIRM/CANCEL named nothing pending (``behind``: the pending step it is held behind)."""
    if behind is not None:
        then = "it runs after that" if action == "confirm" else "cancelling that drops it too"
        return (
            f"Nothing to {action}: {pending_id} is not pending yet; it is held until "
            f"{behind} is confirmed ({then})."
        )
    what = f"pending command {pending_id}" if pending_id else "pending command"
    return f"Nothing to {action}: there is no {what}."


def refused(reason: str) -> str:
    """Running commands is switched off."""
    return f"Not running anything: {reason}."


def invalid(reason: str) -> str:
    """A control frame that could not be understood."""
    return f"Control message not understood: {reason}"
