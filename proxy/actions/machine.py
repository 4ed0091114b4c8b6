"""The per-session action flow as a pure state machine, and the user actions that drive it.

Nothing here awaits, reads a clock or touches a process: the async runner in
``proxy/actions/flow.py``
performs the work (extraction, guard, executor) and reports each step to :class:`ActionMachine`
as a frozen event; the machine says what happens next and refuses any step that is out of order
with :class:`IllegalTransition`.  Time is passed in (``now``) so that expiry is testable without
waiting.

States::

    IDLE ──Execute──▶ EXTRACTING ──Planned──▶ RUNNING ──StepDone…──▶ REPORTING ──Reported──▶ IDLE
      ▲                  │ Failed                ▲                        ▲                    │
      │                  └───────────────────────┼────────────────────────┘                    │
      │                                          │ Confirm                                     ▼
      └────────────── Cancel / Sweep ──── AWAITING_CONFIRMATION ◀──────── (pending left) ──────┘

Order.  The steps of one request run strictly in the order they were agreed.  A request is cut
into a *schedule*: ``run`` (the allowed steps before the first step that needs confirmation; they
run now, and ``StepDone`` must come for each in that order), ``confirm`` (that step) and ``held``
(every later step that the guard did not refuse).  Once the last step of ``run`` is done (at
once when ``run`` is empty) ``confirm`` becomes :class:`Pending`, carrying ``held`` with it.
Confirming it schedules the rest the same way: the pending step and the allowed held steps after
it run, and the next held step that needs confirmation becomes the next pending one.  Cancelling
the pending step, or letting it expire, drops its held steps too.  Refused steps are final: they
are reported at once and never hold anything up.  Held steps keep the guard's decision; nothing
is extracted or checked again.

User inputs (Execute, Confirm, Cancel, Sweep) are legal in every state: while a request is in
flight they answer :class:`Busy` instead of raising, because pressing EXECUTE twice is something a
person does, not a bug.  Progress events (Planned, Failed, StepDone, Reported, Abort) are legal
only where the table says.
"""

from __future__ import annotations

import enum
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from extraction.model import ProposedCommand
from guard.decision import Allowed, Approval, Decision, NeedsConfirmation, Refused
from proxy.relay.codec import Action, Control

# --------------------------------------------------------------------------------------------
# User actions (from control frames, voice or the HTTP API)

