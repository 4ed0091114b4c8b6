"""Fast, noisy recall of confirmations that name the action and of "execute plan"; sound-alikes.

Run: ``PYTHONPATH=. nice -n 10 .venv/bin/python bench/bench_confirm.py --set dev`` (one set at
a time, one process; each updates its own section of ``bench/results/triggers.json``):

* ``dev`` — :func:`bench.bench_triggers.dev_confirm`: the dev phrasings on the dev voices, fast
  (185 wpm) in room noise (15 dB SNR); looked at and tuned on.  Section ``dev_confirm``.
* ``dev_after`` — :func:`bench.bench_triggers.dev_confirm_after`: confirmations with a word
  after the action ("confirm stop now") on the dev voices.  Section ``dev_confirm_after``.
* ``held_out`` — :func:`bench.bench_triggers.held_out_confirm` (other phrasings, held-out
  voices; run once, after any tuning) and the held-out "confirm" alone, on the recordings the
  rule before named actions was measured on (it must now name nothing: the flow only tells the
  operator what to say).  Sections ``held_out_confirm`` and ``held_out_fast_noisy``.
* ``held_out_2`` — :func:`bench.bench_triggers.held_out_confirm_2`: a second held-out set
  (6 other voices × 8 other phrasings), written after the first had been seen.  Section
  ``held_out_confirm_2``.
* ``held_out_3`` — :func:`bench.bench_triggers.held_out_confirm_3`: a third held-out set (6
  other voices × 8 other phrasings), written before the glued "s" was measured.  Section
  ``held_out_confirm_3``.
* ``held_out_4`` — :func:`bench.bench_triggers.held_out_confirm_4`: a fourth held-out set (6
  other voices × 8 other phrasings, five with a word after the action), written before the
  words after the action were read as a tail.  Section ``held_out_confirm_4``.
* ``take_back`` — :func:`bench.bench_triggers.take_back`: confirmations taken back or put off
  by their last words ("confirm restart, no wait") and sound-alikes with an action and a word
  after it ("conform restart now"), on the fourth held-out voices: none may name an action.
  Section ``take_back``.
* ``take_back_2`` — :func:`bench.bench_triggers.take_back_2`: a second, larger set of answers
  that must name no action (24 × 6 other voices), written before it was first run.  Section
  ``take_back_2``.
* ``take_back_quiet`` — :func:`bench.bench_triggers.take_back_quiet`: 15 answers that must
  run nothing (denials before "confirm", answers taken back) on 12 voices in quiet at 185 and
  150 wpm.  Section ``take_back_quiet``.
* ``take_back_dev`` — what tiny.en writes for the words that take an answer back: "confirm
  <action>, <taking back>" for restart, remove and kill and every saying of
  :data:`voiceops.phrases.TAKING_BACK`, on the dev voices, fast in room noise; counts the words
  written right after the action word and the answers that named an action.  Section
  ``take_back_writings`` (why at most one word may follow the action:
  :func:`proxy.listen.answers.long_tail`).
* ``asked`` — :func:`bench.bench_triggers.asked_confirm`: "confirm <action>" exactly as the
  proxy asks, every action, on all held-out voices, in quiet at 175 wpm and fast in room
  noise.  Section ``asked_confirm``.
* ``dev_execute`` — :func:`bench.bench_triggers.dev_set`: "execute plan" and sentences that end
  on "plan" without asking for it, on the dev voices, fast in room noise (where the second look
  and the rivals of "execute plan" were tuned).  Section ``dev_fast_noisy``.
* ``clips`` — the trade-off of the forced reading's margin on isolated clips: "confirm restart"
  against the sound-alikes "conform restart" and "concern stop", 8 voices × 135/185 wpm ×
  espeak pitch 38/62 (32 clips each), through Opus and white noise.  A clip is *taken* when
  it fires CONFIRM naming an action; judged with no reading, margin 0 (shipped) and 0.5, on
  the same recordings.  Section ``confirm_margin_clips``.  The same for "confer reload" and
  "can firm restart" (the short replay's false confirmations), judged with and without "confer"
  read against "confirm": section ``confirm_action_clips``.
* ``separation`` — how well the recogniser itself tells "confirm" from its sound-alikes, with
  no rule in the way: "confirm <action>" and five sound-alikes with the same action ("conform",
  "can firm", "confer", "concern", "comfort"; restart, stop, reload, kill) said by the dev and
  held-out 2–4 voices, fast in room noise, through Opus.  Each clip is read (unprompted) as
  each of the six heads with its action; the margin is "confirm" over the likeliest
  sound-alike.  Reports, per threshold, the confirmations kept and the sound-alikes taken, and
  per voice whether any threshold keeps every confirmation and takes no sound-alike.  Section
  ``confirm_separation``.
* ``tail_clips`` — the same for sound-alikes with an action and a word after it ("confer kill
  now", "conform restart now", "concern stop then") and "confirm restart now", judged with and
  without the words after the action read as a tail.  Section ``confirm_tail_clips``.

Each set also reports the CPU of the decision pass and forced reading per heard "confirm" and
the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from bench.bench_triggers import (
    DEV_VOICES,
    HELD_OUT_2_VOICES,
    HELD_OUT_3_VOICES,
    HELD_OUT_4_VOICES,
    HELD_OUT_SNR_DB,
    HELD_OUT_SPEED,
    LONG_VOICES,
    RESULTS,
    Costs,
    asked_confirm,
    dev_confirm,
    dev_confirm_after,
    dev_set,
    hearing,
    held_out,
    held_out_confirm,
    held_out_confirm_2,
    held_out_confirm_3,
    held_out_confirm_4,
    listen,
    noisy,
    policies,
    spoken,
    take_back,
    take_back_2,
    take_back_quiet,
)
from client.audio import encode_pages
from proxy.listen.speech.audio import PageDecoder
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, TriggerPhrase
from proxy.relay.codec import Action
from tests.voices import concat, room_noise, say, silence
from voiceops.phrases import TAKING_BACK
from voiceops.words import words

#: The isolated clips: the confirmation, and sound-alikes that name an action.
CLIP_PHRASES = ("confirm restart", "conform restart", "concern stop")
#: Sound-alikes beside an action word that the short replay took for a confirmation, said as
#: isolated clips the same way (their own seeds): "confer" is read against "confirm" only since
#: they were measured; "can firm" is the very sounds of "confirm".
ACTION_CLIP_PHRASES = ("confer reload", "can firm restart")
#: Sound-alikes with an action and a word after it, said as isolated clips the same way (their
#: own seeds), and the confirmation they sound like: judged with and without the words after
#: the action read as a tail.
TAIL_CLIP_PHRASES = (
    "confirm restart now",
    "confer kill now",
    "conform restart now",
    "concern stop then",
)
#: The sound-alikes ``separation`` reads "confirm" against, and the actions said after them.
SEPARATION_HEADS = ("conform", "can firm", "confer", "concern", "comfort")
SEPARATION_ACTIONS = ("restart", "stop", "reload", "kill")
SEPARATION_THRESHOLDS = (-2.0, -1.0, 0.0, 0.5, 1.0, 2.0)
#: The actions ``take_back_dev`` says before each way of taking an answer back.
TAKE_BACK_DEV_ACTIONS = ("restart", "remove", "kill")
CLIP_SPEEDS = (135, 185)
CLIP_PITCHES = (38, 62)
CLIP_NOISE_RMS = 0.01
#: Margins of the forced reading judged on the clips (``None``: no reading).
MARGINS: tuple[float | None, ...] = (None, 0.0, 0.5)


def margin_rules() -> dict[str, tuple[TriggerPhrase, ...]]:
    """The shipped phrases with each margin of :data:`MARGINS` ("none": no reading)."""
    return {
        "none" if m is None else f"{m:g}": tuple(
            replace(p, rival_margin=m) for p in DEFAULT_PHRASES
        )
        for m in MARGINS
    }


def confer_rules() -> dict[str, tuple[TriggerPhrase, ...]]:
    """The shipped phrases, and with "confirm" read only against its decision pass's rivals."""
    unread = tuple(replace(p, rivals=p.decision_rivals or p.rivals) for p in DEFAULT_PHRASES)
    return {"without_confer": unread, "shipped": DEFAULT_PHRASES}


