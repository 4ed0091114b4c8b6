"""The pure action state machine and control-frame parsing, without sockets or processes."""

from __future__ import annotations

import pytest

from extraction.model import ProposedCommand
from guard import Guard
from guard.decision import Decision
from proxy.actions import (
    Abort,
    Accepted,
    ActionMachine,
    Busy,
    Cancel,
    Cancelled,
    CancelRequested,
    Confirm,
    Confirmed,
    ConfirmRequested,
    Execute,
    ExecuteRequested,
    Expired,
    Failed,
    IllegalTransition,
    InvalidControl,
    NothingPending,
    Plan,
    Planned,
    Reported,
    State,
    StepDone,
    Sweep,
    action_from_control,
)
from proxy.codec import Action, Control, parse
from tests.proxy.test_executor_local import make_bin_dir, make_guard

# -- control frames


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x03\x10", Execute()),
        (b'\x03\x10{"request": "check disk space"}', Execute("check disk space")),
        (b"\x03\x10{}", Execute()),
        (b"\x03\x11", Confirm()),
        (b"\x03\x11r2.1", Confirm("r2.1")),
        (b"\x03\x12", Cancel()),
        (b"\x03\x12 r1.3 ", Cancel("r1.3")),
        (b"\x03\x00", None),
        (b"\x03\x01", None),
    ],
)
def test_control_frames_become_user_actions(frame: bytes, expected: object) -> None:
    message = parse(frame)
    assert isinstance(message, Control)
    assert action_from_control(message) == expected


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"check disk space", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'{"request": ""}', "non-empty string"),
        (b'{"request": 5}', "non-empty string"),
        (b'{"request": "df", "shell": true}', "unknown field(s): shell"),
        (b'{"request": "' + b"a" * 3000 + b'"}', "longer than"),
    ],
)
def test_malformed_execute_payload_gets_a_readable_reason(payload: bytes, says: str) -> None:
    result = action_from_control(Control(Action.EXECUTE, payload))
    assert isinstance(result, InvalidControl)
    assert says in result.reason


@pytest.mark.parametrize("payload", [b"two words", b"../../etc", b"\xff\xfe", b"x" * 100])
def test_malformed_pending_id_gets_a_readable_reason(payload: bytes) -> None:
    result = action_from_control(Control(Action.CONFIRM, payload))
    assert isinstance(result, InvalidControl)
    assert "CONFIRM" in result.reason


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
    assert [s.id for s in plan.run] == ["r1.1", "r1.3"]
    assert [s.id for s in plan.refused] == ["r1.2"]
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.1"))
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.3"))
    assert state_of(m) is State.REPORTING
    m.handle(Reported())
    assert state_of(m) is State.IDLE
    assert m.handle(ExecuteRequested()) == Accepted("r2")


def test_execute_and_confirm_while_busy_answer_busy(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    for state_events in ([], [Planned(checked(guard, "df -h"), 0.0)], [StepDone("r1.1")]):
        for event in state_events:
            m.handle(event)
        assert state_of(m).busy
        assert m.handle(ExecuteRequested()) == Busy()
        assert m.handle(ConfirmRequested(None, 0.0)) == Busy()


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ([], Planned((), 0.0)),
        ([], StepDone("r1.1")),
        ([], Reported()),
        ([], Abort()),
        ([ExecuteRequested()], Reported()),
        ([ExecuteRequested()], StepDone("r1.1")),
        ([ExecuteRequested(), Failed("x")], Planned((), 0.0)),
    ],
)
def test_out_of_order_progress_raises_illegal_transition(
    setup: list[object], event: object
) -> None:
    m = ActionMachine()
    for earlier in setup:
        m.handle(earlier)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition):
        m.handle(event)  # type: ignore[arg-type]


def test_step_done_for_a_step_that_is_not_running_is_illegal(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "df -h", "systemctl restart nginx"), 0.0))
    with pytest.raises(IllegalTransition):
        m.handle(StepDone("r1.2"))  # pending, not running


def test_destructive_command_waits_and_confirm_hands_back_exactly_that_step(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    plan = m.handle(Planned(checked(guard, "systemctl restart nginx"), now=10.0))
    assert isinstance(plan, Plan) and not plan.run
    assert state_of(m) is State.REPORTING
    m.handle(Reported())
    assert state_of(m) is State.AWAITING_CONFIRMATION
    outcome = m.handle(ConfirmRequested(None, now=129.0))
    assert isinstance(outcome, Confirmed)
    assert outcome.pending.step is plan.pending[0].step
    assert outcome.pending.step.approval is not None
    assert outcome.pending.step.approval.argv[1:] == ("restart", "nginx")
    assert state_of(m) is State.RUNNING
    m.handle(StepDone("r1.1"))
    m.handle(Reported())
    assert state_of(m) is State.IDLE
    # Taken once: a second confirmation finds nothing.
    assert m.handle(ConfirmRequested(None, now=129.0)) == NothingPending(None)


def test_late_confirmation_is_expired_not_run(guard: Guard) -> None:
    m = ActionMachine(confirm_ttl=120.0)
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx"), now=0.0))
    m.handle(Reported())
    assert m.handle(ConfirmRequested(None, now=120.0)) == Expired(("r1.1",))
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
    assert m.handle(Sweep(now=100.0)) == Expired(("r1.1",))
    assert [p.step.id for p in m.pending()] == ["r2.1"]
    assert state_of(m) is State.AWAITING_CONFIRMATION
    assert m.handle(Sweep(now=150.0)) == Expired(("r2.1",))
    assert state_of(m) is State.IDLE


def test_cancel_defaults_to_the_newest_and_unknown_ids_are_not_pending(guard: Guard) -> None:
    m = ActionMachine()
    m.handle(ExecuteRequested())
    m.handle(Planned(checked(guard, "systemctl restart nginx", "systemctl restart apache"), 0.0))
    m.handle(Reported())
    assert m.handle(CancelRequested("r9.9")) == NothingPending("r9.9")
    cancelled = m.handle(CancelRequested(None))
    assert isinstance(cancelled, Cancelled) and cancelled.pending.step.id == "r1.2"
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
    m.handle(Planned(checked(guard, "df -h", "systemctl restart nginx"), 0.0))
    m.handle(Abort())
    # The pending command survives an abort of the rest of its request.
    assert state_of(m) is State.AWAITING_CONFIRMATION
