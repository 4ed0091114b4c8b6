"""What a running process costs: resident memory and which heavy native libraries it mapped.

Used by the footprint bench and the lean-runtime test: the proxy (and its speech worker) must
not load torch, and chromadb only when memory is on.  Reads ``/proc`` (Linux only).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: Substrings of mapped file paths that identify a heavy library in a process.
MARKERS = {"torch": "/torch/lib/", "chromadb": "chromadb", "onnxruntime": "onnxruntime"}


@dataclass(frozen=True, slots=True)
class Footprint:
    """Resident set size (MB) and the heavy libraries mapped by one process."""

    pid: int
    rss_mb: float
    libraries: frozenset[str]


def footprint(pid: int) -> Footprint:
    """Measure ``pid`` now."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    maps = Path(f"/proc/{pid}/maps").read_text(encoding="utf-8")
    found = frozenset(name for name, marker in MARKERS.items() if marker in maps)
    return Footprint(pid=pid, rss_mb=round(rss_kb / 1024, 1), libraries=found)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the speech worker of a proxy).

    Each thread lists the children it forked, so every thread of ``pid`` is read.
    """
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text(encoding="utf-8").split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def start_proxy(
    args: list[str], env: dict[str, str], log: Path, port: int, timeout: float = 240.0
) -> subprocess.Popen[bytes]:
    """``python -m proxy ARGS`` on 127.0.0.1:``port``, returned once ``/health`` answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--listen", "127.0.0.1", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"proxy not healthy within {timeout} s: {log.read_text()[-2000:]}")