def clips(
    recs: Recognisers,
    costs: Costs,
    phrases: tuple[str, ...],
    seed: int,
    rules: dict[str, tuple[TriggerPhrase, ...]],
) -> dict[str, Any]:
    """Every clip of ``phrases``, what was heard, and the takes per rule."""
    taken = {rule: dict.fromkeys(phrases, 0) for rule in rules}
    heard_clips: list[dict[str, Any]] = []
    for voice in LONG_VOICES:
        for speed in CLIP_SPEEDS:
            for pitch in CLIP_PITCHES:
                for phrase in phrases:
                    seed += 1
                    audio = concat(silence(0.4), say(phrase, voice, speed, pitch), silence(1.0))
                    heard = listen(recs, noisy(audio, CLIP_NOISE_RMS, seed), costs)
                    took: dict[str, list[str | None]] = {}
                    for rule, rule_phrases in rules.items():
                        named = [
                            m.named
                            for h in heard
                            for m in h.matches(rule_phrases)
                            if m.action is Action.CONFIRM
                        ]
                        took[rule] = named
                        taken[rule][phrase] += any(n is not None for n in named)
                    heard_clips.append(
                        {
                            "said": phrase,
                            "voice": voice,
                            "speed": speed,
                            "pitch": pitch,
                            "confirm_named": took,
                            "heard": [hearing(h) for h in heard],
                        }
                    )
    per_phrase = len(LONG_VOICES) * len(CLIP_SPEEDS) * len(CLIP_PITCHES)
    return {
        "what": "isolated clips through Opus + white noise; taken = fires CONFIRM naming an "
        "action (the sound-alikes' takes are false confirmations, 'confirm restart' ones kept)",
        "voices": list(LONG_VOICES),
        "speeds": list(CLIP_SPEEDS),
        "pitches": list(CLIP_PITCHES),
        "noise_rms": CLIP_NOISE_RMS,
        "clips_per_phrase": per_phrase,
        "taken": taken,
        "clips": heard_clips,
    }


