"""Energy VAD against Silero VAD end to end: trigger recall, false triggers and cost.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_vad_triggers.py --vad energy`` and again with
``--vad silero`` (the two may run at the same time; each adds its own section).  Writes
``bench/results/vad_triggers.json``; ``bench/bench_vad.py`` measures segmentation alone.

Each run is ``bench/bench_triggers.py``'s quick set (execute/reply recall and false triggers on
the quick negatives, recorded once and judged by the shipped rule), its held-out set ("execute
plan" and "confirm" at 185 wpm in pink room noise at 15 dB SNR) and its long negative run
(``--negative-minutes``, fixed seed) with the chosen VAD; the recordings are the same for both
VADs.  When both sections are there, ``decision`` compares them: recall first (quick and
held-out), then false triggers (quick and long run), then CPU per audio second.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import time
from pathlib import Path
from typing import Any

from bench_triggers import long_negatives, quick  # type: ignore[import-not-found]  # from bench/

from proxy.listen.speech.settings import VAD_KINDS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "vad_triggers.json"


def summary(vad: str, began: float, minutes: float, workers: int) -> dict[str, Any]:
    """One VAD's figures under the shipped rule (``chosen``), and where they come from."""
    q = quick(began, vad)
    chosen = q["policies"]["chosen"]
    held = q["held_out_fast_noisy"]
    out: dict[str, Any] = {
        "quick": {
            "execute_recall_pct": chosen["execute_recall_pct"],
            "reply_recall_pct": chosen["reply_recall_pct"],
            "positives": q["positives"],
            "false_triggers_on_negatives": chosen["false_triggers_on_negatives"],
            "false_per_hour_of_speech": chosen["false_per_hour_of_speech"],
            "wrong_action_on_positives": chosen["wrong_action_on_positives"],
            "misses": q["chosen_misses"],
            "false_examples": chosen["false_examples"],
            "cost": q["cost"],
        },
        "held_out_fast_noisy": {
            "recall_pct": held["recall_pct"]["chosen"],
            "counts": held["counts"],
            "misses": held["chosen_misses"],
        },
    }
    if minutes > 0:
        long = long_negatives(minutes, workers, vad)
        keep = (
            "seed",
            "minutes_of_speech",
            "minutes_of_audio",
            "streams",
            "scripted_utterances",
            "recognised_utterances",
            "false_triggers",
            "false_per_hour_of_speech",
            "upper_95_per_hour",
            "cpu_per_audio_s",
            "rtf",
            "wall_s",
        )
        out["long_negatives"] = {k: long[k] for k in keep}
        out["long_negatives"]["examples"] = [
            f"{f['action']} by {f['source']}: said {f['said']} → heard {f['recognised']!r}"
            for f in long["examples"]
        ]
    out["bench_wall_s"] = round(time.perf_counter() - began, 1)
    return out


def score(s: dict[str, Any]) -> tuple[int, int, float]:
    """(triggers heard, false triggers, CPU per audio second) of one VAD."""
    q, held = s["quick"], s["held_out_fast_noisy"]
    sets = [
        (q["execute_recall_pct"], q["positives"]["execute"]),
        (q["reply_recall_pct"], q["positives"]["reply"]),
        *((held["recall_pct"][a], n) for a, n in held["counts"].items()),
    ]
    heard = sum(round(pct * n / 100.0) for pct, n in sets)
    long = s.get("long_negatives", {})
    false = q["false_triggers_on_negatives"] + sum(long.get("false_triggers", {}).values())
    cost = long.get("cpu_per_audio_s", q["cost"]["cpu_per_audio_s"])  # the long run: more audio
    return heard, false, float(cost)


def decide(sections: dict[str, Any]) -> dict[str, Any]:
    """Recall first, then false triggers, then cost (only when both VADs have been run)."""
    e, s = score(sections["energy"]), score(sections["silero"])
    figures = {
        "triggers_heard": {"energy": e[0], "silero": s[0]},
        "false_triggers": {"energy": e[1], "silero": s[1]},
        "cpu_per_audio_s": {"energy": e[2], "silero": s[2]},
    }
    if e[0] != s[0]:
        keep, by = ("energy" if e[0] > s[0] else "silero"), "recall"
    elif e[1] != s[1]:
        keep, by = ("energy" if e[1] < s[1] else "silero"), "false triggers"
    else:
        keep, by = ("energy" if e[2] <= s[2] else "silero"), "cpu per audio second"
    return {"keep": keep, "by": by, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vad", choices=VAD_KINDS, required=True)
    parser.add_argument("--negative-minutes", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    began = time.perf_counter()
    section = summary(args.vad, began, args.negative_minutes, args.workers)
    OUT.touch()
    with OUT.open("r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # the other VAD's run may finish at the same time
        text = f.read()
        result: dict[str, Any] = json.loads(text) if text.strip() else {}
        result[args.vad] = section
        result["machine"] = "2 shared cores with other jobs running: cost figures are noisy"
        if all(k in result for k in VAD_KINDS):
            result["decision"] = decide(result)
            print("decision:", json.dumps(result["decision"]))
        f.seek(0)
        f.truncate()
        f.write(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in section.items() if k != "quick"}, indent=1)[:3000])
    print(f"wrote {OUT} in {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
