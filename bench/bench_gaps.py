"""An answer said after the proxy's own speech, when the speech worker fell behind and the tap
dropped part of that speech's echo: is it heard, or taken for the echo?

Run: ``PYTHONPATH=. nice -n 10 .venv/bin/python bench/bench_gaps.py`` (≈3–6 min on 2 shared
cores).  Prints a table and writes ``bench/results/gaps.json``.

Each session goes through a real :class:`~proxy.listen.tap.Tap` and its own real speech worker
process.  The user's channel carries 0.4 s of silence, then the echo of the proxy's spoken
confirmation prompt (the proxy says it is speaking as it starts), then, 1.2 s after the prompt
ended, the answer "confirm restart".  Halfway through the prompt the worker is frozen
(SIGSTOP): the tap's queue fills and it drops the next ``stall`` seconds of pages, as it does
for an overloaded worker.  Counted per stall, over the voices: answers taken (CONFIRM naming
"restart"), triggers fired by the echo (before the answer), and how far the answer's turn
starts from where it was really said.  A stall of 0 is the baseline of the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.bench_triggers import DEV_VOICES, HELD_OUT_VOICES
from client.audio import encode_pages
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.speech.worker import SpeechWorker
from proxy.listen.tap import Tap, TapEvent, TriggerHeard, UserSpoke
from proxy.relay.codec import Action
from tests.proxy.listen.speech.speechkit import drained
from tests.voices import concat, say, silence

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "gaps.json"

PROMPT = "systemctl restart nginx needs confirmation. Say confirm restart, or cancel."
ANSWER = "confirm restart"
VOICES = (*HELD_OUT_VOICES, *DEV_VOICES[:2])
STALLS_S = (0.0, 1.0, 2.0, 3.0)
PAGE_S = 0.08  # the pages encode_pages makes
LEAD_S, PAUSE_S = 0.4, 1.2
#: Messages in flight per session before the tap drops (small, so a short freeze fills it).
QUEUE = 16


async def _offer(tap: Tap, pages: list[bytes]) -> None:
    """Offer ``pages`` without dropping any: wait for the worker whenever the queue is full."""
    for page in pages:
        if tap.in_flight >= QUEUE - 1:
            await drained(tap)
        tap.offer_client(page)
        await asyncio.sleep(0)


async def session(worker: SpeechWorker, voice: str, stall_s: float) -> dict[str, Any]:
    """One session; the stall drops ``stall_s`` of the prompt's echo."""
    pid = worker.pid
    assert pid is not None
    prompt, answer = say(PROMPT, voice=voice), say(ANSWER, voice=voice)
    audio = concat(silence(LEAD_S), prompt, silence(PAUSE_S), answer, silence(1.0))
    pages = [b"\x01" + page for page in encode_pages(audio)]
    lead = round(LEAD_S / PAGE_S)
    middle = lead + round(len(prompt) / 24_000 / PAGE_S / 2)
    dropped = round(stall_s / PAGE_S)
    answer_at = LEAD_S + len(prompt) / 24_000 + PAUSE_S
    events: list[TapEvent] = []
    settings = replace(DEFAULT_SETTINGS, queue_messages=QUEUE)
    tap = Tap(f"gap-{voice}-{stall_s}", events.append, asyncio.get_running_loop(), settings, worker)
    tap.start()
    await _offer(tap, pages[:lead])
    tap.speaking(len(prompt) / 24_000)
    await _offer(tap, pages[lead:middle])
    if dropped:
        await drained(tap)
        os.kill(pid, signal.SIGSTOP)
        try:
            end = middle + QUEUE + dropped
            for page in pages[middle:end]:  # the queue fills, then the rest is dropped
                tap.offer_client(page)
        finally:
            os.kill(pid, signal.SIGCONT)
        await drained(tap)
    else:
        end = middle
    await _offer(tap, pages[end:])
    await tap.close()
    fired = [e for e in events if isinstance(e, TriggerHeard)]
    said = [e.turn for e in events if isinstance(e, UserSpoke) and e.turn.start >= answer_at - 0.5]
    return {
        "voice": voice,
        "stall_s": stall_s,
        "dropped_pages": tap.dropped,
        "taken": any(e.action is Action.CONFIRM and e.named == "restart" for e in fired),
        "echo_triggers": [e.action.name for e in fired if e.at < answer_at],
        "answer_start_error_s": round(said[0].start - answer_at, 3) if said else None,
        "heard": [e.turn.text for e in events if isinstance(e, UserSpoke)],
    }


async def run() -> dict[str, Any]:
    worker = await asyncio.to_thread(SpeechWorker.load)
    try:
        trials = [await session(worker, v, s) for s in STALLS_S for v in VOICES]
    finally:
        await asyncio.to_thread(worker.close)
    per_stall = {}
    for stall in STALLS_S:
        rows = [t for t in trials if t["stall_s"] == stall]
        errors = [
            abs(t["answer_start_error_s"]) for t in rows if t["answer_start_error_s"] is not None
        ]
        per_stall[str(stall)] = {
            "answers_taken": sum(t["taken"] for t in rows),
            "of": len(rows),
            "echo_triggers": sum(len(t["echo_triggers"]) for t in rows),
            "answer_start_error_s_max": max(errors, default=None),
        }
    return {"per_stall": per_stall, "trials": trials}


def main() -> None:
    began, load = time.monotonic(), os.getloadavg()[0]
    result = asyncio.run(run())
    result["run"] = {
        "wall_s": round(time.monotonic() - began, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "voices": list(VOICES),
        "queue_messages": QUEUE,
    }
    print(f"{'stall':>6} {'answers taken':>14} {'echo triggers':>14} {'max start error':>16}")
    for stall, row in result["per_stall"].items():
        err = row["answer_start_error_s_max"]
        print(
            f"{stall:>5}s {row['answers_taken']:>8}/{row['of']:<5} {row['echo_triggers']:>14}"
            f" {'-' if err is None else f'{err:.2f} s':>16}"
        )
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
