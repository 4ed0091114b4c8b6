"""Trigger recall, false triggers per hour and recogniser cost, on generated espeak-ng speech.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_triggers.py`` (≈2–3 min on 2 cores).  Prints a
table and writes ``bench/results/triggers.json``.

Every stream is client audio as the proxy sees it (24 kHz → Ogg/Opus pages → decode → 16 kHz),
run through the real pocketsphinx keyphrase spotter, the VAD (``--vad``, default Silero) and
faster-whisper tiny.en.  Each utterance's (Whisper text, spotted keyphrases) is recorded once;
the decision policies are then compared on the same recordings:

* ``text``       — the phrase as consecutive whole words in the Whisper text;
* ``keyphrase``  — the pocketsphinx spotter alone;
* ``both``       — spotter hit confirmed by the text;
* ``previous``   — the default before issue 15: text, plus spotter alone for short replies;
* ``round1``     — issue 15's first rule: as ``previous``, but "confirm" must be heard twice
  (text pass sure of itself, and a decision pass among its rivals agrees; never the spotter
  alone); the decision pass's hotword list had no full stop;
* ``round2``     — as ``round1``, the list ends with a full stop, and "cancel" needs a sure
  text pass too (same floor; no decision pass, never the spotter alone);
* ``no_second_look`` — as ``chosen`` below, without the second look at a missed "execute plan";
* ``unnamed``    — as ``chosen``, but "confirm" names no action (the rule before it had to):
  as ``round2``; "confirm" must also read likelier than each rival (unprompted, teacher-forced
  reading); a sure "cancel" first in a reply of at most three words cancels whatever follows
  ("cancel net": tiny.en's "cancel that"); when the text ends on "plan" (or the spotter heard
  "execute plan") but missed the phrase, Whisper scores the text with its last words replaced
  by "execute plan" (the second look);
* ``unread_execute`` — as ``chosen``, but "execute plan" is not read against its rivals
  (every rule above reads none either);
* ``chosen``     — the shipped default: as ``unnamed``, "execute plan" (written by the text
  pass or put there by the second look) must read likelier than its sound-alikes ("exit
  plan", "explain plan"…), and a confirmation that runs a command
  names its action ("confirm restart": both passes hear the same action word right after
  "confirm"); a "confirm" naming none still matches (``TriggerMatch.named`` is ``None``), and
  the flow answers it with what to say (a hint), so it is counted here although it runs
  nothing.  Historical rules (``previous`` … ``round2``) had no action words either.

A held-out set (voices and sentences never used to tune anything) says "execute plan" and
"confirm" fast (185 wpm) in steady room noise (pink noise at 15 dB SNR).  A dev set of the same
kind (other voices and sentences, plus sentences that end on "plan" without asking for it) is
where the second look was tuned.

The quick negatives above are only ≈5 minutes of speech.  ``--negative-minutes M`` adds a long
negative run (≈10–20 min on 2 cores for M=60): about M minutes of generated, deterministic
(fixed seed) non-trigger ops conversation — sentences from templates × vocabulary, near-misses
("we will execute the plan tomorrow", "I can't confirm that yet"), questions, short replies and
short sound-alikes ("console", "explain plan"), 8 voices × 3 speeds, clean and noisy, with
pauses between utterances — streamed as client 0x01 messages through the proxy's own
:class:`SpeechPipeline` in a pool of ``--workers`` processes.  Every ``TriggerHeard`` is false;
they are counted per action per hour of speech and written to the ``long_negatives`` section.
``--long-only`` skips the quick run (the other sections of the results file are kept); a quick
run alone keeps the file's previous ``long_negatives`` section.  The short utterances of many
hours of the same script (where every false reply came from) are replayed by
``bench/bench_short_replay.py`` into the ``short_replay`` section.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from client.audio import Pcm, encode_pages
from proxy.listen.answers import glued
from proxy.listen.readings import rival_texts
from proxy.listen.second_look import second_look_texts, wants_second_look
from proxy.listen.speech.audio import PageDecoder
from proxy.listen.speech.events import TapEvent, TriggerHeard
from proxy.listen.speech.pipeline import SpeechPipeline
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS, VAD_KINDS
from proxy.listen.transcript import Transcript
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, TriggerPhrase
from proxy.listen.triggers import TriggerMatch, match_utterance
from proxy.relay.codec import Action, Kind
from tests.voices import concat, room_noise, say, silence
from voiceops.words import contains_words, words

ROOT = Path(__file__).resolve().parents[1]  # the repository
#: Where the trigger figures go (each bench writes its own sections; a non-default VAD's run
#: writes ``triggers_<vad>.json`` beside it).
RESULTS = ROOT / "bench" / "results" / "triggers.json"
EXECUTE = next(p for p in DEFAULT_PHRASES if p.action is Action.EXECUTE)
CONFIRM = next(p for p in DEFAULT_PHRASES if p.action is Action.CONFIRM)

VOICES = ("en-us", "en", "en-gb-x-rp", "en-us+f3", "en-us+m3", "en-029")
SPEEDS = (135, 175)
NOISE_RMS = (0.0, 0.01)  # clean, and white noise ≈ -40 dBFS (≈20 dB below espeak speech)

EXECUTE_PHRASINGS = (
    ("", "execute plan"),
    ("", "okay, execute plan"),
    ("please restart nginx on web two", "execute plan"),
)
#: Replies: the words, the action, and the action a confirmation names (it runs only a
#: command of that action: "confirm" alone runs nothing, so it is not among the replies).
REPLY_PHRASINGS: tuple[tuple[str, Action, str | None], ...] = (
    ("confirm restart", Action.CONFIRM, "restart"),
    ("yes, confirm stop", Action.CONFIRM, "stop"),
    ("cancel", Action.CANCEL, None),
    ("cancel that", Action.CANCEL, None),
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
    """One utterance as recorded: the Whisper text (and its confidence), the keyphrases
    spotted in it, and the decision passes' texts by hotwords (short utterances only)."""

    text: str
    spotted: tuple[str, ...]
    end: float
    logprob: float = 0.0
    rechecked: dict[str, str] | None = None
    rescored: dict[str, float] | None = None
    scores: dict[str, float] | None = None  # forced readings, where a decision pass ran

    def recheck(self, hotwords: str, once: bool = False) -> str:
        return (self.rechecked or {}).get(hotwords, "")

    def rescore(self, texts: Sequence[str]) -> list[float]:
        """The second look as recorded (empty when it was not taken)."""
        got = self.rescored or {}
        return [got[t] for t in texts] if all(t in got for t in texts) else []

    def rivalry(self, texts: Sequence[str]) -> list[float]:
        """The unprompted readings as recorded (empty when none were taken)."""
        got = self.scores or {}
        return [got[t] for t in texts] if all(t in got for t in texts) else []

    def recheck_unstopped(self, hotwords: str, once: bool = False) -> str:
        """The decision pass as ``round1`` ran it: the hotword list without its full stop."""
        return self.recheck(hotwords.removesuffix("."))

    def matches(
        self, phrases: Sequence[TriggerPhrase], *, unstopped: bool = False
    ) -> list[TriggerMatch]:
        """What ``phrases`` match in this utterance as recorded (``unstopped``: with
        ``round1``'s decision pass)."""
        return match_utterance(
            self.text,
            self.spotted,
            phrases,
            self.end,
            logprob=self.logprob,
            recheck=self.recheck_unstopped if unstopped else self.recheck,
            rescore=self.rescore,
            rivalry=self.rivalry,
        )


