"""Per-call latency of ``df -h``: local executor vs OpenClaw (our WebSocket client vs the CLI).

Starts a real gateway + node host on loopback (``devtools.openclaw``, shipped guard policy),
then runs the same guard approval through ``LocalExecutor``, ``OpenClawExecutor`` (one held
WebSocket) and ``openclaw gateway call node.invoke`` (a Node process per call, what a client
without our protocol code would do), interleaved in one run.  Also records how long the gateway
and node host take to become ready and their memory.  Writes ``bench/results/openclaw.json``.
Needs the runtime from ``./run.sh openclaw``; without it, says so and writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path

from devtools.openclaw import find_runtime, start, stop
from devtools.openclaw.host import descendants, gateway_token, openclaw_env, read_state, state_root
from devtools.tinymoshi import free_port
from guard import Allowed, Guard
from guard.openclaw import AGENT_ID
from proxy.actions.executors import LocalExecutor, RunResult
from proxy.actions.executors.openclaw import open_executor

ITERATIONS = 30
CLI_ITERATIONS = 5
WARMUP = 2


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _rss_mb(pid: int) -> float:
    total = 0
    for member in (pid, *descendants(pid)):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def _cli_call(data_dir: Path, url: str, node_id: str, argv: tuple[str, ...]) -> float:
    runtime = find_runtime()
    assert runtime is not None
    params = {
        "nodeId": node_id,
        "command": "system.run",
        "params": {"command": list(argv), "agentId": AGENT_ID, "timeoutMs": 30000},
        "timeoutMs": 35000,
        "idempotencyKey": str(uuid.uuid4()),
    }
    began = time.perf_counter()
    done = subprocess.run(
        runtime.argv(
            *("gateway", "call", "node.invoke", "--json", "--url", url),
            *("--token", gateway_token(data_dir), "--params", json.dumps(params)),
        ),
        env=openclaw_env(state_root(data_dir) / "cli"),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    elapsed = (time.perf_counter() - began) * 1000
    assert "Filesystem" in json.loads(done.stdout)["payload"]["stdout"], done.stdout[:300]
    return elapsed


async def _timed(run: Awaitable[RunResult]) -> float:
    began = time.perf_counter()
    result = await run
    assert result.ok and "Filesystem" in result.stdout, result
    return (time.perf_counter() - began) * 1000


async def measure(data_dir: Path) -> dict[str, object]:
    began = time.perf_counter()
    hosts = await asyncio.to_thread(start, data_dir, port=free_port())
    ready_s = time.perf_counter() - began
    state = read_state(data_dir)
    decision = Guard().check("df -h")
    assert isinstance(decision, Allowed), decision
    approval = decision.approval
    local = LocalExecutor()
    remote = open_executor(data_dir, hosts.url, hosts.node)
    first_call = await _timed(remote.run(approval))  # connects (handshake + node lookup)
    local_ms: list[float] = []
    ws_ms: list[float] = []
    for n in range(WARMUP + ITERATIONS):
        pair = (await _timed(local.run(approval)), await _timed(remote.run(approval)))
        if n >= WARMUP:
            local_ms.append(pair[0])
            ws_ms.append(pair[1])
    cli_ms = [
        await asyncio.to_thread(_cli_call, data_dir, hosts.url, hosts.node_id, approval.argv)
        for _ in range(CLI_ITERATIONS)
    ]
    await remote.client.close()
    local_s, ws_s, cli_s = _summary(local_ms), _summary(ws_ms), _summary(cli_ms)
    return {
        "benchmark": "per-call latency of df -h: local vs OpenClaw node.invoke → system.run",
        "local": local_s,
        "openclaw_websocket": ws_s,
        "openclaw_websocket_first_call_ms": round(first_call, 1),
        "openclaw_cli": cli_s,
        "ratio_websocket_vs_local_p50": round(ws_s["p50_ms"] / local_s["p50_ms"], 1),
        "ratio_cli_vs_websocket_p50": round(cli_s["p50_ms"] / ws_s["p50_ms"], 1),
        "gateway_and_node_ready_s": round(ready_s, 1),
        "gateway_rss_mb": _rss_mb(state["gateway"]["pid"]),
        "node_host_rss_mb": _rss_mb(state["nodes"][hosts.node]),
        "openclaw": "2026.9.6 on Node 24.21.0",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "note": "2 shared cores, other engineers' jobs running (load average above 10)",
    }


def main() -> None:
    if find_runtime() is None:
        print("OpenClaw is not installed (./run.sh openclaw): skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = asyncio.run(measure(Path(tmp)))
        finally:
            stop(Path(tmp))
    rows = [("local", result["local"]), ("openclaw ws", result["openclaw_websocket"])]
    rows.append(("openclaw cli", result["openclaw_cli"]))
    print(f"{'executor':<14}{'p50 ms':>9}{'p95 ms':>9}{'min ms':>9}{'max ms':>9}{'n':>5}")
    for name, s in rows:
        assert isinstance(s, dict)
        print(
            f"{name:<14}{s['p50_ms']:>9}{s['p95_ms']:>9}{s['min_ms']:>9}{s['max_ms']:>9}{s['n']:>5}"
        )
    print(
        f"ready in {result['gateway_and_node_ready_s']} s; gateway {result['gateway_rss_mb']} MB,"
        f" node host {result['node_host_rss_mb']} MB"
    )
    out = Path(__file__).parent / "results" / "openclaw.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
