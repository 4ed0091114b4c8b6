"""Shared pieces of the capacity benchmarks: an echo upstream process, nginx, paced conversations.

Every server runs in its own process so the load generator (this process) measures what a
browser would see, and the CPU and memory of each server can be read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
from aiohttp import web

from client.audio import FRAME_SAMPLES, SAMPLE_RATE, encode_pages
from devtools.tinymoshi import free_port

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
_TICKS = os.sysconf("SC_CLK_TCK")
#: Nice value for the bench and every server it starts (inherited): other work on the shared
#: machine then disturbs all compared modes less.  Needs root; otherwise the default priority.
BENCH_NICE = -10


def raise_priority() -> str:
    """Run this process (and the servers it starts) at :data:`BENCH_NICE`; say what was done."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, BENCH_NICE)
    except PermissionError:
        return "default priority (not root)"
    return f"nice {BENCH_NICE}"


def noise_pages(count: int) -> list[bytes]:
    """Real Ogg/Opus ``0x01`` pages: quiet noise with a louder second every five seconds."""
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(count * FRAME_SAMPLES) * 0.003).astype(np.float32)
    for start in range(0, len(pcm), 5 * SAMPLE_RATE):
        pcm[start : start + SAMPLE_RATE] *= 60
    return [b"\x01" + page for page in encode_pages(pcm)]


async def echo(request: web.Request) -> web.WebSocketResponse:
    """The echo upstream's ``/api/chat``: a handshake, then every message straight back."""
    ws = web.WebSocketResponse(max_msg_size=1 << 20)
    await ws.prepare(request)
    await ws.send_bytes(b"\x00")
    async for msg in ws:
        await ws.send_bytes(msg.data)
    return ws


def serve_echo(port: int) -> None:
    """Run the echo upstream (``/api/chat``: handshake, then every message back) forever."""
    import uvloop  # noqa: PLC0415 - only the echo process needs it

    app = web.Application()
    app.router.add_get("/api/chat", echo)
    web.run_app(app, host="127.0.0.1", port=port, print=None, loop=uvloop.new_event_loop())


def start_echo() -> tuple[subprocess.Popen[bytes], str]:
    """The echo upstream in a child process, and its URL."""
    port = free_port()
    code = f"from bench.realtime import serve_echo; serve_echo({port})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=_env())
    return proc, f"ws://127.0.0.1:{port}/api/chat"


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://127.0.0.1:{upstream_port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
      proxy_buffering off;
    }}
  }}
}}
"""


def start_nginx(workdir: Path, upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """Debian nginx as a WebSocket reverse proxy (one worker) in front of the echo upstream."""
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port, upstream_port=upstream_port))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)])
    return proc, port


def start_proxy(
    workdir: Path,
    upstream: str,
    pool: int,
    *,
    tap: bool,
    event_loop: str,
    root: Path | None = None,
    extra: tuple[str, ...] = (),
    log: Path | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m proxy`` (from checkout ``root``, default this one) with ``pool`` copies of
    the upstream (one conversation each)."""
    port = free_port()
    argv = [sys.executable, "-m", "proxy", "--listen", "127.0.0.1", "--port", str(port)]
    argv += ["--no-memory", "--data-dir", str(workdir), "--event-loop", event_loop]
    argv += ["--log-level", "INFO" if log else "WARNING", "--max-waiting", "0", *extra]
    # Every browser of the bench comes from 127.0.0.1 (a baseline needs #13's flag too).
    argv += ["--max-connections-per-address", str(pool + 16)]
    argv += [] if tap else ["--no-tap"]
    for _ in range(pool):
        argv += ["--upstream", upstream]
    stderr = log.open("wb") if log else None
    return subprocess.Popen(argv, env=_env(root), cwd=root, stderr=stderr), port


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate every server; kill what has not exited within 10 s (a draining proxy whose
    taps are still recognising a backlog would otherwise hold the bench up to 120 s)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _env(root: Path | None = None) -> dict[str, str]:
    here = root or Path(__file__).resolve().parent.parent
    return {**os.environ, "PYTHONPATH": str(here)}


async def wait_listening(port: int, within: float = 120.0) -> None:
    """Return once something accepts TCP connections on ``port``."""
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux ``/proc``)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, MB."""
    kb = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb += int(line.split()[1])
        except OSError:
            continue
    return kb / 1024


@dataclass
class Load:
    """What a batch of paced conversations saw."""

    times_ms: list[float] = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: Load) -> None:
        """Add another batch's figures to these."""
        self.times_ms += other.times_ms
        self.failed += other.failed
        self.errors += other.errors

    def summary(self) -> dict[str, float]:
        """p50 / p99 / mean round trip in ms (zeros when nothing came back)."""
        if len(self.times_ms) < 2:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "pages": len(self.times_ms)}
        q = statistics.quantiles(self.times_ms, n=100)
        return {
            "p50_ms": round(q[49], 4),
            "p99_ms": round(q[98], 4),
            "mean_ms": round(statistics.fmean(self.times_ms), 4),
            "pages": len(self.times_ms),
        }


async def paced_load(
    url: str,
    clips: list[list[bytes]],
    conversations: int,
    count: int,
    period: float = FRAME_SECONDS,
) -> Load:
    """``conversations`` browsers, all connected first, then ``count`` pages each, one per
    ``period`` (staggered evenly over it; 0: back to back), each timed until its echo is back.

    Conversation ``i`` sends ``clips[i % len(clips)]`` (an Ogg stream: its first pages are the
    headers, so a clip must be sent from its start)."""
    load = Load()
    connected = asyncio.Barrier(conversations + 1)
    go = asyncio.get_running_loop().create_future()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [
            asyncio.create_task(
                _one(
                    http,
                    url,
                    clips[i % len(clips)],
                    (i * period / conversations, period, count),
                    load,
                    connected,
                    go,
                )
            )
            for i in range(conversations)
        ]
        await asyncio.wait_for(connected.wait(), 120)
        go.set_result(time.perf_counter() + 0.2)
        await asyncio.gather(*tasks)
    return load


async def _one(
    http: aiohttp.ClientSession,
    url: str,
    pages: list[bytes],
    pacing: tuple[float, float, int],
    load: Load,
    connected: asyncio.Barrier,
    go: asyncio.Future[float],
) -> None:
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        ws = await http.ws_connect(url, max_msg_size=1 << 20)
        msg = await ws.receive(timeout=60)
        while msg.type is aiohttp.WSMsgType.BINARY and msg.data[:1] != b"\x00":
            msg = await ws.receive(timeout=60)
        if msg.type is not aiohttp.WSMsgType.BINARY:
            raise ConnectionError(f"no handshake: {msg.type.name} {msg.extra}")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        load.failed += 1
        load.errors.append(str(exc) or type(exc).__name__)
        await connected.wait()
        return
    await connected.wait()
    offset, period, count = pacing
    began = await go + offset
    try:
        for n in range(count):
            if period:
                await asyncio.sleep(max(0.0, began + n * period - time.perf_counter()))
            start = time.perf_counter()
            await ws.send_bytes(pages[n % len(pages)])
            msg = await ws.receive(timeout=30)
            while msg.type is aiohttp.WSMsgType.BINARY and msg.data[:1] != b"\x01":
                msg = await ws.receive(timeout=30)
            if msg.type is not aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"closed: {msg.type.name} {msg.extra}")
            load.times_ms.append((time.perf_counter() - start) * 1000)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        load.failed += 1
        load.errors.append(str(exc) or type(exc).__name__)
    finally:
        await ws.close()
