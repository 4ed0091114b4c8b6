"""Trigger matching: recognised user words in, trigger matches out (pure, no audio, no I/O).

The tap hands this module one finished user utterance at a time — the Whisper-class text and
the keyphrases the streaming spotter heard inside it — and gets back the actions it should
report.  Model speech never reaches this module: only the user's recognised audio does.

Decision rule, chosen from ``bench/bench_triggers.py`` (see the tap's report):

* A phrase fires when its words appear as *consecutive whole words* in the utterance's text.
  "we will execute the plan tomorrow" therefore does not fire "execute plan": the extra word
  is exactly what separates talking about the plan from asking for it.
* A spotter hit alone (text disagrees) fires only for phrases that allow it
  (``keyphrase_alone``) and only in short utterances.  The keyphrase spotter is deaf to small
  words ("execute the plan" → "execute plan"), so EXECUTE never trusts it alone, and since
  replies are heard twice (below) no default phrase does; only the pocketsphinx fallback
  (no Whisper) relies on it.
* "execute plan" must end its utterance (``max_words_after=0``: say it, then pause).  Measured:
  tiny.en sometimes drops a small word ("We will execute plan tomorrow"); the phrase in the
  middle of a sentence is talk about a plan, at the end before a pause it is a request.
* A missed "execute plan" gets a second look.  Said fast in room noise, tiny.en's greedy
  decoding sometimes writes "Okay, so that's the cute plan"; a decision pass with other hotwords
  did not help (measured: it wrote the same).  So when the text ends on "plan" (or the spotter
  heard the phrase) and holds no word starting with "execute", Whisper scores, on the same
  encoding and prompt, the text with its last 1…4 words replaced by "execute plan"; if one of
  those is at least as likely as the text it wrote, the phrase fires.  A text that heard
  "execute" or "execution" gets no second look: "then we execute the plan" must not lose "the".
* "execute plan", written or found by the second look, must also *read* likelier than its
  sound-alikes (``rivals``, ``rival_margin``; no decision pass: it wrote the same).  Short replay
  (32 h): tiny.en wrote "execute plan" for a lone "exit plan", "explain plan", "execution
  plan", and second looks took "and let plan" for it: 16 false EXECUTEs, 0 when read (same
  hearing); dev recall 47/48 and held-out 32/32 either way.
* A spotter hit on a one-word phrase does not fire when the text shows a longer word
  starting with it ("confirmation", "cancelation"): the spotter heard the phrase inside that
  word (measured with the bench's ``--negative-minutes`` run).
* Replies ("confirm", "cancel") count only in short utterances (``max_utterance_words``), so
  "can you confirm the disk is fine" in a discussion is not a reply, and only beside harmless
  words (``company``: "yes, confirm please"), so "don't confirm" or "I can't confirm that" is
  not one either.  "cancel" *first* in a reply of at most three words (``lead_max_words``)
  cancels whatever words follow: measured, tiny.en hears "cancel that" as "cancel net",
  "cancel not" or "cancel map" (quick set), and cancelling is the harmless direction; "confirm"
  keeps the strict company ("confirm net" confirms nothing).  A typed answer
  (:func:`typed_answer`, the HTTP API) follows the same rule.
* "confirm" runs a destructive command, so it must be heard twice (measured with the long
  negative run: the hotword-biased text pass turned "concern", "conform", "comfort" said alone
  into "confirm" ≈8 times per hour).  The text pass must be sure of its words
  (``min_logprob``), and a decision pass that listens for the phrase *and its rivals* (the
  words it is confused with, given to Whisper as equal hotwords) must hear the phrase too.  The
  spotter alone never confirms.
* "cancel" needs the same sure text pass, but no decision pass: the short replay of the long
  negative run heard "council", "counsel", "consult", "candle" and "can sell" as "cancel" 12
  times (once through the spotter alone: "let me think"), mostly unsure of it; a decision
  pass among those rivals cannot help, because tiny.en hears espeak's real "cancel" as
  "council" as often as not.  The spotter alone never caught a real "cancel" that the text
  missed in the trigger sets, so it no longer cancels.  (A missed cancel leaves the command
  waiting for a "confirm" that never comes; a false confirm runs it.)
* "confirm" must also *read* likelier than each rival (``rival_margin``,
  :mod:`proxy.listen.readings`): both passes wrote "confirm" for espeak's "conform".  The text
  as written is scored against the same text with each rival in place of "confirm".
* "confirm" names the action it runs (``objects``: "confirm restart", "confirm remove"; the
  words are the policy's, :meth:`guard.policy.Policy.confirm_words`).  Every false confirm of
  the short replay was a sound-alike said alone, which can no longer run anything.  Which
  action is decided by a forced reading, not by either decode: the words right after "confirm"
  (up to two, up to a company word) are replaced by each action word, and the likeliest must
  read at least as likely as the text as written and likelier than every other action.
  Measured (``bench/bench_confirm.py``, dev set): tiny.en writes the action as other words
  ("confirm, list heart", "confirm, reboot") and a decision pass among the sound-alikes of
  "confirm" garbles it ("confirm, rest out"), so requiring both decodes to write the action
  word kept 21 of 36 dev answers.  Words after "confirm" are heard once more, greedily, told
  the actions (:func:`proxy.listen.answers.object_pass`), and the reading starts from that
  text.  The decision pass still must hear "confirm"; one that wrote only company words
  ("Please." for "confirm kill, please") is heard again with the actions listed too
  (:attr:`~proxy.listen.trigger_phrases.TriggerPhrase.redecision_hotwords`).  "confirm" alone
  matches without an action, so that the flow can tell the operator what to say; it runs
  nothing.  So does a confirmation the checks refused, or whose words after "confirm" name
  no action (:class:`TriggerMatch`, ``"unsure"``): the operator is not left with silence.
* A word after the action ("confirm start now") is read, not decoded, too: tiny.en writes
  "confirm, start to how", "confirm, remove, and", and reads its own words likelier than what
  was said.  When the words after the action are only what it writes for such a word
  (:data:`~voiceops.phrases.TAIL_SOUNDS`), the action and "now", "then" or "please" are read
  in their place, and must read 1 nat likelier than the same action taken back ("not now",
  "no", "later"…) (:func:`proxy.listen.answers.read_tail`).  Words that take an answer back
  are never read as part of the action: "confirm kill, no" ran kill when "kill no" was read
  as "kill" (``bench/bench_confirm.py --set take_back``).  At most one word may follow the
  action (:func:`proxy.listen.answers.long_tail`): tiny.en writes "not now" as two ("confirm,
  restart, out, out"), and read, "not now" was no likelier than "now".  Before "confirm", only
  agreement (``leads``): it wrote "don't confirm restart" as "then confirm restart".
* One utterance fires each action at most once, and an action does not fire again within
  ``cooldown_s`` seconds of audio (an utterance split by a pause must not fire twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from proxy.listen.answers import (
    Recheck,
    glued,
    harmless_lead,
    in_company,
    long_tail,
    object_pass,
    object_slot,
    read_object,
    read_tail,
)
from proxy.listen.readings import Rescore, reads_likeliest
from proxy.listen.second_look import heard_on_second_look, wants_second_look
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, TriggerPhrase
from proxy.relay.codec import Action
from voiceops.words import contains_words, words

#: Default seconds of audio during which the same action cannot fire twice.
DEFAULT_COOLDOWN_S = 3.0


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    """A phrase that fired: which, when (audio clock), and whether text or spotter said so.

    ``named`` is the object said right after the phrase ("restart" in "confirm restart"),
    ``None`` when it named none.  A confirmation the text pass wrote (only harmless words
    before it) that the checks against mishearing refused, or whose words after "confirm"
    name no action ("confirm net", "confirm kill, no"), is reported
    ``"unsure"``, naming none: it runs nothing, and the flow says what to say.  Measured
    (``bench/bench_confirm.py``): 48 of the 69 confirmations missed in the dev and held-out
    sets get that answer instead of none.  In the short replay (32 h, a tenth of its lines
    sound-alikes beside action words) at most 766 utterances (24/h) would, while a command
    waits: "conform restart" and the like are told to say "confirm restart"."""

    action: Action
    phrase: str
    at: float
    source: str  # "text", "keyphrase", "second look" or "unsure" (named nothing: see below)
    named: str | None = None


def _lengthened(said: Sequence[str], phrase: TriggerPhrase) -> bool:
    """True when a one-word phrase's text has a longer word beginning with it ("confirmation",
    "cancelation"): the spotter, which knows no word boundaries, heard the phrase inside that
    word.  (The phrase's own spellings never get here: the text already fired.)"""
    phrase_words = words(phrase.phrase)
    if len(phrase_words) != 1:
        return False
    own = {w for spelling in phrase.spellings for w in spelling}
    return any(w not in own and w.startswith(phrase_words[0]) for w in said)


def _object_reading(
    p: TriggerPhrase,
    text: str,
    said: Sequence[str],
    *,
    told: str | None,
    recheck: Recheck | None,
    rivalry: Rescore | None,
) -> tuple[str | None, str] | None:
    """The object ``text`` (the words ``said``) names and the text read as naming it (no
    object: ``None`` and ``text``); ``None`` when it is no answer: out of company, or words
    after the phrase that name no object.  ``told``: ``text`` is the object pass's already."""
    slot = object_slot(said, p)
    if long_tail(said, p, slot):
        return None
    if in_company(said, p, slot):
        if not slot:
            return None, text
        heard = (text, slot) if told is not None else object_pass(p, text, slot, recheck)
        read = None if long_tail(words(heard[0]), p, heard[1]) else read_object(p, *heard, rivalry)
        if read is not None:
            return read
    return read_tail(p, text, said, rivalry) if harmless_lead(said, p) else None


def _heard_twice(
    p: TriggerPhrase,
    text: str,
    logprob: float,
    *,
    recheck: Recheck | None,
    rivalry: Rescore | None,
) -> bool:
    """The text pass (``text``; for a phrase with objects, as the object reading wrote it) is
    sure enough, for a phrase with a decision pass that pass hears it too, and ``text`` reads
    as the phrase (:func:`_reads_as_phrase`)."""
    if p.min_logprob is not None and logprob < p.min_logprob:
        return False
    if p.decision_rivals:
        if recheck is None:
            return False  # nothing can check it: a phrase that needs two hearings does not fire
        again = words(recheck(p.decision_hotwords))
        if p.objects and again and p.company is not None and all(w in p.company for w in again):
            # The decode kept only the last words ("Please."); heard again with the objects
            # listed too, it kept them.  Never seen for a sound-alike: the short replay's
            # 1566 decision passes (32 h) wrote none of company words alone.
            again = words(recheck(p.redecision_hotwords))
        if not p.fits(again):
            return False
        if not any(contains_words(again, s, p.max_words_after) for s in p.spellings):
            return False
    return _reads_as_phrase(p, text, rivalry)


def _reads_as_phrase(p: TriggerPhrase, text: str, rivalry: Rescore | None) -> bool:
    """``text`` (holding the phrase) reads ``rival_margin`` likelier than with each rival in
    place of the phrase; true for a phrase with no such test."""
    if p.rival_margin is None or not p.rivals:
        return True
    return reads_likeliest(text, p.written, p.rivals, rivalry, p.rival_margin)


def match_utterance(
    text: str,
    spotted: Iterable[str],
    phrases: Sequence[TriggerPhrase],
    at: float,
    *,
    logprob: float = 0.0,
    recheck: Recheck | None = None,
    rescore: Rescore | None = None,
    rivalry: Rescore | None = None,
) -> list[TriggerMatch]:
    """Matches in one utterance (no cooldown): ``text`` recognised with confidence ``logprob``,
    ``spotted`` keyphrases heard, ``recheck`` the decision pass and ``rivalry`` the unprompted
    reading for phrases with rivals, ``rescore`` the second look for phrases the text missed."""
    said = words(text)
    heard = {words(s) for s in spotted}
    found: list[TriggerMatch] = []
    seen: set[Action] = set()
    for p in phrases:
        if p.action in seen:
            continue
        if not p.fits(said):
            continue
        told = recheck(p.object_hotwords, once=True) if recheck and glued(p, said) else None
        p_text = text if told is None else told
        p_said = words(p_text)
        if p.fits(p_said) and any(
            contains_words(p_said, s, p.max_words_after) for s in p.spellings
        ):
            read = _object_reading(p, p_text, p_said, told=told, recheck=recheck, rivalry=rivalry)
            if read is not None and _heard_twice(
                p, read[1], logprob, recheck=recheck, rivalry=rivalry
            ):
                found.append(TriggerMatch(p.action, p.phrase, at, "text", read[0]))
                seen.add(p.action)
            elif p.objects and harmless_lead(p_said, p):
                # Heard once but not trusted, or with words after it that name no object: it
                # names nothing and runs nothing, and the operator is told what to say
                # instead of hearing nothing.
                found.append(TriggerMatch(p.action, p.phrase, at, "unsure"))
                seen.add(p.action)
        elif p.keyphrase_alone and words(p.phrase) in heard and not _lengthened(said, p):
            found.append(TriggerMatch(p.action, p.phrase, at, "keyphrase"))
            seen.add(p.action)
        elif wants_second_look(p, said, heard):
            looked = heard_on_second_look(p, text, rescore)
            if looked is not None and _reads_as_phrase(p, looked, rivalry):
                found.append(TriggerMatch(p.action, p.phrase, at, "second look"))
                seen.add(p.action)
    return found


@dataclass(slots=True)
class TriggerMatcher:
    """Utterances in (text + spotted keyphrases + audio time), matches out, with a cooldown.

    Stateful only for the cooldown: the last time each action fired, on the audio clock.
    """

    phrases: tuple[TriggerPhrase, ...] = DEFAULT_PHRASES
    cooldown_s: float = DEFAULT_COOLDOWN_S
    _last: dict[Action, float] = field(default_factory=dict)

    def utterance(
        self,
        text: str,
        spotted: Iterable[str],
        at: float,
        *,
        logprob: float = 0.0,
        recheck: Recheck | None = None,
        rescore: Rescore | None = None,
        rivalry: Rescore | None = None,
    ) -> list[TriggerMatch]:
        """The actions this utterance fires: each at most once, none within its cooldown."""
        fired: list[TriggerMatch] = []
        found = match_utterance(
            text,
            spotted,
            self.phrases,
            at,
            logprob=logprob,
            recheck=recheck,
            rescore=rescore,
            rivalry=rivalry,
        )
        for m in found:
            last = self._last.get(m.action)
            if last is not None and at - last < self.cooldown_s:
                continue
            self._last[m.action] = at
            fired.append(m)
        return fired
