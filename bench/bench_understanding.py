"""Extractor benchmark: accuracy per category on the evaluation set, confusions, latency.

Runs the offline default (:class:`~extraction.understand.UnderstandingExtractor`: rules, then
intent matching) and, as the baseline in the same run, the rules alone (the default before
issue 15) over ``tests/extraction/understanding_set.txt``: the tuning part and the held-out
part separately.  A case counts only when the proposed commands are exactly the expected ones,
in order.  Latency is the wall time of one extraction (sentence model already loaded), on
whatever else the machine is doing: the load average is recorded with the figures.

Usage (needs the repository on PYTHONPATH, as run.sh sets it)::

    python bench/bench_understanding.py [--baseline-rules PATH]

``--baseline-rules`` points the baseline at another rules file (e.g. an older one, from
``git show REV:extraction/rules.toml``).  Writes ``bench/results/understanding.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.bench_memory import percentiles
from extraction.rules import RulesExtractor
from extraction.understand import UnderstandingExtractor
from tests.extraction.understanding_set import HELD_OUT, TUNE, Case, load, matches

RESULTS = Path(__file__).resolve().parent / "results" / "understanding.json"
BUDGET_P95_MS = 100.0


def evaluate(
    extractor: RulesExtractor | UnderstandingExtractor, cases: list[Case]
) -> dict[str, Any]:
    """Accuracy per category, the confusions and the latency of ``extractor`` on ``cases``."""
    right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusions = []
    latencies = []
    cpu = []
    for case in cases:
        began, began_cpu = time.perf_counter(), time.process_time()
        if isinstance(extractor, UnderstandingExtractor):
            found = extractor.extract_sync(case.turns, case.recalled)
        else:
            found = extractor.extract_sync(case.turns)
        latencies.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        got = [p.command for p in found.commands]
        ok = matches(case.expected, got)
        right[case.category][0] += ok
        right[case.category][1] += 1
        if not ok:
            expected = [" || ".join(options) for options in case.expected]
            confusions.append({"said": case.words, "expected": expected, "got": got})
    total = sum(r for r, _ in right.values()), sum(n for _, n in right.values())
    return {
        "accuracy": round(total[0] / total[1], 3),
        "right": total[0],
        "cases": total[1],
        "per_category": {k: f"{r}/{n}" for k, (r, n) in sorted(right.items())},
        "latency": percentiles(latencies),
        # CPU seconds of the whole process per extraction: what it costs when the cores are free.
        "cpu": percentiles(cpu),
        "confusions": confusions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-rules", type=Path, default=None)
    args = parser.parse_args()
    baseline = RulesExtractor(args.baseline_rules)
    default = UnderstandingExtractor()
    began = time.perf_counter()
    assert default.prepare(), "the sentence model did not load"
    prepare_s = time.perf_counter() - began
    load_before = os.getloadavg()
    report: dict[str, Any] = {"splits": {}}
    for split in (TUNE, HELD_OUT):
        cases = load(split)
        report["splits"][split] = {
            "rules_only_baseline": evaluate(baseline, cases),
            "default": evaluate(default, cases),
        }
    report.update(
        {
            "baseline_rules": str(args.baseline_rules or baseline.rules_path),
            "prepare_s": round(prepare_s, 2),
            "budget_p95_ms": BUDGET_P95_MS,
            "load_average": [round(x, 2) for x in (*load_before, *os.getloadavg())],
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
    )
    print(
        f"{'split':9} {'extractor':21} {'accuracy':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'cpu p50':>8} {'cpu p95':>8}  per category"
    )
    for split, rows in report["splits"].items():
        for name, row in rows.items():
            cats = " ".join(f"{k}={v}" for k, v in row["per_category"].items())
            print(
                f"{split:9} {name:21} {row['right']:>4}/{row['cases']:<4} "
                f"{row['latency']['p50_ms']:>8} {row['latency']['p95_ms']:>8} "
                f"{row['cpu']['p50_ms']:>8} {row['cpu']['p95_ms']:>8}  {cats}"
            )
    for split, rows in report["splits"].items():
        for miss in rows["default"]["confusions"]:
            said, expected, got = miss["said"], miss["expected"], miss["got"]
            print(f"confusion ({split}): {said!r} expected {expected} got {got}")
    print(f"load average before/after (1, 5, 15 min): {report['load_average']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
