"""Where a speech worker's CPU goes per talking session-second, without network or processes.

The capacity bench's ops talk (``bench_speech_capacity.talk``) is replayed as client 0x01 pages
through one :class:`SpeechPipeline` with the shipped settings, twice: once plain (CPU seconds of
the whole process, all threads, per second of talk: what a worker pays per talking session) and
once under cProfile with a CPU-time clock, which splits that cost into stages: Opus decode,
resample, keyphrase spotter, VAD, transcription, decision pass, the rest (the profiler's
overhead inflates Python-level stages; shares are the figure to compare).  The worker process
adds unpickling and replies on top (``bench_speech_capacity`` measures the whole).
Run: ``PYTHONPATH=. .venv/bin/python bench/bench_speech_profile.py``; prints a table and writes
``bench/results/speech_profile.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.bench_speech_capacity import talk
from bench.realtime import FRAME_SECONDS
from proxy.listen.speech.pipeline import SpeechPipeline
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS, VAD_KINDS, TapSettings
from proxy.listen.transcript import Transcript

RESULTS = Path(__file__).parent / "results" / "speech_profile.json"

#: Stage → (file suffix, function) whose cumulative time is the stage's; the decision pass is
#: the transcriber called from the matcher's ``recheck``.
STAGES: dict[str, tuple[str, str]] = {
    "opus decode": ("~", "<method 'append_bytes' of 'builtins.OpusStreamReader' objects>"),
    "resample": ("soxr/__init__.py", "resample_chunk"),
    "keyphrase spotter": ("spotter.py", "push"),
    "VAD": ("vad.py", "push"),
}


def replay(recs: Recognisers, clips: list[list[bytes]]) -> SpeechPipeline:
    """Every clip through its own pipeline, as a worker would host them."""
    pipeline = None
    for i, pages in enumerate(clips):
        pipeline = SpeechPipeline(f"talk{i}", recs, Transcript())
        for page in pages:
            pipeline.client(page)
        pipeline.finish()
    assert pipeline is not None
    return pipeline


def _cumulative(stats: dict[Any, Any], suffix: str, name: str) -> float:
    return float(
        sum(v[3] for (f, _line, func), v in stats.items() if func == name and f.endswith(suffix))
    )


def stages(profile: cProfile.Profile) -> dict[str, float]:
    """CPU seconds per stage, from a profile taken with a CPU-time clock."""
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out = {name: _cumulative(stats, *where) for name, where in STAGES.items()}
    transcribe = decision = 0.0
    for (file, _line, func), v in stats.items():
        if func == "hear" and file.endswith("transcriber.py"):
            for (cfile, _cline, cfunc), cv in v[4].items():
                if cfunc == "recheck":
                    decision += cv[3]
                elif cfile.endswith("pipeline.py"):
                    transcribe += cv[3]
    out["transcription"] = transcribe
    out["decision pass"] = decision
    total = _cumulative(stats, "pipeline.py", "client") + _cumulative(
        stats, "pipeline.py", "finish"
    )
    out["other (matcher, segmenting, numpy glue)"] = max(0.0, total - sum(out.values()))
    out["total"] = total
    return out


def measure(settings: TapSettings, seconds: float, clips: int) -> dict[str, Any]:
    """Plain CPU per talk-second, and the profiled split into stages."""
    recs = Recognisers.load(settings)
    pages = talk(seconds, clips)
    talk_s = sum(len(c) for c in pages) * FRAME_SECONDS
    replay(recs, pages[:1])  # warm-up: first-call allocations of the models
    cpu, wall = time.process_time(), time.perf_counter()
    pipeline = replay(recs, pages)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    replay(recs, pages)
    profile.disable()
    split = stages(profile)
    return {
        "talk_s": round(talk_s, 1),
        "utterances_last_clip": pipeline.stats.utterances,
        "cpu_s_per_talk_s": round(cpu / talk_s, 4),
        "wall_s_per_talk_s": round(wall / talk_s, 4),
        "profiled_cpu_s_per_talk_s": {k: round(v / talk_s, 4) for k, v in split.items()},
        "share_pct": {k: round(100.0 * v / max(1e-9, split["total"]), 1) for k, v in split.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="talk per clip")
    parser.add_argument("--clips", type=int, default=3, help="clips (different script offsets)")
    parser.add_argument("--vad", choices=VAD_KINDS, default=DEFAULT_SETTINGS.vad)
    parser.add_argument(
        "--whisper-window",
        type=float,
        default=DEFAULT_SETTINGS.whisper_window_s,
        help="whisper_window_s (0: Whisper's full 30 s window for every utterance)",
    )
    parser.add_argument("--label", default="current", help="key of this run in the results")
    args = parser.parse_args()
    settings = replace(DEFAULT_SETTINGS, vad=args.vad, whisper_window_s=args.whisper_window or None)
    figures = measure(settings, args.seconds, args.clips)
    print(f"talk {figures['talk_s']} s; CPU {figures['cpu_s_per_talk_s']} s per talk-second")
    print(f"{'stage':42} {'cpu s/s':>8} {'share':>6}")
    for k, v in figures["profiled_cpu_s_per_talk_s"].items():
        print(f"{k:42} {v:>8.4f} {figures['share_pct'][k]:>5.1f}%")
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[args.label] = {
        **figures,
        "vad": args.vad,
        "whisper_window_s": args.whisper_window,
        "machine": "2 shared cores, loaded (load ≈10)",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    main()
