"""OpenClaw exec approvals generated from the guard policy: the same binaries, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard import Guard
from guard.__main__ import main
from guard.openclaw import AGENT_ID, exec_approvals
from guard.policy import Policy


def test_the_allowlist_is_exactly_the_guards_resolved_binaries(
    policy: Policy, stand_ins: Path
) -> None:
    guard = Guard(policy, trusted_path=str(stand_ins))
    document = exec_approvals(guard.binaries)
    agent = document["agents"][AGENT_ID]
    patterns = [entry["pattern"] for entry in agent["allowlist"]]
    assert patterns == sorted(str(stand_ins / name) for name in policy.commands)
    assert (agent["security"], agent["ask"], agent["askFallback"]) == ("allowlist", "off", "deny")
    # Any other agent (the OpenClaw default is "main") may run nothing at all.
    assert document["defaults"]["security"] == "deny"
    assert list(document["agents"]) == [AGENT_ID]


def test_binaries_the_guard_did_not_find_are_left_out(policy: Policy, tmp_path: Path) -> None:
    (tmp_path / "df").write_text("#!/bin/sh\n")
    (tmp_path / "df").chmod(0o755)
    document = exec_approvals(Guard(policy, trusted_path=str(tmp_path)).binaries)
    assert document["agents"][AGENT_ID]["allowlist"] == [{"pattern": str(tmp_path / "df")}]


def test_cli_prints_the_same_document(
    capsys: pytest.CaptureFixture[str], policy: Policy, stand_ins: Path
) -> None:
    code = main(["openclaw-approvals", "--trusted-path", str(stand_ins), "--agent", "ops"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    expected = exec_approvals(Guard(policy, trusted_path=str(stand_ins)).binaries, "ops")
    assert printed == expected