def separation(recs: Recognisers) -> dict[str, Any]:
    """The ``separation`` set: margins of "confirm" over its sound-alikes, read on each clip."""
    heads = ("confirm", *SEPARATION_HEADS)
    voices = (*DEV_VOICES, *HELD_OUT_2_VOICES, *HELD_OUT_3_VOICES, *HELD_OUT_4_VOICES)
    margins: dict[str, dict[str, list[float]]] = {}
    seed = 31000
    for voice in voices:
        per_head: dict[str, list[float]] = {h: [] for h in heads}
        for head in heads:
            for action in SEPARATION_ACTIONS:
                seed += 1
                speech = say(f"{head} {action}", voice, HELD_OUT_SPEED)
                audio = concat(silence(0.3), speech, silence(0.6))
                rms = float(np.sqrt(np.mean(speech**2)))
                decoder = PageDecoder()
                pages = encode_pages(room_noise(audio, rms, HELD_OUT_SNR_DB, seed))
                pcm = np.concatenate([decoder.push(page) for page in pages])
                texts = [f"{h.capitalize()} {action}." for h in heads]
                scores = recs.transcriber.score(pcm, texts, prompt=False)
                per_head[head].append(round(scores[0] - max(scores[1:]), 3))
        margins[voice] = per_head
        print(f"separation: {voice}", flush=True)
    said = [m for per_head in margins.values() for m in per_head["confirm"]]
    alike = {h: [m for ph in margins.values() for m in ph[h]] for h in SEPARATION_HEADS}
    by_threshold = {
        f"{t:g}": {
            "confirmations_kept_pct": round(100 * sum(m >= t for m in said) / len(said), 1),
            "sound_alikes_taken": {h: sum(m >= t for m in ms) for h, ms in alike.items()},
        }
        for t in SEPARATION_THRESHOLDS
    }
    top_alike = max(m for ms in alike.values() for m in ms)
    per_voice = {
        v: {
            "confirm_min": min(ph["confirm"]),
            "sound_alike_max": max(m for h in SEPARATION_HEADS for m in ph[h]),
        }
        for v, ph in margins.items()
    }
    return {
        "what": "forced reading (unprompted) of 'confirm <action>' against each sound-alike "
        "with the same action; margin = confirm minus the likeliest sound-alike (nats)",
        "voices": list(voices),
        "speed_wpm": HELD_OUT_SPEED,
        "snr_db": HELD_OUT_SNR_DB,
        "clips_per_head": len(said),
        "by_threshold": by_threshold,
        "confirmations_above_every_sound_alike": sum(m > top_alike for m in said),
        "voices_separable": sum(
            pv["confirm_min"] > pv["sound_alike_max"] for pv in per_voice.values()
        ),
        "per_voice": per_voice,
        "margins": margins,
    }


