"""The OpenClaw executor against a real gateway and node host (``openclaw_hosts``, loopback).

The node host's exec approvals are generated from the same test policy the guard uses, so a
binary the guard never approves is refused by OpenClaw itself, even when called directly.  The
last test stops the gateway in the middle of a run and starts it again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from devtools.openclaw import Hosts, start
from devtools.openclaw.host import read_state, stop_tree
from devtools.tinymoshi import free_port
from guard import Guard
from guard.loader import parse_policy
from guard.openclaw import AGENT_ID
from proxy.actions.executors.gateway import GatewayError
from proxy.actions.executors.openclaw import OpenClawExecutor, open_executor
from tests.proxy.actions.test_executor_local import alive, approve, make_guard


def executor(hosts: Hosts, **kwargs: float) -> OpenClawExecutor:
    return open_executor(hosts.data_dir, hosts.url, hosts.node, **kwargs)


@pytest.fixture
def guard(openclaw_bin: Path) -> Guard:
    return make_guard(openclaw_bin)


async def test_df_runs_on_the_node_and_returns_its_output(
    openclaw_hosts: Hosts, guard: Guard
) -> None:
    ex = executor(openclaw_hosts)
    try:
        result = await ex.run(approve(guard, "df -h"))
    finally:
        await ex.client.close()
    assert result.ok, result
    assert result.argv == ("/usr/bin/df", "-h")
    assert "Filesystem" in result.stdout
    assert result.stdout_bytes == len(result.stdout.encode())


async def test_failure_exit_code_and_stderr_are_reported(
    openclaw_hosts: Hosts, guard: Guard
) -> None:
    ex = executor(openclaw_hosts)
    try:
        result = await ex.run(approve(guard, "fail"))
    finally:
        await ex.client.close()
    assert result.exit_code == 3 and not result.ok
    assert result.stderr == "oops\n"
    assert result.error is None


async def test_output_is_capped_like_the_local_executor(
    openclaw_hosts: Hosts, guard: Guard
) -> None:
    ex = executor(openclaw_hosts)
    ex.output_cap = 1000
    try:
        result = await ex.run(approve(guard, "blurt 5000"))
    finally:
        await ex.client.close()
    assert result.exit_code == 0 and result.truncated
    assert result.stdout == "x" * 1000 + "\n(truncated, 5000 bytes total)"
    assert result.stdout_bytes == 5000


async def test_a_binary_outside_the_generated_allowlist_is_refused_by_openclaw(
    openclaw_hosts: Hosts,
) -> None:
    # A guard with another policy approves uname; the node's approvals come from the test
    # policy, which has no uname: OpenClaw refuses, and nothing runs.
    other = Guard(parse_policy("[commands.uname]\n", "other policy"), trusted_path="/usr/bin:/bin")
    ex = executor(openclaw_hosts)
    try:
        result = await ex.run(approve(other, "uname"))
    finally:
        await ex.client.close()
    assert not result.ok and result.exit_code is None and result.stdout == ""
    assert result.error is not None
    assert result.error.startswith("refused by OpenClaw exec approvals on node 'local'")
    assert "allowlist miss" in result.error


@pytest.mark.parametrize("agent", [AGENT_ID, "main"])
async def test_a_direct_node_invoke_bypassing_the_guard_is_refused(
    openclaw_hosts: Hosts, agent: str
) -> None:
    # No guard, no executor: the raw gateway call a compromised caller could make.
    ex = executor(openclaw_hosts)
    try:
        with pytest.raises(GatewayError) as caught:
            await ex.client.call(
                "node.invoke",
                {
                    "nodeId": openclaw_hosts.node_id,
                    "command": "system.run",
                    "params": {"command": ["/usr/bin/uname"], "agentId": agent, "timeoutMs": 5000},
                    "timeoutMs": 10000,
                    "idempotencyKey": str(uuid.uuid4()),
                },
                within=15,
            )
    finally:
        await ex.client.close()
    assert caught.value.details["nodeError"]["code"] == "SYSTEM_RUN_DENIED"


async def test_timeout_is_reported_as_timed_out_and_the_tree_is_killed(
    openclaw_hosts: Hosts, guard: Guard, openclaw_bin: Path
) -> None:
    for leftover in ("child.pid", "grandchild.pid"):
        (openclaw_bin / leftover).unlink(missing_ok=True)
    ex = executor(openclaw_hosts, timeout=1.0)
    try:
        result = await ex.run(approve(guard, "stall"))
    finally:
        await ex.client.close()
    assert result.timed_out and not result.ok
    assert result.exit_code is None and result.error is None
    assert result.duration < 1.0 + 5.0
    assert not alive(int((openclaw_bin / "child.pid").read_text()))


async def test_gateway_down_is_a_clear_result_at_once(tmp_path: Path, guard: Guard) -> None:
    (tmp_path / "openclaw").mkdir()
    (tmp_path / "openclaw" / "gateway.token").write_text("t" * 32)
    ex = open_executor(tmp_path, f"ws://127.0.0.1:{free_port()}", "local")
    began = time.monotonic()
    result = await ex.run(approve(guard, "df -h"))
    assert time.monotonic() - began < ex.client.connect_timeout + 1
    assert result.error is not None and result.error.startswith("executor unavailable")
    assert "cannot reach the gateway" in result.error


def test_no_token_stops_the_start_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENCLAW_GATEWAY_TOKEN", raising=False)
    with pytest.raises(ValueError, match="no OpenClaw gateway token"):
        open_executor(tmp_path, "ws://127.0.0.1:1", "local")


async def test_gateway_stopped_mid_run_fails_cleanly_then_recovers(
    openclaw_hosts: Hosts, guard: Guard, openclaw_bin: Path
) -> None:
    ex = executor(openclaw_hosts, timeout=30.0)
    data_dir = openclaw_hosts.data_dir
    (openclaw_bin / "child.pid").unlink(missing_ok=True)
    try:
        run = asyncio.create_task(ex.run(approve(guard, "stall")))
        while not (openclaw_bin / "child.pid").exists():
            await asyncio.sleep(0.05)
        gateway_pid = read_state(data_dir)["gateway"]["pid"]
        await asyncio.to_thread(stop_tree, gateway_pid, 2.0)
        result = await asyncio.wait_for(run, 10)
        assert result.error is not None and result.error.startswith("executor unavailable")
        assert not result.ok
        # The next run fails at once too, then works again once the gateway is back.
        again = await ex.run(approve(guard, "df -h"))
        assert again.error is not None and again.error.startswith("executor unavailable")
        hosts = await asyncio.to_thread(
            start,
            data_dir,
            port=openclaw_hosts.port,
            node=openclaw_hosts.node,
            policy=data_dir / "policy.toml",
            trusted_path=f"{openclaw_bin}:/usr/bin:/bin",
        )
        assert hosts.node_id == openclaw_hosts.node_id
        back = await ex.run(approve(guard, "df -h"))
        assert back.ok, back
    finally:
        await ex.client.close()
