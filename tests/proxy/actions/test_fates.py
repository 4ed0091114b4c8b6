"""Each step's fate as the pure action machine decides it: no I/O, no event loop.

The guard's decisions are made once (the module's fixture) and fed in as :class:`Planned`, the
way the runner feeds them; everything below only calls :meth:`ActionMachine.handle`.
"""

from __future__ import annotations

import dataclasses

import pytest

from extraction.model import ProposedCommand
from guard import Guard
from guard.decision import Allowed, Decision, NeedsConfirmation, Refused
from proxy.actions.events import (
    Asks,
    Blocked,
    Cancelled,
    CancelRequested,
    Confirmed,
    ConfirmRequested,
    Dropped,
    ExecuteRequested,
    Expired,
    Held,
    Plan,
    Planned,
    Reported,
    Runs,
    StepDone,
    Sweep,
)
from proxy.actions.machine import ActionMachine
from tests.proxy.actions.test_executor_local import make_bin_dir, make_guard

TTL = 100.0
ALLOWED = ("df -h", "id -u")
ASKING = ("systemctl restart nginx", "systemctl restart db")
REFUSED = "rm -rf /"


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Decision]:
    guard: Guard = make_guard(make_bin_dir(tmp_path_factory.mktemp("fates")))
    made = {command: guard.check(command) for command in (*ALLOWED, *ASKING, REFUSED)}
    assert all(isinstance(made[c], Allowed) for c in ALLOWED)
    assert all(isinstance(made[c], NeedsConfirmation) for c in ASKING)
    assert isinstance(made[REFUSED], Refused)
    return made


def plan(
    m: ActionMachine, decisions: dict[str, Decision], *commands: str, now: float = 0.0
) -> Plan:
    m.handle(ExecuteRequested())
    checked = tuple((ProposedCommand(c, c), decisions[c]) for c in commands)
    outcome = m.handle(Planned(checked, now))
    assert isinstance(outcome, Plan)
    return outcome


def confirm(m: ActionMachine, now: float = 1.0) -> Confirmed:
    outcome = m.handle(ConfirmRequested(None, now))
    assert isinstance(outcome, Confirmed)
    return outcome


def test_one_fate_per_step_in_the_agreed_order(decisions: dict[str, Decision]) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    p = plan(m, decisions, "df -h", REFUSED, "systemctl restart nginx", "id -u", REFUSED)
    assert [(f.step.id, type(f)) for f in p.fates] == [
        ("r1.1", Runs),
        ("r1.2", Blocked),
        ("r1.3", Asks),
        ("r1.4", Held),
        ("r1.5", Blocked),
    ]
    assert [f.step.proposed.command for f in p.fates] == [
        "df -h", REFUSED, "systemctl restart nginx", "id -u", REFUSED
    ]  # fmt: skip


def test_an_allowed_step_runs_as_the_guard_approved_it(decisions: dict[str, Decision]) -> None:
    m = ActionMachine()
    [fate] = plan(m, decisions, "df -h").fates
    allowed = decisions["df -h"]
    assert isinstance(fate, Runs) and isinstance(allowed, Allowed)
    assert fate.approval == allowed.approval
    assert not fate.confirmed  # nobody was asked


