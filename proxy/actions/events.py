"""What the action machine works with: its states, a request's steps, each step's fate, events
in, outcomes out.

All frozen and free of I/O.  The async runner (:mod:`proxy.actions.runner`) reports progress as
events (the guard's decisions come in with :class:`Planned`) and carries out the fates in the
outcomes :class:`~proxy.actions.machine.ActionMachine` returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from extraction.model import ProposedCommand
from guard.decision import Allowed, Approval, Decision, NeedsConfirmation, Refused


class State(enum.Enum):
    """Where a session's action flow is."""

    IDLE = "idle"
    EXTRACTING = "extracting"
    RUNNING = "running"
    REPORTING = "reporting"
    AWAITING_CONFIRMATION = "awaiting_confirmation"

    @property
    def busy(self) -> bool:
        """True while a request or a confirmed command is in flight."""
        return self in (State.EXTRACTING, State.RUNNING, State.REPORTING)


@dataclass(frozen=True, slots=True)
class Step:
    """One proposed command of a request, with the guard's decision; ``id`` is ``r<N>.<M>``."""

    id: str
    request_id: str
    proposed: ProposedCommand
    decision: Decision

    @property
    def approval(self) -> Approval | None:
        """What may run for this step (``None`` when the guard refused it)."""
        match self.decision:
            case Allowed(approval) | NeedsConfirmation(approval, _):
                return approval
            case Refused():
                return None

    @property
    def node(self) -> str | None:
        """The fleet node this step is for (``None`` without a fleet): each node a command
        names is a step of its own, checked against that node's policy."""
        match self.decision:
            case Allowed(approval) | NeedsConfirmation(approval, _):
                return approval.node
            case Refused(_, _, _, node):
                return node

    @property
    def say(self) -> str | None:
        """The word that names this step's action in a spoken confirmation ("restart"), for a
        step that waits for one."""
        return self.decision.say if isinstance(self.decision, NeedsConfirmation) else None

    def covers(self, other: Step) -> bool:
        """Whether confirming this step also confirms ``other``: the same command of the same
        request on another node whose policy did not refuse it ("restart nginx on web-1 and
        web-2" is asked once)."""
        return (
            other.approval is not None
            and other.request_id == self.request_id
            and other.proposed == self.proposed
            and len(self.proposed.targets) > 1
            and other.node != self.node
        )


@dataclass(frozen=True, slots=True)
class Pending:
    """A command that runs only after a person confirms it before ``expires_at``.

    ``held`` are the later steps of the same request that wait behind it, in order: they run
    after it when it is confirmed and are dropped with it when it is cancelled or expires.
    """

    step: Step
    created_at: float
    expires_at: float
    held: tuple[Step, ...] = ()


# Fates --------------------------------------------------------------------------------------
#
# The guard says what a command may do; where the step stands in its request says when.  The
# machine combines the two into one fate per step and hands it out in its outcomes, so the runner
# carries each step out as told and never works out again whether it runs, asks, waits or was
# refused.  Fields are keyword-only so that a field every fate shares (a target node, say) can be
# added to :class:`Fate` later.


@dataclass(frozen=True, slots=True, kw_only=True)
class Fate:
    """What happens to one step (one of the subclasses)."""

    step: Step


@dataclass(frozen=True, slots=True, kw_only=True)
class Runs(Fate):
    """The step runs now, as ``approval``; ``confirmed`` when a person has just confirmed it."""

    approval: Approval
    confirmed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Asks(Fate):
    """The step waits for a person to confirm it (``why`` comes from the guard).

    It becomes pending once the steps before it have run and then waits ``ttl`` seconds.
    """

    approval: Approval
    why: str
    ttl: float
    #: Every fleet node this one confirmation covers (its own first; empty without a fleet).
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Held(Fate):
    """The step waits behind the step ``behind`` (which asks) and runs after it is confirmed.

    ``asks`` is why the step will then need its own confirmation (``None``: it will just run).
    """

    approval: Approval
    behind: str
    asks: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocked(Fate):
    """The guard refused the step (``reason``, by the policy entry ``rule``); it never runs."""

    reason: str
    rule: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped(Fate):
    """The step will not run: the pending step was cancelled or its confirmation expired
    (``how``).  ``behind`` is that pending step's id when this step was held behind it
    (``None``: this step is the pending one)."""

    how: Literal["cancelled", "expired"]
    behind: str | None = None


