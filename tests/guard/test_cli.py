"""``python -m guard``: decisions, exit codes, JSON, the policy listing, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guard.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_allow_prints_json_and_exits_0(capsys: pytest.CaptureFixture[str], stand_ins: Path) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--trusted-path",
        str(stand_ins),
        "--json",
        "--",
        "systemctl",
        "status",
        "nginx",
    )
    assert code == 0
    body = json.loads(out)
    assert body["decision"] == "allow"
    assert body["argv"] == [str(stand_ins / "systemctl"), "status", "nginx", "--no-pager"]
    assert body["rule"] == "commands.systemctl.subcommands.status"


def test_confirm_exits_3_with_why(capsys: pytest.CaptureFixture[str], stand_ins: Path) -> None:
    code, out, _ = run(
        capsys, "check", "--trusted-path", str(stand_ins), "--json", "--", "docker", "rm", "web"
    )
    assert code == 3
    body = json.loads(out)
    assert body["decision"] == "confirm"
    assert body["argv"] == [str(stand_ins / "docker"), "rm", "web"]
    assert "deletes" in body["reason"]


def test_refuse_exits_4_with_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--json", "--", "top")
    assert code == 4
    body = json.loads(out)
    assert body == {
        "decision": "refuse",
        "argv": [],
        "reason": body["reason"],
        "rule": "commands.top.require.-b|--batch-mode",
    }
    assert "top -b -n N" in body["reason"]


def test_command_text_may_be_one_argument(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--", "ls; reboot")
    assert code == 4
    assert out.startswith("refuse: ")
    assert "rule: charset" in out


def test_text_output_shows_the_command_that_runs(
    capsys: pytest.CaptureFixture[str], stand_ins: Path
) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "--trusted-path",
        str(stand_ins),
        "--",
        "journalctl",
        "-u",
        "nginx",
        "-n",
        "5",
    )
    assert code == 0
    assert out.startswith("allow: journalctl -u nginx -n 5 --no-pager")


@pytest.mark.parametrize(
    "args", [[], ["check"], ["check", "--json"], ["frobnicate"], ["check", "ls", "-la"]]
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "usage:" in err


def test_bad_policy_exits_2_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[commands.ls]\nflags = ["-l"]\nargz = 3\n')
    code, _, err = run(capsys, "check", "--policy", str(policy), "--", "ls")
    assert code == 2
    assert f"{policy}:3: unknown key 'argz'" in err


def test_custom_policy_is_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[commands.uname]\nflags = ["-r"]\n')
    assert run(capsys, "check", "--policy", str(policy), "--", "uname", "-r")[0] == 0
    assert run(capsys, "check", "--policy", str(policy), "--", "uname", "-a")[0] == 4
    assert run(capsys, "check", "--policy", str(policy), "--", "ls")[0] == 4


def test_policy_prints_readable_effective_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy")
    assert code == 0
    assert "commands (anything not listed here is refused):" in out
    assert "systemctl restart" in out
    assert "NEEDS CONFIRMATION" in out
    assert "adds when missing: --no-pager" in out


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "guard", "check", "--json", "--", "rm", "-rf", "/"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 4
    assert json.loads(done.stdout)["rule"] == "commands"