def test_a_refused_step_is_blocked_with_the_guards_reason_and_rule(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine()
    [fate] = plan(m, decisions, REFUSED).fates
    refused = decisions[REFUSED]
    assert isinstance(refused, Refused)
    assert fate == Blocked(step=fate.step, reason=refused.reason, rule=refused.rule)
    assert refused.reason  # a refusal always says why


def test_the_first_step_that_needs_confirmation_asks_with_the_guards_why(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    [fate] = plan(m, decisions, "systemctl restart nginx").fates
    needs = decisions["systemctl restart nginx"]
    assert isinstance(needs, NeedsConfirmation)
    assert fate == Asks(step=fate.step, approval=needs.approval, why=needs.why, ttl=TTL)
    m.handle(Reported())
    assert [p.step for p in m.pending()] == [fate.step]


def test_later_steps_are_held_behind_the_asking_one_and_say_whether_they_ask_too(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    p = plan(m, decisions, "systemctl restart nginx", "df -h", "systemctl restart db")
    asks, allowed, asks_later = p.fates
    assert isinstance(asks, Asks)
    assert isinstance(allowed, Held) and isinstance(asks_later, Held)
    assert allowed.behind == asks_later.behind == asks.step.id == "r1.1"
    assert allowed.asks is None
    needs = decisions["systemctl restart db"]
    assert isinstance(needs, NeedsConfirmation)
    assert asks_later.asks == needs.why and asks_later.approval == needs.approval


def test_confirming_runs_the_step_confirmed_then_the_held_ones_until_the_next_that_asks(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    plan(m, decisions, "systemctl restart nginx", "df -h", "systemctl restart db", "id -u")
    m.handle(Reported())
    confirmed = confirm(m)
    kinds = [(f.step.id, type(f), getattr(f, "confirmed", None)) for f in confirmed.fates]
    assert kinds == [
        ("r1.1", Runs, True),
        ("r1.2", Runs, False),
        ("r1.3", Asks, None),
        ("r1.4", Held, None),
    ]
    held = confirmed.fates[3]
    assert isinstance(held, Held) and held.behind == "r1.3" and held.asks is None
    # The next one becomes pending only after the running ones are done, in order.
    m.handle(StepDone("r1.1", 2.0))
    assert m.pending() == ()
    m.handle(StepDone("r1.2", 3.0))
    [entry] = m.pending()
    assert entry.step.id == "r1.3" and entry.expires_at == 3.0 + TTL


def test_cancelling_drops_the_pending_step_and_those_held_behind_it(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine()
    p = plan(m, decisions, "systemctl restart nginx", "df -h", "systemctl restart db")
    m.handle(Reported())
    cancelled = m.handle(CancelRequested(None))
    assert isinstance(cancelled, Cancelled)
    pending, *held = (f.step for f in p.fates)
    assert cancelled.fates == (
        Dropped(step=pending, how="cancelled"),
        *(Dropped(step=s, how="cancelled", behind="r1.1") for s in held),
    )


def test_expiry_drops_the_pending_steps_first_then_those_held_behind_them(
    decisions: dict[str, Decision],
) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    first = plan(m, decisions, "systemctl restart nginx", "df -h", now=0.0)
    m.handle(Reported())
    second = plan(m, decisions, "systemctl restart db", "id -u", now=10.0)
    m.handle(Reported())
    swept = m.handle(Sweep(now=200.0))
    assert isinstance(swept, Expired)
    assert [(f.step.id, f.how, f.behind) for f in swept.fates] == [
        ("r1.1", "expired", None),
        ("r2.1", "expired", None),
        ("r1.2", "expired", "r1.1"),
        ("r2.2", "expired", "r2.1"),
    ]
    assert {f.step for f in swept.fates} == {f.step for f in (*first.fates, *second.fates)}


def test_a_late_confirmation_drops_instead_of_running(decisions: dict[str, Decision]) -> None:
    m = ActionMachine(confirm_ttl=TTL)
    plan(m, decisions, "systemctl restart nginx", "df -h")
    m.handle(Reported())
    late = m.handle(ConfirmRequested(None, TTL))
    assert isinstance(late, Expired)
    assert [(f.step.id, f.how, f.behind) for f in late.fates] == [
        ("r1.1", "expired", None),
        ("r1.2", "expired", "r1.1"),
    ]
    # Named again later: still expired, but nothing is dropped twice.
    assert m.handle(ConfirmRequested("r1.1", TTL + 1)) == Expired(("r1.1",))


def test_fates_are_frozen(decisions: dict[str, Decision]) -> None:
    [fate] = plan(ActionMachine(), decisions, "df -h").fates
    assert isinstance(fate, Runs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fate.confirmed = True  # type: ignore[misc]
