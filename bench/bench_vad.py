"""Energy VAD against Silero VAD: do they cut the speech the recogniser needs, and only that?

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_vad.py [--streams N]`` (≈2–4 min on 2 cores).
Prints a table and writes ``bench/results/vad.json``.

Segmentation only (no Whisper), on the audio ``bench/bench_triggers.py`` uses:

* trigger set — "execute plan" / "confirm" / "cancel" after a request, 6 voices × 2 speeds,
  clean and white noise, plus the held-out set (4 other voices, 185 wpm, pink room noise at
  15 dB SNR).  A phrase is *heard whole* when one utterance covers ≥ 90 % of it.
* long-run streams — the first ``--streams`` streams of the long negative script (same seed).
  A scripted sentence is *missed* when utterances cover < 50 % of it; an utterance is
  *spurious* when < 20 % of it is scripted speech (noise heard as speech: a Whisper pass that
  can only hallucinate); *split* counts sentences cut into several utterances.
* room noise alone — 60 s of steady pink noise at -45, -35 and -30 dBFS: utterances are false.

Cost is the detector's own CPU per second of audio (the machine is shared: noisy figures).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from bench_triggers import (  # type: ignore[import-not-found]  # run as a script from bench/
    EXECUTE_PHRASINGS,
    HELD_OUT_CONFIRM,
    HELD_OUT_EXECUTE,
    HELD_OUT_SNR_DB,
    HELD_OUT_SPEED,
    HELD_OUT_VOICES,
    NOISE_RMS,
    REPLY_PHRASINGS,
    SPEEDS,
    VOICES,
    long_script,
    long_specs,
    noisy,
    room_noise,
)

from client.audio import Pcm
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS, VAD_KINDS
from proxy.listen.speech.vad import Segmenter, Utterance
from tests.voices import concat, say, silence

ROOT = Path(__file__).resolve().parents[1]


def segment(vad: Segmenter, audio24: Pcm, cost: dict[str, float]) -> list[Utterance]:
    pcm = np.asarray(soxr.resample(audio24, 24_000, 16_000), dtype=np.float32)
    began = time.process_time()
    out: list[Utterance] = []
    for i in range(0, pcm.size, 1280):  # 80 ms, as the pipeline receives it
        out += vad.push(pcm[i : i + 1280])
    last = vad.flush()
    if last is not None:
        out.append(last)
    cost["cpu_s"] += time.process_time() - began
    cost["audio_s"] += pcm.size / 16_000
    return out


def covered(start: float, end: float, utts: list[Utterance]) -> tuple[float, float]:
    """(largest share of [start, end] inside one utterance, share inside any utterance)."""
    span = max(1e-6, end - start)
    parts = [max(0.0, min(end, u.end) - max(start, u.start)) for u in utts]
    return max(parts, default=0.0) / span, min(1.0, sum(parts) / span)


def voiced_span(p: Pcm) -> tuple[float, float]:
    """Where the sound is inside espeak's output (it pads each phrase with silence)."""
    loud = np.flatnonzero(np.abs(p) > 0.02 * float(np.max(np.abs(p))))
    if loud.size == 0:
        return 0.0, len(p) / 24_000
    return float(loud[0]) / 24_000, float(loud[-1]) / 24_000


