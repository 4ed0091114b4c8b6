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
import time
from pathlib import Path
from typing import Any

from bench.realtime import (
    FRAME_SECONDS,
    cpu_seconds,
    paced_load,
    raise_priority,
    start_echo,
    start_proxy,
    stop_all,
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
#: Longest wait for the taps to finish after the talking stopped.
MAX_LAG_S = 45.0
_DROPPED = re.compile(rb"tap: (\d+) dropped, PipelineStats\(client_pages=(\d+).*utterances=(\d+)")


def talk(seconds: float, voices: int) -> list[list[bytes]]:
    """``voices`` clips of about ``seconds`` of ops talk as ``0x01`` pages, each starting at a
    different point of the script so that talkers do not end their sentences together."""
    parts: list[Pcm] = []
    while sum(len(p) for p in parts) < 2 * seconds * SAMPLE_RATE:
        for sentence in SENTENCES:
            parts += [say(sentence), silence(1.0)]  # longer than the VAD hangover: one utterance
    script = concat(*parts)
    step = len(script) // 2 // voices
    clips = [script[i * step : i * step + int(seconds * SAMPLE_RATE)] for i in range(voices)]
    return [[b"\x01" + page for page in encode_pages(clip)] for clip in clips]


async def run(workers: list[int], sessions: list[int], seconds: float) -> dict[str, Any]:
    """Every (workers, S) run, and the no-tap comparison at each S; the figures."""
    pages = talk(seconds + 1, max(sessions))
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
                stop_all([proxy])
        finally:
            stop_all(procs)
    return {"seconds_per_run": seconds, "cores": len(os.sched_getaffinity(0)), "rows": rows}


async def _one_run(
    proxy: subprocess.Popen[bytes],
    port: int,
    plain_port: int,
    log: Path,
    pages: list[list[bytes]],
    workers: int,
    sessions: int,
    count: int,
) -> dict[str, Any]:
    before = len(_ends(log))
    cpu_before = cpu_seconds(proxy.pid)
    tapped = await paced_load(f"ws://127.0.0.1:{port}/api/chat", pages, sessions, count)
    talked = time.monotonic()
    ends: list[tuple[bytes, ...]] = []
    # A tap ends once the worker recognised everything it was sent: how long after the talking
    # stopped that happens is how far recognition lags behind the conversation.
    while time.monotonic() - talked < MAX_LAG_S:
        ends = _ends(log)[before:]
        if len(ends) >= sessions:
            break
        await asyncio.sleep(0.2)
    lag = time.monotonic() - talked if len(ends) >= sessions else None
    cpu = cpu_seconds(proxy.pid) - cpu_before  # relay + recognition, until it caught up
    plain = await paced_load(f"ws://127.0.0.1:{plain_port}/api/chat", pages, sessions, count)
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
        "recognition_lag_s": round(lag, 2) if lag is not None else f"> {MAX_LAG_S:g}",
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
        f"{row['cpu_seconds_per_talking_second']:>8} {row['recognition_lag_s']:>6} "
        f"{row['tap_on']['p99_ms']:>9.2f} "
        f"{row['tap_off']['p99_ms']:>10.2f}"
    )


HEADER = "workers talking  dropped s-drop  utter  cpu/s·s  lag s   p99 tap  p99 no-tap"


def plot(figures: dict[str, Any], path: Path) -> None:
    """Dropped pages and recognition lag against talking sessions, one line per pool size."""
    import matplotlib  # noqa: PLC0415 - only for the picture

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (drops, lag) = plt.subplots(1, 2, figsize=(11, 4.5))
    for k in sorted({r["workers"] for r in figures["rows"]}):
        rows = [r for r in figures["rows"] if r["workers"] == k]
        sessions = [r["talking_sessions"] for r in rows]
        sent = [max(1, r["client_pages"] + r["dropped_pages"]) for r in rows]
        drops.plot(
            sessions, [100 * r["dropped_pages"] / n for r, n in zip(rows, sent, strict=True)], "o-"
        )
        lags = [r["recognition_lag_s"] for r in rows]
        lag.plot(
            sessions,
            [x if isinstance(x, float | int) else MAX_LAG_S for x in lags],
            "o-",
            label=f"{k} speech worker(s) (at {MAX_LAG_S:g} s: still behind)",
        )
    drops.set_ylabel("audio pages dropped by the tap (%)")
    lag.set_ylabel("recognition done, s after the talking stopped")
    for ax in (drops, lag):
        ax.set_xlabel("sessions talking at once")
        ax.grid(True, alpha=0.3)
    lag.legend()
    fig.suptitle(
        f"recognition capacity, {figures['cores']} cores, one run on a shared, loaded machine"
    )
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
