"""Answers to a waiting command: the company rule, the object an answer names, typed answers
(pure, no audio, no I/O).

An answer is short, holds "confirm" (or "cancel"), and every other word is harmless company
("yes, confirm please").  A confirmation also names its object ("confirm restart"): which one
is read, not decoded (:func:`read_object`), from the text pass or from the object pass, the
utterance heard again told the objects (:func:`object_pass`).  The checks against mishearing
live in :mod:`proxy.listen.triggers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from proxy.listen.readings import Rescore, read_all, slot_texts
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, TriggerPhrase
from proxy.relay.codec import Action
from voiceops.phrases import TAIL_GLIDES, TAIL_SOUNDS, TAKING_BACK, TAKING_BACK_WORDS
from voiceops.words import contains_words, words

#: Most words after "confirm" that may be its action misheard ("confirm, list heart").
MAX_SLOT_WORDS = 2


def _phrase_at(said: Sequence[str], phrase: TriggerPhrase) -> tuple[int, int] | None:
    """Where the phrase first occurs in ``said`` (start, end), ``None`` when it is not there."""
    for spelling in phrase.spellings:
        n = len(spelling)
        for i in range(len(said) - n + 1):
            if tuple(said[i : i + n]) == spelling:
                return i, i + n
    return None


def after_phrase(said: Sequence[str], phrase: TriggerPhrase) -> Sequence[str] | None:
    """The words after the phrase's first occurrence in ``said`` (``None``: it is not there)."""
    at = _phrase_at(said, phrase)
    return None if at is None else said[at[1] :]


def harmless_lead(said: Sequence[str], phrase: TriggerPhrase) -> bool:
    """The phrase is in ``said`` and every word before it is one that may lead it
    (:attr:`~TriggerPhrase.leads`, else its company: "yes, okay, confirm"; not "don't
    confirm")."""
    at = _phrase_at(said, phrase)
    leads = phrase.leads if phrase.leads is not None else phrase.company or ()
    return at is not None and all(w in leads for w in said[: at[0]])


def named_object(said: Sequence[str], phrase: TriggerPhrase) -> str | None:
    """The object right after the phrase's first occurrence in ``said``, if it is one."""
    after = after_phrase(said, phrase)
    return after[0] if after and after[0] in phrase.objects else None


def object_slot(said: Sequence[str], phrase: TriggerPhrase) -> tuple[str, ...]:
    """The words right after the phrase's first occurrence in ``said`` where a phrase with
    objects names one: up to :data:`MAX_SLOT_WORDS` words, ending at a company word or one
    that takes the answer back (:data:`voiceops.phrases.TAKING_BACK_WORDS`).  The text pass
    may write the object as other words ("confirm, list heart" for "confirm restart"); a
    forced reading decides which object they are (:func:`read_object`)."""
    after = after_phrase(said, phrase) if phrase.objects else None
    slot: list[str] = []
    for w in (after or ())[:MAX_SLOT_WORDS]:
        if (phrase.company is not None and w in phrase.company) or w in TAKING_BACK_WORDS:
            break
        slot.append(w)
    return tuple(slot)


def long_tail(said: Sequence[str], phrase: TriggerPhrase, slot: Sequence[str]) -> bool:
    """More than one word follows the action (after the first word when it is an action as
    written, else after the ``slot``), a :data:`~voiceops.phrases.TAIL_GLIDES` word aside.

    A tail is one word ("confirm stop now", "confirm restart to end" for "… then"); tiny.en
    wrote "not now" as two ("confirm, restart, out, out", "confirm remove, now, now", "confirm
    kill, how to how"), and read in place of those, "now" or the action alone was as likely as
    "not now": 9 of 162 taken-back answers on the dev voices ran their command
    (``bench/bench_confirm.py --set take_back_dev``)."""
    after = after_phrase(said, phrase) if phrase.objects else None
    if not after:
        return False
    action = 1 if after[0] in phrase.objects else len(slot)
    return sum(w not in TAIL_GLIDES for w in after[action:]) > 1


