"""The per-session action flow as a pure state machine.

Nothing here awaits, reads a clock or touches a process: the async runner
(:class:`~proxy.actions.runner.SessionFlow`) performs the work (extraction, guard, executor) and
reports each step to :class:`ActionMachine` as a frozen event (:mod:`proxy.actions.events`); the
guard's decisions come in with :class:`Planned`.  The machine decides each step's *fate* (runs,
asks for confirmation, held behind a pending step, refused, dropped; :mod:`proxy.actions.fates`)
and hands it out in its outcomes, so the runner only carries fates out.  A step out of order is
refused with :class:`IllegalTransitionError`.  Time is passed in (``now``) so that expiry is
testable without waiting.

States and transitions, one line per entry of the transition table (a test checks that this
list and the table agree; ``(same)`` means the state does not change)::

    IDLE AWAITING_CONFIRMATION    --ExecuteRequested-->  EXTRACTING
    EXTRACTING RUNNING REPORTING  --ExecuteRequested-->  (same)
    IDLE AWAITING_CONFIRMATION    --ConfirmRequested-->  RUNNING IDLE AWAITING_CONFIRMATION
    EXTRACTING RUNNING REPORTING  --ConfirmRequested-->  (same)
    IDLE AWAITING_CONFIRMATION    --CancelRequested-->   IDLE AWAITING_CONFIRMATION
    EXTRACTING RUNNING REPORTING  --CancelRequested-->   (same)
    IDLE AWAITING_CONFIRMATION    --Sweep-->             IDLE AWAITING_CONFIRMATION
    EXTRACTING RUNNING REPORTING  --Sweep-->             (same)
    EXTRACTING RUNNING REPORTING  --Abort-->             IDLE AWAITING_CONFIRMATION
    EXTRACTING                    --Planned-->           RUNNING REPORTING
    EXTRACTING                    --Failed-->            REPORTING
    RUNNING                       --StepDone-->          RUNNING REPORTING
    REPORTING                     --Reported-->          IDLE AWAITING_CONFIRMATION

A request goes IDLE → EXTRACTING → RUNNING (one ``StepDone`` per step) → REPORTING → IDLE, or
to AWAITING_CONFIRMATION when a step waits for a person; CONFIRM from there runs it (RUNNING).

Order.  The steps of one request run strictly in the order they were agreed.  :class:`Plan`
gives each step its fate: :class:`Runs` for the allowed steps before the first step that needs
confirmation (they run now, and ``StepDone`` must come for each in that order), :class:`Asks`
for that step and :class:`Held` for every later step that the guard did not refuse.  Once the
last running step is done (at once when none runs) the asking step becomes :class:`Pending`,
carrying the held steps with it.  Confirming it (:class:`Confirmed`) gives the rest their fates
the same way: the pending step and the allowed held steps after it run, and the next held step
that needs confirmation asks next.  A confirmation that names an action ("confirm restart")
confirms the newest live pending step with that action; one said aloud must name it, and one
that names none or another gets :class:`Unnamed` (what to say) and changes nothing.
Cancelling the pending step, or letting it expire, drops its held steps too
(:class:`Dropped`).  Refused steps (:class:`Blocked`) are final: they are reported
at once and never hold anything up.  Held steps keep the guard's decision; nothing is extracted
or checked again.  A command for several fleet nodes is one step per node, in order; its first
node's step asks for all of them (:attr:`Asks.nodes`), and confirming it also confirms the same
command on the nodes right after it (:meth:`Step.covers`).

User inputs (Execute, Confirm, Cancel, Sweep) are legal in every state: while a request is in
flight they answer :class:`Busy` instead of raising, because pressing EXECUTE twice is something a
person does, not a bug.  Progress events (Planned, Failed, StepDone, Reported, Abort) are legal
only where the table says.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from proxy.actions import fates
from proxy.actions.events import (
    Abort,
    Accepted,
    Busy,
    Cancelled,
    CancelRequested,
    Confirmed,
    ConfirmRequested,
    Event,
    ExecuteRequested,
    Expired,
    Failed,
    Next,
    NothingPending,
    Outcome,
    Pending,
    Plan,
    Planned,
    Reported,
    Scheduled,
    State,
    Step,
    StepDone,
    Sweep,
    Unnamed,
)
from voiceops.errors import VoiceOpsError

# --------------------------------------------------------------------------------------------
# The state machine


class IllegalTransitionError(VoiceOpsError, RuntimeError):
    """A progress event arrived in a state where it cannot happen (a bug in the runner)."""

    def __init__(self, state: State, event: object) -> None:
        super().__init__(f"{type(event).__name__} is not allowed in state {state.value}")
        self.state = state
        self.event = event


#: Seconds a destructive command waits for confirmation (``--confirm-ttl``).
DEFAULT_CONFIRM_TTL = 120.0
# How many expired ids are remembered so that a late CONFIRM can say "expired".
_EXPIRED_MEMORY = 64


class ActionMachine:
    """One session's action flow.  Feed it events with :meth:`handle`; it never does I/O.

    ``confirm_ttl`` is how long (in the caller's clock units, seconds) a pending command waits.
    """

    def __init__(self, confirm_ttl: float = DEFAULT_CONFIRM_TTL) -> None:
        self.confirm_ttl = confirm_ttl
        self._state = State.IDLE
        self._requests = 0
        self._current: str | None = None
        self._to_run: deque[Step] = deque()
        # The step that becomes pending once _to_run is done, and the steps held behind it.
        self._then: tuple[Step, ...] = ()
        self._pending: dict[str, Pending] = {}
        self._expired: deque[str] = deque(maxlen=_EXPIRED_MEMORY)
        self._newest_pending: str | None = None

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

    def _held_behind(self, step_id: str | None) -> str | None:
        # The pending step that ``step_id`` is held behind, if it is held.
        for entry in self._pending.values():
            if any(step.id == step_id for step in entry.held):
                return entry.step.id
        return None

    def handle(self, event: Event) -> Outcome:
        """Apply ``event``; raise :class:`IllegalTransitionError` if it cannot happen now."""
        entry = _TABLE.get((self._state, type(event)))
        if entry is None:
            raise IllegalTransitionError(self._state, event)
        handler, targets = entry
        before = self._state
        outcome = handler(self, event)
        if self._state not in targets:
            # A handler left the machine where the table says it cannot go: a bug here.
            raise IllegalTransitionError(before, event)
        return outcome

    # -- transitions (looked up in _TABLE; each one is only reachable from its listed states)

    def _busy(self, _event: ExecuteRequested | ConfirmRequested) -> Outcome:
        return Busy(self._current)

    def _execute(self, _event: ExecuteRequested) -> Outcome:
        self._requests += 1
        self._current = f"r{self._requests}"
        self._state = State.EXTRACTING
        return Accepted(self._current)

    def _planned(self, event: Planned) -> Outcome:
        request_id = self._current or ""
        steps = tuple(
            Step(f"{request_id}.{n}", request_id, proposed, decision)
            for n, (proposed, decision) in enumerate(event.checked, start=1)
        )
        blocked = fates.blocked(steps)
        scheduled = self._schedule(tuple(s for s in steps if s.id not in blocked), event.now)
        by_id = blocked | {fate.step.id: fate for fate in scheduled}
        return Plan(tuple(by_id[step.id] for step in steps))

    def _schedule(
        self, steps: tuple[Step, ...], now: float, *, confirmed: Step | None = None
    ) -> tuple[Scheduled, ...]:
        """Queue the leading steps that need no more confirmation; the rest waits behind the
        first one that does.  ``steps`` holds no refused step; ``confirmed`` is its first step
        when a person has just confirmed that one."""
        run, then = fates.cut(steps, confirmed)
        self._to_run = deque(run)
        self._then = then
        if run:
            self._state = State.RUNNING
        else:
            self._state = State.REPORTING
            self._arm(now)
        return fates.scheduled(run, then, confirmed, self.confirm_ttl)

    def _arm(self, now: float) -> None:
        # Every step before it has run: the next step that needs confirmation becomes pending.
        if self._then:
            step, *held = self._then
            self._pending[step.id] = Pending(step, now, now + self.confirm_ttl, tuple(held))
            self._newest_pending = step.id
        self._then = ()

    def _failed(self, _event: Failed) -> Outcome:
        self._to_run.clear()
        self._then = ()
        self._state = State.REPORTING
        return Next(self._state)

    def _step_done(self, event: StepDone) -> Outcome:
        # Strictly in order: only the step at the head of the queue may report done.
        if not self._to_run or self._to_run[0].id != event.step_id:
            raise IllegalTransitionError(self._state, event)
        self._to_run.popleft()
        if not self._to_run:
            self._state = State.REPORTING
            self._arm(event.now)
        return Next(self._state)

    def _reported(self, _event: Reported) -> Outcome:
        return self._rest()

    def _abort(self, _event: Abort) -> Outcome:
        # Steps that were still to run, or to become pending after them, are dropped: running
        # or asking for them now would break the agreed order.  An armed pending one survives.
        self._to_run.clear()
        self._then = ()
        return self._rest()

    def _rest(self) -> Outcome:
        self._current = None
        self._state = State.AWAITING_CONFIRMATION if self._pending else State.IDLE
        return Next(self._state)

    def _confirm(self, event: ConfirmRequested) -> Outcome:
        chosen = event.pending_id
        if event.named is not None or event.spoken:
            live = [
                entry
                for pid, entry in reversed(self._pending.items())
                if entry.expires_at > event.now and event.pending_id in (None, pid)
            ]
            named = next((e for e in live if e.step.say == event.named), None)
            if live and named is None:
                return Unnamed(event.named, live[0])
            if named is not None:
                chosen = named.step.id
        # Nothing named and nothing live: if the newest pending one ran out, say so rather than
        # "none".  Other expired entries are left for Sweep, which reports them.
        pending_id = chosen or self._newest_live(event.now) or self._newest_pending
        entry = self._pending.pop(pending_id, None) if pending_id else None
        if entry is not None and entry.expires_at <= event.now:
            self._expired.append(entry.step.id)
            self._settle_rest()
            return Expired((entry.step.id,), (entry,), fates.dropped((entry,), "expired"))
        if entry is None:
            if pending_id is not None and pending_id in self._expired:
                return Expired((pending_id,))
            return NothingPending(event.pending_id, self._held_behind(event.pending_id))
        self._current = entry.step.request_id
        scheduled = self._schedule((entry.step, *entry.held), event.now, confirmed=entry.step)
        return Confirmed(entry, scheduled)

    def _cancel(self, event: CancelRequested) -> Outcome:
        pending_id = event.pending_id or self._newest_live()
        entry = self._pending.pop(pending_id, None) if pending_id else None
        if entry is None:
            return NothingPending(pending_id, self._held_behind(pending_id))
        self._settle_rest()
        return Cancelled(entry, fates.dropped((entry,), "cancelled"))

    def _sweep(self, event: Sweep) -> Outcome:
        expired = self._drop_expired(event.now)
        self._settle_rest()
        return Expired(
            tuple(entry.step.id for entry in expired), expired, fates.dropped(expired, "expired")
        )

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


# Each handler takes exactly its own event type; the table pairs them by that type, so the
# lookup in ``handle`` is what makes the call well-typed.
_Handler = Callable[[ActionMachine, Any], Outcome]
_REST = (State.IDLE, State.AWAITING_CONFIRMATION)
_BUSY = (State.EXTRACTING, State.RUNNING, State.REPORTING)
_AT_REST = frozenset(_REST)


def _same(state: State) -> frozenset[State]:
    return frozenset({state})


#: (state, event type) → (handler, the states the handler may leave the machine in).
_TABLE: dict[tuple[State, type], tuple[_Handler, frozenset[State]]] = {
    **{(s, ExecuteRequested): (ActionMachine._execute, _same(State.EXTRACTING)) for s in _REST},
    **{(s, ExecuteRequested): (ActionMachine._busy, _same(s)) for s in _BUSY},
    **{(s, ConfirmRequested): (ActionMachine._confirm, _AT_REST | {State.RUNNING}) for s in _REST},
    **{(s, ConfirmRequested): (ActionMachine._busy, _same(s)) for s in _BUSY},
    **{(s, CancelRequested): (ActionMachine._cancel, _AT_REST) for s in _REST},
    **{(s, CancelRequested): (ActionMachine._cancel, _same(s)) for s in _BUSY},
    **{(s, Sweep): (ActionMachine._sweep, _AT_REST) for s in _REST},
    **{(s, Sweep): (ActionMachine._sweep, _same(s)) for s in _BUSY},
    **{(s, Abort): (ActionMachine._abort, _AT_REST) for s in _BUSY},
    (State.EXTRACTING, Planned): (
        ActionMachine._planned,
        frozenset({State.RUNNING, State.REPORTING}),
    ),
    (State.EXTRACTING, Failed): (ActionMachine._failed, _same(State.REPORTING)),
    (State.RUNNING, StepDone): (
        ActionMachine._step_done,
        frozenset({State.RUNNING, State.REPORTING}),
    ),
    (State.REPORTING, Reported): (ActionMachine._reported, _AT_REST),
}


def transitions() -> dict[tuple[State, type], frozenset[State]]:
    """The transition table without its handlers: (state, event type) → possible next states."""
    return {key: targets for key, (_handler, targets) in _TABLE.items()}
