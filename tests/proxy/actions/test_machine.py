"""The pure action state machine, without sockets or processes."""

from __future__ import annotations

import pytest

from extraction.model import ProposedCommand
from guard import Guard
from guard.decision import Decision
from proxy.actions import machine
from proxy.actions.events import (
    Abort,
    Accepted,
    Asks,
    Blocked,
    Busy,
    Cancelled,
    CancelRequested,
    Confirmed,
    ConfirmRequested,
    ExecuteRequested,
    Expired,
    Failed,
    Fate,
    Held,
    NothingPending,
    Plan,
    Planned,
    Reported,
    Runs,
    State,
    Step,
    StepDone,
    Sweep,
    Unnamed,
)
from proxy.actions.machine import ActionMachine, IllegalTransitionError, transitions
from tests.proxy.actions.test_executor_local import TEST_POLICY, make_bin_dir, make_guard

# -- the machine


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Guard:
    return make_guard(make_bin_dir(tmp_path_factory.mktemp("actions")))


def state_of(machine: ActionMachine) -> State:
    # A call, so that mypy does not narrow the state across transitions.
    return machine.state


def checked(guard: Guard, *commands: str) -> tuple[tuple[ProposedCommand, Decision], ...]:
    return tuple((ProposedCommand(c, c), guard.check(c)) for c in commands)


def test_request_goes_through_extracting_running_reporting_to_idle(guard: Guard) -> None:
    m = ActionMachine()
    assert m.handle(ExecuteRequested()) == Accepted("r1")
    assert state_of(m) is State.EXTRACTING
    plan = m.handle(Planned(checked(guard, "df -h", "rm -rf /", "blurt 5"), now=0.0))
    assert isinstance(plan, Plan)
    assert ids(Runs, plan) == ["r1.1", "r1.3"]
    assert ids(Blocked, plan) == ["r1.2"]
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.1", 0.0))
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.3", 0.0))
    assert state_of(m) is State.REPORTING
    m.handle(Reported())
    assert state_of(m) is State.IDLE
    assert m.handle(ExecuteRequested()) == Accepted("r2")


def test_execute_and_confirm_while_busy_answer_busy(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    for state_events in ([], [Planned(checked(guard, "df -h"), 0.0)], [StepDone("r1.1", 0.0)]):
        for event in state_events:
            m.handle(event)
        assert state_of(m).busy
        assert m.handle(ExecuteRequested()) == Busy("r1")
        assert m.handle(ConfirmRequested(None, 0.0)) == Busy("r1")


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ([], Planned((), 0.0)),
        ([], StepDone("r1.1", 0.0)),
        ([], Reported()),
        ([], Abort()),
        ([ExecuteRequested()], Reported()),
        ([ExecuteRequested()], StepDone("r1.1", 0.0)),
        ([ExecuteRequested(), Failed("x")], Planned((), 0.0)),
    ],
)
def test_out_of_order_progress_raises_illegal_transition(
    setup: list[object], event: object
) -> None:
    m = ActionMachine()
    for earlier in setup:
        m.handle(earlier)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransitionError):
        m.handle(event)  # type: ignore[arg-type]


def test_step_done_for_a_step_that_is_not_running_is_illegal(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "df -h", "systemctl restart nginx"), 0.0))
    with pytest.raises(IllegalTransitionError):
        m.handle(StepDone("r1.2", 0.0))  # pending, not running


