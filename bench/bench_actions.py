"""EXECUTE → first result latency: offline rules extractor, shipped guard policy, real ``df -h``.

Measures the time from handing ``Execute("check disk space")`` to a session flow until the
first command result reaches the notifier (what the user would see as ``0x02`` text), with the
audit log on (fsync per record) and memory off.  Writes ``bench/results/actions.json``.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from extraction.rules import RulesExtractor
from guard import Guard
from proxy.actions.audit import AuditLog
from proxy.actions.controls import Execute
from proxy.actions.executors import LocalExecutor
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings
from voiceops.records.events import SessionEvent

ITERATIONS = 40
WARMUP = 3


class FirstResult:
    def __init__(self) -> None:
        self.at: float | None = None

    async def notify_text(self, text: str) -> None:
        if self.at is None and text.startswith("df -h: "):
            self.at = time.perf_counter()

    async def notify_event(self, event: SessionEvent) -> None:
        pass

    async def notify_speech(self, text: str) -> None:
        pass


async def measure() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        registry = FlowRegistry(
            extractor=RulesExtractor(),
            guard=Guard(),
            executor=LocalExecutor(),
            settings=FlowSettings(exec_allowed=True),
            audit=AuditLog(Path(tmp) / "audit.jsonl"),
        )
        samples: list[float] = []
        for n in range(WARMUP + ITERATIONS):
            sink = FirstResult()
            flow = registry.open(f"bench-{n}", notifier=sink)
            start = time.perf_counter()
            report = await flow.handle(Execute("check disk space"))
            assert report.results and report.results[0].status == "executed", report
            assert sink.at is not None
            if n >= WARMUP:
                samples.append((sink.at - start) * 1000)
    samples.sort()
    result = {
        "benchmark": "EXECUTE → first result (df -h, rules extractor, shipped policy, audit fsync)",
        "iterations": ITERATIONS,
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "min_ms": round(samples[0], 2),
        "max_ms": round(samples[-1], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "note": "2 shared cores, other engineers' jobs running",
    }
    return result


def main() -> None:
    result = asyncio.run(measure())
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    (Path(__file__).resolve().parent / "results" / "actions.json").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
