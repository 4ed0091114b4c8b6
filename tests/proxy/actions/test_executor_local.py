"""The local executor runs exactly the guard's approval: no shell, fixed env, bounded output,
and a timeout that takes the whole process group down.

Approvals come from the real guard, with a small test policy whose binaries are stand-in shell
scripts in a temporary directory (plus the real ``df``).  The helpers here are shared with the
flow and API tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from guard import Allowed, Approval, Guard, NeedsConfirmation
from guard.loader import parse_policy
from proxy.actions.executors import LocalExecutor
from tests.processes import cmdlines

TEST_POLICY = """
[limits]
max_input_chars = 200
max_args = 8

[types.count]
int = [1, 10000000]

[types.unit]
regex = '[a-z]{1,20}'

[commands.df]
flags = ["-h|--human-readable"]

[commands.blurt]
about = "prints N bytes"
args = { type = "count", min = 1, max = 1 }

[commands.stall]
about = "ignores SIGTERM, starts a grandchild and waits forever"

[commands.whereami]
about = "prints its environment, directory and uid"

[commands.fail]
about = "writes to stderr and exits 3"

[commands.id]
flags = ["-u"]

[commands.systemctl]
[commands.systemctl.subcommands.status]
args = { type = "unit", min = 1, max = 1 }
[commands.systemctl.subcommands.restart]
args = { type = "unit", min = 1, max = 1 }
destructive = "restarting interrupts the service"
"""

STANDINS = {
    "blurt": """head -c "$1" /dev/zero | tr '\\0' x""",
    "stall": """
        here=$(dirname "$0")
        trap '' TERM
        sleep 1000 &
        echo $! > "$here/grandchild.pid"
        echo $$ > "$here/child.pid"
        wait
    """,
    "whereami": "env; pwd; id -u",
    "fail": "echo oops >&2; exit 3",
    # Records every call, so a test can see exactly which argv ran and how often.
    "systemctl": """echo "$*" >> "$(dirname "$0")/ran.log"; echo "systemctl $1 $2: ok" """,
}


def make_bin_dir(root: Path) -> Path:
    """A directory of executable stand-in scripts (see :data:`STANDINS`)."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, body in STANDINS.items():
        script = bin_dir / name
        script.write_text("#!/bin/sh\n" + textwrap.dedent(body).strip() + "\n")
        script.chmod(0o755)
    return bin_dir


def make_guard(bin_dir: Path, policy: str | None = TEST_POLICY) -> Guard:
    """A real guard whose trusted PATH finds the stand-ins first, then the system's df."""
    parsed = None if policy is None else parse_policy(policy, "test policy")
    return Guard(parsed, trusted_path=f"{bin_dir}:/usr/bin:/bin")


def ran_log(bin_dir: Path) -> list[str]:
    """The argv (without argv[0]) of every stand-in systemctl call so far."""
    log = bin_dir / "ran.log"
    return log.read_text().splitlines() if log.exists() else []


def approve(guard: Guard, command: str) -> Approval:
    decision = guard.check(command)
    assert isinstance(decision, Allowed | NeedsConfirmation), decision
    return decision.approval


def alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie awaiting its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` is dead; a SIGKILLed process needs a moment of CPU to finish dying,
    which a loaded machine may not give it at once."""
    for _ in range(int(within / 0.01)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.01)
    return not alive(pid)


#: The files the ``stall`` stand-in writes its child's and grandchild's pids to.
PIDS = ("child.pid", "grandchild.pid")


def started(bin_dir: Path) -> list[int] | None:
    """The pids the ``stall`` stand-in wrote (child, grandchild), once both are written."""
    texts = [(bin_dir / name).read_text() if (bin_dir / name).exists() else "" for name in PIDS]
    return [int(t) for t in texts] if all(t.strip() for t in texts) else None


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return make_bin_dir(tmp_path)


@pytest.fixture
def guard(bin_dir: Path) -> Guard:
    return make_guard(bin_dir)


async def test_runs_real_df_and_reports_exit_code_and_output(guard: Guard) -> None:
    result = await LocalExecutor().run(approve(guard, "df -h"))
    assert result.exit_code == 0 and result.ok
    assert result.argv[0].endswith("/df")
    assert "Filesystem" in result.stdout
    assert not result.truncated


async def test_small_output_is_not_truncated(guard: Guard) -> None:
    result = await LocalExecutor(output_cap=100_000).run(approve(guard, "blurt 1000"))
    assert result.stdout == "x" * 1000
    assert result.stdout_bytes == 1000
    assert not result.truncated
    assert "truncated" not in result.output


async def test_large_output_is_capped_while_streaming_and_counted(guard: Guard) -> None:
    # 3 MB through a 100 KB cap: the child finishes (the pipe keeps draining) and the total is
    # still known.
    result = await LocalExecutor(output_cap=100_000).run(approve(guard, "blurt 3000000"))
    assert result.exit_code == 0 and not result.timed_out
    assert result.truncated
    assert result.stdout_bytes == 3_000_000
    assert result.stdout.startswith("x" * 100_000)
    assert result.stdout.endswith("(truncated, 3000000 bytes total)")
    assert len(result.stdout) < 100_100


async def test_timeout_kills_the_whole_process_group(guard: Guard, bin_dir: Path) -> None:
    result = await LocalExecutor(timeout=1.0).run(approve(guard, "stall"))
    assert result.timed_out and not result.ok
    pids = started(bin_dir)
    assert pids is not None
    # The child ignores SIGTERM and the grandchild is its own process: both must be gone.
    for pid in pids:
        assert await gone(pid)


async def test_cancelling_a_run_kills_the_process_group(guard: Guard, bin_dir: Path) -> None:
    task = asyncio.create_task(LocalExecutor(timeout=600).run(approve(guard, "stall")))
    while (pids := started(bin_dir)) is None:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for pid in pids:
        assert await gone(pid)


async def test_cancelling_a_run_while_its_process_starts_kills_the_process_group(
    guard: Guard, bin_dir: Path
) -> None:
    # The session closes in the instant between the fork and the run getting hold of the
    # process (asyncio still connecting its pipes): seen on a loaded machine.  The grandchild
    # holds the output pipes, so a start that is merely abandoned waits for it (here 1000 s).
    task = asyncio.create_task(LocalExecutor(timeout=600).run(approve(guard, "stall")))
    stall = str(bin_dir / "stall").encode()
    for _ in range(10_000):  # one turn of the loop each: the first turn after the fork
        await asyncio.sleep(0)
        if any(stall in cmdline for cmdline in cmdlines()):
            break
    for _ in range(500):  # the loop is held meanwhile, so the cancel lands inside the start
        if (pids := started(bin_dir)) is not None:
            break
        time.sleep(0.01)
    assert pids is not None
    try:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)
        for pid in pids:
            assert await gone(pid)
    finally:  # a failure must not leave a 1000 s sleep behind
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_environment_is_fixed_and_minimal(
    guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-must-not-leak")
    result = await LocalExecutor(path="/usr/bin:/bin").run(approve(guard, "whereami"))
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert "ANTHROPIC_API_KEY" not in env
    assert "sk-must-not-leak" not in result.stdout
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["LANG"] == "C"
    assert env["PAGER"] == "cat"
    assert env["SYSTEMD_PAGER"] == ""
    assert result.stdout.splitlines()[-2] == "/"  # runs in /, not in the proxy's directory


async def test_failure_exit_code_and_stderr_are_reported(guard: Guard) -> None:
    result = await LocalExecutor().run(approve(guard, "fail"))
    assert result.exit_code == 3 and not result.ok
    assert result.stderr == "oops\n"
    assert result.output == "oops\n"


async def test_binary_removed_after_approval_is_an_error_not_a_crash(
    guard: Guard, bin_dir: Path
) -> None:
    approval = approve(guard, "fail")
    (bin_dir / "fail").unlink()
    result = await LocalExecutor().run(approval)
    assert result.exit_code is None and not result.ok
    assert result.error is not None and "could not start" in result.error


async def test_only_an_approval_is_accepted() -> None:
    executor = LocalExecutor()
    with pytest.raises(TypeError):
        await executor.run(("/bin/df", "-h"))  # type: ignore[arg-type]

    class LooksLikeAnApproval:
        argv = ("/bin/df", "-h")

    with pytest.raises(TypeError):
        await executor.run(LooksLikeAnApproval())  # type: ignore[arg-type]


@pytest.mark.skipif(os.geteuid() != 0, reason="run_as needs root")
async def test_run_as_drops_to_that_user(guard: Guard) -> None:
    as_root = await LocalExecutor().run(approve(guard, "id -u"))
    as_nobody = await LocalExecutor(run_as="nobody").run(approve(guard, "id -u"))
    assert as_root.stdout.strip() == "0"
    assert as_nobody.stdout.strip() == "65534"


def test_run_as_unknown_user_fails_at_start() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        LocalExecutor(run_as="no-such-user-voiceops")
