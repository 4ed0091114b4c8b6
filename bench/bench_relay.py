"""Per-message latency the relay adds on loopback, p50/p99, against a direct connection.

An echo upstream answers every audio message at once.  The same client sends 80 ms-sized pages
one at a time and times each round trip, first directly to the echo server (the baseline), then
through the proxy.  The difference is what the relay adds.  Run: ``.venv/bin/python
bench/bench_relay.py [--messages N]``; figures go to ``bench/results/relay.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web

from proxy.__main__ import serve
from proxy.config import Config

RESULTS = Path(__file__).parent / "results" / "relay.json"
PAGE = b"\x01" + os.urandom(160)  # about one 80 ms Opus page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_bytes(b"\x00")
    async for msg in ws:
        await ws.send_bytes(msg.data)
    return ws


async def _round_trips(url: str, count: int) -> list[float]:
    times: list[float] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive()  # handshake
        for _ in range(count):
            start = time.perf_counter()
            await ws.send_bytes(PAGE)
            msg = await ws.receive()
            while msg.data[0] != 0x01:
                msg = await ws.receive()
            times.append((time.perf_counter() - start) * 1000)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    q = statistics.quantiles(times, n=100)
    return {
        "p50_ms": round(q[49], 4),
        "p99_ms": round(q[98], 4),
        "mean_ms": round(statistics.fmean(times), 4),
    }


async def main(count: int) -> dict[str, object]:
    """Run both measurements and return the figures."""
    app = web.Application()
    app.router.add_get("/api/chat", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    echo_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", echo_port).start()
    echo_url = f"ws://127.0.0.1:{echo_port}/api/chat"

    config = replace(Config(), listen="127.0.0.1", port=_free_port(), upstreams=(echo_url,))
    stop, started = asyncio.Event(), asyncio.Event()
    proxy = asyncio.create_task(serve(config, stop=stop, started=started))
    await started.wait()
    try:
        await _round_trips(echo_url, 50)  # warm-up
        direct = _summary(await _round_trips(echo_url, count))
        relayed = _summary(await _round_trips(f"ws://127.0.0.1:{config.port}/api/chat", count))
    finally:
        stop.set()
        await proxy
        await runner.cleanup()
    added = {k: round(relayed[k] - direct[k], 4) for k in direct}
    return {
        "messages": count,
        "direct": direct,
        "through_proxy": relayed,
        "added_by_proxy": added,
        "p99_ratio": round(relayed["p99_ms"] / direct["p99_ms"], 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    figures = asyncio.run(main(args.messages))
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
