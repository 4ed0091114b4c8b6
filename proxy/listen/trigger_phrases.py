"""Trigger phrases: what each one is, its thresholds, and the shipped defaults (pure data).

How they are matched, and why each threshold is what it is: :mod:`proxy.listen.triggers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from proxy.relay.codec import Action
from voiceops import phrases
from voiceops.words import words


@dataclass(frozen=True, slots=True)
class TriggerPhrase:
    """One configured phrase and the action it stands for.

    ``variants`` are other spellings the text recogniser produces for the same words
    ("confirmed"); ``max_utterance_words`` limits the phrase to short utterances (``None``: any
    length); ``max_words_after`` is how many words may follow the phrase in its utterance
    (``None``: any; 0: the phrase must end the utterance, i.e. be followed by a pause);
    ``keyphrase_alone`` lets a spotter hit fire without the text agreeing. ``spotter_threshold``
    is the pocketsphinx keyphrase threshold (smaller: fewer false alarms). ``min_logprob``: the
    text pass's mean token log-probability must reach this (``None``: no limit). ``rivals``:
    words that sound like the phrase, read against it with ``rival_margin``.
    ``decision_rivals``: when given, a second decode that lists the phrase and these words as
    equal hotwords must also hear the phrase (empty: no decision pass). ``company``: the only
    other words the utterance may hold (``None``: any). ``second_look``: how many final words of
    the text may be the phrase misheard (0: none); when the text missed the phrase
    (:func:`proxy.listen.second_look.wants_second_look`), the recogniser scores the text with its
    last 1…``second_look`` words replaced by the phrase, and the phrase fires when one of those
    scores ``second_look_gain`` (log-probability) or more above the text itself.
    ``lead_max_words``: the phrase *first* in an utterance of at most this many words needs no
    company (``None``: always the company rule). ``rival_margin``: with rivals, the text read
    unprompted must also be likelier, by this many nats of log-probability, than the text with a
    rival in place of the phrase (``None``: no such test), whether the text pass wrote the
    phrase or a second look put it there. ``objects``: words that name what the
    phrase acts on ("restart" in "confirm restart"); the words right after the phrase are read
    as one of them (:attr:`proxy.listen.triggers.TriggerMatch.named`) and need no company.
    ``tails``: words that may follow the object ("confirm start now"); when the text wrote the
    words after the phrase as others, a forced reading may read them as an object and one of
    these (:func:`proxy.listen.answers.read_tail`; empty: no such reading).  ``leads``: the
    only words that may come before the phrase (``None``: any of its company).
    """

    phrase: str
    action: Action
    variants: tuple[str, ...] = ()
    max_utterance_words: int | None = None
    max_words_after: int | None = None
    keyphrase_alone: bool = False
    spotter_threshold: float = 1e-20
    min_logprob: float | None = None
    rivals: tuple[str, ...] = ()
    company: frozenset[str] | None = None
    second_look: int = 0
    second_look_gain: float = 0.0
    lead_max_words: int | None = None
    rival_margin: float | None = None
    objects: tuple[str, ...] = ()
    decision_rivals: tuple[str, ...] = ()
    tails: tuple[str, ...] = ()
    leads: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not words(self.phrase):
            raise ValueError(f"trigger phrase {self.phrase!r} has no words")
        if self.action not in (Action.EXECUTE, Action.CONFIRM, Action.CANCEL):
            raise ValueError(
                f"trigger action must be EXECUTE, CONFIRM or CANCEL, not {self.action}"
            )

    @property
    def written(self) -> tuple[str, ...]:
        """The phrase and its variants as written ("confirm", "confirmed")."""
        return (self.phrase, *self.variants)

    def fits(self, said: Sequence[str]) -> bool:
        """True when an utterance of the words ``said`` is short enough for the phrase
        (``max_utterance_words``; one more for a phrase with :attr:`tails` when the last word
        is one tiny.en writes for a tail: "sure, confirm start now" was written "sure confirm
        start to help")."""
        if self.max_utterance_words is None:
            return True
        misheard_tail = bool(self.tails) and bool(said) and said[-1] in phrases.TAIL_SOUNDS
        return len(said) <= self.max_utterance_words + misheard_tail

    @property
    def spellings(self) -> tuple[tuple[str, ...], ...]:
        """The phrase and its variants as word tuples."""
        return tuple(words(p) for p in self.written)

    @property
    def decision_hotwords(self) -> str:
        """Hotwords of the decision pass: the phrase among its decision rivals, none favoured.

        The list ends with a full stop.  Measured (185 wpm, 15 dB room noise): without it
        tiny.en took the list for words already said and heard "confirm, please" as "please"."""
        return ", ".join((self.phrase, *self.decision_rivals)) + "."

    @property
    def redecision_hotwords(self) -> str:
        """Hotwords of the decision pass heard again when it wrote only company words
        ("Please." for "confirm kill, please"): its list, then the objects.

        Measured (``bench/bench_confirm.py``, same recordings): dev 26 → 28 of 36, second
        held-out set 31 → 33 of 48; no more sound-alike clips taken (252, 124 of them ending
        on "please"; none was heard again).  As the first decision pass it kept more (dev 29)
        but took "conform restart" and "can firm restart, please" more often (1/32 and 18/30,
        against 0 and 8)."""
        return f"{self.decision_hotwords} {', '.join(self.objects)}."

    @property
    def object_hotwords(self) -> str:
        """Hotwords of the object pass: the phrase and its objects ("confirm, kill, …, stop.").

        Measured (``bench/bench_confirm.py``): the text pass, told only the trigger phrases,
        writes the action as other words ("confirm, reboot" for "confirm remove", "confirm,
        list heart" for "confirm restart"), which no forced reading can turn back; told the
        actions, it wrote the action said in every dev clip."""
        return ", ".join((self.phrase, *self.objects)) + "."


#: Words Whisper confuses with "confirm" (same "con-/com-" onset, one stressed syllable after).
CONFIRM_RIVALS = (
    "concern", "conform", "comfort", "conference", "council", "counsel", "console", "control",
    "consent", "can form",
)  # fmt: skip
#: Final words a second look may take for a misheard "execute plan" (bench_triggers dev set:
#: "Okay, so that's the cute plan" → "Okay, so execute plan" replaces four).
EXECUTE_SECOND_LOOK = 4
#: How much more likely (log-probability) the words ending in "execute plan" must be than the
#: text as written: 0, the recogniser prefers them (dev set: misses +1.8…+3.0, sentences ending
#: on "plan" -2.2 and below).
EXECUTE_SECOND_LOOK_GAIN = 0.0
#: What "execute plan" must read likelier than: the bench_triggers dev set's sentences that ask
#: for nothing ("explain plan", "the execution plan", "then we execute the plan") and "exit
#: plan".  Not "the cute plan" / "a cute plan" (tiny.en's words for a fast "execute plan"): a
#: dev "okay so execute plan" read 1.1 nats likelier as "a cute plan"; against these four every
#: dev "execute plan" read ≥ 1.5 nats likelier.
EXECUTE_RIVALS = ("exit plan", "explain plan", "execution plan", "execute the plan")
#: How much likelier than every rival "execute plan" must read (nats): likeliest is enough.
EXECUTE_RIVAL_MARGIN = 0.0
#: Read against "confirm" but not listed in its decision pass.  As a hotword there, "confer"
#: made the decision pass write "confirm" for 23 of 32 "conform restart" clips (10 without it);
#: read only, it refused 3 of the 5 "confer reload" clips taken (bench_confirm-style clips,
#: 8 voices × 2 speeds × 2 pitches), and no dev, clip or held-out confirmation was lost.
CONFIRM_READ_RIVALS = ("confer",)
#: Least sure a text pass may be of a "confirm" (mean token log-probability; bench_triggers).
CONFIRM_MIN_LOGPROB = -1.0
#: How much likelier than every rival "confirm" must read (nats).  bench_confirm clips: at 0 one
#: "conform restart" of 32 read as "confirm restart", at 0.5 none; dev recall the same (24/36).
CONFIRM_RIVAL_MARGIN = 0.5
#: Least sure a text pass may be of a "cancel" (the same floor; bench_triggers short replay).
CANCEL_MIN_LOGPROB = -1.0
#: The actions the shipped policy confirms (``guard/default_policy.toml``: each destructive
#: rule's ``say``; a test checks they agree).  A proxy with another policy uses its words
#: (:func:`naming_actions`).
SHIPPED_CONFIRM_WORDS = ("kill", "reload", "remove", "restart", "start", "stop")


DEFAULT_PHRASES: tuple[TriggerPhrase, ...] = (
    TriggerPhrase(
        phrases.EXECUTE_PLAN,
        Action.EXECUTE,
        max_words_after=0,
        spotter_threshold=1e-20,
        second_look=EXECUTE_SECOND_LOOK,
        second_look_gain=EXECUTE_SECOND_LOOK_GAIN,
        rivals=EXECUTE_RIVALS,
        rival_margin=EXECUTE_RIVAL_MARGIN,
    ),
    TriggerPhrase(
        phrases.CONFIRM,
        Action.CONFIRM,
        variants=phrases.CONFIRM_SPELLINGS[1:],
        max_utterance_words=phrases.ANSWER_MAX_WORDS,
        spotter_threshold=1e-20,
        min_logprob=CONFIRM_MIN_LOGPROB,
        rivals=(*CONFIRM_RIVALS, *CONFIRM_READ_RIVALS),
        decision_rivals=CONFIRM_RIVALS,
        company=phrases.ANSWER_COMPANY,
        rival_margin=CONFIRM_RIVAL_MARGIN,
        objects=SHIPPED_CONFIRM_WORDS,
        tails=phrases.ANSWER_TAILS,
        leads=phrases.CONFIRM_LEADS,
    ),
    TriggerPhrase(
        phrases.CANCEL,
        Action.CANCEL,
        variants=phrases.CANCEL_SPELLINGS[1:],
        max_utterance_words=phrases.ANSWER_MAX_WORDS,
        spotter_threshold=1e-20,
        min_logprob=CANCEL_MIN_LOGPROB,
        company=phrases.CANCEL_COMPANY,
        lead_max_words=phrases.CANCEL_LEAD_MAX_WORDS,
    ),
)


def naming_actions(
    phrases: Sequence[TriggerPhrase], confirm_words: Sequence[str]
) -> tuple[TriggerPhrase, ...]:
    """``phrases`` with ``confirm_words`` as the actions a confirmation names (a policy's
    :meth:`~guard.policy.Policy.confirm_words`)."""
    return tuple(
        replace(p, objects=tuple(confirm_words)) if p.action is Action.CONFIRM else p
        for p in phrases
    )
