"""Added latency, CPU and memory per conversation at N real-time conversations, against nginx.

One run starts an echo upstream, Debian nginx (WebSocket reverse proxy, one worker, config
generated here) and the proxy (tap off on asyncio, tap off on uvloop, tap on), each in its own
process, and drives N = 1, 10, 50, 100, 200 conversations at real-time pace (one real 80 ms
Ogg/Opus page per conversation every 80 ms) through each, in turn for every N, so all modes
see the same machine.  "Added" is a mode's round-trip quantile minus the direct one's.
Run: ``.venv/bin/python bench/bench_capacity.py [--seconds S] [--counts 1,10,...]``; figures go to
``bench/results/capacity.json`` and ``bench/results/capacity.png``.  ``--baseline REV`` (a git
revision of this repository, or another checkout's directory) adds ``proxy_before``, that
version's proxy, measured in the same run; ``--modes`` picks a subset for a quick A/B.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.realtime import (
    FRAME_SECONDS,
    Load,
    cpu_seconds,
    noise_pages,
    paced_load,
    raise_priority,
    rss_mb,
    start_echo,
    start_nginx,
    start_proxy,
    stop_all,
    wait_listening,
)

RESULTS = Path(__file__).parent / "results"
#: "proxy_before" (the proxy from ``--baseline DIR``, another checkout) only when asked for.
MODES = ["direct", "nginx", "proxy", "proxy_asyncio", "proxy_tap"]
PROXIES = {
    "proxy": (False, "uvloop"),
    "proxy_asyncio": (False, "asyncio"),
    "proxy_tap": (True, "uvloop"),
}
#: Each (N, mode) run is cut into this many slices, interleaved with the other modes' slices,
#: so that load from elsewhere on the shared machine falls on every mode alike.
ROUNDS = 3
#: After each slice, wait (at most this long, s) until the server and the echo upstream are idle:
#: closing N conversations (a proxy's collections, a tap's speech backlog) would otherwise take
#: the CPU from the next mode's slice, always the same next mode.
SETTLE_SECONDS = 10.0


async def run(
    counts: list[int], seconds: float, unpaced: int, baseline: str | None
) -> dict[str, Any]:
    """Start every server, measure every (N, mode), stop them; return the figures."""
    pool = max(counts)
    pages = [noise_pages(int(seconds * 3 / FRAME_SECONDS) + 1)]
    gc.freeze()  # what is loaded by now lives to the end: each slice's collection skips it
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            procs["echo"], echo_url = start_echo()
            echo_port = int(echo_url.split(":")[2].split("/")[0])
            ports = {"direct": echo_port}
            procs["nginx"], ports["nginx"] = start_nginx(work, echo_port)
            proxies = {m: PROXIES[m] for m in MODES if m in PROXIES}
            if baseline is not None:
                proxies["proxy_before"] = (False, "uvloop")  # like for like with "proxy"
                baseline_root = checkout(baseline, work / "baseline")
            for mode, (tap, loop) in proxies.items():
                (work / f"data-{mode}").mkdir()
                procs[mode], ports[mode] = start_proxy(
                    work / f"data-{mode}",
                    echo_url,
                    pool,
                    tap=tap,
                    event_loop=loop,
                    root=baseline_root if mode == "proxy_before" else None,
                )
            for port in ports.values():
                await wait_listening(port)
            urls = {m: f"ws://127.0.0.1:{p}/api/chat" for m, p in ports.items()}
            await asyncio.sleep(2.0)  # let the tap's speech worker finish loading
            idle = {m: round(rss_mb(procs[_owner(m)].pid), 1) for m in MODES if m != "direct"}
            rows = [await _unpaced(urls, pages, unpaced)]
            for n in counts:
                rows.append(await _paced(urls, procs, pages, n, seconds))
        finally:
            stop_all(list(procs.values()))
    return {"rss_idle_mb": idle, "seconds_per_run": seconds, "rows": rows}


def checkout(baseline: str, into: Path) -> Path:
    """The baseline's source tree: a directory as it is, or a git revision of this repository
    exported (``git archive``) into ``into``."""
    if Path(baseline).is_dir():
        return Path(baseline).resolve()
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", baseline],
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir()
    with tempfile.TemporaryFile() as tar_file:
        tar_file.write(archive)
        tar_file.seek(0)
        with tarfile.open(fileobj=tar_file) as tar:
            tar.extractall(into, filter="data")
    return into


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process (the load generator) during a slice: its
    collections (up to 20 ms measured at N = 200) would count as latency of whichever mode runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def settle(pid: int) -> None:
    """Wait until ``pid``'s process tree is nearly idle (< 10 % of a core), at most
    :data:`SETTLE_SECONDS`."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.25)
        if cpu_seconds(pid) - before < 0.025:
            return


def _owner(mode: str) -> str:
    return "echo" if mode == "direct" else mode


async def _unpaced(urls: dict[str, str], pages: list[list[bytes]], count: int) -> dict[str, Any]:
    row: dict[str, Any] = {"conversations": 1, "paced": False}
    for mode in MODES:
        await paced_load(urls[mode], pages, 1, 50, period=0)  # warm-up
        with gc_paused():
            row[mode] = (await paced_load(urls[mode], pages, 1, count, period=0)).summary()
    _added(row)
    return row


