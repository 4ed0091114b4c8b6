"""Server names in requests (issue #20): held-out accuracy, and names heard through tiny.en.

Part 1 runs the offline default (:class:`~extraction.understand.UnderstandingExtractor`) and
the rules alone, both with the evaluation fleet, over both held-out parts of
``tests/extraction/fleet_set.txt``.  A case counts only when the (command, node) pairs are
exactly the expected ones, in order, and every expected question (and no other) is asked.

Part 2 speaks fleet requests with espeak-ng (four voices and speeds), transcribes them with
the shipped tiny.en, once with the default hotwords and once with the fleet's names added
(``TapSettings.fleet_names``), and counts requests whose servers come out right
(:class:`~extraction.targets.ServerNames` on the transcript; a question counts as wrong).

Usage (repository on PYTHONPATH, as run.sh sets it): ``python bench/bench_fleet_words.py``.
Writes ``bench/results/fleet_words.json``.  Other helpers share the machine: the load average
is recorded with the figures.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import soxr

from extraction import fleet_words
from extraction.rules import RulesExtractor
from extraction.spoken import normalise
from extraction.targets import ServerNames
from extraction.understand import UnderstandingExtractor
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import TapSettings
from tests.extraction.fleet_set import FLEET, as_pairs, correct, load, turns
from tests.voices import concat, say, silence

RESULTS = Path(__file__).resolve().parent / "results" / "fleet_words.json"
SPLITS = ("held-out", "held-out-2")
SPOKEN = (
    ("check the disk space on web two", ("web-2",)),
    ("restart nginx on both web servers", ("web-1", "web-2")),
    ("check the disk space on web one", ("web-1",)),
    ("check memory on the database box", ("db-1",)),
    ("check the uptime everywhere", ("web-1", "web-2", "db-1")),
    ("restart nginx on web dash two", ("web-2",)),
    ("check the disk space on d b one", ("db-1",)),
)
VOICES = (("en-us", 150), ("en-gb-x-rp", 175), ("en-us+f3", 130), ("en-us+m3", 190))


def text_part() -> dict[str, Any]:
    """Accuracy of both extractors on both held-out parts, with the misses."""
    default = UnderstandingExtractor(fleet=lambda: FLEET)
    assert default.prepare(), "the sentence model did not load"
    extractors: dict[str, UnderstandingExtractor | RulesExtractor] = {
        "default": default,
        "rules_only": RulesExtractor(fleet=lambda: FLEET),
    }
    report: dict[str, Any] = {}
    for split in SPLITS:
        for name, extractor in extractors.items():
            right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            misses = []
            for case in load(split):
                found = extractor.extract_sync(turns(case.said))
                ok = correct(found, case.want)
                right[case.category][0] += ok
                right[case.category][1] += 1
                if not ok:
                    whys = [u.why for u in found.unmatched]
                    misses.append({"said": case.said, "want": case.want, "got": as_pairs(found),
                                   "asked": whys})  # fmt: skip
            total = sum(r for r, _ in right.values()), sum(n for _, n in right.values())
            report.setdefault(split, {})[name] = {
                "right": total[0],
                "cases": total[1],
                "per_category": {k: f"{r}/{n}" for k, (r, n) in sorted(right.items())},
                "misses": misses,
            }
    return report


def speech_part() -> dict[str, Any]:
    """Servers right in tiny.en transcripts, default hotwords vs with the fleet's names."""
    names = ServerNames(FLEET)
    transcriber = Recognisers.load(TapSettings(fleet_names=fleet_words(FLEET))).transcriber
    plain = Recognisers.load(TapSettings()).transcriber
    report: dict[str, Any] = {}
    for label, recogniser in (("default_hotwords", plain), ("with_fleet_names", transcriber)):
        right, heard = 0, []
        for text, want in SPOKEN:
            for voice, speed in VOICES:
                pcm = concat(silence(0.3), say(text, voice, speed), silence(0.5))
                words = recogniser.hear(soxr.resample(pcm, 24_000, 16_000).astype(np.float32))
                said = names.read(normalise(words.text))
                got = tuple(dict.fromkeys(m for n in said.names for m in FLEET.members(n)))
                right += sorted(got) == sorted(want)
                heard.append({"said": text, "voice": f"{voice}@{speed}", "heard": words.text,
                              "servers": list(got), "asked": said.question})  # fmt: skip
        report[label] = {"right": right, "cases": len(heard), "heard": heard}
    return report


def main() -> None:
    load_before = os.getloadavg()
    began = time.perf_counter()
    report: dict[str, Any] = {"text": text_part(), "speech": speech_part()}
    report.update(
        {
            "seconds": round(time.perf_counter() - began, 1),
            "load_average": [round(x, 2) for x in (*load_before, *os.getloadavg())],
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
    )
    print(f"{'part':12} {'extractor / hotwords':22} {'right':>8}  per category")
    for split, rows in report["text"].items():
        for name, row in rows.items():
            cats = " ".join(f"{k}={v}" for k, v in row["per_category"].items())
            print(f"{split:12} {name:22} {row['right']:>3}/{row['cases']:<4}  {cats}")
    for label, row in report["speech"].items():
        print(f"{'speech':12} {label:22} {row['right']:>3}/{row['cases']:<4}")
    for split, rows in report["text"].items():
        for miss in rows["default"]["misses"]:
            print(f"miss ({split}): {miss['said']!r} want {miss['want']!r} got {miss['got']}")
    print(f"load average before/after (1, 5, 15 min): {report['load_average']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