def in_company(said: Sequence[str], phrase: TriggerPhrase, slot: Sequence[str] = ()) -> bool:
    """Every word of ``said`` is the phrase's own, one of its object ``slot`` or one it may
    keep company with (before the phrase, one that may lead it), or the utterance is short
    enough and starts with the phrase (``lead_max_words``)."""
    if phrase.company is None:
        return True
    short = phrase.lead_max_words is not None and len(said) <= phrase.lead_max_words
    if short and any(tuple(said[: len(s)]) == s for s in phrase.spellings):
        return True
    own = {w for spelling in phrase.spellings for w in spelling} | set(slot)
    lead = phrase.leads is None or harmless_lead(said, phrase)
    return lead and all(w in own or w in phrase.company for w in said)


@dataclass(frozen=True, slots=True)
class Answer:
    """A typed answer to a pending command: CONFIRM or CANCEL, and the action it ``named``
    ("confirm restart"; ``None``: none)."""

    action: Action
    named: str | None = None


def typed_answer(text: str, phrases: Sequence[TriggerPhrase] = DEFAULT_PHRASES) -> Answer | None:
    """The answer typed ``text`` gives a pending command, else ``None``.

    The spoken rule on the words (short, the answer word, harmless company only), without the
    checks against mishearing: typed words are not misheard, so a typed "confirm" need not
    name the action (one that does must name the waiting one).

    >>> typed_answer("Yes, confirm.")
    Answer(action=<Action.CONFIRM: 17>, named=None)
    >>> typed_answer("confirm restart").named
    'restart'
    >>> typed_answer("yes, go ahead") is None  # only "confirm" confirms
    True
    """
    said = words(text)
    for p in phrases:
        if p.action is Action.EXECUTE or p.company is None:
            continue
        if not p.fits(said):
            continue
        named = named_object(said, p)
        slot = (named,) if named is not None else ()
        if in_company(said, p, slot) and any(contains_words(said, s) for s in p.spellings):
            return Answer(p.action, named)
    return None


class Recheck(Protocol):
    """Another pass over one utterance's audio (the decision pass, the object pass): hotwords
    in, the words heard with them out; ``once``: one greedy decode, deterministic (no sampled
    re-decode when unsure)."""

    def __call__(self, hotwords: str, once: bool = False) -> str: ...


def object_pass(
    p: TriggerPhrase, text: str, slot: tuple[str, ...], recheck: Recheck | None
) -> tuple[str, tuple[str, ...]]:
    """The text whose object ``slot`` the forced reading decides on, and that slot: the object
    pass's (the utterance heard again with :attr:`TriggerPhrase.object_hotwords`) when it
    holds the phrase with words after it, in company, else the text pass's ``text``.

    Measured (``bench/bench_confirm.py``): dev 24 → 26 of 36, isolated clips 23 → 25 of 32,
    no sound-alike taken.  Only a text pass with words after the phrase gets an object pass,
    so it cannot put an action into a bare "confirm"."""
    if recheck is None:
        return text, slot
    again = recheck(p.object_hotwords, once=True)
    heard = words(again)
    again_slot = object_slot(heard, p) if p.fits(heard) else ()
    if again_slot and in_company(heard, p, again_slot):
        return again, again_slot
    return text, slot


def glued(p: TriggerPhrase, said: Sequence[str]) -> bool:
    """True when the text pass glued an "s" onto a phrase with objects and wrote words after it
    ("Yes, confirm's top" for "yes, confirm stop").

    tiny.en joins the "s" of "stop" or "start" to "confirm" (``bench/bench_confirm.py``: one dev
    and one held-out miss); the object pass, told the actions, writes them apart
    (:func:`proxy.listen.triggers.match_utterance`).  The long run's 13,455 short utterances
    (32 h) hold no such word, so it asks no pass of them."""
    if not p.objects:
        return False
    glued = {spelling[0] + "s" for spelling in p.spellings if len(spelling) == 1}
    return any(w in glued for w in said[:-1])


