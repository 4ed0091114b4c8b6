"""A request for two servers vs one: per-server latency of ``df -h`` through the fleet executor.

Starts a real gateway with node hosts web-1 and web-2 on loopback (``devtools.openclaw``,
shipped guard policy), then, interleaved in one run: ``df -h`` approved for web-1 alone (a
one-server request), and the same command approved for web-1 and web-2 and run one after the
other as the flow does (a two-server request).  Reports each server's run time and the whole
two-server request against the one-server one.  Writes ``bench/results/fleet.json``.  Needs the
runtime from ``./run.sh openclaw``; without it, says so and writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from devtools.openclaw import find_runtime, start, stop
from devtools.tinymoshi import free_port
from fleet import Fleet
from guard import Allowed, Guard
from proxy.actions.executors.fleet import FleetExecutor, NodeDirectory
from proxy.actions.executors.openclaw import open_executor

ITERATIONS = 30
WARMUP = 3
NODES = ("web-1", "web-2")


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


async def _measure(data_dir: Path, url: str) -> dict[str, dict[str, float]]:
    """Summaries by row name: the one-server request, the two-server one, each server in it."""
    guard = Guard(groups={"web": NODES})
    approvals = {}
    for node in NODES:
        decision = guard.check("df -h", node)
        assert isinstance(decision, Allowed), decision
        approvals[node] = decision.approval
    default = open_executor(data_dir, url, NODES[0])
    directory = NodeDirectory(default.client, Fleet(NODES, {"web": NODES}))
    fleet = FleetExecutor(directory, default, timeout=30.0, output_cap=default.output_cap)
    one: list[float] = []
    two: list[float] = []
    per_node: dict[str, list[float]] = {node: [] for node in NODES}
    try:
        for n in range(WARMUP + ITERATIONS):
            began = time.perf_counter()
            result = await fleet.run(approvals[NODES[0]])
            single = time.perf_counter() - began
            assert result.ok, result
            began = time.perf_counter()
            for node in NODES:
                started = time.perf_counter()
                result = await fleet.run(approvals[node])
                assert result.ok, result
                if n >= WARMUP:
                    per_node[node].append(time.perf_counter() - started)
            both = time.perf_counter() - began
            if n >= WARMUP:
                one.append(single)
                two.append(both)
    finally:
        await default.client.close()
    return {
        "df -h on web-1 (one server)": _summary(one),
        "df -h on web-1 and web-2 (both)": _summary(two),
        **{f"  of which {n}": _summary(s) for n, s in per_node.items()},
    }


def main() -> int:
    """Run the bench, print a table, write ``bench/results/fleet.json``."""
    if find_runtime() is None:
        print("OpenClaw is not installed (./run.sh openclaw); nothing measured")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        port = free_port()
        began = time.perf_counter()
        try:
            for node in NODES:
                hosts = start(data_dir, port=port, node=node)
            ready = time.perf_counter() - began
            figures = asyncio.run(_measure(data_dir, hosts.url))
        finally:
            stop(data_dir)
    ratio = round(
        figures["df -h on web-1 and web-2 (both)"]["p50_ms"]
        / figures["df -h on web-1 (one server)"]["p50_ms"],
        2,
    )
    result = {
        "machine": f"{platform.machine()}, {platform.python_version()}; shared, noisy (other "
        "helpers' tests run at the same time)",
        "iterations": ITERATIONS,
        "gateway_and_two_nodes_ready_s": round(ready, 1),
        "rows": {name.strip(): stats for name, stats in figures.items()},
        "two_vs_one_p50_ratio": ratio,
    }
    print(f"{'request':<34}{'p50 ms':>9}{'p90 ms':>9}")
    for name, stats in figures.items():
        print(f"{name:<34}{stats['p50_ms']:>9}{stats['p90_ms']:>9}")
    print(f"two-server / one-server p50: {ratio}×")
    out = Path(__file__).parent / "results" / "fleet.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