def take_back_writings(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """The ``take_back_dev`` set: the words tiny.en wrote right after the action word for each
    way of taking an answer back, and the answers taken for a confirmation naming an action,
    with and without the words after the action read as a tail."""
    written: Counter[str] = Counter()
    rules = tail_rules()
    named: dict[str, list[str]] = {rule: [] for rule in rules}
    texts: dict[str, list[str]] = {}
    seed = 16000
    for voice in DEV_VOICES:
        for action in TAKE_BACK_DEV_ACTIONS:
            for back in TAKING_BACK:
                seed += 1
                said = f"confirm {action}, {back}"
                heard = listen(recs, spoken(said, voice, seed), costs)
                text = " ".join(h.text for h in heard)
                texts.setdefault(said, []).append(text)
                got = words(text)
                if action in got:
                    written.update(got[got.index(action) + 1 :])
                for rule, rule_phrases in rules.items():
                    runs = [m.named for h in heard for m in h.matches(rule_phrases) if m.named]
                    if runs:
                        named[rule].append(f"{voice}: {said!r} → {text!r} ({runs[0]})")
    return {
        "voices": list(DEV_VOICES),
        "speed_wpm": HELD_OUT_SPEED,
        "snr_db": HELD_OUT_SNR_DB,
        "written_after_action": dict(written.most_common()),
        "named_an_action": named,
        "texts": texts,
    }


def tail_rules() -> dict[str, tuple[TriggerPhrase, ...]]:
    """The shipped phrases, and with the words after the action read only as the action."""
    return {
        "no_tail": policies()["no_tail"],
        "shipped": DEFAULT_PHRASES,
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--set",
        choices=(
            "dev",
            "dev_after",
            "held_out",
            "held_out_2",
            "held_out_3",
            "held_out_4",
            "take_back",
            "take_back_2",
            "take_back_dev",
            "take_back_quiet",
            "asked",
            "dev_execute",
            "clips",
            "tail_clips",
            "separation",
        ),
        required=True,
    )
    args = parser.parse_args()
    recs = Recognisers.load(DEFAULT_SETTINGS)
    costs = Costs()
    before, began, cpu = load(), time.perf_counter(), time.process_time()
    sections: dict[str, dict[str, Any]] = {}
    if args.set == "dev":
        sections["dev_confirm"] = dev_confirm(recs, costs)
    elif args.set == "held_out_3":
        sections["held_out_confirm_3"] = held_out_confirm_3(recs, costs)
    elif args.set == "held_out_4":
        sections["held_out_confirm_4"] = held_out_confirm_4(recs, costs)
    elif args.set == "take_back":
        sections["take_back"] = take_back(recs, costs)
    elif args.set == "take_back_2":
        sections["take_back_2"] = take_back_2(recs, costs)
    elif args.set == "take_back_quiet":
        sections["take_back_quiet"] = take_back_quiet(recs, costs)
    elif args.set == "take_back_dev":
        sections["take_back_writings"] = take_back_writings(recs, costs)
    elif args.set == "dev_after":
        sections["dev_confirm_after"] = dev_confirm_after(recs, costs)
    elif args.set == "asked":
        sections["asked_confirm"] = asked_confirm(recs, costs)
    elif args.set == "dev_execute":
        sections["dev_fast_noisy"] = dev_set(recs, costs)
    elif args.set == "held_out":
        sections["held_out_confirm"] = held_out_confirm(recs, costs)
        sections["held_out_fast_noisy"] = held_out(recs, costs)
    elif args.set == "held_out_2":
        sections["held_out_confirm_2"] = held_out_confirm_2(recs, costs)
    elif args.set == "separation":
        sections["confirm_separation"] = separation(recs)
    elif args.set == "tail_clips":
        sections["confirm_tail_clips"] = clips(recs, costs, TAIL_CLIP_PHRASES, 14000, tail_rules())
    else:
        sections["confirm_margin_clips"] = clips(recs, costs, CLIP_PHRASES, 12000, margin_rules())
        sections["confirm_action_clips"] = clips(
            recs, costs, ACTION_CLIP_PHRASES, 13000, confer_rules()
        )
    cost = {
        "load_before": before,
        "load_after": load(),
        "wall_s": round(time.perf_counter() - began, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "audio_s": round(costs.audio_s, 1),
        "utterances": costs.utterances,
        "heard_confirms": costs.rechecks,
        **costs.per_pass(),
        "whisper_threads": DEFAULT_SETTINGS.whisper_threads,
        "nice": os.nice(0),
    }
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name, section in sections.items():
        results[name] = {**section, "run": cost}
        print(f"{name}:", json.dumps({k: v for k, v in section.items() if k != "clips"}, indent=1))
    print("cost:", json.dumps(cost))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