#: Held-out: voices, phrasings and noise never used to choose a threshold or a rule.
HELD_OUT_VOICES = ("en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us+f4", "en+m4")
HELD_OUT_SPEED = 185
HELD_OUT_SNR_DB = 15.0
HELD_OUT_EXECUTE = (
    ("", "execute plan"),
    ("", "alright, execute plan"),
    ("check the memory on the database host", "execute plan"),
    ("show me the last fifty lines of the nginx log", "execute plan"),
    ("how full is the root partition", "okay then, execute plan"),
    ("restart redis on cache one", "execute plan"),
    ("list the running containers", "good, execute plan"),
    ("what is the uptime of this box", "execute plan"),
)
#: Confirmations that name the action ("confirm restart"), with the action named; none of
#: these phrasings is in :data:`DEV_CONFIRM`.
HELD_OUT_CONFIRM = (
    ("confirm stop", "stop"),
    ("confirm restart, please", "restart"),
    ("yes, confirm reload", "reload"),
    ("okay, confirm kill", "kill"),
    ("confirm remove", "remove"),
    ("sure, confirm start", "start"),
    ("alright, confirm restart", "restart"),
    ("confirm stop now", "stop"),
)
#: A second held-out set of confirmations, written and first run after the object pass was
#: chosen (the first set had been seen by then): other voices, other phrasings.
HELD_OUT_2_VOICES = (
    "en-us+m1", "en-us+m7", "en+f1", "en-us+f1", "en-gb-x-gbclan+m2", "en-029+f2",
)  # fmt: skip
HELD_OUT_2_CONFIRM = (
    ("confirm restart now", "restart"),
    ("okay, confirm stop", "stop"),
    ("yes, confirm remove", "remove"),
    ("confirm reload, please", "reload"),
    ("confirm kill", "kill"),
    ("alright, confirm start", "start"),
    ("confirm stop, please", "stop"),
    ("sure, confirm reload", "reload"),
)
#: A third held-out set, written before the glued "s" and the unsure report were measured
#: (the first two had been seen): other voices, other phrasings; run once, at the end.
HELD_OUT_3_VOICES = (
    "en-us+m2",
    "en-us+m6",
    "en+f4",
    "en-gb-x-rp+f5",
    "en-gb-x-gbcwmd+m3",
    "en+Andy",
)
HELD_OUT_3_CONFIRM = (
    ("yes, confirm restart", "restart"),
    ("confirm remove, please", "remove"),
    ("okay, confirm reload", "reload"),
    ("confirm start now", "start"),
    ("alright, confirm kill", "kill"),
    ("sure, confirm stop", "stop"),
    ("confirm restart then", "restart"),
    ("confirm kill now", "kill"),
)
#: A fourth held-out set, written before the reading of the words after the action (the first
#: three had been seen): other voices, other phrasings, five of eight with a word after the
#: action; run once, at the end.
HELD_OUT_4_VOICES = (
    "en-us+m8", "en+f2", "en-gb-x-rp+m6", "en+Alex", "en+Annie", "en-gb-x-gbclan+f5",
)  # fmt: skip
HELD_OUT_4_CONFIRM = (
    ("confirm reload now", "reload"),
    ("yes, confirm kill", "kill"),
    ("confirm remove then", "remove"),
    ("okay, confirm restart please", "restart"),
    ("confirm stop then", "stop"),
    ("alright, confirm reload", "reload"),
    ("sure, confirm start now", "start"),
    ("confirm kill please", "kill"),
)
#: Answers that must run nothing, said on the fourth held-out voices: a confirmation taken back
#: or put off by the words after its action, and sound-alikes of "confirm" with an action and a
#: word after it.  Written with the fourth held-out set.
TAKE_BACK = (
    "confirm restart, no wait",
    "confirm stop later",
    "confirm kill? no",
    "confirm remove tomorrow",
    "confirm reload, not now",
    "confirm start, no",
    "confirm stop, hold on",
    "confirm restart never",
    "conform restart now",
    "concern stop then",
    "comfort reload please",
    "confer kill now",
)
#: A second, larger set of answers that must run nothing, written before it was first run (the
#: first had been seen): other endings that take an answer back or put it off ("nope",
#: "actually no", "no thanks"), "confirm" denied before it, and other sound-alikes with an action
#: and a word after it; on six voices no other set uses.
TAKE_BACK_2_VOICES = (
    "en-us+Denis", "en+Lee", "en-gb-x-rp+Linda", "en-us+Steph", "en+Robert", "en-gb-scotland+Zac",
)  # fmt: skip
TAKE_BACK_2 = (
    "confirm stop, not yet",
    "confirm reload? no",
    "confirm remove, wait",
    "confirm kill later",
    "confirm restart tomorrow",
    "confirm start, never mind",
    "confirm stop? not now",
    "confirm reload, hold on",
    "confirm restart? nope",
    "confirm kill, actually no",
    "confirm remove, no thanks",
    "yes, confirm start, no wait",
    "confirm restart, not yet",
    "okay, confirm stop, no",
    "don't confirm restart",
    "do not confirm kill",
    "never confirm remove",
    "conform stop now",
    "confer restart please",
    "concern kill then",
    "comfort remove now",
    "control restart now",
    "conference reload now",
    "can form stop then",
)
#: "confirm" alone (the held-out confirmations of the rule before actions were named): it must
#: now be heard as a confirmation that names nothing, which runs nothing and tells the operator
#: what to say.
HELD_OUT_BARE_CONFIRM = ("confirm", "yes, confirm", "okay, confirm", "confirm please")
#: Dev set of the second look at a missed "execute plan" (tuned here, never on the held-out).
DEV_VOICES = ("en-us+f2", "en-us+f5", "en+f3", "en-gb-scotland", "en-us+m5", "en-us-nyc")
DEV_EXECUTE = (
    ("", "execute plan"),
    ("", "okay, execute plan"),
    ("", "right, execute plan"),
    ("restart nginx on web two", "execute plan"),
    ("check the disk space on the backup server", "execute plan"),
    ("is the cron service running", "then execute plan"),
    ("show me the running processes", "okay so execute plan"),
    ("how much memory is free on db three", "yes, execute plan"),
)
#: Dev set of the confirmations that name the action (looked at and tuned on).
DEV_CONFIRM = (
    ("confirm restart", "restart"),
    ("yes, confirm stop", "stop"),
    ("okay, confirm remove", "remove"),
    ("confirm kill, please", "kill"),
    ("confirm reload", "reload"),
    ("confirm start", "start"),
)
#: Dev set of confirmations with a word after the action ("now", "then"), which tiny.en
#: mishears ("confirm, start to how"), as the third held-out set showed: 8 of 36 kept.  Tried
#: and dropped on it: the object pass for such words (8), the two words after "confirm" read
#: as an action and a closing word (7): the greedy "how" reads likelier than "now" too.
DEV_CONFIRM_AFTER = (
    ("confirm stop now", "stop"),
    ("confirm restart then", "restart"),
    ("okay, confirm kill now", "kill"),
    ("confirm reload now", "reload"),
    ("confirm remove then", "remove"),
    ("yes, confirm start now", "start"),
)
#: Sentences ending on "plan" that ask for nothing (where a second look could put words in).
DEV_PLAN_NEGATIVES = (
    "that's a good plan",
    "explain plan",
    "the plan",
    "what is the plan",
    "then we execute the plan",
    "the execution plan",
    "sounds like a good plan",
    "okay, that is the plan",
)


