"""The seed's safety tests, kept, and the behaviours the issue names."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard import Allowed, Guard, NeedsConfirmation, Refused, load_policy


def test_allowed_command_passes_with_absolute_binary(real_guard: Guard) -> None:
    decision = real_guard.check("ls -la /var/log")
    assert isinstance(decision, Allowed)
    assert decision.approval.argv[1:] == ("-la", "/var/log")
    assert Path(decision.approval.argv[0]).is_absolute()
    assert Path(decision.approval.argv[0]).name == "ls"
    assert not decision.approval.destructive


@pytest.mark.parametrize("text", ["ls; rm -rf /", "ls && reboot", "ls | sh", "ls $(id)", "ls `id`"])
def test_metacharacters_refused(guard: Guard, text: str) -> None:
    decision = guard.check(text)
    assert isinstance(decision, Refused)
    assert decision.rule == "charset"


def test_unknown_binary_refused(guard: Guard) -> None:
    decision = guard.check("rm -rf /")
    assert isinstance(decision, Refused)
    assert decision.rule == "commands"
    assert "'rm' is not in the policy" in decision.reason


def test_bad_flag_refused(guard: Guard) -> None:
    decision = guard.check("ls --hide=x /var/log")
    assert isinstance(decision, Refused)
    assert decision.rule == "commands.ls.flags"
    assert "--hide" in decision.reason


def test_destructive_needs_confirmation(guard: Guard, stand_ins: Path) -> None:
    decision = guard.check("systemctl restart nginx")
    assert isinstance(decision, NeedsConfirmation)
    assert decision.approval.argv == (
        str(stand_ins / "systemctl"),
        "restart",
        "nginx",
        "--no-pager",
    )
    assert decision.approval.destructive
    assert "interrupts" in decision.why


def test_state_changing_subcommand_refused(guard: Guard) -> None:
    decision = guard.check("systemctl enable nginx")
    assert isinstance(decision, Refused)
    assert decision.rule == "commands.systemctl.forbid.enable"
    assert "boot" in decision.reason


def test_empty_command_refused(guard: Guard) -> None:
    for text in ("", "   "):
        decision = guard.check(text)
        assert isinstance(decision, Refused)
        assert decision.rule == "empty"


def test_path_traversal_refused(guard: Guard) -> None:
    decision = guard.check("ls /var/log/../../root")
    assert isinstance(decision, Refused)
    assert decision.rule == "commands.ls.args"
    assert "'..'" in decision.reason


def test_pager_flag_added_to_systemctl_status(guard: Guard, stand_ins: Path) -> None:
    decision = guard.check("systemctl status nginx")
    assert isinstance(decision, Allowed)
    assert decision.approval.argv == (str(stand_ins / "systemctl"), "status", "nginx", "--no-pager")
    assert decision.approval.display == "systemctl status nginx --no-pager"


@pytest.mark.parametrize(
    ("text", "safe_form"),
    [
        ("top", "top -b -n N"),
        ("top -b", "top -b -n N"),
        ("docker stats", "docker stats --no-stream"),
        ("docker logs web", "docker logs --tail N"),
        ("docker logs --tail 10 -f web", "docker logs --tail N"),
        ("journalctl -u nginx", "journalctl -u UNIT -n N"),
        ("journalctl -u nginx -n 10 -f", "journalctl -u UNIT -n N"),
        ("free -s 1", "free -h"),
    ],
)
def test_never_ending_commands_refused_naming_safe_form(
    guard: Guard, text: str, safe_form: str
) -> None:
    decision = guard.check(text)
    assert isinstance(decision, Refused)
    assert safe_form in decision.reason


def test_binary_missing_from_server_is_refused_as_not_installed(tmp_path: Path) -> None:
    guard = Guard(load_policy(), trusted_path=str(tmp_path))
    decision = guard.check("systemctl status nginx")
    assert isinstance(decision, Refused)
    assert decision.rule == "trusted_path"
    assert "systemctl is not installed on this server" in decision.reason


def test_trusted_path_is_fixed_at_start_not_process_path(
    tmp_path: Path, stand_ins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = Guard(load_policy(), trusted_path=str(stand_ins))
    evil = tmp_path / "ls"
    evil.write_text("#!/bin/sh\necho evil\n")
    evil.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    decision = guard.check("ls")
    assert isinstance(decision, Allowed)
    assert decision.approval.argv[0] == str(stand_ins / "ls")


def test_relative_trusted_path_entries_are_ignored(
    stand_ins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(stand_ins)
    guard = Guard(load_policy(), trusted_path=".::bin")
    decision = guard.check("ls")
    assert isinstance(decision, Refused)
    assert decision.rule == "trusted_path"


def test_check_never_raises_on_non_text(guard: Guard) -> None:
    decision = guard.check(b"ls")  # type: ignore[arg-type]
    assert isinstance(decision, Refused)