#: Longest explicit request text accepted in an EXECUTE payload.
MAX_REQUEST_CHARS = 2000
_PENDING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Execute:
    """Run the commands agreed in the conversation, or those in ``request`` when given."""

    request: str | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    """Run the pending command ``pending_id`` (the newest pending one when ``None``)."""

    pending_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Drop the pending command ``pending_id`` (the newest pending one when ``None``)."""

    pending_id: str | None = None


UserAction = Execute | Confirm | Cancel


@dataclass(frozen=True, slots=True)
class InvalidControl:
    """A malformed extension control frame; ``reason`` is meant to be shown to the user."""

    reason: str


def valid_pending_id(text: str) -> bool:
    """True when ``text`` has the shape of a pending id (short, no spaces or control chars)."""
    return _PENDING_ID.fullmatch(text) is not None


def action_from_control(control: Control) -> UserAction | InvalidControl | None:
    """Turn a ``0x03`` control message into a user action.

    Returns ``None`` for the upstream's own actions (START, END_TURN, PAUSE, RESTART), which the
    proxy accepts and ignores as the server does, and :class:`InvalidControl` with a readable
    reason for an extension action whose payload does not fit.  Never raises.
    """
    if not control.action.is_extension:
        return None
    try:
        text = control.payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return InvalidControl(f"{control.action.name} payload is not valid UTF-8")
    if control.action is Action.EXECUTE:
        return _execute_from_payload(text)
    if text and not valid_pending_id(text):
        return InvalidControl(
            f"{control.action.name} payload must be a pending id such as 'r1.2' (or empty for "
            f"the newest), not {text[:40]!r}"
        )
    pending_id = text or None
    return Confirm(pending_id) if control.action is Action.CONFIRM else Cancel(pending_id)


def _execute_from_payload(text: str) -> Execute | InvalidControl:
    if not text:
        return Execute()
    example = 'a JSON object such as {"request": "check disk space"}'
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return InvalidControl(f"EXECUTE payload must be {example}")
    if not isinstance(value, dict):
        return InvalidControl(f"EXECUTE payload must be {example}")
    unknown = sorted(set(value) - {"request"})
    if unknown:
        return InvalidControl(f"EXECUTE payload has unknown field(s): {', '.join(unknown)}")
    request = value.get("request")
    if request is None:
        return Execute()
    if not isinstance(request, str) or not request.strip():
        return InvalidControl('EXECUTE "request" must be a non-empty string')
    if len(request) > MAX_REQUEST_CHARS:
        return InvalidControl(f'EXECUTE "request" is longer than {MAX_REQUEST_CHARS} characters')
    return Execute(request.strip())


# --------------------------------------------------------------------------------------------
# The state machine


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


class IllegalTransition(RuntimeError):
    """A progress event arrived in a state where it cannot happen (a bug in the runner)."""

    def __init__(self, state: State, event: object) -> None:
        super().__init__(f"{type(event).__name__} is not allowed in state {state.value}")
        self.state = state
        self.event = event


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
    """A user confirmed ``pending_id`` (the newest when ``None``) at time ``now``."""

    pending_id: str | None
    now: float


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
    """Another request or command is in flight; nothing changed."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with a request (``steps``, in the agreed order).

    ``run`` now, in this order; then ``confirm`` awaits a person (it becomes pending when the
    last step of ``run`` is done) with ``held`` waiting behind it; ``refused`` never run.
    """

    steps: tuple[Step, ...]
    run: tuple[Step, ...]
    confirm: Step | None
    held: tuple[Step, ...]
    refused: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The pending command is taken out of the pending set and must run now, exactly as is.

    ``run`` is what runs now, in this order: the confirmed step, then the held steps up to the
    next one that needs confirmation.  That one is ``confirm`` (it becomes pending when ``run``
    is done) and ``held`` are the steps that wait behind it.
    """

    pending: Pending
    run: tuple[Step, ...]
    confirm: Step | None
    held: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The pending command was dropped, and with it the steps held behind it."""

    pending: Pending


@dataclass(frozen=True, slots=True)
class Expired:
    """The pending command(s) ran out of time and were dropped (``ids``, oldest first).

    ``entries`` are those dropped by this very event, each with the steps held behind it (which
    are dropped too); an id that expired earlier is named in ``ids`` but has no entry.
    """

    ids: tuple[str, ...]
    entries: tuple[Pending, ...] = ()


@dataclass(frozen=True, slots=True)
class NothingPending:
    """There is no pending command with that id (or none at all)."""

    pending_id: str | None


@dataclass(frozen=True, slots=True)
class Next:
    """Progress was recorded; ``state`` is where the machine is now."""

    state: State


Outcome = Accepted | Busy | Plan | Confirmed | Cancelled | Expired | NothingPending | Next

# How many expired ids are remembered so that a late CONFIRM can say "expired".
_EXPIRED_MEMORY = 64


@dataclass
class ActionMachine:
    """One session's action flow.  Feed it events with :meth:`handle`; it never does I/O.

    ``confirm_ttl`` is how long (in the caller's clock units, seconds) a pending command waits.
    """

    confirm_ttl: float = 120.0
    _state: State = State.IDLE
    _requests: int = 0
    _current: str | None = None
    _to_run: deque[Step] = field(default_factory=deque)
    # The step that becomes pending once _to_run is done, and the steps held behind it.
    _then: tuple[Step, ...] = ()
    _pending: dict[str, Pending] = field(default_factory=dict)
    _expired: deque[str] = field(default_factory=lambda: deque(maxlen=_EXPIRED_MEMORY))
    _newest_pending: str | None = None

    @property
    def state(self) -> State:
        """The current state."""
        return self._state

    @property
    def current_request(self) -> str | None:
        """The id of the request in flight, if any."""
        return self._current

    def pending(self) -> tuple[Pending, ...]:
        """Pending commands, oldest first."""
        return tuple(self._pending.values())

    def handle(self, event: Event) -> Outcome:
        """Apply ``event``; raise :class:`IllegalTransition` if it cannot happen now."""
        handler = _TABLE.get((self._state, type(event)))
        if handler is None:
            raise IllegalTransition(self._state, event)
        return handler(self, event)

    # -- transitions (looked up in _TABLE; each one is only reachable from its listed states)

    def _busy(self, _event: Event) -> Outcome:
        return Busy()

    def _execute(self, _event: Event) -> Outcome:
        self._requests += 1
        self._current = f"r{self._requests}"
        self._state = State.EXTRACTING
        return Accepted(self._current)

    def _planned(self, event: Event) -> Outcome:
        assert isinstance(event, Planned)
        request_id = self._current or ""
        steps = tuple(
            Step(f"{request_id}.{n}", request_id, proposed, decision)
            for n, (proposed, decision) in enumerate(event.checked, start=1)
        )
        refused = tuple(step for step in steps if isinstance(step.decision, Refused))
        run, confirm, held = self._schedule(
            tuple(step for step in steps if not isinstance(step.decision, Refused)), event.now
        )
        return Plan(steps, run, confirm, held, refused)

    def _schedule(
        self, steps: tuple[Step, ...], now: float, *, confirmed: int = 0
    ) -> tuple[tuple[Step, ...], Step | None, tuple[Step, ...]]:
        """Queue the leading steps that need no more confirmation; the rest waits behind the
        first one that does.  ``steps`` holds no refused step; its first ``confirmed`` steps
        were confirmed already."""
        cut = next(
            (
                n
                for n, step in enumerate(steps)
                if n >= confirmed and isinstance(step.decision, NeedsConfirmation)
            ),
            len(steps),
        )
        run, then = steps[:cut], steps[cut:]
        self._to_run = deque(run)
        self._then = then
        if run:
            self._state = State.RUNNING
        else:
            self._state = State.REPORTING
            self._arm(now)
        return run, (then[0] if then else None), then[1:]

    def _arm(self, now: float) -> None:
        # Every step before it has run: the next step that needs confirmation becomes pending.
        if self._then:
            step, *held = self._then
            self._pending[step.id] = Pending(step, now, now + self.confirm_ttl, tuple(held))
            self._newest_pending = step.id
        self._then = ()

    def _failed(self, _event: Event) -> Outcome:
        self._to_run.clear()
        self._then = ()
        self._state = State.REPORTING
        return Next(self._state)

    def _step_done(self, event: Event) -> Outcome:
        assert isinstance(event, StepDone)
        # Strictly in order: only the step at the head of the queue may report done.
        if not self._to_run or self._to_run[0].id != event.step_id:
            raise IllegalTransition(self._state, event)
        self._to_run.popleft()
        if not self._to_run:
            self._state = State.REPORTING
            self._arm(event.now)
        return Next(self._state)

    def _reported(self, _event: Event) -> Outcome:
        return self._rest()

    def _abort(self, _event: Event) -> Outcome:
        # Steps that were still to run, or to become pending after them, are dropped: running
        # or asking for them now would break the agreed order.  An armed pending one survives.
        self._to_run.clear()
        self._then = ()
        return self._rest()

    def _rest(self) -> Outcome:
        self._current = None
        self._state = State.AWAITING_CONFIRMATION if self._pending else State.IDLE
        return Next(self._state)

    def _confirm(self, event: Event) -> Outcome:
        assert isinstance(event, ConfirmRequested)
        # Nothing named and nothing live: if the newest pending one ran out, say so rather than
        # "none".  Other expired entries are left for Sweep, which reports them.
        pending_id = event.pending_id or self._newest_live(event.now) or self._newest_pending
        entry = self._pending.pop(pending_id, None) if pending_id else None
        if entry is not None and entry.expires_at <= event.now:
            self._expired.append(entry.step.id)
            self._settle_rest()
            return Expired((entry.step.id,), (entry,))
        if entry is None:
            if pending_id is not None and pending_id in self._expired:
                return Expired((pending_id,))
            return NothingPending(event.pending_id)
        self._current = entry.step.request_id
        run, confirm, held = self._schedule((entry.step, *entry.held), event.now, confirmed=1)
        return Confirmed(entry, run, confirm, held)

    def _cancel(self, event: Event) -> Outcome:
        assert isinstance(event, CancelRequested)
        pending_id = event.pending_id or self._newest_live()
        entry = self._pending.pop(pending_id, None) if pending_id else None
        if entry is None:
            return NothingPending(pending_id)
        self._settle_rest()
        return Cancelled(entry)

    def _sweep(self, event: Event) -> Outcome:
        assert isinstance(event, Sweep)
        expired = self._drop_expired(event.now)
        self._settle_rest()
        return Expired(tuple(entry.step.id for entry in expired), expired)

    def _settle_rest(self) -> None:
        # At rest, the state says whether anything is pending; while busy it is left alone.
        if not self._state.busy:
            self._state = State.AWAITING_CONFIRMATION if self._pending else State.IDLE

    def _newest_live(self, now: float | None = None) -> str | None:
        # The newest pending id (that has not run out at ``now``, when given).
        live = (
            pid
            for pid, entry in reversed(self._pending.items())
            if now is None or entry.expires_at > now
        )
        return next(live, None)

    def _drop_expired(self, now: float) -> tuple[Pending, ...]:
        gone = tuple(entry for entry in self._pending.values() if entry.expires_at <= now)
        for entry in gone:
            del self._pending[entry.step.id]
            self._expired.append(entry.step.id)
        return gone


_Handler = Callable[[ActionMachine, Event], Outcome]
_REST = (State.IDLE, State.AWAITING_CONFIRMATION)
_BUSY = (State.EXTRACTING, State.RUNNING, State.REPORTING)

_TABLE: dict[tuple[State, type], _Handler] = {
    **{(s, ExecuteRequested): ActionMachine._execute for s in _REST},
    **{(s, ExecuteRequested): ActionMachine._busy for s in _BUSY},
    **{(s, ConfirmRequested): ActionMachine._confirm for s in _REST},
    **{(s, ConfirmRequested): ActionMachine._busy for s in _BUSY},
    **{(s, CancelRequested): ActionMachine._cancel for s in State},
    **{(s, Sweep): ActionMachine._sweep for s in State},
    **{(s, Abort): ActionMachine._abort for s in _BUSY},
    (State.EXTRACTING, Planned): ActionMachine._planned,
    (State.EXTRACTING, Failed): ActionMachine._failed,
    (State.RUNNING, StepDone): ActionMachine._step_done,
    (State.REPORTING, Reported): ActionMachine._reported,
}