@dataclass
class Costs:
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    spotter_s: float = 0.0
    whisper_s: float = 0.0
    recheck_s: float = 0.0
    recheck_cpu_s: float = 0.0  # decision pass + forced reading (round1's pass not counted)
    rechecks: int = 0
    second_look_cpu_s: float = 0.0
    second_looks: int = 0
    execute_reading_cpu_s: float = 0.0
    execute_readings: int = 0
    utterances: int = 0

    def per_pass(self) -> dict[str, float]:
        """What each check beyond the text pass cost: the decision pass + forced readings per
        heard "confirm", and the reading per "execute plan" (CPU seconds)."""
        return {
            "decision_pass_and_reading_cpu_s_each": round(
                self.recheck_cpu_s / max(1, self.rechecks), 3
            ),
            "execute_readings": self.execute_readings,
            "execute_reading_cpu_s_each": round(
                self.execute_reading_cpu_s / max(1, self.execute_readings), 3
            ),
        }


def hear(recs: Recognisers, pcm: Pcm, end: float, near: tuple[str, ...], costs: Costs) -> Heard:
    """One utterance heard as the proxy hears it (text pass; decision pass and forced reading
    where the text holds a phrase with rivals; second look), with the keyphrases ``near`` it."""
    t = time.perf_counter()
    got = recs.transcriber.hear(pcm)
    costs.whisper_s += time.perf_counter() - t
    costs.utterances += 1
    rechecked: dict[str, str] = {}
    scores: dict[str, float] = {}

    def reading(texts: Sequence[str]) -> list[float]:
        # Whatever the shipped rule reads (the action after "confirm", the rivals of "execute
        # plan"), recorded.
        new = [t for t in dict.fromkeys(texts) if t not in scores]
        if new:
            scores.update(zip(new, recs.transcriber.score(pcm, new, prompt=False), strict=True))
        return [scores[t] for t in texts]

    for p in DEFAULT_PHRASES:
        said = words(got.text)
        holds = glued(p, said) or any(contains_words(said, w) for w in p.spellings)
        if p.decision_rivals and p.fits(said) and holds:
            t, c = time.perf_counter(), time.process_time()
            rechecked[p.decision_hotwords] = recs.transcriber.hear(pcm, p.decision_hotwords).text
            reading(rival_texts(got.text, p.written, p.rivals))

            def again(hotwords: str, once: bool = False) -> str:
                # Whatever else the shipped rule hears (the object pass), recorded.
                if hotwords not in rechecked:
                    rechecked[hotwords] = recs.transcriber.hear(pcm, hotwords, once=once).text
                return rechecked[hotwords]

            match_utterance(
                got.text, near, (p,), end, logprob=got.logprob, recheck=again, rivalry=reading
            )
            costs.recheck_s += time.perf_counter() - t
            costs.recheck_cpu_s += time.process_time() - c
            costs.rechecks += 1
            if p.action is Action.CONFIRM:  # round1's decision pass, for the comparison
                unstopped = p.decision_hotwords.removesuffix(".")
                rechecked[unstopped] = recs.transcriber.hear(pcm, unstopped).text
    rescored: dict[str, float] = {}
    if wants_second_look(EXECUTE, words(got.text), [words(n) for n in near]):
        texts = second_look_texts(EXECUTE, got.text)
        t = time.process_time()
        rescored = dict(zip(texts, recs.transcriber.score(pcm, texts), strict=False))
        costs.second_look_cpu_s += time.process_time() - t
        costs.second_looks += 1
    # "execute plan" read against its rivals where the shipped rule asks (the text pass wrote
    # it, or the second look put it there), recorded.
    c, before = time.process_time(), len(scores)
    match_utterance(
        got.text, near, (EXECUTE,), end,
        rescore=lambda texts: [rescored[t] for t in texts if t in rescored], rivalry=reading,
    )  # fmt: skip
    if len(scores) > before:
        costs.execute_reading_cpu_s += time.process_time() - c
        costs.execute_readings += 1
    return Heard(got.text, near, end, got.logprob, rechecked, rescored, scores)


def listen(recs: Recognisers, audio: Pcm, costs: Costs) -> list[Heard]:
    """Run one stream through decode → spotter + VAD → Whisper; record each utterance."""
    pages = encode_pages(audio)
    wall, cpu = time.perf_counter(), time.process_time()
    decoder, vad, spotter = PageDecoder(), recs.vad(), recs.spotter()
    hits: list[tuple[str, float]] = []
    heard: list[Heard] = []

    def utterance(pcm: Pcm, start: float, end: float) -> None:
        near = tuple(p for p, at in hits if start - 0.5 <= at <= end + 0.5)
        heard.append(hear(recs, pcm, end, near, costs))

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
    no_second_look = tuple(replace(p, second_look=0) for p in DEFAULT_PHRASES)
    # Every rule before this one read "execute plan" against no rival.
    unread_execute = tuple(
        replace(p, rival_margin=None) if p.action is Action.EXECUTE else p for p in DEFAULT_PHRASES
    )
    # ... and read "confirm" only against the rivals its decision pass lists (not "confer").
    unnamed = tuple(
        replace(p, objects=(), rivals=p.decision_rivals or p.rivals) for p in unread_execute
    )
    round2 = tuple(replace(p, lead_max_words=None, rival_margin=None) for p in unnamed)
    before = tuple(replace(p, second_look=0) for p in round2)
    previous = tuple(
        replace(
            p,
            keyphrase_alone=p.action is not Action.EXECUTE,
            min_logprob=None,
            rivals=(),
            decision_rivals=(),
        )
        for p in before
    )
    text_only = tuple(replace(p, keyphrase_alone=False) for p in previous)
    round1 = tuple(
        replace(p, keyphrase_alone=True, min_logprob=None) if p.action is Action.CANCEL else p
        for p in before
    )
    # The words after the action were read only as the action (not as it and a tail).
    no_tail = tuple(replace(p, tails=()) for p in DEFAULT_PHRASES)
    return {
        "text": text_only,
        "previous": previous,
        "round1": round1,
        "no_second_look": no_second_look,
        "round2": round2,
        "unnamed": unnamed,
        "unread_execute": unread_execute,
        "no_tail": no_tail,
        "chosen": DEFAULT_PHRASES,
    }


#: An action fired, and the action a confirmation named ("restart"; ``None``: none, or not a
#: confirmation).
Fired = tuple[Action, str | None]


