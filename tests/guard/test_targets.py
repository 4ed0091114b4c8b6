"""Policy per server: ``[targets.NAME]`` sections narrow what runs on a node or a group, the
decision names the node and the rule, and each node's OpenClaw approvals follow its policy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from guard import Allowed, ApprovalForgeryError, Guard, NeedsConfirmation, PolicyError, Refused
from guard.__main__ import main
from guard.loader import parse_policy
from guard.openclaw import AGENT_ID

BASE = Path(__file__).resolve().parents[2] / "guard" / "default_policy.toml"
TARGETS = """
[targets."db-1"]
forbid = { "systemctl restart postgresql" = "db-1 is the primary database; restart it by hand" }
[targets.web]
forbid = { docker = "web servers run no containers" }
[targets."web-2"]
commands = ["df", "systemctl"]
"""
GROUPS = {"web": ("web-1", "web-2")}
FLEET = 'nodes = ["web-1", "web-2", "db-1"]\n[groups]\nweb = ["web-1", "web-2"]\n'


@pytest.fixture(scope="module")
def guard(stand_ins: Path) -> Guard:
    policy = parse_policy(BASE.read_text() + TARGETS, "policy with targets")
    return Guard(policy, trusted_path=str(stand_ins), groups=GROUPS)


def test_a_forbidden_command_is_refused_on_that_node_only(guard: Guard) -> None:
    refused = guard.check("systemctl restart postgresql", "db-1")
    assert refused == Refused(
        "systemctl restart postgresql",
        "not on db-1: db-1 is the primary database; restart it by hand",
        "targets.db-1.forbid.systemctl restart postgresql",
        "db-1",
    )
    elsewhere = guard.check("systemctl restart postgresql", "web-1")
    assert isinstance(elsewhere, NeedsConfirmation)
    assert elsewhere.approval.node == "web-1"


@pytest.mark.parametrize(
    "spelled",
    [
        "systemctl restart postgresql.service",
        "systemctl restart postgresql@15-main",
        "systemctl --no-pager restart postgresql",
    ],
)
def test_a_unit_suffix_or_a_flag_does_not_slip_past(guard: Guard, spelled: str) -> None:
    assert isinstance(guard.check(spelled, "db-1"), Refused)


def test_a_groups_section_applies_to_each_member(guard: Guard) -> None:
    decision = guard.check("docker ps", "web-1")
    assert isinstance(decision, Refused) and decision.rule == "targets.web.forbid.docker"
    # A node's own section is read first, and it names the rule that refused.
    decision = guard.check("docker ps", "web-2")
    assert isinstance(decision, Refused) and decision.rule == "targets.web-2.commands"
    assert isinstance(guard.check("docker ps", "db-1"), Allowed)


def test_commands_lists_the_only_programs_of_a_node(guard: Guard) -> None:
    decision = guard.check("uptime", "web-2")
    assert isinstance(decision, Refused)
    assert decision.reason == "uptime does not run on web-2: only df, systemctl do"
    assert decision.rule == "targets.web-2.commands"
    assert isinstance(guard.check("uptime", "web-1"), Allowed)


def test_targets_only_narrow_what_the_base_policy_refuses_stays_refused(guard: Guard) -> None:
    decision = guard.check("rm -rf /", "web-1")
    assert isinstance(decision, Refused) and decision.node == "web-1"
    assert decision.rule == "commands"


def test_an_approval_cannot_be_moved_to_another_node(guard: Guard) -> None:
    decision = guard.check("df -h", "web-1")
    assert isinstance(decision, Allowed)
    with pytest.raises(ApprovalForgeryError):
        dataclasses.replace(decision.approval, node="db-1")


def test_without_a_node_the_targets_do_not_apply(guard: Guard) -> None:
    decision = guard.check("docker ps")
    assert isinstance(decision, Allowed) and decision.approval.node is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[targets.web]\nforbid = { "nc -l" = "no" }', "'nc -l' must start with a command"),
        ('[targets.web]\ncommands = ["nc"]', "'nc' is not a command of this policy"),
        ('[targets.web]\nallow = ["df"]', "unknown key 'allow' in targets.web"),
        ('[targets.web]\nforbid = { df = "" }', "the reason for 'df' must be a sentence"),
    ],
)
def test_a_bad_targets_section_stops_with_file_and_line(section: str, message: str) -> None:
    text = "[commands.df]\n" + section + "\n"
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy(text, "p.toml")
    assert caught.value.line is not None and caught.value.line >= 2


def test_openclaw_approvals_per_node_follow_its_own_policy(
    tmp_path: Path, stand_ins: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policy.toml").write_text(BASE.read_text() + TARGETS)
    (tmp_path / "fleet.toml").write_text(FLEET)
    common = ["--policy", str(tmp_path / "policy.toml"), "--trusted-path", str(stand_ins)]
    assert main(["openclaw-approvals", *common, "--fleet", str(tmp_path / "fleet.toml")]) == 0
    every = json.loads(capsys.readouterr().out)

    def allowed(document: dict[str, dict[str, dict[str, list[dict[str, str]]]]]) -> set[str]:
        return {Path(e["pattern"]).name for e in document["agents"][AGENT_ID]["allowlist"]}

    assert allowed(every["web-2"]) == {"df", "systemctl"}
    assert "docker" not in allowed(every["web-1"]) and "uptime" in allowed(every["web-1"])
    assert "docker" in allowed(every["db-1"])
    fleet_args = ["--fleet", str(tmp_path / "fleet.toml")]
    assert main(["openclaw-approvals", *common, *fleet_args, "--node", "web-2"]) == 0
    assert json.loads(capsys.readouterr().out) == every["web-2"]
    code = main(["check", *common, *fleet_args, "--node", "db-1", "--json", "--", "docker", "ps"])
    assert code == 0 and json.loads(capsys.readouterr().out)["node"] == "db-1"
