"""How each step's fate is decided, as pure functions of the steps and the guard's decisions.

:class:`~proxy.actions.machine.ActionMachine` keeps the state (what is running, what is
pending) and calls these to say, for the steps of a request in their agreed order, which one
runs, asks, waits or was refused, and which are dropped with a pending one.  The fates
themselves are defined in :mod:`proxy.actions.events`.
"""

from __future__ import annotations

from typing import Literal

from guard.decision import Approval, NeedsConfirmation, Refused
from proxy.actions.events import Asks, Blocked, Dropped, Held, Pending, Runs, Scheduled, Step


def blocked(steps: tuple[Step, ...]) -> dict[str, Blocked]:
    """The steps the guard refused, by id, each with the guard's reason and rule."""
    return {
        step.id: Blocked(step=step, reason=decision.reason, rule=decision.rule)
        for step in steps
        if isinstance(decision := step.decision, Refused)
    }


def cut(
    steps: tuple[Step, ...], confirmed: Step | None = None
) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """``steps`` (none refused) split before the first one that needs confirmation: those
    before it run now, the rest wait.  ``confirmed`` needs none: a person has just given it,
    and with it the same command on the other nodes it names."""
    at = next(
        (
            n
            for n, step in enumerate(steps)
            if not agreed(step, confirmed) and isinstance(step.decision, NeedsConfirmation)
        ),
        len(steps),
    )
    return steps[:at], steps[at:]


def agreed(step: Step, confirmed: Step | None) -> bool:
    """Whether a person's confirmation of ``confirmed`` covers ``step``: it is that step, or
    the same command on another node it names (:meth:`Step.covers`)."""
    return confirmed is not None and (step is confirmed or confirmed.covers(step))


def scheduled(
    run: tuple[Step, ...], waiting: tuple[Step, ...], confirmed: Step | None, ttl: float
) -> tuple[Scheduled, ...]:
    """The fates of steps :func:`cut` apart: ``run`` run now; the first ``waiting`` step asks
    (for ``ttl`` seconds once it is pending) and the rest are held behind it, each saying
    whether it will ask in turn."""
    runs = tuple(Runs(step=s, approval=_approval(s), confirmed=agreed(s, confirmed)) for s in run)
    if not waiting:
        return runs
    first, *rest = waiting
    decision = first.decision
    assert isinstance(decision, NeedsConfirmation)  # cut() splits before such a step
    # One confirmation covers the same command on the other nodes it names: asked once.
    nodes = tuple(s.node for s in waiting if s.node is not None and agreed(s, first))
    asks = Asks(step=first, approval=decision.approval, why=decision.why, ttl=ttl, nodes=nodes)
    held = (
        Held(
            step=step,
            approval=_approval(step),
            behind=first.id,
            asks=(
                step.decision.why
                if isinstance(step.decision, NeedsConfirmation) and not first.covers(step)
                else None
            ),
        )
        for step in rest
    )
    return (*runs, asks, *held)


def dropped(
    entries: tuple[Pending, ...], how: Literal["cancelled", "expired"]
) -> tuple[Dropped, ...]:
    """The fates of pending steps dropped ``how``: the pending ones first, then the steps held
    behind each."""
    pending = (Dropped(step=entry.step, how=how) for entry in entries)
    held = (
        Dropped(step=step, how=how, behind=entry.step.id)
        for entry in entries
        for step in entry.held
    )
    return (*pending, *held)


def _approval(step: Step) -> Approval:
    approval = step.approval
    assert approval is not None  # refused steps are never scheduled
    return approval
