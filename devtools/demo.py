"""``python -m devtools.demo``: the whole product on one machine, no GPU, no keys, no network.

It builds tiny moshi weights, starts the real moshi server on them, starts the proxy with every
embedded default (offline rules, local ChromaDB, pocketsphinx + packaged Whisper, shipped guard
policy, local executor; with ``--executor openclaw`` a real OpenClaw gateway + node host run
the approved argv with ``system.run``), then holds a short spoken conversation through it with
the headless client: "please check the disk space … execute plan".  The result of ``df -h``
comes back into the conversation.  Then it keeps serving until Ctrl-C.

``--fleet`` starts two node hosts, web-1 and web-2 (loopback, each its own state and device key)
on one gateway, gives the proxy a fleet file naming them (group ``web``) and asks for "the disk
space on both web servers": ``df -h`` runs on each, one result line per server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from client.audio import SAMPLE_RATE, Pcm, read_wav
from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools import openclaw
from devtools.tinymoshi import TinyMoshiServer, build_tiny_model, free_port
from extraction.memory import DEFAULT_DATA_DIR
from proxy.__main__ import serve
from proxy.actions.executors.flags import Placement
from proxy.config import Config
from proxy.server.logs import configure_logging
from proxy.startup import build_services
from voiceops.phrases import EXECUTE_PLAN

REQUEST = "please check the disk space"
FLEET_REQUEST = "please check the disk space on both web servers"
TRIGGER = EXECUTE_PLAN
FLEET_NODES = ("web-1", "web-2")
FLEET_FILE = 'nodes = ["web-1", "web-2"]\n[groups]\nweb = ["web-1", "web-2"]\n'


T = TypeVar("T")


def _step(n: int, text: str) -> None:
    print(f"\n\033[1m[{n}/5] {text}\033[0m", flush=True)


def _speech(request: str) -> Pcm | None:
    """The operator's words, spoken by espeak-ng (None when it is not installed)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    import numpy as np  # noqa: PLC0415

    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for text in (request, TRIGGER):
            wav = Path(tmp) / "say.wav"
            subprocess.run([espeak, "-s", "150", "-w", str(wav), text], check=True)
            parts += [np.zeros(SAMPLE_RATE // 2, np.float32), read_wav(wav)]
    return np.concatenate([*parts, np.zeros(SAMPLE_RATE, np.float32)])


@contextlib.asynccontextmanager
async def _executor(args: argparse.Namespace) -> AsyncIterator[Callable[[Config], Config]]:
    """How the config picks the chosen executor; for OpenClaw, a gateway + node host meanwhile
    (two, web-1 and web-2, with ``--fleet``)."""
    if args.executor != "openclaw" and not args.fleet:
        yield lambda config: config
        return
    names = FLEET_NODES if args.fleet else ("local",)
    print(
        f"      starting an OpenClaw gateway + node host {', '.join(names)} (≈1.5 GB, 15–40 s "
        "here, more per node)",
        flush=True,
    )
    port = free_port()
    for name in names:
        hosts = await asyncio.to_thread(openclaw.start, args.data_dir, port=port, node=name)
        print(f"      OpenClaw gateway {hosts.url}, node {hosts.node!r} ready", flush=True)
    fleet = None
    if args.fleet:
        fleet = args.data_dir / "fleet.toml"
        fleet.write_text(FLEET_FILE)
    try:
        yield lambda config: replace(
            config, placement=Placement("openclaw", names[0], hosts.url, fleet)
        )
    finally:
        await asyncio.to_thread(openclaw.stop, args.data_dir)
        print("      OpenClaw gateway and node host stopped", flush=True)


async def _demo(args: argparse.Namespace) -> int:
    async with _executor(args) as executor:
        return await _converse(args, executor)


async def _converse(args: argparse.Namespace, executor: Callable[[Config], Config]) -> int:
    # Ctrl-C or a SIGTERM stops everything in order, whatever step it comes in: a stop during
    # start-up takes effect once the proxy is up.
    stop, started = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _step(1, "building the tiny moshi weights (cached after the first run)")
    model = await asyncio.to_thread(build_tiny_model, args.data_dir / "tinymoshi")

    _step(2, "starting the real moshi server on those weights (CPU)")
    with TinyMoshiServer(model) as upstream:
        print(f"      moshi server at {upstream.url}", flush=True)
        port = args.port or free_port()
        config = executor(
            Config(listen="127.0.0.1", port=port, upstreams=(upstream.url,), data_dir=args.data_dir)
        )
        _step(3, "loading the pipeline: guard policy, rules extractor, memory, speech models")
        services = await build_services(config)
        proxy = asyncio.create_task(serve(config, services, stop=stop, started=started))
        url = f"ws://127.0.0.1:{port}/api/chat"
        ok = None if stop.is_set() else await _until_stopped(_show(args, port, url, started), stop)
        if ok is None:
            print("\n\033[1mdemo result:\033[0m stopped before the conversation ended", flush=True)
        if ok and not args.no_serve:
            print(
                f"\nServing until Ctrl-C on http://localhost:{port} — try:\n"
                f"  .venv/bin/python -m client --url {url} --execute --request 'show free memory'\n"
                f"  curl -s localhost:{port}/api/sessions\n"
                "The tiny moshi server has no web UI of its own; point --ui-dir at a PersonaPlex "
                "client build to use a browser.",
                flush=True,
            )
            await stop.wait()
        stop.set()
        await proxy
        await asyncio.to_thread(services.close)
    print("stopped: proxy and moshi server are down", flush=True)
    return 0 if ok else 1


async def _show(args: argparse.Namespace, port: int, url: str, started: asyncio.Event) -> bool:
    """Once the proxy is up, one conversation through it; ``True`` if the result came back."""
    await started.wait()
    _step(4, f"proxy listening on http://localhost:{port} (health: /health, ready: /ready)")
    request = FLEET_REQUEST if args.fleet else REQUEST
    pcm = _speech(request)
    # Talk until every run has come back, however busy the machine, then long enough to hear
    # the digests spoken one after the other.
    runs = len(FLEET_NODES) if args.fleet else 1
    tail = 6.0 * runs
    if pcm is None:
        _step(5, "espeak-ng is missing: sending the request as an EXECUTE control frame")
        steps = (execute_step(request),)
        options = SessionOptions(url=url, steps=steps, until_results=runs, tail=tail)
    else:
        _step(5, f'a spoken conversation: "{request} … {TRIGGER}"')
        options = SessionOptions(url=url, pcm=pcm, speed=2.0, until_results=runs, tail=tail)
    summary = await run_session(options, on_output=lambda s: print(s, end="", flush=True))
    print(flush=True)
    where = [f"{node}: df -h: Root filesystem" for node in FLEET_NODES] if args.fleet else []
    ok = all(line in summary.text for line in where or ["df -h: Root filesystem"])
    ran = "df -h ran on web-1 and on web-2" if args.fleet else "df -h ran"
    print(
        "\n\033[1mdemo result:\033[0m "
        + (
            f"{ran}; its digest came back into the conversation, as text and spoken"
            if ok
            else "no result"
        )
    )
    return ok


async def _until_stopped(step: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``step``'s result, or ``None`` once ``stop`` is set first (the step is cancelled)."""
    task, stopping = asyncio.ensure_future(step), asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; exit 0 when the command's result came back into the conversation."""
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="proxy port (0: any free port)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where files go")
    parser.add_argument("--no-serve", action="store_true", help="exit after the conversation")
    parser.add_argument(
        "--executor",
        choices=("local", "openclaw"),
        default="local",
        help="run the command here, or through an OpenClaw gateway + node host (./run.sh openclaw)",
    )
    parser.add_argument(
        "--fleet",
        action="store_true",
        help="two OpenClaw node hosts (web-1, web-2) and one request for both web servers",
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    logging.getLogger("proxy.startup").setLevel(logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_demo(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