def read_object(
    p: TriggerPhrase, text: str, slot: Sequence[str], read: Rescore | None
) -> tuple[str, str] | None:
    """Which object the ``slot`` words of ``text`` name, by a forced reading: ``text`` with
    the slot replaced by each object; the likeliest must read at least as likely as ``text``
    as written and likelier than every other object.  Returns it and its text, or ``None``."""
    texts = slot_texts(text, p.written, len(slot), p.objects)
    scores = read_all(read, texts) if len(texts) > 1 else None
    if scores is None:
        return None
    best = _likeliest(list(zip(p.objects, scores[1:], texts[1:], strict=True)))
    return None if best is None or best[1] < scores[0] else (best[0], best[2])


#: How much likelier (nats) a tail must read as one of :data:`voiceops.phrases.ANSWER_TAILS`
#: than as any of :data:`voiceops.phrases.TAKING_BACK`.  Measured on the dev voices
#: (185 wpm, 15 dB room noise): "confirm reload, not now", written "confirm, reload, how to
#: help", read 0.5 nats likelier as "… not now" than "… now"; "confirm start, no" 0.2 nats.
TAIL_MARGIN = 1.0


def read_tail(
    p: TriggerPhrase, text: str, said: Sequence[str], read: Rescore | None
) -> tuple[str, str] | None:
    """Which object the words after the phrase in ``text`` (the words ``said``) name when they
    are an object and one of the phrase's :attr:`~TriggerPhrase.tails` that tiny.en wrote as
    other words ("Confirm, kill, how?" for "confirm kill now"), else ``None``.

    Only a word that may be the action (no company, tail sound or taking back) right after the
    phrase, then :data:`~voiceops.phrases.TAIL_SOUNDS` or company (one word: :func:`long_tail`),
    may be read so.  A forced reading puts each object and tail in place of those words
    ("Confirm, kill now?"); the
    likeliest must read likelier than every reading of another object and :data:`TAIL_MARGIN`
    likelier than the same object taken back (:data:`~voiceops.phrases.TAKING_BACK`:
    "Confirm, kill not now?").  Not read against the text as written: tiny.en reads its own
    "how" likelier than the "now" that was said.  Returns the object and its text."""
    after = after_phrase(said, p)
    if not p.tails or not p.objects or after is None or len(after) < 2:
        return None
    company = p.company or frozenset()
    slot, ending = after[0], after[1:]
    if slot in company or slot in TAIL_SOUNDS or slot in TAKING_BACK_WORDS:
        return None  # no word where the action goes ("confirm, and how", "confirm, no, how")
    if not all(w in TAIL_SOUNDS or w in company for w in ending):
        return None
    tails = [(o, f"{o} {t}") for o in p.objects for t in p.tails]
    texts = slot_texts(text, p.written, len(after), [w for _, w in tails])
    scores = read_all(read, texts) if len(texts) > 1 else None
    if scores is None:
        return None
    readings = zip((o for o, _ in tails), scores[1:], texts[1:], strict=True)
    best = _likeliest(list(readings))
    if best is None:
        return None
    named, score, reading = best
    backs = slot_texts(text, p.written, len(after), [f"{named} {b}" for b in TAKING_BACK])
    taken_back = read_all(read, backs[1:])
    return (named, reading) if taken_back and score >= max(taken_back) + TAIL_MARGIN else None


def _likeliest(readings: Sequence[tuple[str, float, str]]) -> tuple[str, float, str] | None:
    """Of ``readings`` (object, score, text), the likeliest when its object reads likelier
    than every other object (``None`` on a tie between objects)."""
    best: dict[str, tuple[float, str]] = {}
    for obj, score, reading in readings:
        if obj not in best or score > best[obj][0]:
            best[obj] = (score, reading)
    ranked = sorted(((s, obj, r) for obj, (s, r) in best.items()), reverse=True)
    (top, named, reading), runner_up = ranked[0], ranked[1][0] if len(ranked) > 1 else None
    if runner_up is not None and top <= runner_up:
        return None
    return named, top, reading