def test_destructive_command_waits_and_confirm_hands_back_exactly_that_step(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    plan = m.handle(Planned(checked(guard, "systemctl restart nginx"), now=10.0))
    assert isinstance(plan, Plan) and not ids(Runs, plan)
    assert state_of(m) is State.REPORTING
    m.handle(Reported())
    assert state_of(m) is State.AWAITING_CONFIRMATION
    outcome = m.handle(ConfirmRequested(None, now=129.0))
    assert isinstance(outcome, Confirmed)
    assert outcome.pending.step is plan.fates[0].step
    assert [outcome.pending.step.id] == ids(Asks, plan) == ids(Runs, outcome)
    assert outcome.pending.step.approval is not None
    assert outcome.pending.step.approval.argv[1:] == ("restart", "nginx")
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.1", 0.0))
    m.handle(Reported())
    assert state_of(m) is State.IDLE
    # Taken once: a second confirmation finds nothing.
    assert m.handle(ConfirmRequested(None, now=129.0)) == NothingPending(None)


def test_a_spoken_confirmation_must_name_the_waiting_action(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stopping = '[commands.systemctl.subcommands.stop]\nargs = { type = "unit", min = 1, max = 1 }'
    policy = f'{TEST_POLICY}{stopping}\ndestructive = "stopping ends the service"\n'
    guard = make_guard(make_bin_dir(tmp_path_factory.mktemp("stop")), policy)
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl stop nginx"), now=0.0))
    m.handle(Reported())
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), now=1.0))
    m.handle(Reported())
    # "confirm" alone, or naming an action nothing waits for: the words to say, nothing runs.
    alone = m.handle(ConfirmRequested(None, now=2.0, spoken=True))
    assert isinstance(alone, Unnamed) and alone.named is None
    assert alone.waiting.step.id == "r2.1" and alone.waiting.step.say == "restart"
    other = m.handle(ConfirmRequested(None, now=2.0, named="kill", spoken=True))
    assert isinstance(other, Unnamed) and other.named == "kill"
    assert [p.step.id for p in m.pending()] == ["r1.1", "r2.1"]
    assert state_of(m) is State.AWAITING_CONFIRMATION
    # Naming an action confirms the newest step with that action, not the newest step.
    stop = m.handle(ConfirmRequested(None, now=3.0, named="stop", spoken=True))
    assert isinstance(stop, Confirmed) and stop.pending.step.id == "r1.1"
    assert [p.step.id for p in m.pending()] == ["r2.1"]


def test_a_confirmation_by_id_or_typed_need_not_name_it(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), now=0.0))
    m.handle(Reported())
    named_wrong = m.handle(ConfirmRequested("r1.1", now=1.0, named="stop"))
    assert isinstance(named_wrong, Unnamed)  # a typed action word must still be the right one
    assert isinstance(m.handle(ConfirmRequested("r1.1", now=1.0)), Confirmed)


def test_late_confirmation_is_expired_not_run(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), now=0.0))
    m.handle(Reported())
    late = m.handle(ConfirmRequested(None, now=120.0))
    assert isinstance(late, Expired) and late.ids == ("r1.1",)
    assert state_of(m) is State.IDLE
    assert m.handle(ConfirmRequested("r1.1", now=121.0)) == Expired(("r1.1",))


def test_sweep_drops_expired_and_keeps_live_ones(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=100.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), now=0.0))
    m.handle(Reported())
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart apache"), now=50.0))
    m.handle(Reported())
    assert m.handle(Sweep(now=99.0)) == Expired(())
    assert ids_of(m.handle(Sweep(now=100.0))) == ["r1.1"]
    assert [p.step.id for p in m.pending()] == ["r2.1"]
    assert state_of(m) is State.AWAITING_CONFIRMATION
    assert ids_of(m.handle(Sweep(now=150.0))) == ["r2.1"]
    assert state_of(m) is State.IDLE


def test_cancel_defaults_to_the_newest_and_unknown_ids_are_not_pending(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), 0.0))
    m.handle(Reported())
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart apache"), 0.0))
    m.handle(Reported())
    assert m.handle(CancelRequested("r9.9")) == NothingPending("r9.9")
    cancelled = m.handle(CancelRequested(None))
    assert isinstance(cancelled, Cancelled) and cancelled.pending.step.id == "r2.1"
    assert state_of(m) is State.AWAITING_CONFIRMATION
    confirmed = m.handle(ConfirmRequested(None, 1.0))
    assert isinstance(confirmed, Confirmed) and confirmed.pending.step.id == "r1.1"


