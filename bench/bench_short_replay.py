"""False replies over many hours of script: the short utterances of the long negative run.

Run: ``PYTHONPATH=. nice -n 10 .venv/bin/python bench/bench_short_replay.py --hours 30``
(≈ 1 h on 2 quiet cores for 30 h).  Writes the ``short_replay`` section of
``bench/results/triggers.json`` (other sections are kept).

Replies ("confirm", "cancel") fire only in utterances of at most four words, and the full long
run (``bench_triggers.py --negative-minutes``) found all its false replies there.  So this
generates the script of ``--hours`` hours of non-trigger ops talk, exactly as the long run does
(:func:`bench.bench_triggers.long_script`: same templates, sound-alikes such as "concern",
"comfort", "conform", "council", "counsel", "can sell", "console", 8 voices × 3 speeds × clean
and white-noise), keeps only its short utterances with their pauses — the categories ``short``
(replies), ``soundalike`` and ``soundalike_action`` (a confirm sound-alike beside an action
word, "conform restart", and talk with action words, "restart it": said beside the script from
their own random stream, so the other categories are what they were for every seed) — and hears
them as the proxy does (Opus pages → decode → spotter + the shipped VAD → Whisper tiny.en with
the shipped settings; short utterances keep Whisper's 30 s window) plus the decision passes
where a text pass holds "confirm".  Rates are per hour of the *whole* script's speech, i.e. of
non-confirm speech.

Stores: ``short_replay_silero.jsonl.gz`` (the default) holds recordings made with the Silero
VAD (the shipped default since issue 15), all three categories; ``short_replay.jsonl.gz`` holds
the earlier energy-VAD recordings (``short`` and ``soundalike`` only, 3.5 h; judge them with
``--store bench/results/short_replay.jsonl.gz --judge-only --no-reread``).

Each hour is a block of 40 streams of 90 s of script with their own seeds; block 0 is the one-
hour replay measured before.  espeak-ng says a given word the same way every time, so from
block 1 on every stream also gets its own voice pitch (espeak-ng ``-p`` 35–65; block 0 keeps
the voices' own) — otherwise the clean half would repeat the same few thousand recordings.

Every stream's recordings (text, logprob, spotted keyphrases, decision-pass texts, forced
readings) are appended to ``--store`` as they finish: a cut-short run resumes where it stopped,
and a changed rule is judged again without Whisper.  The rules before a confirmation named its
action are judged on the stored readings; the shipped rule by :mod:`bench.replay_naming` (an
upper bound, then each possible false confirm heard again, kept in ``…_again.jsonl.gz``).
Utterances that may fire EXECUTE (text pass ending on "plan" or holding "execut…") are heard
again there too, and judged by the rule before "execute plan" was read against its sound-alikes
and by the shipped one on the same hearing (``execute_heard_again``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.bench_triggers import (
    RESULTS,
    ROOT,
    SHORT_CATEGORIES,
    SOUNDALIKE_ACTIONS,
    SOUNDALIKES,
    Costs,
    Heard,
    StreamSpec,
    fired,
    listen,
    long_script,
    long_specs,
    poisson_upper,
)
from bench.replay_naming import (
    CONFIRM,
    heard_of,
    hint,
    possible_confirm,
    possible_execute,
    reread_all,
    rereads_of,
    runs,
    utterance_key,
)
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.relay.codec import Action

STORE = RESULTS.with_name("short_replay_silero.jsonl.gz")
#: What the first records held (before they named their categories).
FIRST_CATEGORIES = ("short", "soundalike")
#: Streams per hour of script (90 s of speech each, as in the long run).
STREAMS_PER_HOUR = 40
#: Rules judged on the stored readings (``bench_triggers.policies``): those before a
#: confirmation named its action; the shipped rule is judged by :mod:`bench.replay_naming`.
REPLAY_POLICIES = ("previous", "round1", "round2", "unnamed")
#: The rule before "execute plan" was read against its rivals, and the shipped rule, judged on
#: the utterances that may fire EXECUTE heard again.
EXECUTE_RULES = ("unread_execute", "chosen")
PITCHES = (35, 66)  # espeak-ng -p range for blocks after the first

_RECS: Recognisers | None = None


def _init() -> None:
    global _RECS  # noqa: PLW0603 - one set of models per worker process
    _RECS = Recognisers.load(DEFAULT_SETTINGS)


def specs(hours: int) -> list[StreamSpec]:
    """The streams of ``hours`` hours of script; block 0 is the long run's first hour."""
    return [
        s
        if s.index < STREAMS_PER_HOUR
        else replace(s, pitch=random.Random(s.seed).randrange(*PITCHES))
        for s in long_specs(60.0 * hours)
    ]