def fired(policy: str, heard: list[Heard]) -> list[Action]:
    """Actions fired over a stream under one policy (each action at most once per utterance)."""
    return [action for action, _ in fired_named(policy, heard)]


def fired_named(policy: str, heard: list[Heard]) -> list[Fired]:
    """:func:`fired`, each with the action a confirmation named (the spotter names none)."""
    actions: list[Fired] = []
    for h in heard:
        if policy in policies():
            phrases = policies()[policy]
            actions += [
                (m.action, m.named) for m in h.matches(phrases, unstopped=policy == "round1")
            ]
            continue
        for p in DEFAULT_PHRASES:
            by_spotter = p.phrase in h.spotted
            by_text = match_utterance(h.text, (), (replace(p, keyphrase_alone=False),), 0)
            if policy == "keyphrase" and by_spotter:
                actions.append((p.action, None))
            elif policy == "both" and by_spotter and by_text:
                actions.append((p.action, by_text[0].named))
    return actions


#: A clip of the fast, noisy sets: words before the phrase (a pause between), the phrase, and
#: what it must fire (``None``: nothing; a CONFIRM names the action in the second place).
Item = tuple[str, str, Fired | None]


def row(want: Fired) -> str:
    """The recall row of a wanted firing: the action, or whether a confirmation names one."""
    action, named = want
    if action is not Action.CONFIRM:
        return action.name
    return "CONFIRM" if named is not None else "CONFIRM_alone"


def read_margin(h: Heard, p: TriggerPhrase, text: str) -> tuple[float | None, str | None]:
    """How much likelier ``text`` read than with its likeliest rival in place of ``p`` (nats),
    and that rival's text, as recorded (``None``: not read)."""
    texts = rival_texts(text, p.written, p.rivals)
    read = h.rivalry(texts) if len(texts) > 1 else []
    if not read:
        return None, None
    best = max(read[1:])
    return round(read[0] - best, 3), texts[1 + read[1:].index(best)]


def hearing(h: Heard) -> dict[str, Any]:
    """What each pass heard in one utterance: the text pass (and its confidence), the decision
    pass and the forced readings' margins (the text over its likeliest rival, nats; for
    "execute plan", the second look's likeliest text where the text pass missed it)."""
    margin, rival = read_margin(h, CONFIRM, h.text)
    looked = sorted((s, t) for t, s in (h.rescored or {}).items() if t != h.text)
    execute, execute_rival = read_margin(h, EXECUTE, looked[-1][1] if looked else h.text)
    return {
        "text": h.text,
        "logprob": round(h.logprob, 3),
        "decision": h.recheck(CONFIRM.decision_hotwords) if h.rechecked else None,
        "margin": margin,
        "rival": rival,
        "execute_margin": execute,
        "execute_rival": execute_rival,
    }


def spoken(
    phrase: str,
    voice: str,
    seed: int,
    *,
    ctx: str = "",
    speed: int = HELD_OUT_SPEED,
    snr_db: float | None = HELD_OUT_SNR_DB,
) -> Pcm:
    """``phrase`` said by ``voice`` after a pause (and after ``ctx`` and a pause, if given),
    then a pause, in steady room noise ``snr_db`` below the phrase (``None``: in quiet)."""
    speech = say(phrase, voice, speed)
    parts = [silence(0.6)]
    if ctx:
        parts += [say(ctx, voice, speed), silence(0.9)]
    audio = concat(*parts, speech, silence(1.0))
    if snr_db is None:
        return audio
    return room_noise(audio, float(np.sqrt(np.mean(speech**2))), snr_db, seed)


def fast_noisy(
    recs: Recognisers,
    costs: Costs,
    voices: Sequence[str],
    items: Sequence[Item],
    seed: int,
    *,
    speed: int = HELD_OUT_SPEED,
    snr_db: float | None = HELD_OUT_SNR_DB,
) -> dict[str, Any]:
    """Recall (and false EXECUTEs, for items that want nothing) of every policy on ``items``
    said by each voice fast and in steady room noise (``speed`` wpm, ``snr_db``; ``None``: in
    quiet).  A confirmation is recalled only when it
    names the action it was said with ("confirm restart" → CONFIRM, "restart")."""
    rows: dict[str, dict[str, list[int]]] = {}
    misses: list[dict[str, Any]] = []
    false: dict[str, list[str]] = {}
    for voice in voices:
        for ctx, phrase, want in items:
            seed += 1
            audio = spoken(phrase, voice, seed, ctx=ctx, speed=speed, snr_db=snr_db)
            heard = listen(recs, audio, costs)
            for n in policies():
                got = fired_named(n, heard)
                if want is None:
                    for action, wrong in (
                        (Action.EXECUTE, Action.EXECUTE in (a for a, _ in got)),
                        (Action.CONFIRM, any(a is Action.CONFIRM and o for a, o in got)),
                    ):
                        counts = rows.setdefault(n, {}).setdefault(f"false_{action.name}", [])
                        counts.append(int(wrong))
                        if wrong:
                            told = f"{voice}: {phrase!r} → {heard[-1].text!r} ({action.name})"
                            false.setdefault(n, []).append(told)
                    continue
                rows.setdefault(n, {}).setdefault(row(want), []).append(int(want in got))
                if n == "chosen" and want not in got:
                    misses.append(
                        {
                            "voice": voice,
                            "said": phrase,
                            "fired": [[a.name, named] for a, named in got],
                            "heard": [hearing(h) for h in heard],
                        }
                    )
    return {
        "voices": list(voices),
        "speed_wpm": speed,
        "snr_db": snr_db,
        "noise": "pink (1/f), steady",
        "recall_pct": {
            n: {
                a: round(100.0 * sum(v) / len(v), 1)
                for a, v in d.items()
                if not a.startswith("false_")
            }
            for n, d in rows.items()
        },
        "false_execute": {n: sum(d.get("false_EXECUTE", [])) for n, d in rows.items()},
        "false_named_confirm": {n: sum(d.get("false_CONFIRM", [])) for n, d in rows.items()},
        "counts": {a: len(v) for a, v in rows["chosen"].items()},
        "recalled": {a: sum(v) for a, v in rows["chosen"].items() if not a.startswith("false_")},
        "chosen_misses": misses,
        "false_examples": false,
    }


def confirmations(said: Sequence[tuple[str, str]]) -> list[Item]:
    """Items of confirmations said alone, each wanting CONFIRM naming its action."""
    return [("", phrase, (Action.CONFIRM, named)) for phrase, named in said]