def test_failed_extraction_and_abort_return_to_rest(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Failed("extractor down"))
    assert state_of(m) is State.REPORTING
    m.handle(Reported())
    assert state_of(m) is State.IDLE
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx", "df -h"), 0.0))
    m.handle(Abort())
    # A pending command (and what is held behind it) survives an abort of its request...
    assert state_of(m) is State.AWAITING_CONFIRMATION
    assert [(p.step.id, [h.id for h in p.held]) for p in m.pending()] == [("r2.1", ["r2.2"])]
    # ...but a step that was to ask only after an earlier one ran is dropped with the run.
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "df -h", "systemctl restart apache"), 0.0))
    m.handle(Abort())
    assert [p.step.id for p in m.pending()] == ["r2.1"]


# -- order: steps after one that needs confirmation are held, never run ahead of it


def ids_of(outcome: object) -> list[str]:
    assert isinstance(outcome, Expired)
    return list(outcome.ids)


def names(steps: tuple[Step, ...]) -> list[str]:
    return [s.id for s in steps]


def ids(kind: type[Fate], outcome: object) -> list[str]:
    """The ids of the steps whose fate in ``outcome`` is ``kind``, in order."""
    assert isinstance(outcome, Plan | Confirmed | Cancelled | Expired)
    return [fate.step.id for fate in outcome.fates if isinstance(fate, kind)]


def test_steps_after_a_confirmation_are_held_and_run_after_it_in_order(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=100.0)
    m.handle(ExecuteRequested())
    plan = m.handle(
        Planned(checked(guard, "df -h", "systemctl restart nginx", "blurt 5", "id -u"), now=0.0)
    )
    assert isinstance(plan, Plan)
    assert ids(Runs, plan) == ["r1.1"]
    assert ids(Asks, plan) == ["r1.2"]
    assert ids(Held, plan) == ["r1.3", "r1.4"]
    # Not pending before the step ahead of it has run (it cannot be confirmed out of order).
    assert m.pending() == ()
    m.handle(StepDone("r1.1", now=30.0))
    [entry] = m.pending()
    assert entry.step.id == "r1.2" and names(entry.held) == ["r1.3", "r1.4"]
    assert entry.expires_at == 130.0  # the clock starts when it is asked, not when planned
    m.handle(Reported())
    confirmed = m.handle(ConfirmRequested(None, now=40.0))
    assert isinstance(confirmed, Confirmed)
    assert ids(Runs, confirmed) == ["r1.2", "r1.3", "r1.4"]
    assert ids(Asks, confirmed) == ids(Held, confirmed) == []
    assert state_of(m) is State.RUNNING
    # The runner must report them in that order: anything else is a bug.
    with pytest.raises(IllegalTransitionError):
        m.handle(StepDone("r1.3", now=41.0))
    for step_id in ("r1.2", "r1.3", "r1.4"):
        m.handle(StepDone(step_id, now=41.0))
    m.handle(Reported())
    assert state_of(m) is State.IDLE and m.pending() == ()


def test_two_destructive_steps_need_two_confirmations(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=100.0)
    m.handle(ExecuteRequested())
    plan = m.handle(
        Planned(checked(guard, "systemctl restart nginx", "systemctl restart db", "df -h"), 0.0)
    )
    assert isinstance(plan, Plan) and ids(Runs, plan) == []
    assert ids(Asks, plan) == ["r1.1"]
    assert ids(Held, plan) == ["r1.2", "r1.3"]
    m.handle(Reported())
    # A held step is not pending: it cannot be confirmed (or cancelled) ahead of its turn.
    assert m.handle(ConfirmRequested("r1.2", 1.0)) == NothingPending("r1.2", behind="r1.1")
    assert m.handle(CancelRequested("r1.2")) == NothingPending("r1.2", behind="r1.1")
    first = m.handle(ConfirmRequested(None, now=10.0))
    assert isinstance(first, Confirmed)
    assert ids(Runs, first) == ["r1.1"]
    assert ids(Asks, first) == ["r1.2"]
    assert ids(Held, first) == ["r1.3"]
    m.handle(StepDone("r1.1", now=20.0))
    [entry] = m.pending()
    assert entry.step.id == "r1.2" and names(entry.held) == ["r1.3"]
    assert entry.expires_at == 120.0
    m.handle(Reported())
    assert state_of(m) is State.AWAITING_CONFIRMATION
    second = m.handle(ConfirmRequested(None, now=30.0))
    assert isinstance(second, Confirmed)
    assert ids(Runs, second) == ["r1.2", "r1.3"] and ids(Asks, second) == []


