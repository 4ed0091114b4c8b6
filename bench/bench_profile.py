"""Where the relay's time goes: cProfile on the proxy while 100 conversations talk.

The proxy (tap off, uvloop) runs in this process under cProfile (CPU spent per function, its
own time; the profiler's overhead inflates Python-level functions), started after start-up so
imports do not count; the echo upstream and the load (100 conversations, one page
per 20 ms each, a load 4× real time) run in child processes.  Prints the top functions by own
time and writes them to ``bench/results/relay_profile.txt``.
Run: ``.venv/bin/python bench/bench_profile.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import uvloop

from bench.realtime import raise_priority, start_echo, wait_listening
from devtools.tinymoshi import free_port
from proxy.__main__ import serve
from proxy.config import Config

RESULTS = Path(__file__).parent / "results" / "relay_profile.txt"
CONVERSATIONS = 100
PERIOD = 0.02


async def profile(seconds: float) -> str:
    """The flat own-time profile of the relay under load, as text."""
    echo, url = start_echo()
    with tempfile.TemporaryDirectory() as data:
        config = replace(
            Config(),
            listen="127.0.0.1",
            port=free_port(),
            upstreams=(url,) * CONVERSATIONS,
            data_dir=Path(data),
            memory=False,
            tap=False,
        )
        # Every browser of the load comes from 127.0.0.1.
        limits = replace(config.security.limits, connections_per_address=CONVERSATIONS + 16)
        config = replace(config, security=replace(config.security, limits=limits))
        stop, started = asyncio.Event(), asyncio.Event()
        proxy = asyncio.create_task(serve(config, None, stop=stop, started=started))
        await started.wait()
        await wait_listening(int(url.split(":")[2].split("/")[0]))
        count = int(seconds / PERIOD)
        code = (
            "import asyncio; from bench.realtime import noise_pages, paced_load; "
            f"load = asyncio.run(paced_load('ws://127.0.0.1:{config.port}/api/chat', "
            f"[noise_pages(50)], {CONVERSATIONS}, {count}, {PERIOD})); "
            "print(load.summary(), 'failed', load.failed)"
        )
        profiler = cProfile.Profile()
        profiler.enable()
        client = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
        await client.wait()
        profiler.disable()
        stop.set()
        await proxy
    echo.terminate()
    echo.wait(30)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    return out.getvalue()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the load")
    args = parser.parse_args()
    priority = raise_priority()
    text = uvloop.run(profile(args.seconds))
    text = f"# {priority}; {CONVERSATIONS} conversations, one page per {PERIOD * 1000:g} ms\n{text}"
    print(text)
    RESULTS.write_text(text + "\n")
