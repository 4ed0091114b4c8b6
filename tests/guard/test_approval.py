"""Approvals: only the guard makes them, and one cannot be altered into another."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from guard import Allowed, Approval, ApprovalForgeryError, Guard
from guard.decision import _GUARD_TOKEN


def approval(guard: Guard) -> Approval:
    decision = guard.check("ls -la /var/log")
    assert isinstance(decision, Allowed)
    return decision.approval


def test_approval_cannot_be_built_without_the_guard() -> None:
    with pytest.raises(ApprovalForgeryError):
        Approval(("/bin/sh", "-c", "id"), "id", "made-up", False, object())


def test_bare_guard_token_is_not_enough() -> None:
    with pytest.raises(ApprovalForgeryError):
        Approval(("/bin/sh",), "sh", "made-up", False, _GUARD_TOKEN)


def test_replace_cannot_change_what_runs(guard: Guard) -> None:
    original = approval(guard)
    with pytest.raises(ApprovalForgeryError):
        dataclasses.replace(original, argv=("/bin/sh", "-c", "rm -rf /"))
    with pytest.raises(ApprovalForgeryError):
        dataclasses.replace(original, destructive=False, rule="other")


def test_token_cannot_be_lifted_into_a_new_approval(guard: Guard) -> None:
    original = approval(guard)
    with pytest.raises(ApprovalForgeryError):
        Approval(("/bin/sh",), original.command, original.rule, False, original._token)


def test_approval_is_immutable(guard: Guard) -> None:
    original = approval(guard)
    with pytest.raises(dataclasses.FrozenInstanceError):
        original.argv = ("/bin/sh",)  # type: ignore[misc]


def test_copies_of_an_approval_stay_valid(guard: Guard) -> None:
    original = approval(guard)
    assert copy.copy(original) == original
    assert copy.deepcopy(original) == original


def test_display_uses_short_binary_name(guard: Guard, stand_ins: Path) -> None:
    original = approval(guard)
    assert original.argv[0] == str(stand_ins / "ls")
    assert original.display == "ls -la /var/log"
