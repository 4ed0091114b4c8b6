"""Per-message latency the relay adds on loopback, p50/p99, against a direct connection.

An echo upstream answers every audio message at once.  The same client sends real 80 ms Ogg/Opus
pages one at a time and times each round trip: directly to the echo server (the baseline), through
the plain relay, and through the proxy with the whole pipeline (speech tap decoding and
recognising both directions, action flow).  The differences are what the relay and the tap add.
Run: ``.venv/bin/python bench/bench_relay.py [--messages N]``; figures go to
``bench/results/relay.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.realtime import FRAME_SECONDS, echo, noise_pages
from devtools.tinymoshi import free_port
from proxy.__main__ import serve
from proxy.config import Config
from proxy.startup import build_services

RESULTS = Path(__file__).parent / "results" / "relay.json"


async def _round_trips(url: str, pages: list[bytes], *, paced: bool = False) -> list[float]:
    """Round-trip times in ms; ``paced`` sends one page per 80 ms, as a browser does."""
    times: list[float] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive()  # handshake
        began = time.perf_counter()
        for n, page in enumerate(pages):
            if paced:
                await asyncio.sleep(max(0.0, began + n * FRAME_SECONDS - time.perf_counter()))
            start = time.perf_counter()
            await ws.send_bytes(page)
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


async def main(count: int, paced_count: int) -> dict[str, object]:
    """Run both measurements and return the figures."""
    app = web.Application()
    app.router.add_get("/api/chat", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    echo_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", echo_port).start()
    echo_url = f"ws://127.0.0.1:{echo_port}/api/chat"

    pages = noise_pages(count)
    real_time = pages[:paced_count]
    try:
        await _round_trips(echo_url, pages[:50])  # warm-up
        direct = _summary(await _round_trips(echo_url, pages))
        relayed = _summary(await _through_proxy(echo_url, pages, tap=False))
        tapped = _summary(await _through_proxy(echo_url, pages, tap=True))
        paced_off = _summary(await _through_proxy(echo_url, real_time, tap=False, paced=True))
        paced_on = _summary(await _through_proxy(echo_url, real_time, tap=True, paced=True))
    finally:
        await runner.cleanup()
    return {
        "unpaced": {
            "messages": count,
            "direct": direct,
            "through_proxy": relayed,
            "through_proxy_with_tap": tapped,
            "added_by_proxy": {k: round(relayed[k] - direct[k], 4) for k in direct},
            "p99_ratio_proxy_vs_direct": round(relayed["p99_ms"] / direct["p99_ms"], 3),
            "p99_ratio_tap_on_vs_off": round(tapped["p99_ms"] / relayed["p99_ms"], 3),
        },
        "real_time_paced": {
            "messages": len(real_time),
            "tap_off": paced_off,
            "tap_on": paced_on,
            "p99_ratio_tap_on_vs_off": round(paced_on["p99_ms"] / paced_off["p99_ms"], 3),
        },
    }


async def _through_proxy(
    echo_url: str, pages: list[bytes], *, tap: bool, paced: bool = False
) -> list[float]:
    with tempfile.TemporaryDirectory() as data:
        config = replace(
            Config(),
            listen="127.0.0.1",
            port=free_port(),
            upstreams=(echo_url,),
            data_dir=Path(data),
            memory=False,
        )
        services = await build_services(config) if tap else None
        stop, started = asyncio.Event(), asyncio.Event()
        proxy = asyncio.create_task(serve(config, services, stop=stop, started=started))
        await started.wait()
        try:
            url = f"ws://127.0.0.1:{config.port}/api/chat"
            return await _round_trips(url, pages, paced=paced)
        finally:
            stop.set()
            await proxy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="unpaced round trips")
    parser.add_argument("--paced", type=int, default=375, help="real-time round trips (80 ms)")
    args = parser.parse_args()
    figures = asyncio.run(main(args.messages, args.paced))
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