def record(job: tuple[StreamSpec, tuple[str, ...]]) -> dict[str, Any]:
    """One stream's utterances of some categories, heard once; what was said and heard."""
    assert _RECS is not None, "call _init first"
    spec, categories = job
    cpu = time.process_time()
    audio, said, speech_s = long_script(spec, categories)
    costs = Costs()
    heard = listen(_RECS, audio, costs)
    return {
        "spec": asdict(spec),
        "categories": list(categories),
        "speech_s": speech_s,
        "said": [[s.text, round(s.end, 3)] for s in said],
        "heard": [asdict(h) for h in heard],
        "audio_s": costs.audio_s,
        "wall_s": costs.wall_s,
        "cpu_s": time.process_time() - cpu,
        "whisper_s": costs.whisper_s,
        "decision_s": costs.recheck_s,
    }


def stored(path: Path) -> Iterator[dict[str, Any]]:
    """The stream records in the store (a gzip file of JSON lines, appended per stream)."""
    if not path.exists():
        return
    with gzip.open(path, "rt") as f:
        try:
            for line in f:
                if line.strip():
                    yield json.loads(line)
        except (EOFError, json.JSONDecodeError):
            return  # a run killed mid-write: the whole lines before it stand


def run(todo: list[tuple[StreamSpec, tuple[str, ...]]], store: Path, workers: int) -> None:
    """Record the streams of ``todo`` in a pool, appending each to ``store`` as it ends."""
    began = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init) as pool:
        for n, r in enumerate(pool.map(record, todo), 1):
            with gzip.open(store, "at") as f:
                f.write(json.dumps(r) + "\n")
            wall = time.perf_counter() - began
            left = wall / n * (len(todo) - n)
            print(
                f"  stream {r['spec']['index']:5} {len(r['heard']):3} utt "
                f"cpu {r['cpu_s']:5.1f}s | {n}/{len(todo)}, "
                f"{wall / 60:5.1f} min, ≈{left / 60:5.1f} min left, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


def category_of(text: str) -> str:
    if text in SOUNDALIKE_ACTIONS:
        return "soundalike_action"
    return "soundalike" if text in SOUNDALIKES else "short"


def covers(r: dict[str, Any], category: str) -> bool:
    """The record holds that category's utterances, with a forced reading wherever a decision
    pass ran (records made before the reading existed are recorded again)."""
    read = all(h.get("scores") or not h["rechecked"] for h in r["heard"])
    return read and category in r.get("categories", FIRST_CATEGORIES)


def _where(r: dict[str, Any]) -> str:
    spec, pitch = r["spec"], r["spec"].get("pitch")
    return (
        f"{spec['voice']}/{spec['speed']}/noise={spec['noise_rms']}"
        f"{'' if pitch is None else f'/p{pitch}'}"
    )


def judged(streams: list[list[dict[str, Any]]], category: str) -> Iterator[dict[str, Any]]:
    """Each wanted stream's newest record holding ``category`` (streams without one skipped)."""
    for records in streams:
        r = next((r for r in reversed(records) if covers(r, category)), None)
        if r is not None:
            yield r


def utterances(r: dict[str, Any], category: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A record's utterances heard from ``category``'s lines, with the line said nearest."""
    said = r["said"]
    for h in r["heard"]:
        nearest = min(said, key=lambda s: abs(s[1] - h["end"]))[0] if said else "?"
        if category_of(nearest) == category:
            yield nearest, h


def candidates(
    streams: list[list[dict[str, Any]]],
) -> list[tuple[dict[str, Any], list[str], list[float]]]:
    """The utterances the naming rule's upper bound counts and those that may fire EXECUTE,
    per stream: (spec, categories recorded, utterance ends), to be heard again."""
    found: dict[str, tuple[dict[str, Any], list[str], list[float]]] = {}
    for category in SHORT_CATEGORIES:
        for r in judged(streams, category):
            for _, h in utterances(r, category):
                if possible_confirm(heard_of(h)) is not None or possible_execute(heard_of(h)):
                    k = json.dumps(r["spec"], sort_keys=True)
                    found.setdefault(k, (r["spec"], r["categories"], []))[2].append(h["end"])
    return list(found.values())


def _rate(n: int, hours: float) -> dict[str, float]:
    return {
        "count": n,
        "per_hour": round(n / hours, 3),
        "upper_95_per_hour": round(poisson_upper(n) / hours, 3),
    }


def judge(streams: list[list[dict[str, Any]]], again: dict[str, Heard]) -> dict[str, Any]:
    """False replies per policy and per category over the recorded streams (every reply here
    is false); ``streams`` holds each wanted stream's records, ``again`` the upper bound's
    utterances heard again with the shipped code (by :func:`_key`)."""
    keys = [f"{p}:{a}" for p in REPLAY_POLICIES for a in ("CONFIRM", "CANCEL", "EXECUTE")]
    by_category: dict[str, Any] = {}
    examples: dict[str, list[str]] = {}
    bound: list[str] = []
    ran: list[str] = []
    executed: dict[str, list[str]] = {rule: [] for rule in EXECUTE_RULES}
    used: list[dict[str, Any]] = []  # the records judged, for the cost figures
    for category in SHORT_CATEGORIES:
        counts = dict.fromkeys(keys, 0)
        speech_s, said_n, possible, runs_n, missing, hints = 0.0, 0, 0, 0, 0, 0
        execute = dict.fromkeys(("possible", "not_heard_again", *EXECUTE_RULES), 0)
        for r in judged(streams, category):
            if all(r is not u for u in used):
                used.append(r)
            speech_s += r["speech_s"]
            said_n += sum(category_of(s[0]) == category for s in r["said"])
            for nearest, stored_h in utterances(r, category):
                h = heard_of(stored_h)
                for policy in REPLAY_POLICIES:
                    for action in fired(policy, [h]):
                        key = f"{policy}:{action.name}"
                        counts[key] += 1
                        examples.setdefault(key, []).append(
                            f"{nearest!r} → {h.text!r} (logprob {h.logprob:.2f}) [{_where(r)}]"
                        )
                hints += hint(h)
                if possible_execute(h):
                    execute["possible"] += 1
                    heard = again.get(utterance_key(r["spec"], h.end))
                    execute["not_heard_again"] += heard is None
                    for rule in EXECUTE_RULES:
                        if heard is not None and Action.EXECUTE in fired(rule, [heard]):
                            execute[rule] += 1
                            executed[rule].append(
                                f"{nearest!r} → {heard.text!r} (logprob {heard.logprob:.2f}) "
                                f"[{_where(r)}]"
                            )
                named = possible_confirm(h)
                if named is None:
                    continue
                possible += 1
                decided = h.recheck(CONFIRM.decision_hotwords)
                bound.append(
                    f"{nearest!r} → {h.text!r} (logprob {h.logprob:.2f}), decision pass "
                    f"{decided!r} [{_where(r)}]"
                )
                heard = again.get(utterance_key(r["spec"], h.end))
                if heard is None:
                    missing += 1
                    continue
                if heard.text != h.text or heard.recheck(CONFIRM.decision_hotwords) != decided:
                    bound[-1] += f"; heard again as {heard.text!r}"
                word = runs(heard)
                if word is not None:
                    runs_n += 1
                    ran.append(f"{bound[-1]} runs a waiting {word!r}")
        hours = speech_s / 3600.0
        by_category[category] = {
            "hours_of_script_speech": round(hours, 2),
            "utterances_said": said_n,
            "false": counts,
            "false_per_hour_of_speech": {k: round(n / hours, 3) for k, n in counts.items()},
            "upper_95_per_hour": {k: round(poisson_upper(n) / hours, 3) for k, n in counts.items()},
            "named_rule": {
                "possible_false_confirms": _rate(possible, hours),
                "false_confirms_heard_again": _rate(runs_n, hours),
                "not_heard_again": missing,
                "bare_confirm_hints": _rate(hints, hours),
            },
            "execute_heard_again": {
                "possible": execute["possible"],
                "not_heard_again": execute["not_heard_again"],
                **{rule: _rate(execute[rule], hours) for rule in EXECUTE_RULES},
            },
        }
    records = used
    audio_s = sum(r["audio_s"] for r in records)
    utterances_n = sum(len(r["heard"]) for r in records)
    hours = sum(r["speech_s"] for r in records) / 3600.0
    total = {
        k: sum(c["named_rule"][k]["count"] for c in by_category.values())
        for k in ("possible_false_confirms", "false_confirms_heard_again", "bare_confirm_hints")
    }
    return {
        "what": "false replies in the short utterances (≤ 4 words: the only ones a reply can "
        "fire in) of a generated non-trigger ops script, per hour of the whole script's speech "
        "(non-confirm speech); one recording judged by every rule",
        "blocks": "40 streams of 90 s of script per hour, seeds 20240611 + stream; from hour 2 "
        "on each stream has its own espeak-ng pitch (35–65)",
        "hours_of_script_speech": round(hours, 2),
        "streams": len(records),
        "by_category": by_category,
        "named_rule": {
            "what": "the shipped rule (a confirmation names its action, 'confirm restart'): "
            "possible = text pass a confirmation naming an action (≤ 4 words, harmless company) "
            "and decision pass 'confirm' + an action word, without the forced reading (not "
            "recorded for these texts) or the confidence floor: an upper bound; heard again = "
            "each possible one heard again with the shipped code and judged by the shipped rule "
            "(counts as false whatever action it names: an upper bound over which command "
            "waits); hints = 'confirm' naming no action, heard twice and read likeliest by the "
            "rule of the recording (runs nothing, the operator is told what to say)",
            **{k: _rate(n, hours) for k, n in total.items()},
            "possible_cases": bound,
            "false_confirms": ran,
        },
        "execute_heard_again": {
            "what": "utterances whose recorded text pass ends on 'plan' or holds a word "
            "starting with 'execut' heard again with the shipped code; false EXECUTEs by the "
            "rule before 'execute plan' was read against its rivals (unread_execute) and by "
            "the shipped rule (chosen), on the same hearing",
            **{
                rule: {
                    **_rate(len(executed[rule]), hours),
                    "cases": executed[rule],
                }
                for rule in EXECUTE_RULES
            },
        },
        "examples": {k: v[:25] for k, v in sorted(examples.items())},
        "decision_passes": sum(bool(h["rechecked"]) for r in records for h in r["heard"]),
        "cost": {
            "utterances_heard": utterances_n,
            "audio_s": round(audio_s, 1),
            "cpu_s_total": round(sum(r["cpu_s"] for r in records), 1),
            "cpu_s_per_utterance": round(
                sum(r["cpu_s"] for r in records) / max(1, utterances_n), 3
            ),
            "whisper_wall_s_per_utterance": round(
                sum(r["whisper_s"] for r in records) / max(1, utterances_n), 3
            ),
            "rtf": round(sum(r["wall_s"] for r in records) / max(1e-9, audio_s), 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--hours", type=int, default=1, help="hours of script to replay")
    parser.add_argument(
        "--categories",
        nargs="+",
        choices=SHORT_CATEGORIES,
        default=list(SHORT_CATEGORIES),
        help="which short utterances to record (judging uses whatever is stored)",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--store", type=Path, default=STORE, help="recordings (resumed)")
    parser.add_argument("--no-write", action="store_true", help="print, keep triggers.json")
    parser.add_argument(
        "--judge-only", action="store_true", help="record no stream: judge what is stored"
    )
    parser.add_argument(
        "--no-reread",
        action="store_true",
        help="do not hear the naming rule's possible false confirms again (judge those stored)",
    )
    args = parser.parse_args()
    began, load = time.perf_counter(), os.getloadavg()
    wanted = specs(args.hours)
    cats = tuple(c for c in SHORT_CATEGORIES if c in args.categories)
    have: dict[int, list[dict[str, Any]]] = {}
    for r in stored(args.store):
        have.setdefault(r["spec"]["index"], []).append(r)

    def done(s: StreamSpec) -> bool:
        mine = [r for r in have.get(s.index, []) if r["spec"] == asdict(s)]
        return all(any(covers(r, c) for r in mine) for c in cats)

    todo = [] if args.judge_only else [(s, cats) for s in wanted if not done(s)]
    print(
        f"{args.hours} h = {len(wanted)} streams, {len(todo)} to record ({'+'.join(cats)}), "
        f"{args.workers} workers, load {load[0]:.1f}",
        flush=True,
    )
    if todo:
        run(todo, args.store, args.workers)
        have = {}
        for r in stored(args.store):
            have.setdefault(r["spec"]["index"], []).append(r)
    streams = [[r for r in have.get(s.index, []) if r["spec"] == asdict(s)] for s in wanted]
    rereads = rereads_of(args.store)
    if not args.no_reread:
        reread_all(candidates(streams), list(stored(rereads)), rereads, args.workers)
    again = {utterance_key(r["spec"], r["end"]): heard_of(r["heard"]) for r in stored(rereads)}
    result = judge(streams, again)
    result["store"] = str(
        args.store.relative_to(ROOT) if args.store.is_relative_to(ROOT) else args.store
    )
    result["machine"] = (
        f"2 shared cores, other helpers' jobs running; load average {load[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; this run recorded {len(todo)} streams with "
        f"{args.workers} workers in {time.perf_counter() - began:.0f} s"
        + (" (the recordings judged were made by earlier runs)" if args.judge_only else "")
    )
    print(json.dumps({k: v for k, v in result.items() if k != "examples"}, indent=1))
    for key, items in result["examples"].items():
        for e in items:
            print(f"  {key}: {e}")
    if not args.no_write:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results["short_replay"] = result
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote the short_replay section of {RESULTS}")


if __name__ == "__main__":
    main()