async def _paced(
    urls: dict[str, str],
    procs: dict[str, subprocess.Popen[bytes]],
    pages: list[list[bytes]],
    n: int,
    seconds: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {"conversations": n, "paced": True}
    # One conversation gives few samples per second: run it longer.
    count = int(seconds * (3 if n == 1 else 1) / FRAME_SECONDS / ROUNDS)
    loads = {mode: Load() for mode in MODES}
    cpu = dict.fromkeys(MODES, 0.0)
    elapsed = dict.fromkeys(MODES, 0.0)
    rss: dict[str, float] = {}
    for round_ in range(ROUNDS):
        for mode in MODES:
            pid = procs[_owner(mode)].pid
            rss_before, cpu_before, began = rss_mb(pid), cpu_seconds(pid), time.monotonic()
            with gc_paused():
                task = asyncio.create_task(paced_load(urls[mode], pages, n, count))
                if round_ == 0:
                    await asyncio.sleep(count * FRAME_SECONDS / 2)
                    rss[mode] = rss_mb(pid) - rss_before
                loads[mode].merge(await task)
            elapsed[mode] += time.monotonic() - began
            await settle(pid)  # its CPU to close the conversations counts too
            cpu[mode] += cpu_seconds(pid) - cpu_before
            await settle(procs["echo"].pid)
    for mode in MODES:
        load = loads[mode]
        row[mode] = {
            **load.summary(),
            "failed": load.failed,
            "errors": sorted(set(load.errors))[:3],
            "cpu_percent": round(100 * cpu[mode] / elapsed[mode], 1),
            "cpu_ms_per_conversation_second": round(1000 * cpu[mode] / elapsed[mode] / n, 3),
            # Includes connecting and closing the N conversations of every slice.
            "cpu_us_per_page": round(1e6 * cpu[mode] / max(len(load.times_ms), 1), 1),
            "rss_per_conversation_kb": round(1024 * rss[mode] / n, 1),
        }
    _added(row)
    return row


def _added(row: dict[str, Any]) -> None:
    direct = row["direct"]
    for mode in MODES[1:]:
        fig = row[mode]
        fig["added_p50_ms"] = round(fig["p50_ms"] - direct["p50_ms"], 4)
        fig["added_p99_ms"] = round(fig["p99_ms"] - direct["p99_ms"], 4)
    nginx = row["nginx"]
    for mode in MODES[2:]:
        for q in ("p50", "p99"):
            base = max(nginx[f"added_{q}_ms"], 0.001)  # nginx can add ~0 at p99: floor 1 µs
            row[mode][f"{q}_vs_nginx"] = round(row[mode][f"added_{q}_ms"] / base, 2)


def table(figures: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'N':>4} {'mode':<13} {'p50':>7} {'p99':>7} {'+p50':>7} {'+p99':>7} "
        f"{'×ngx50':>7} {'×ngx99':>7} {'fail':>4} {'cpu%':>6} {'ms/c·s':>7} {'kB/c':>7}"
    ]
    for row in figures["rows"]:
        label = f"{row['conversations']}{'' if row['paced'] else 'u'}"
        for mode in MODES:
            f = row[mode]
            lines.append(
                f"{label:>4} {mode:<13} {f['p50_ms']:7.3f} {f['p99_ms']:7.3f} "
                f"{f.get('added_p50_ms', 0):7.3f} {f.get('added_p99_ms', 0):7.3f} "
                f"{f.get('p50_vs_nginx', ''):>7} {f.get('p99_vs_nginx', ''):>7} "
                f"{f.get('failed', ''):>4} {f.get('cpu_percent', ''):>6} "
                f"{f.get('cpu_ms_per_conversation_second', ''):>7} "
                f"{f.get('rss_per_conversation_kb', ''):>7}"
            )
    lines.append(f"idle RSS MB: {figures['rss_idle_mb']}  (u = one conversation, unpaced)")
    return "\n".join(lines)


def plot(figures: dict[str, Any], path: Path) -> None:
    """Added p50/p99 latency and CPU per conversation against N, one line per mode."""
    import matplotlib  # noqa: PLC0415 - only for the picture

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = [r for r in figures["rows"] if r["paced"]]
    ns = [r["conversations"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for mode in MODES:
        if mode != "direct":
            for ax, q in zip(axes[:2], ("p50", "p99"), strict=True):
                ax.plot(ns, [max(r[mode][f"added_{q}_ms"], 1e-3) for r in rows], "o-", label=mode)
        axes[2].plot(
            ns, [r[mode]["cpu_ms_per_conversation_second"] for r in rows], "o-", label=mode
        )
    for ax, title in zip(
        axes,
        ("added p50 per page (ms)", "added p99 per page (ms)", "CPU ms per conversation-second"),
        strict=True,
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("real-time conversations")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("voiceops-proxy vs nginx, loopback echo upstream, one run (shared 2-core machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each paced run")
    parser.add_argument("--counts", default="1,10,50,100,200", help="conversation counts")
    parser.add_argument("--unpaced", type=int, default=2000, help="pages in the unpaced N=1 run")
    parser.add_argument(
        "--baseline",
        help="a git revision (e.g. 7165f6a) or another checkout's directory: its proxy runs too, "
        "as proxy_before",
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"modes to run, among {','.join(MODES)}"
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    chosen = args.modes.split(",")
    if chosen[:2] != ["direct", "nginx"] or not set(chosen) <= set(MODES):
        parser.error(f"--modes must start with direct,nginx and name only {', '.join(MODES)}")
    MODES[:] = chosen
    if args.baseline is not None:
        MODES.insert(2, "proxy_before")
    priority = raise_priority()
    figures = asyncio.run(run(counts, args.seconds, args.unpaced, args.baseline))
    figures["priority"] = priority
    print(table(figures))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capacity.json").write_text(json.dumps(figures, indent=2) + "\n")
    plot(figures, RESULTS / "capacity.png")