def held_out(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """Execute recall, fast and in room noise, on voices and phrasings never tuned on, and
    "confirm" alone (the same recordings as before confirmations named the action): heard as a
    confirmation that names nothing."""
    items: list[Item] = [(ctx, ph, (Action.EXECUTE, None)) for ctx, ph in HELD_OUT_EXECUTE]
    items += [("", ph, (Action.CONFIRM, None)) for ph in HELD_OUT_BARE_CONFIRM]
    return fast_noisy(recs, costs, HELD_OUT_VOICES, items, 7000)


def held_out_confirm(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """Confirmations that name the action, fast and in room noise, on the held-out voices and
    phrasings never tuned on (run once, after any tuning on :func:`dev_confirm`)."""
    return fast_noisy(recs, costs, HELD_OUT_VOICES, confirmations(HELD_OUT_CONFIRM), 7500)


def held_out_confirm_2(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """The second held-out set of confirmations (:data:`HELD_OUT_2_CONFIRM`), run once."""
    return fast_noisy(recs, costs, HELD_OUT_2_VOICES, confirmations(HELD_OUT_2_CONFIRM), 7800)


def held_out_confirm_3(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """The third held-out set of confirmations (:data:`HELD_OUT_3_CONFIRM`), run once."""
    return fast_noisy(recs, costs, HELD_OUT_3_VOICES, confirmations(HELD_OUT_3_CONFIRM), 8100)


def held_out_confirm_4(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """The fourth held-out set of confirmations (:data:`HELD_OUT_4_CONFIRM`), run once."""
    return fast_noisy(recs, costs, HELD_OUT_4_VOICES, confirmations(HELD_OUT_4_CONFIRM), 8800)


def take_back(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """:data:`TAKE_BACK` on the fourth held-out voices, fast in room noise: every CONFIRM that
    names an action is false (``false_named_confirm``)."""
    return fast_noisy(recs, costs, HELD_OUT_4_VOICES, [("", ph, None) for ph in TAKE_BACK], 8900)


#: Answers that must run nothing, said in quiet at two speeds (written after the second
#: take-back set, run first on the code of the start of this set's stop).
TAKE_BACK_QUIET_VOICES = (*VOICES, *TAKE_BACK_2_VOICES)
TAKE_BACK_QUIET = (
    "don't confirm restart", "do not confirm stop", "I can't confirm kill",
    "never confirm remove", "no, don't confirm reload", "won't confirm restart",
    "cannot confirm stop", "confirm restart? no", "confirm stop, no wait", "confirm kill later",
    "confirm remove, not now", "confirm reload, wait", "confirm restart, nope",
    "confirm start, hold on", "confirm stop, not yet",
)  # fmt: skip
TAKE_BACK_QUIET_SPEEDS = (185, 150)


def take_back_quiet(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """:data:`TAKE_BACK_QUIET` on :data:`TAKE_BACK_QUIET_VOICES` in quiet, at each of
    :data:`TAKE_BACK_QUIET_SPEEDS`: every CONFIRM that names an action is false."""
    items: list[Item] = [("", ph, None) for ph in TAKE_BACK_QUIET]
    return {
        f"{speed}_wpm": fast_noisy(
            recs, costs, TAKE_BACK_QUIET_VOICES, items, 17000, speed=speed, snr_db=None
        )
        for speed in TAKE_BACK_QUIET_SPEEDS
    }


def take_back_2(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """:data:`TAKE_BACK_2` on :data:`TAKE_BACK_2_VOICES`, fast in room noise: every CONFIRM that
    names an action is false (``false_named_confirm``)."""
    items: list[Item] = [("", ph, None) for ph in TAKE_BACK_2]
    return fast_noisy(recs, costs, TAKE_BACK_2_VOICES, items, 15000)


#: "confirm <action>" exactly as the proxy asks for it, on every held-out voice.
ASKED_VOICES = (*HELD_OUT_VOICES, *HELD_OUT_2_VOICES, *HELD_OUT_3_VOICES)
#: The speaking rate of the quiet condition (espeak-ng's default).
ASKED_QUIET_SPEED = 175


def asked_confirm(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """ "confirm <action>" for every shipped action, said as the proxy asks, on all held-out
    voices: in quiet at espeak's default rate, and fast in room noise (the held-out sets'
    condition)."""
    items = confirmations([(f"confirm {a}", a) for a in CONFIRM.objects])
    return {
        "quiet": fast_noisy(
            recs, costs, ASKED_VOICES, items, 8400, speed=ASKED_QUIET_SPEED, snr_db=None
        ),
        "fast_noisy": fast_noisy(recs, costs, ASKED_VOICES, items, 8600),
    }


def dev_set(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """The set the second look was tuned on: "execute plan" and sentences that end on "plan"
    without asking for it, fast and in room noise, on voices the held-out set does not use."""
    items: list[Item] = [(ctx, ph, (Action.EXECUTE, None)) for ctx, ph in DEV_EXECUTE]
    items += [("", ph, None) for ph in DEV_PLAN_NEGATIVES]
    return fast_noisy(recs, costs, DEV_VOICES, items, 9000)


def dev_confirm(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """Confirmations that name the action on the dev voices (looked at and tuned on)."""
    return fast_noisy(recs, costs, DEV_VOICES, confirmations(DEV_CONFIRM), 9500)


def dev_confirm_after(recs: Recognisers, costs: Costs) -> dict[str, Any]:
    """Confirmations with a word after the action on the dev voices (looked at and tuned on)."""
    return fast_noisy(recs, costs, DEV_VOICES, confirmations(DEV_CONFIRM_AFTER), 9700)


def noisy(audio: Pcm, rms: float, seed: int) -> Pcm:
    if rms == 0.0:
        return audio
    rng = np.random.default_rng(seed)
    return (audio + rng.normal(0.0, rms, audio.size)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Long negative run (--negative-minutes M): about M minutes of generated non-trigger ops talk,
# streamed as client 0x01 messages through the proxy's own SpeechPipeline (Opus pages → decode →
# spotter + VAD → Whisper → TriggerMatcher with its cooldown).  Every TriggerHeard is false.

LONG_SEED = 20240611
LONG_VOICES = (*VOICES, "en-gb-scotland", "en-us-nyc")
LONG_SPEEDS = (135, 160, 185)
LONG_NOISE_RMS = (0.0, 0.01)
#: Speech per stream; the stream count follows from the requested minutes.
LONG_STREAM_SPEECH_S = 90.0

SERVICES = (
    "nginx", "postgres", "redis", "the database", "the mail server", "the load balancer",
    "kafka", "the api gateway", "prometheus", "grafana", "the backup job", "the cron job",
    "elasticsearch", "the auth service", "the payment service", "the build pipeline",
    "the dns resolver", "rabbitmq", "the web app", "the search index",
)  # fmt: skip
SHORT_SERVICES = ("nginx", "postgres", "redis", "kafka", "grafana", "mail", "auth", "billing")
HOSTS = (
    "web one", "web two", "db three", "cache one", "the staging box", "worker four",
    "the build server", "edge node seven", "the bastion host", "app server twelve",
    "the old mail host", "node five",
)  # fmt: skip
TIMES = ("nine", "noon", "midnight", "half past two", "six thirty", "ten tonight")

OPS = (
    "restart {svc} on {host}",
    "please check the disk usage on {host}",
    "{svc} has been using {pct} percent of the cpu since {time}",
    "the logs on {host} show {n} errors in the last {m} minutes",
    "let us roll back {svc} to version {v}",
    "memory on {host} is at {pct} percent and still climbing",
    "show me the last {n} lines of the {short} log",
    "scale {svc} to {small} replicas before the traffic peak",
    "the certificate for {svc} expires in {small} days",
    "we had {n} timeouts on {host} overnight",
    "tail the logs of {svc} on {host} and look for warnings",
    "I restarted {svc} on {host} about {m} minutes ago",
    "the deploy of {svc} finished at {time}",
    "open a ticket for the {short} latency on {host}",
    "{host} dropped out of the cluster again",
    "swap usage on {host} is way too high",
    "the queue for {svc} has {n} messages waiting",
    "move {svc} from {host} to {host2}",
    "I think {svc} needs more memory",
    "the alert for {host} fired {small} times this morning",
    "latency on {svc} went up to {n} milliseconds",
    "let me look at the dashboard for {svc} first",
    "block port {port} on {host} for now",
    "the backup of {host} took {m} minutes last night",
    "we should upgrade {svc} during the next maintenance window",
    "patch {host} and reboot it after {time}",
    "the console on {host} keeps freezing",
    "the council approved the new budget for {short}",
)
NEAR_MISSES = (
    "we will execute the plan tomorrow",
    "we will execute the plan tomorrow morning after the standup",
    "the execution plan looks fine",
    "the execution plan for that query looks fine to me",
    "can you explain the plan",
    "can you explain the plan for {svc}",
    "I can't confirm that yet",
    "I can't confirm that {svc} is healthy yet",
    "please don't cancel the backup",
    "please don't cancel the backup on {host}",
    "the confirmation email never arrived",
    "did you get the confirmation email from the vendor",
    "what is the cancellation policy for the support contract",
    "the cancellation policy changed last month",
    "I confirmed the booking last week",
    "she confirmed the booking last week for the offsite",
    "we need to execute the migration of {svc} carefully",
    "the script will execute at {time} every night",
    "what is the plan for {svc} on {host}",
    "the plan is to restart {svc} on {host} tonight",
    "let us plan the upgrade of {svc} for next week",
    "do not execute the plan yet",
    "I want to review the plan before we execute it",
    "once everyone agrees we execute the plan",
    "then we execute the plan",
    "we could execute plan b if the failover does not work",
    "the executive planning meeting moved to thursday",
    "he executed the plan perfectly last time",
    "the plan was executed without problems",
    "we need to confirm the maintenance window with the customer",
    "can you confirm how much memory {svc} uses",
    "we should cancel the meeting with the vendor",
    "they cancelled the order for the new disks last week",
    "the job on {host} was cancelled after {m} minutes",
    "the cancel button on the dashboard does nothing",
    "the confirm dialog on the dashboard is broken again",
    "execute permission is missing on the deploy script",
    "I will confirm the numbers with finance after lunch",
    "let us not cancel anything until we know more",
    "the execute plan button on the dashboard is grey",
    "planning for the execution of the migration starts monday",
    "is the plan still to migrate {svc} this quarter",
)
QUESTIONS = (
    "what is the uptime of {host}",
    "why is {svc} restarting every few minutes",
    "how many users are logged in on {host}",
    "did the backup of {host} finish",
    "is {svc} healthy right now",
    "when does the maintenance window start",
    "what changed on {host} since yesterday",
    "who is on call this weekend",
    "can you list the running containers on {host}",
    "how much disk space is left on {host}",
    "what does the load average on {host} look like",
    "which version of {svc} are we running",
    "is port {port} reachable from {host}",
    "could you summarise what we did so far",
    "should we wait for the vendor to call back",
    "do you see any errors in the {short} logs",
)
#: Short replies without a trigger word ("confirm"/"cancel" alone are triggers by design).
SHORT = (
    "okay", "yes", "sure", "go on", "right", "got it", "thanks", "okay thanks", "no", "wait",
    "one moment", "sounds good", "let me think", "go ahead", "yes please", "all right",
    "not yet", "hold on", "continue", "next", "perfect", "good", "that's fine", "makes sense",
    "I see", "great", "yeah", "nope", "exactly", "go for it", "fine", "okay, go on",
)  # fmt: skip
#: Short sound-alikes of the triggers: where the spotter alone (short utterances) could fire.
SOUNDALIKES = (
    "console", "the console", "counsel", "conform", "concern", "consult", "council", "candle",
    "confirmation", "cancellation", "conference", "control", "comfort", "consider it",
    "consent", "conflict", "complete", "can sell", "explain plan", "execution plan",
    "exit plan", "excellent plan", "exact plan", "the plan", "execute", "plan", "executive",
    "new plan", "execute it", "explain the plan", "confirmation sent", "cancellation fee",
)  # fmt: skip
#: Where a confirmation must name the action ("confirm restart"): a confirm sound-alike beside
#: an action word, and short talk that holds action words but no "confirm" (adversarial).
SOUNDALIKE_ACTIONS = (
    "conform restart", "concern, stop", "comfort remove", "council start", "can form reload",
    "console kill", "consent restart", "control stop", "the concert restart", "confer reload",
    "counsel remove", "convert restart", "conflict, stop", "consult start", "confront kill",
    "can firm restart", "comfort, reload", "conference stop", "restart it", "stop it",
    "just restart", "then remove it", "okay restart", "start over", "kill it", "reload it",
    "let's restart", "don't stop", "start again", "remove that", "stop there", "no, restart",
)  # fmt: skip
CATEGORIES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("ops", OPS, 0.33),
    ("near_miss", NEAR_MISSES, 0.30),
    ("question", QUESTIONS, 0.14),
    ("short", SHORT, 0.13),
    ("soundalike", SOUNDALIKES, 0.10),
)
#: Categories said *beside* the script above, each after a script utterance with its
#: probability, from their own random stream: adding one leaves every seed's script as it was
#: (old recordings stay comparable).
SIDE_CATEGORIES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("soundalike_action", SOUNDALIKE_ACTIONS, 0.10),
)
SHORT_CATEGORIES = ("short", "soundalike", "soundalike_action")


def fill(template: str, rng: random.Random) -> str:
    """One sentence from a template and the vocabulary."""
    hosts = rng.sample(HOSTS, 2)
    return template.format(
        svc=rng.choice(SERVICES),
        short=rng.choice(SHORT_SERVICES),
        host=hosts[0],
        host2=hosts[1],
        time=rng.choice(TIMES),
        pct=rng.randrange(40, 100),
        n=rng.choice((3, 7, 12, 40, 150, 300, 1200)),
        m=rng.choice((2, 5, 10, 15, 30, 45)),
        small=rng.randrange(2, 9),
        v=f"{rng.randrange(1, 5)}.{rng.randrange(0, 20)}",
        port=rng.choice((22, 80, 443, 5432, 6379, 8080, 9090)),
    )


@dataclass(frozen=True)
class StreamSpec:
    index: int
    voice: str
    speed: int
    noise_rms: float
    speech_s: float  # speech to generate (pauses come on top)
    seed: int
    pitch: int | None = None  # espeak-ng's 0–99 (None: the voice's own)


@dataclass
class Said:
    """One scripted utterance inside a stream, on the stream's audio clock."""

    text: str
    category: str
    start: float
    end: float


def long_specs(minutes: float) -> list[StreamSpec]:
    """The streams of the long run: voice × speed × noise combinations in a fixed shuffle."""
    combos = [(v, s, n) for v in LONG_VOICES for s in LONG_SPEEDS for n in LONG_NOISE_RMS]
    random.Random(LONG_SEED).shuffle(combos)
    count = max(1, round(minutes * 60.0 / LONG_STREAM_SPEECH_S))
    per = minutes * 60.0 / count
    return [
        StreamSpec(i, *combos[i % len(combos)], speech_s=per, seed=LONG_SEED + i)
        for i in range(count)
    ]


def long_script(spec: StreamSpec, only: tuple[str, ...] = ()) -> tuple[Pcm, list[Said], float]:
    """A stream's audio, its scripted utterances and its seconds of speech (deterministic).

    ``spec.speech_s`` bounds the main script (:data:`CATEGORIES`); the side categories come on
    top, so the speech seconds returned (main and side) are a little more.  With ``only``, the
    audio holds just the utterances of those categories (with their pauses); the script, and
    the speech seconds returned, are still the whole stream's."""
    rng = random.Random(spec.seed)
    sides = [(c, random.Random(f"{spec.seed}:{c[0]}")) for c in SIDE_CATEGORIES]
    names = [c[0] for c in CATEGORIES]
    weights = [c[2] for c in CATEGORIES]
    pools = {c[0]: c[1] for c in CATEGORIES}
    parts: list[Pcm] = [silence(0.5)]
    clock, main_s, speech_s = 0.5, 0.0, 0.0
    said: list[Said] = []
    while main_s < spec.speech_s:
        category = rng.choices(names, weights)[0]
        text = fill(rng.choice(pools[category]), rng)
        audio = say(text, spec.voice, spec.speed, spec.pitch)
        # Natural pauses: mostly a clear break, sometimes too short for the VAD to split.
        pause = rng.uniform(0.3, 0.55) if rng.random() < 0.15 else rng.uniform(0.8, 3.0)
        main_s += len(audio) / 24_000
        turns = [(category, text, audio, pause)]
        for (name, pool, p), side in sides:
            if side.random() < p:
                line = side.choice(pool)
                voiced = say(line, spec.voice, spec.speed, spec.pitch)
                turns.append((name, line, voiced, side.uniform(0.8, 3.0)))
        for category, text, audio, pause in turns:
            length = len(audio) / 24_000
            speech_s += length
            if only and category not in only:
                continue
            said.append(Said(text, category, clock, clock + length))
            parts += [audio, silence(pause)]
            clock += length + pause
    parts.append(silence(1.0))
    audio = noisy(concat(*parts), spec.noise_rms, spec.seed)
    return audio, said, speech_s


_RECS: Recognisers | None = None


def _worker_init(vad: str) -> None:
    global _RECS  # noqa: PLW0603 - one set of models per worker process
    _RECS = Recognisers.load(replace(DEFAULT_SETTINGS, vad=vad))


def long_stream(spec: StreamSpec) -> dict[str, Any]:
    """Stream one generated conversation through SpeechPipeline; every trigger is false."""
    assert _RECS is not None, "call _worker_init first"
    recs = _RECS
    audio, said, speech_s = long_script(spec)
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline = SpeechPipeline(f"neg{spec.index}", recs, Transcript(max_turns=100_000))
    events: list[TapEvent] = []
    for page in encode_pages(audio):
        events += pipeline.client(bytes([Kind.AUDIO]) + page)
    events += pipeline.finish()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    false: list[dict[str, Any]] = []
    for e in events:
        if not isinstance(e, TriggerHeard):
            continue
        last = e.turns[-1] if e.turns else None
        turn = last if last is not None and abs(last.end - e.at) < 0.01 else None
        start = turn.start if turn is not None else e.at - 3.0
        text = turn.text if turn is not None else ""
        said_words = words(text)
        by_text = any(
            contains_words(said_words, w)
            for p in DEFAULT_SETTINGS.phrases
            if p.action is e.action
            for w in p.spellings
        )
        # The scripted utterances the recognised one covers (most of each, or the best one).
        overlap = [(min(s.end, e.at) - max(s.start, start), s) for s in said]
        inside = [s for o, s in overlap if o > 0.5 * (s.end - s.start)]
        if not inside and overlap:
            inside = [max(overlap, key=lambda x: x[0])[1]]
        false.append(
            {
                "action": e.action.name,
                # The spotter alone never fires EXECUTE: a non-text one is the second look's.
                "source": "text"
                if by_text
                else "second look"
                if e.action is Action.EXECUTE
                else "keyphrase",
                "recognised": text,
                "said": [s.text for s in inside],
                "categories": sorted({s.category for s in inside}),
                "from_short_utterance": bool(inside)
                and all(s.category in SHORT_CATEGORIES for s in inside),
                "voice": spec.voice,
                "speed": spec.speed,
                "noise_rms": spec.noise_rms,
                "stream": spec.index,
                "at_s": round(e.at, 2),
            }
        )
    by_category: dict[str, list[float]] = {}
    for s in said:
        by_category.setdefault(s.category, []).append(s.end - s.start)
    return {
        "speech_s": speech_s,
        "audio_s": len(audio) / 24_000,
        "wall_s": wall,
        "cpu_s": cpu,
        "said": len(said),
        "by_category": {k: [len(v), sum(v)] for k, v in by_category.items()},
        "recognised_utterances": pipeline.stats.utterances,
        "second_looks": pipeline.stats.second_looks,
        "false": false,
    }


LONG_SUMMARY = (
    "minutes_of_speech",
    "streams",
    "false_triggers",
    "false_per_hour_of_speech",
    "upper_95_per_hour",
    "wall_s",
)


def poisson_upper(k: int, confidence: float = 0.95) -> float:
    """The rate whose Poisson probability of at most ``k`` events is ``1 - confidence``."""
    lo, hi = 0.0, 10.0 + 10.0 * k
    for _ in range(100):
        mid = (lo + hi) / 2
        # In logs: mid**i and i! overflow floats for a few hundred events.
        cdf = sum(math.exp(i * math.log(mid) - mid - math.lgamma(i + 1)) for i in range(k + 1))
        lo, hi = (mid, hi) if cdf > 1.0 - confidence else (lo, mid)
    return hi


def long_negatives(minutes: float, workers: int, vad: str) -> dict[str, Any]:
    """Run the long negative streams (in a pool of ``workers`` processes) and summarise them."""
    specs = long_specs(minutes)
    began = time.perf_counter()
    print(f"long negatives: {len(specs)} streams ≈ {minutes:g} min of speech, {workers} workers")
    results: list[dict[str, Any]] = []
    if workers <= 1:
        _worker_init(vad)
        results = [long_stream(s) for s in specs]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_worker_init, initargs=(vad,)
        ) as pool:
            for spec, r in zip(specs, pool.map(long_stream, specs), strict=True):
                results.append(r)
                print(
                    f"  stream {spec.index:3} {spec.voice:15} {spec.speed} noise={spec.noise_rms}"
                    f" speech={r['speech_s']:.0f}s false={[f['action'] for f in r['false']]}",
                    flush=True,
                )
    speech_s = sum(r["speech_s"] for r in results)
    audio_s = sum(r["audio_s"] for r in results)
    hours = speech_s / 3600.0
    false = [f for r in results for f in r["false"]]
    actions = ("EXECUTE", "CONFIRM", "CANCEL")
    counts = {a: sum(f["action"] == a for f in false) for a in actions}
    categories: dict[str, dict[str, float]] = {}
    for r in results:
        for k, (n, s) in r["by_category"].items():
            c = categories.setdefault(k, {"utterances": 0, "speech_s": 0.0})
            c["utterances"] += n
            c["speech_s"] += s
    return {
        "what": "generated non-trigger ops conversation (templates × vocabulary, near-misses, "
        "questions, short replies, sound-alikes) streamed as client pages through "
        "SpeechPipeline; every TriggerHeard counts as false. CONFIRM/CANCEL are counted "
        "whenever reported, although the flow honours them only while a command is pending.",
        "seed": LONG_SEED,
        "minutes_of_speech": round(speech_s / 60.0, 1),
        "minutes_of_audio": round(audio_s / 60.0, 1),
        "streams": len(results),
        "voices": list(LONG_VOICES),
        "speeds": list(LONG_SPEEDS),
        "noise_rms": list(LONG_NOISE_RMS),
        "pauses_s": "0.8–3.0 (85%), 0.3–0.55 (15%, run-on)",
        "scripted_utterances": sum(r["said"] for r in results),
        "recognised_utterances": sum(r["recognised_utterances"] for r in results),
        "second_looks": sum(r["second_looks"] for r in results),
        "by_category": {
            k: {"utterances": int(v["utterances"]), "speech_s": round(v["speech_s"], 1)}
            for k, v in sorted(categories.items())
        },
        "false_triggers": counts,
        "false_per_hour_of_speech": {a: round(n / hours, 2) for a, n in counts.items()},
        "false_total_per_hour_of_speech": round(len(false) / hours, 2),
        # One-sided 95% Poisson upper bound on the rate: with no event in T hours it is 3.0 / T,
        # so one hour without a false trigger cannot by itself show "≤ 1 per hour".
        "upper_95_per_hour": {a: round(poisson_upper(n) / hours, 2) for a, n in counts.items()},
        "confirm_cancel_from_short_utterances": sum(
            f["from_short_utterance"] for f in false if f["action"] != "EXECUTE"
        ),
        "confirm_cancel_from_longer_speech": sum(
            not f["from_short_utterance"] for f in false if f["action"] != "EXECUTE"
        ),
        "examples": false[:40],
        "workers": workers,
        "wall_s": round(time.perf_counter() - began, 1),
        "rtf": round(sum(r["wall_s"] for r in results) / audio_s, 3),
        "cpu_per_audio_s": round(sum(r["cpu_s"] for r in results) / audio_s, 3),
    }


def quick(began: float, vad: str) -> dict[str, Any]:
    recs = Recognisers.load(replace(DEFAULT_SETTINGS, vad=vad))
    print(f"recognisers loaded in {recs.load_seconds:.2f}s ({recs.transcriber.name})")
    costs = Costs()
    names = (
        "text",
        "keyphrase",
        "both",
        "previous",
        "round1",
        "round2",
        "no_second_look",
        "unnamed",
        "unread_execute",
        "chosen",
    )
    pos: dict[str, dict[str, list[int]]] = {n: {"execute": [], "reply": []} for n in names}
    wrong_on_pos = dict.fromkeys(names, 0)
    neg_false = dict.fromkeys(names, 0)
    neg_examples: dict[str, list[str]] = {n: [] for n in names}
    misses: list[str] = []
    seed = 0

    for vi, voice in enumerate(VOICES):
        for si, speed in enumerate(SPEEDS):
            items: list[tuple[str, str, Fired]] = [
                (ctx, phrase, (Action.EXECUTE, None)) for ctx, phrase in EXECUTE_PHRASINGS
            ] + [("", phrase, (action, named)) for phrase, action, named in REPLY_PHRASINGS]
            for ii, (ctx, phrase, want) in enumerate(items):
                seed += 1
                parts = [silence(0.4)]
                if ctx:
                    parts += [say(ctx, voice, speed), silence(0.9)]
                parts += [say(phrase, voice, speed), silence(1.0)]
                rms = NOISE_RMS[(vi + si + ii) % len(NOISE_RMS)]
                heard = listen(recs, noisy(concat(*parts), rms, seed), costs)
                kind = "execute" if want[0] is Action.EXECUTE else "reply"
                for n in names:
                    got = fired_named(n, heard)
                    pos[n][kind].append(int(want in got))
                    wrong_on_pos[n] += sum(a != want[0] for a, _ in got)
                    if n == "chosen" and want not in got:
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
                wrong = fired(n, heard)
                neg_false[n] += len(wrong)
                if wrong:
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
        "vad": vad,
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
            "decision_pass_s_total": round(costs.recheck_s, 2),
            "second_looks": costs.second_looks,
            "second_look_cpu_s_each": round(
                costs.second_look_cpu_s / max(1, costs.second_looks), 3
            ),
            **costs.per_pass(),
        },
        "machine": "2 shared cores with other jobs running: times and RTF are noisy",
        "bench_wall_s": 0.0,
    }
    result["dev_fast_noisy"] = dev_set(recs, costs)
    result["held_out_fast_noisy"] = held_out(recs, costs)
    result["dev_confirm"] = dev_confirm(recs, costs)
    result["held_out_confirm"] = held_out_confirm(recs, costs)
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
    print("dev, 185 wpm, 15 dB room noise:", json.dumps(result["dev_fast_noisy"]))
    print("held out, 185 wpm, 15 dB room noise:", json.dumps(result["held_out_fast_noisy"]))
    for m in misses:
        print("  missed (chosen):", m)
    for e in neg_examples["chosen"]:
        print("  false (chosen):", e)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--negative-minutes",
        type=float,
        default=0.0,
        help="also stream about this many minutes of generated non-trigger speech (0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the long run")
    parser.add_argument("--long-only", action="store_true", help="skip the quick run")
    parser.add_argument(
        "--vad",
        choices=VAD_KINDS,
        default=DEFAULT_SETTINGS.vad,
        help="voice-activity detector (results of a non-default one go to triggers_VAD.json)",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    name = "triggers" if args.vad == DEFAULT_SETTINGS.vad else f"triggers_{args.vad}"
    out = RESULTS.with_name(f"{name}.json")
    previous: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    result = previous if args.long_only else quick(began, args.vad)
    if args.negative_minutes > 0:
        long = long_negatives(args.negative_minutes, args.workers, args.vad)
        result["long_negatives"] = long
        print("\nlong negatives:", json.dumps({k: long[k] for k in LONG_SUMMARY}))
        for f in long["examples"]:
            print(
                f"  false {f['action']} by {f['source']} ({'/'.join(f['categories'])}):"
                f" said {f['said']} → heard {f['recognised']!r} [{f['voice']}/{f['speed']}]"
            )
    elif "long_negatives" in previous:
        result["long_negatives"] = previous["long_negatives"]  # from an earlier long run
    if "short_replay" in previous:  # bench_short_replay.py writes it
        result["short_replay"] = previous["short_replay"]
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out} in {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
