"""Footprint of the proxy process: resident memory and heavy libraries, memory+speech on vs off.

Starts ``python -m proxy`` (upstream unreachable, which does not matter for this) with an empty
data dir, waits for ``/health`` (every model is loaded by then), then reads ``/proc``.  Prints a
table and writes bench/results/footprint.json.  Usage: PYTHONPATH=. python bench/bench_footprint.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from devtools.footprint import children, footprint, start_proxy
from devtools.tinymoshi import free_port

RESULTS = Path(__file__).resolve().parent / "results" / "footprint.json"
MODES = {
    "memory+speech": [],
    "no memory, no speech": ["--no-memory", "--no-tap"],
}


def measure(args: list[str]) -> dict[str, object]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        started = time.perf_counter()
        proc = start_proxy(
            [*args, "--upstream", "ws://127.0.0.1:9", "--data-dir", tmp],
            env,
            Path(tmp) / "proxy.log",
            port,
        )
        ready_s = time.perf_counter() - started
        try:
            main = footprint(proc.pid)
            workers = [footprint(pid) for pid in children(proc.pid)]
        finally:
            proc.terminate()
            proc.wait(30)
    return {
        "start_to_health_s": round(ready_s, 2),
        "proxy_rss_mb": main.rss_mb,
        "proxy_libraries": sorted(main.libraries),
        "worker_rss_mb": [w.rss_mb for w in workers],
        "worker_libraries": sorted({lib for w in workers for lib in w.libraries}),
    }


def main() -> None:
    rows = {name: measure(args) for name, args in MODES.items()}
    print(f"{'mode':<24}{'start s':>9}{'proxy MB':>10}{'worker MB':>11}  libraries (proxy)")
    for name, row in rows.items():
        workers = "+".join(str(w) for w in row["worker_rss_mb"]) or "-"  # type: ignore[attr-defined]
        print(
            f"{name:<24}{row['start_to_health_s']:>9}{row['proxy_rss_mb']:>10}{workers:>11}"
            f"  {', '.join(row['proxy_libraries']) or '-'}"  # type: ignore[arg-type]
        )
    result = {
        "modes": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} shared cpus, "
        f"python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