#: The fate of a step of a request or a confirmed continuation.
Scheduled = Runs | Asks | Held | Blocked


# Events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecuteRequested:
    """A user asked to execute (``request`` is the explicit text, if any)."""

    request: str | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """Extraction and guard are done: each proposed command with its decision, in order."""

    checked: tuple[tuple[ProposedCommand, Decision], ...]
    now: float


@dataclass(frozen=True, slots=True)
class Failed:
    """Extraction could not produce a plan; ``reason`` is for a person."""

    reason: str


@dataclass(frozen=True, slots=True)
class StepDone:
    """The runner finished (or gave up on) running step ``step_id`` at time ``now``."""

    step_id: str
    now: float


@dataclass(frozen=True, slots=True)
class Reported:
    """The results were recorded and told to the user."""


@dataclass(frozen=True, slots=True)
class Abort:
    """The runner hit an unexpected error mid-request; go back to rest without running more."""


@dataclass(frozen=True, slots=True)
class ConfirmRequested:
    """A user confirmed ``pending_id`` (the newest when ``None``) at time ``now``.

    ``named`` is the action the confirmation named ("confirm restart" → ``"restart"``): only a
    pending step with that action (:attr:`Step.say`) is confirmed.  ``spoken``: it was said
    aloud, where a confirmation must name the action (a misheard "confirm" must not run
    anything; it gets the words to say instead, :class:`Unnamed`).
    """

    pending_id: str | None
    now: float
    named: str | None = None
    spoken: bool = False


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """A user cancelled ``pending_id`` (the newest when ``None``)."""

    pending_id: str | None


@dataclass(frozen=True, slots=True)
class Sweep:
    """Drop every pending command whose time is up at ``now``."""

    now: float


Event = (
    ExecuteRequested
    | Planned
    | Failed
    | StepDone
    | Reported
    | Abort
    | ConfirmRequested
    | CancelRequested
    | Sweep
)

# Outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The request was accepted as ``request_id``; extraction may start."""

    request_id: str


@dataclass(frozen=True, slots=True)
class Busy:
    """Another request or command is in flight (``request_id``); nothing changed."""

    request_id: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """Each step of a request with its fate, in the agreed order.

    The :class:`Runs` steps run now, in this order; then the :class:`Asks` step awaits a person
    (it becomes pending when the last of them is done) with the :class:`Held` steps waiting
    behind it; :class:`Blocked` steps never run.
    """

    fates: tuple[Scheduled, ...]


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The pending command is taken out of the pending set and must run now, exactly as is.

    ``fates`` continue its request, in order: the confirmed step and the held steps up to the
    next one that needs confirmation run now; that one asks (it becomes pending when they are
    done) and the steps after it are held behind it.
    """

    pending: Pending
    fates: tuple[Scheduled, ...]


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The pending command was dropped, and with it the steps held behind it (``fates``: the
    pending step first)."""

    pending: Pending
    fates: tuple[Dropped, ...]


@dataclass(frozen=True, slots=True)
class Expired:
    """The pending command(s) ran out of time and were dropped (``ids``, oldest first).

    ``entries`` are those dropped by this very event, each with the steps held behind it (which
    are dropped too); an id that expired earlier is named in ``ids`` but has no entry.  ``fates``
    are those of the dropped steps: first the pending ones, then those held behind them.
    """

    ids: tuple[str, ...]
    entries: tuple[Pending, ...] = ()
    fates: tuple[Dropped, ...] = ()


@dataclass(frozen=True, slots=True)
class NothingPending:
    """There is no pending command with that id (or none at all).

    ``behind`` is the pending step that ``pending_id`` is held behind, when it is held: it is
    not pending yet, and runs (or is dropped) with that one.
    """

    pending_id: str | None
    behind: str | None = None


@dataclass(frozen=True, slots=True)
class Unnamed:
    """A confirmation named no action, or not the action of any live pending step
    (``named``: what it named); nothing ran.  ``waiting`` is the newest live pending step:
    what to say to run it."""

    named: str | None
    waiting: Pending


@dataclass(frozen=True, slots=True)
class Next:
    """Progress was recorded; ``state`` is where the machine is now."""

    state: State


Outcome = Accepted | Busy | Plan | Confirmed | Cancelled | Expired | NothingPending | Unnamed | Next