def test_refused_steps_are_final_and_hold_nothing_up(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    plan = m.handle(Planned(checked(guard, "df -h", "rm -rf /", "blurt 5"), 0.0))
    assert isinstance(plan, Plan)
    assert ids(Runs, plan) == ["r1.1", "r1.3"] and ids(Blocked, plan) == ["r1.2"]
    assert ids(Asks, plan) == ids(Held, plan) == []
    m.handle(StepDone("r1.1", 0.0))
    m.handle(StepDone("r1.3", 0.0))
    m.handle(Reported())
    # Behind a pending step a refused one is not held: it has been reported and stays refused.
    m.handle(ExecuteRequested())
    plan = m.handle(Planned(checked(guard, "systemctl restart nginx", "rm -rf /", "df -h"), 0.0))
    assert isinstance(plan, Plan)
    assert ids(Blocked, plan) == ["r2.2"] and ids(Held, plan) == ["r2.3"]


def test_cancelling_drops_the_held_steps_with_the_pending_one(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx", "df -h", "blurt 5"), 0.0))
    m.handle(Reported())
    cancelled = m.handle(CancelRequested("r1.1"))
    assert isinstance(cancelled, Cancelled)
    assert names(cancelled.pending.held) == ["r1.2", "r1.3"]
    assert m.pending() == () and state_of(m) is State.IDLE
    assert m.handle(ConfirmRequested(None, 1.0)) == NothingPending(None)


def test_expiry_drops_the_held_steps_with_the_pending_one(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=100.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx", "df -h"), 0.0))
    m.handle(Reported())
    swept = m.handle(Sweep(now=100.0))
    assert isinstance(swept, Expired) and swept.ids == ("r1.1",)
    [entry] = swept.entries
    assert names(entry.held) == ["r1.2"]
    assert m.handle(ConfirmRequested("r1.1", 101.0)) == Expired(("r1.1",))  # reported once
    # A late confirmation that finds it expired drops the held steps just the same.
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx", "blurt 5"), 200.0))
    m.handle(Reported())
    late = m.handle(ConfirmRequested(None, now=300.0))
    assert isinstance(late, Expired) and late.ids == ("r2.1",)
    assert [names(e.held) for e in late.entries] == [["r2.2"]]
    assert m.pending() == () and state_of(m) is State.IDLE


# -- the documented transitions are the table

EVENT_TYPES = (
    ExecuteRequested,
    ConfirmRequested,
    CancelRequested,
    Sweep,
    Abort,
    Planned,
    Failed,
    StepDone,
    Reported,
)


def test_docstring_transitions_match_the_table() -> None:
    doc = machine.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    documented: dict[tuple[State, type], frozenset[State]] = {}
    events = {cls.__name__: cls for cls in EVENT_TYPES}
    for line in block.splitlines():
        sources, rest = line.split("--", 1)
        event_name, targets = rest.split("-->", 1)
        for source in sources.split():
            state = State[source]
            after = (
                frozenset({state})
                if targets.strip() == "(same)"
                else frozenset(State[name] for name in targets.split())
            )
            documented[(state, events[event_name.strip()])] = after
    assert documented == transitions()
