"""Talking sessions per core with recognition on: how many run with no dropped audio.

The proxy runs with its speech tap and a pool of ``--speech-workers`` recognition processes in
front of an echo upstream.  S conversations talk at the same time at real-time pace: each sends
espeak-ng ops talk (sentences with short pauses, every conversation at a different point of the
clip) as real 80 ms Ogg/Opus pages.  Per run: audio pages the tap dropped (from the proxy's
end-of-conversation log), utterances recognised, and the round trip of every page compared with
the same load through the proxy without tap, in the same run: the conversation must not slow.
Run: ``.venv/bin/python bench/bench_speech_capacity.py``; figures go to
``bench/results/speech_capacity.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.realtime import (
    FRAME_SECONDS,
    cpu_seconds,
    paced_load,
    raise_priority,
    start_echo,
    start_proxy,
    wait_listening,
)
from client.audio import SAMPLE_RATE, Pcm, encode_pages
from tests.voices import concat, say, silence

RESULTS = Path(__file__).parent / "results"
SENTENCES = (
    "please check the disk space on the web servers",
    "the load on database two looks high since this morning",
    "show me the memory usage and the top processes",
    "restart the nginx service on web one after that",
    "how long has the backup job been running now",
)
_DROPPED = re.compile(rb"tap: (\d+) dropped, PipelineStats\(client_pages=(\d+).*utterances=(\d+)")


def talk(seconds: float) -> list[bytes]:
    """About ``seconds`` of ops talk as ``0x01`` pages: sentences, each ending an utterance."""
    parts: list[Pcm] = []
    while sum(len(p) for p in parts) < seconds * SAMPLE_RATE:
        for sentence in SENTENCES:
            parts += [say(sentence), silence(1.0)]  # longer than the VAD hangover
    return [b"\x01" + page for page in encode_pages(concat(*parts))]


async def run(workers: list[int], sessions: list[int], seconds: float) -> dict[str, Any]:
    """Every (workers, S) run, and the no-tap comparison at each S; the figures."""
    pages = talk(seconds + 5)
    count = int(seconds / FRAME_SECONDS)
    rows: list[dict[str, Any]] = []
    pool = max(sessions)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        echo, echo_url = start_echo()
        procs: list[subprocess.Popen[bytes]] = [echo]
        try:
            plain, plain_port = start_proxy(work, echo_url, pool, tap=False, event_loop="uvloop")
            procs.append(plain)
            await wait_listening(plain_port)
            for k in workers:
                log = work / f"proxy-{k}.log"
                proxy, port = start_proxy(
                    work,
                    echo_url,
                    pool,
                    tap=True,
                    event_loop="uvloop",
                    extra=("--speech-workers", str(k)),
                    log=log,
                )
                procs.append(proxy)
                await wait_listening(port, within=300)  # listens once the models are loaded
                for s in sessions:
                    rows.append(await _one_run(proxy, port, plain_port, log, pages, k, s, count))
                    print(_line(rows[-1]), flush=True)
                proxy.terminate()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)
    return {"seconds_per_run": seconds, "cores": len(os.sched_getaffinity(0)), "rows": rows}


async def _one_run(
    proxy: subprocess.Popen[bytes],
    port: int,
    plain_port: int,
    log: Path,
    pages: list[bytes],
    workers: int,
    sessions: int,
    count: int,
) -> dict[str, Any]:
    before = len(_ends(log))
    cpu_before = cpu_seconds(proxy.pid)
    tapped = await paced_load(f"ws://127.0.0.1:{port}/api/chat", pages, sessions, count)
    cpu = cpu_seconds(proxy.pid) - cpu_before
    plain = await paced_load(f"ws://127.0.0.1:{plain_port}/api/chat", pages, sessions, count)
    ends: list[tuple[bytes, ...]] = []
    for _ in range(300):  # the taps flush their last utterance after the browsers leave
        ends = _ends(log)[before:]
        if len(ends) >= sessions:
            break
        await asyncio.sleep(0.2)
    dropped = [int(d) for d, _, _ in ends]
    return {
        "workers": workers,
        "talking_sessions": sessions,
        "sessions_reported": len(ends),
        "dropped_pages": sum(dropped),
        "sessions_with_drops": sum(1 for d in dropped if d),
        "client_pages": sum(int(p) for _, p, _ in ends),
        "utterances": sum(int(u) for _, _, u in ends),
        "cpu_seconds_per_talking_second": round(cpu / (sessions * count * FRAME_SECONDS), 3),
        "relay_failed": tapped.failed,
        "tap_on": tapped.summary(),
        "tap_off": plain.summary(),
    }


def _ends(log: Path) -> list[tuple[bytes, ...]]:
    """The end-of-conversation tap lines logged so far: (dropped, client pages, utterances)."""
    return [tuple(m) for m in _DROPPED.findall(log.read_bytes())]


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['workers']:>7} {row['talking_sessions']:>8} {row['dropped_pages']:>8} "
        f"{row['sessions_with_drops']:>6} {row['utterances']:>6} "
        f"{row['cpu_seconds_per_talking_second']:>8} {row['tap_on']['p99_ms']:>9.2f} "
        f"{row['tap_off']['p99_ms']:>10.2f}"
    )


HEADER = "workers talking  dropped s-drop  utter  cpu/s·s  p99 tap  p99 no-tap"


def plot(figures: dict[str, Any], path: Path) -> None:
    """Dropped pages against talking sessions, one line per pool size."""
    import matplotlib  # noqa: PLC0415 - only for the picture

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k in sorted({r["workers"] for r in figures["rows"]}):
        rows = [r for r in figures["rows"] if r["workers"] == k]
        ax.plot(
            [r["talking_sessions"] for r in rows],
            [
                100 * r["dropped_pages"] / max(1, r["client_pages"] + r["dropped_pages"])
                for r in rows
            ],
            "o-",
            label=f"{k} speech worker(s)",
        )
    ax.set_xlabel("sessions talking at once")
    ax.set_ylabel("user audio pages dropped by the tap (%)")
    ax.set_title(f"recognition capacity, {figures['cores']} cores (shared machine, one run)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="speech worker pool sizes")
    parser.add_argument("--sessions", default="4,8,16,24,32", help="talking session counts")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each run")
    args = parser.parse_args()
    priority = raise_priority()
    print(HEADER, flush=True)
    figures = asyncio.run(
        run(
            [int(w) for w in args.workers.split(",")],
            [int(s) for s in args.sessions.split(",")],
            args.seconds,
        )
    )
    figures["priority"] = priority
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "speech_capacity.json").write_text(json.dumps(figures, indent=2) + "\n")
    plot(figures, RESULTS / "speech_capacity.png")
