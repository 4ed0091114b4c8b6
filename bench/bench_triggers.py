"""Trigger recall, false triggers per hour and recogniser cost, on generated espeak-ng speech.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_triggers.py`` (≈2–3 min on 2 cores).  Prints a
table and writes ``bench/results/triggers.json``.

Every stream is client audio as the proxy sees it (24 kHz → Ogg/Opus pages → decode → 16 kHz),
run through the real pocketsphinx keyphrase spotter, the energy VAD and faster-whisper tiny.en.
Each utterance's (Whisper text, spotted keyphrases) is recorded once; the decision policies are
then compared on the same recordings:

* ``text``       — the phrase as consecutive whole words in the Whisper text;
* ``keyphrase``  — the pocketsphinx spotter alone;
* ``both``       — spotter hit confirmed by the text;
* ``chosen``     — the shipped default: text, plus spotter alone for short replies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from client.audio import Pcm, encode_pages
from proxy.codec import Action
from proxy.speech.audio import PageDecoder
from proxy.speech.recognisers import Recognisers
from proxy.speech.settings import DEFAULT_SETTINGS
from proxy.speech.vad import EnergyVad
from proxy.triggers import DEFAULT_PHRASES, TriggerPhrase, match_utterance
from tests.voices import concat, say, silence

ROOT = Path(__file__).resolve().parents[1]  # the repository

VOICES = ("en-us", "en", "en-gb-x-rp", "en-us+f3", "en-us+m3", "en-029")
SPEEDS = (135, 175)
NOISE_RMS = (0.0, 0.01)  # clean, and white noise ≈ -40 dBFS (≈20 dB below espeak speech)

EXECUTE_PHRASINGS = (
    ("", "execute plan"),
    ("", "okay, execute plan"),
    ("please restart nginx on web two", "execute plan"),
)
REPLY_PHRASINGS = (
    ("confirm", Action.CONFIRM),
    ("yes, confirm", Action.CONFIRM),
    ("cancel", Action.CANCEL),
    ("cancel that", Action.CANCEL),
)
NEGATIVES = (
    "we will execute the plan tomorrow",
    "the plan is ready to execute after lunch",
    "let us talk about the plan for the database migration",
    "can you confirm how much memory the database uses",
    "we should cancel the meeting with the vendor",
    "the console on web two keeps freezing",
    "how much disk space is left on the backup server",
    "restart nginx on web one and check the logs",
    "execution time of the query was too long",
    "i think the planning went well this week",
    "please explain what the load average means",
    "show me the last ten lines of the system log",
    "the council approved the new plan",
    "confirmation emails are not being sent",
    "what is the uptime of the mail server",
    "can you list the running containers",
)


@dataclass
class Heard:
    """One utterance as recorded: the Whisper text and the keyphrases spotted in it."""

    text: str
    spotted: tuple[str, ...]
    end: float


@dataclass
class Costs:
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    spotter_s: float = 0.0
    whisper_s: float = 0.0
    utterances: int = 0


def listen(recs: Recognisers, audio: Pcm, costs: Costs) -> list[Heard]:
    """Run one stream through decode → spotter + VAD → Whisper; record each utterance."""
    pages = encode_pages(audio)
    wall, cpu = time.perf_counter(), time.process_time()
    decoder, vad, spotter = PageDecoder(), EnergyVad(DEFAULT_SETTINGS), recs.spotter()
    hits: list[tuple[str, float]] = []
    heard: list[Heard] = []

    def utterance(pcm: Pcm, start: float, end: float) -> None:
        t = time.perf_counter()
        text = recs.transcriber.transcribe(pcm)
        costs.whisper_s += time.perf_counter() - t
        costs.utterances += 1
        near = tuple(p for p, at in hits if start - 0.5 <= at <= end + 0.5)
        heard.append(Heard(text, near, end))

    for page in pages:
        pcm = decoder.push(page)
        t = time.perf_counter()
        hits.extend((h.phrase, h.at) for h in spotter.push(pcm))
        costs.spotter_s += time.perf_counter() - t
        for u in vad.push(pcm):
            utterance(u.pcm, u.start, u.end)
    last = vad.flush()
    if last is not None:
        utterance(last.pcm, last.start, last.end)
    spotter.close()
    costs.wall_s += time.perf_counter() - wall
    costs.cpu_s += time.process_time() - cpu
    costs.audio_s += len(audio) / 24_000
    return heard


def policies() -> dict[str, tuple[TriggerPhrase, ...]]:
    text_only = tuple(replace(p, keyphrase_alone=False) for p in DEFAULT_PHRASES)
    return {"text": text_only, "chosen": DEFAULT_PHRASES}


def fired(policy: str, heard: list[Heard]) -> list[Action]:
    """Actions fired over a stream under one policy (each action at most once per utterance)."""
    actions: list[Action] = []
    for h in heard:
        if policy in ("text", "chosen"):
            phrases = policies()[policy]
            actions += [m.action for m in match_utterance(h.text, h.spotted, phrases, h.end)]
            continue
        for p in DEFAULT_PHRASES:
            by_spotter = p.phrase in h.spotted
            by_text = bool(match_utterance(h.text, (), (replace(p, keyphrase_alone=False),), 0))
            if (policy == "keyphrase" and by_spotter) or (
                policy == "both" and by_spotter and by_text
            ):
                actions.append(p.action)
    return actions


def noisy(audio: Pcm, rms: float, seed: int) -> Pcm:
    if rms == 0.0:
        return audio
    rng = np.random.default_rng(seed)
    return (audio + rng.normal(0.0, rms, audio.size)).astype(np.float32)


def main() -> None:
    began = time.perf_counter()
    recs = Recognisers.load(DEFAULT_SETTINGS)
    print(f"recognisers loaded in {recs.load_seconds:.2f}s ({recs.transcriber.name})")
    costs = Costs()
    names = ("text", "keyphrase", "both", "chosen")
    pos: dict[str, dict[str, list[int]]] = {n: {"execute": [], "reply": []} for n in names}
    wrong_on_pos = dict.fromkeys(names, 0)
    neg_false = dict.fromkeys(names, 0)
    neg_examples: dict[str, list[str]] = {n: [] for n in names}
    misses: list[str] = []
    seed = 0

    for vi, voice in enumerate(VOICES):
        for si, speed in enumerate(SPEEDS):
            items: list[tuple[str, str, Action]] = [
                (ctx, phrase, Action.EXECUTE) for ctx, phrase in EXECUTE_PHRASINGS
            ] + [("", phrase, action) for phrase, action in REPLY_PHRASINGS]
            for ii, (ctx, phrase, action) in enumerate(items):
                seed += 1
                parts = [silence(0.4)]
                if ctx:
                    parts += [say(ctx, voice, speed), silence(0.9)]
                parts += [say(phrase, voice, speed), silence(1.0)]
                rms = NOISE_RMS[(vi + si + ii) % len(NOISE_RMS)]
                heard = listen(recs, noisy(concat(*parts), rms, seed), costs)
                kind = "execute" if action is Action.EXECUTE else "reply"
                for n in names:
                    got = fired(n, heard)
                    pos[n][kind].append(int(action in got))
                    wrong_on_pos[n] += sum(a != action for a in got)
                    if n == "chosen" and action not in got:
                        misses.append(
                            f"{voice}/{speed}/noise={rms}: {phrase!r} → {[h.text for h in heard]}"
                        )

    neg_speech_s = 0.0
    neg_audio_start = costs.audio_s
    for vi, voice in enumerate(VOICES):
        for ni, sentence in enumerate(NEGATIVES):
            seed += 1
            speed = SPEEDS[(vi + ni) % len(SPEEDS)]
            rms = NOISE_RMS[(vi * 3 + ni) % len(NOISE_RMS)]
            speech = say(sentence, voice, speed)
            neg_speech_s += len(speech) / 24_000
            heard = listen(
                recs, noisy(concat(silence(0.4), speech, silence(1.0)), rms, seed), costs
            )
            for n in names:
                got = fired(n, heard)
                neg_false[n] += len(got)
                if got:
                    neg_examples[n].append(f"{voice}: {sentence!r} → {[h.text for h in heard]}")
    neg_audio_s = costs.audio_s - neg_audio_start

    def pct(xs: list[int]) -> float:
        return round(100.0 * sum(xs) / len(xs), 1) if xs else 0.0

    table = {}
    for n in names:
        table[n] = {
            "execute_recall_pct": pct(pos[n]["execute"]),
            "reply_recall_pct": pct(pos[n]["reply"]),
            "false_triggers_on_negatives": neg_false[n],
            "false_per_hour_of_speech": round(neg_false[n] * 3600.0 / neg_speech_s, 1),
            "wrong_action_on_positives": wrong_on_pos[n],
            "false_examples": neg_examples[n][:5],
        }
    result = {
        "voices": list(VOICES),
        "speeds": list(SPEEDS),
        "noise_rms": list(NOISE_RMS),
        "positives": {
            "execute": len(pos["chosen"]["execute"]),
            "reply": len(pos["chosen"]["reply"]),
        },
        "negatives": {
            "streams": len(VOICES) * len(NEGATIVES),
            "speech_s": round(neg_speech_s, 1),
            "audio_s": round(neg_audio_s, 1),
        },
        "policies": table,
        "chosen_misses": misses,
        "cost": {
            "recogniser_load_s": round(recs.load_seconds, 2),
            "audio_s": round(costs.audio_s, 1),
            "utterances": costs.utterances,
            "rtf_total": round(costs.wall_s / costs.audio_s, 3),
            "cpu_per_audio_s": round(costs.cpu_s / costs.audio_s, 3),
            "rtf_spotter": round(costs.spotter_s / costs.audio_s, 4),
            "whisper_s_per_utterance": round(costs.whisper_s / max(1, costs.utterances), 3),
        },
        "bench_wall_s": 0.0,
    }
    result["bench_wall_s"] = round(time.perf_counter() - began, 1)

    head = ("policy", "exec recall", "reply recall", "false/neg", "false/h speech")
    print(f"\n{head[0]:10} {head[1]:>11} {head[2]:>12} {head[3]:>9} {head[4]:>14}")
    for n in names:
        r = table[n]
        print(
            f"{n:10} {r['execute_recall_pct']:>10}% {r['reply_recall_pct']:>11}% "
            f"{r['false_triggers_on_negatives']:>9} {r['false_per_hour_of_speech']:>14}"
        )
    print("\ncost:", json.dumps(result["cost"]))
    print("negatives:", json.dumps(result["negatives"]))
    for m in misses:
        print("  missed (chosen):", m)
    for e in neg_examples["chosen"]:
        print("  false (chosen):", e)
    out = ROOT / "bench" / "results" / "triggers.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out} in {result['bench_wall_s']}s")


if __name__ == "__main__":
    main()