def trigger_items() -> list[tuple[Pcm, float, float, str]]:
    """(audio, phrase start, phrase end, label) for the trigger and held-out sets."""
    items: list[tuple[Pcm, float, float, str]] = []
    seed = 0
    phrases = [(c, p) for c, p in EXECUTE_PHRASINGS] + [("", p) for p, _a in REPLY_PHRASINGS]
    for vi, voice in enumerate(VOICES):
        for si, speed in enumerate(SPEEDS):
            for ii, (ctx, phrase) in enumerate(phrases):
                seed += 1
                parts, t = [silence(0.4)], 0.4
                if ctx:
                    c = say(ctx, voice, speed)
                    parts += [c, silence(0.9)]
                    t += len(c) / 24_000 + 0.9
                p = say(phrase, voice, speed)
                parts += [p, silence(1.0)]
                rms = NOISE_RMS[(vi + si + ii) % len(NOISE_RMS)]
                audio = noisy(concat(*parts), rms, seed)
                on, off = voiced_span(p)
                items.append((audio, t + on, t + off, "trigger set"))
    for voice in HELD_OUT_VOICES:
        for ctx, phrase in [*HELD_OUT_EXECUTE, *(("", c) for c in HELD_OUT_CONFIRM)]:
            seed += 1
            parts, t = [silence(0.6)], 0.6
            if ctx:
                c = say(ctx, voice, HELD_OUT_SPEED)
                parts += [c, silence(0.9)]
                t += len(c) / 24_000 + 0.9
            p = say(phrase, voice, HELD_OUT_SPEED)
            parts += [p, silence(1.0)]
            rms = float(np.sqrt(np.mean(p**2)))
            audio = room_noise(concat(*parts), rms, HELD_OUT_SNR_DB, seed)
            on, off = voiced_span(p)
            items.append((audio, t + on, t + off, "held out 185 wpm 15 dB"))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=8, help="long-run streams to segment")
    args = parser.parse_args()
    began = time.perf_counter()
    recs = {k: Recognisers.load(replace(DEFAULT_SETTINGS, vad=k)) for k in VAD_KINDS}
    costs = {k: {"cpu_s": 0.0, "audio_s": 0.0} for k in VAD_KINDS}
    result: dict[str, Any] = {k: {} for k in VAD_KINDS}

    items = trigger_items()
    for k in VAD_KINDS:
        whole: dict[str, list[int]] = {}
        for audio, start, end, label in items:
            best, _any = covered(start, end, segment(recs[k].vad(), audio, costs[k]))
            whole.setdefault(label, []).append(int(best >= 0.9))
        result[k]["phrase_heard_whole_pct"] = {
            label: round(100.0 * sum(v) / len(v), 1) for label, v in whole.items()
        }

    specs = long_specs(60.0)[: args.streams]
    scripts = [long_script(s) for s in specs]
    for k in VAD_KINDS:
        said = missed = split = spurious = utterances = 0
        for audio, script, _speech in scripts:
            utts = segment(recs[k].vad(), audio, costs[k])
            utterances += len(utts)
            for s in script:
                said += 1
                _best, share = covered(s.start, s.end, utts)
                missed += share < 0.5
                split += sum(u.end > s.start and u.start < s.end for u in utts) > 1
            for u in utts:
                inside = sum(max(0.0, min(u.end, s.end) - max(u.start, s.start)) for s in script)
                spurious += inside < 0.2 * max(1e-6, u.end - u.start)
        result[k]["long_run"] = {
            "scripted": said,
            "utterances": utterances,
            "missed": missed,
            "split": split,
            "spurious": spurious,
        }

    for k in VAD_KINDS:
        false_in_noise = {}
        for dbfs in (-45, -35, -30):
            # Pink noise whose level is dbfs: "speech" level dbfs at 0 dB SNR over silence.
            audio = room_noise(silence(60.0), 10 ** (dbfs / 20.0), 0.0, 9)
            false_in_noise[str(dbfs)] = len(segment(recs[k].vad(), audio, costs[k]))
        result[k]["utterances_in_60s_room_noise_by_dbfs"] = false_in_noise
        result[k]["cpu_per_audio_s"] = round(costs[k]["cpu_s"] / costs[k]["audio_s"], 4)

    result["streams"] = args.streams
    result["bench_wall_s"] = round(time.perf_counter() - began, 1)
    result["machine"] = "2 shared cores with other jobs running: cost figures are noisy"
    print(json.dumps(result, indent=1))
    out = ROOT / "bench" / "results" / "vad.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
