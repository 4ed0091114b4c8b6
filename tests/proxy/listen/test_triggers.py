"""Trigger matching on recognised text: what fires, what must not, and firing once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from guard.loader import load_policy
from proxy.listen.answers import Answer, Recheck, typed_answer
from proxy.listen.readings import rival_texts
from proxy.listen.second_look import second_look_texts
from proxy.listen.trigger_phrases import (
    DEFAULT_PHRASES,
    SHIPPED_CONFIRM_WORDS,
    TriggerPhrase,
    naming_actions,
)
from proxy.listen.triggers import TriggerMatch, TriggerMatcher, match_utterance
from proxy.relay.codec import Action
from voiceops.words import words

CONFIRM = next(p for p in DEFAULT_PHRASES if p.action is Action.CONFIRM)


def passes(
    text: str, again: str | None = None, told: str | None = None, asked: list[str] | None = None
) -> Recheck:
    """Passes that hear ``text`` again, or ``again`` (the decision pass) and ``told`` (the
    object pass) when given; each call's hotwords are added to ``asked``."""

    def recheck(hotwords: str, once: bool = False) -> str:
        if asked is not None:
            asked.append(hotwords if not once else f"{hotwords} (once)")
        heard = told if hotwords == CONFIRM.object_hotwords else again
        return text if heard is None else heard

    return recheck


def fired(
    text: str,
    spotted: tuple[str, ...] = (),
    logprob: float = -0.1,
    again: str | None = None,
    margin: float = 2.0,
) -> list[Action]:
    """Actions one utterance fires; the decision pass hears ``again`` (default: the same text),
    and the forced reading finds the phrase ``margin`` nats likelier than its best rival.  A
    confirmation the checks refused is left out: it is reported unsure, naming nothing, and
    runs nothing (:func:`test_a_refused_confirmation_is_reported_unsure_and_names_nothing`)."""
    matches = match_utterance(
        text,
        spotted,
        DEFAULT_PHRASES,
        at=1.0,
        logprob=logprob,
        recheck=passes(text, again),
        # The text as written first, then the text with each rival in place of the phrase.
        rivalry=lambda texts: [-1.0, *[-1.0 - margin] * (len(texts) - 1)],
    )
    return [m.action for m in matches if m.source != "unsure"]


def named(
    text: str, spoken: str | None = None, again: str | None = None, told: str | None = None
) -> list[tuple[Action, str | None]]:
    """What one utterance fires, with the action it names: the text pass wrote ``text``, the
    decision pass hears ``again`` and the object pass ``told`` (default: the same), and a
    forced reading finds the words ``spoken`` (default: ``text``) likeliest."""
    said = words(spoken or text)
    matches = match_utterance(
        text,
        (),
        DEFAULT_PHRASES,
        at=1.0,
        logprob=-0.1,
        recheck=passes(text, again, told),
        rivalry=lambda texts: [0.0 if words(t) == said else -5.0 for t in texts],
    )
    return [(m.action, m.named) for m in matches]


def test_confirm_must_read_likelier_than_every_rival() -> None:
    # Measured: espeak's "conform" heard as "confirm" by both passes, but read as "can form".
    assert fired("confirm", margin=-0.7) == []
    assert fired("confirm", margin=0.5) == [Action.CONFIRM]
    no_reading = match_utterance(
        "confirm", (), DEFAULT_PHRASES, 1.0, recheck=passes("confirm"), rivalry=lambda _t: ()
    )
    assert [m.source for m in no_reading] == ["unsure"]  # a recogniser that cannot read it


def test_words_drop_case_and_punctuation() -> None:
    assert words("Okay, EXECUTE plan.") == ("okay", "execute", "plan")
    assert words("Don’t  stop web-1_a «now»") == ("dont", "stop", "web", "1", "a", "now")


def test_execute_plan_at_the_end_of_a_request_fires() -> None:
    assert fired("Okay so please check the disk usage on web 1, execute plan.") == [Action.EXECUTE]


@pytest.mark.parametrize(
    "text",
    [
        "We will execute the plan tomorrow.",  # chosen: talking about the plan is not a request
        "The plan is to execute later",
        "executed planning meeting",
        "execute planet scan",
        "We will execute plan tomorrow",  # tiny.en dropped "the": the phrase must end the utterance
        "",
    ],
)
def test_similar_sentences_do_not_fire(text: str) -> None:
    assert fired(text) == []


def test_replies_fire_in_short_utterances_only() -> None:
    assert fired("Confirm.") == [Action.CONFIRM]
    assert fired("yes, confirmed") == [Action.CONFIRM]
    assert fired("cancel that please") == [Action.CANCEL]
    assert fired("can you confirm the disk usage on web one") == []
    assert fired("we should cancel the meeting with the vendor on friday") == []
    # One word more when the last is one tiny.en writes for "now" or "then" (read as a tail).
    assert named("sure confirm start to help", spoken="sure confirm start now") == [
        (Action.CONFIRM, "start")
    ]
    assert named("yes sure confirm start nginx", spoken="yes sure confirm start now") == []


def test_spotter_alone_cannot_fire_execute() -> None:
    # The spotter hears "execute the plan" as "execute plan"; only the text can tell them apart.
    assert fired("We will execute the plan tomorrow", spotted=("execute plan",)) == []


def looked(
    text: str, prefer: str | None, spotted: tuple[str, ...] = (), reads: str | None = None
) -> list[TriggerMatch]:
    """Matches for one utterance whose second look finds ``prefer`` (of the texts it is shown)
    likelier than the text as written, and every other text less likely; an unprompted
    reading finds ``reads`` likeliest (default: the first text it is shown)."""
    return match_utterance(
        text,
        spotted,
        DEFAULT_PHRASES,
        at=1.0,
        rescore=lambda texts: [0.0 if t == prefer else -1.0 if t == text else -9.0 for t in texts],
        rivalry=lambda texts: [0.0 if t == (reads or texts[0]) else -5.0 for t in texts],
    )


def test_execute_plan_must_read_likelier_than_its_sound_alikes() -> None:
    # Short replay: espeak's "exit plan" and "explain plan" written "execute plan".
    def reading(prefer: str) -> list[Action]:
        matches = match_utterance(
            "Execute plan.",
            (),
            DEFAULT_PHRASES,
            at=1.0,
            rivalry=lambda texts: [0.0 if t == prefer else -2.0 for t in texts],
        )
        return [m.action for m in matches]

    assert reading("Exit plan.") == []
    assert reading("Explain plan.") == []
    assert reading("Execute plan.") == [Action.EXECUTE]
    # A recogniser that cannot read it does not execute.
    assert match_utterance("Execute plan.", (), DEFAULT_PHRASES, 1.0, rivalry=lambda _: []) == []


def test_a_second_look_must_read_likelier_than_the_sound_alikes_too() -> None:
    # Short replay: "exit plan" written "and let plan", which a second look took for the phrase.
    assert [m.action for m in looked("and let plan", "execute plan")] == [Action.EXECUTE]
    assert looked("and let plan", "execute plan", reads="exit plan") == []


def test_execute_plan_gets_no_decision_pass() -> None:
    asked: list[str] = []

    def recheck(hotwords: str, once: bool = False) -> str:
        asked.append(hotwords)
        return ""

    matches = match_utterance(
        "Execute plan.",
        (),
        DEFAULT_PHRASES,
        at=1.0,
        recheck=recheck,
        rivalry=as_written,
    )
    assert [m.action for m in matches] == [Action.EXECUTE] and asked == []


def test_a_missed_execute_plan_fires_when_the_recogniser_prefers_it_on_a_second_look() -> None:
    # Dev set, 185 wpm in room noise: tiny.en wrote this for "okay so execute plan".
    matches = looked("Okay, so that's the cute plan", "Okay, so execute plan")
    assert [(m.action, m.source) for m in matches] == [(Action.EXECUTE, "second look")]
    assert [m.action for m in looked("That's a good plan.", "Execute plan.")] == [Action.EXECUTE]
    # The spotter's hit asks for a second look even when the text does not end on "plan".
    spotted = looked("okay so that's acute", "execute plan", ("execute plan",))
    assert [m.action for m in spotted] == [Action.EXECUTE]


def test_the_second_look_shows_the_text_with_its_last_words_replaced() -> None:
    execute = DEFAULT_PHRASES[0]
    assert second_look_texts(execute, "Okay, so that's the cute plan.") == [
        "Okay, so that's the cute plan.",
        "Okay, so that's the cute execute plan.",
        "Okay, so that's the execute plan.",
        "Okay, so that's execute plan.",
        "Okay, so execute plan.",
    ]
    assert second_look_texts(execute, "That's a plan")[-1] == "Execute plan"


@pytest.mark.parametrize(
    ("text", "spotted"),
    [
        ("That's a good plan.", ()),  # the recogniser prefers the words it wrote
        ("Then we execute the plan.", ("execute plan",)),  # it heard "execute": no second look
        ("The execution plan", ()),
        ("that's a good plan for tomorrow", ()),  # "plan" does not end it, no spotter hit
    ],
)
def test_no_second_look_or_a_second_look_that_prefers_the_text_does_not_execute(
    text: str, spotted: tuple[str, ...]
) -> None:
    prefer = None if text.startswith("That's") else "execute plan"
    assert looked(text, prefer, spotted) == []


def test_without_scores_a_missed_execute_plan_stays_missed() -> None:
    text = "That's the cute plan"
    assert match_utterance(text, (), DEFAULT_PHRASES, at=1.0) == []
    assert match_utterance(text, (), DEFAULT_PHRASES, at=1.0, rescore=lambda _: []) == []


#: The phrases as the pocketsphinx-only fallback uses them: the spotter may fire alone.
FALLBACK = tuple(
    replace(p, keyphrase_alone=True, min_logprob=None, rivals=(), decision_rivals=())
    for p in DEFAULT_PHRASES
)


def fallback(text: str, spotted: tuple[str, ...]) -> list[Action]:
    return [m.action for m in match_utterance(text, spotted, FALLBACK, at=1.0)]


def test_the_spotter_alone_fires_no_default_reply() -> None:
    # Short replay of the long negative run: the spotter heard "cancel" in "let me think";
    # in the trigger sets it never caught a real "cancel" that the text missed.
    assert fired("Let me think", spotted=("cancel",)) == []
    assert fired("Console", spotted=("cancel",)) == []
    # Without Whisper it is all there is.
    assert fallback("Console", ("cancel",)) == [Action.CANCEL]
    assert fallback("the console on the web server is broken again", ("cancel",)) == []


def test_spotter_alone_does_not_fire_inside_a_longer_word() -> None:
    # Long negative bench: a lone "confirmation" / "cancellation" spotted as the reply word.
    assert fallback("Confirmation.", ("confirm",)) == []
    assert fallback("cancelation", ("cancel",)) == []
    assert fallback("the cancellation fee", ("cancel",)) == []
    # The text's own spellings still fire, and so does the spotter next to other words.
    assert fallback("Confirmed.", ("confirm",)) == [Action.CONFIRM]
    assert fallback("yes, Console", ("cancel",)) == [Action.CANCEL]


def test_the_spotter_alone_never_confirms() -> None:
    # A false confirm runs a destructive command: the spotter heard "council" as a reply.
    assert fired("", spotted=("confirm",)) == []
    assert fired("Council.", spotted=("confirm",)) == []


@pytest.mark.parametrize(
    ("text", "again", "logprob", "rival"),
    [("confirm restart", "Concern, restart.", -0.1, -5.0), ("confirm restart", None, -1.2, -5.0),
     ("confirm restart", None, -0.1, 0.2), ("Yes, confirm.", "Please.", -0.1, -5.0)],
)  # fmt: skip
def test_a_refused_confirmation_is_reported_unsure_and_names_nothing(
    text: str, again: str | None, logprob: float, rival: float
) -> None:
    # Refused by the decision pass, the confidence floor or the reading ("conform" reads
    # ``rival``): it runs nothing, and the flow says what to say instead of nothing.
    reads = {"confirm restart": 0.0, "Yes, confirm.": 0.0, "conform restart": rival}
    matches = match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, logprob=logprob, recheck=passes(text, again),
        rivalry=lambda texts: [reads.get(t, -5.0) for t in texts],
    )  # fmt: skip
    assert [(m.action, m.named, m.source) for m in matches] == [(Action.CONFIRM, None, "unsure")]
    # So are words after "confirm" that read as no action ("confirm net"), but not a "confirm"
    # after other words.
    for said, hint in (("confirm net", True), ("don't confirm restart", False)):
        heard = match_utterance(
            said, (), DEFAULT_PHRASES, 1.0, recheck=passes(said), rivalry=as_written
        )  # fmt: skip
        assert [(m.named, m.source) for m in heard] == ([(None, "unsure")] if hint else [])
    # A refused "cancel" cancels nothing and says nothing: there is no action to name.
    assert fired("cancel", logprob=-1.5) == []


@pytest.mark.parametrize(
    ("first", "second", "fires"),
    [("Please.", "confirm, kill, please.", True), ("Please.", "Please.", False),
     ("Kill, please.", "confirm, kill, please.", False)],
)  # fmt: skip
def test_a_decision_pass_that_kept_only_company_words_is_heard_again(
    first: str, second: str, fires: bool
) -> None:
    # Measured (bench_confirm): the decision pass wrote "Please." for "confirm kill, please";
    # heard again with the actions listed too, it wrote all of it.  A decision pass that wrote
    # any other word ("Kill, please.": sound-alikes' passes drop their first word too) decides.
    heard = {
        CONFIRM.decision_hotwords: first,
        CONFIRM.redecision_hotwords: second,
        CONFIRM.object_hotwords: "confirm, kill, please.",
    }
    asked: list[str] = []

    def recheck(hotwords: str, once: bool = False) -> str:
        asked.append(hotwords)
        return heard[hotwords]

    text = "confirm, kill, please"
    matches = match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, logprob=-0.1, recheck=recheck,
        rivalry=lambda texts: [0.0 if words(t) == words(text) else -3.0 for t in texts],
    )  # fmt: skip
    assert [(m.action, m.named) for m in matches] == [(Action.CONFIRM, "kill" if fires else None)]
    assert (CONFIRM.redecision_hotwords in asked) is (first == "Please.")


def test_a_confirm_must_be_heard_twice() -> None:
    # Long negative run: the hotword-biased pass turned a lone "concern" into "confirm"; the
    # decision pass, listening for "confirm" among its rivals, heard "concern".
    assert fired("confirm", again="Concern.") == []
    assert fired("confirm", again="confirm, concern") == [Action.CONFIRM]
    assert fired("Yes, confirm.", again="yes, confirm") == [Action.CONFIRM]
    # A decision pass that heard a long sentence is no reply either.
    assert fired("confirm", again="I can confirm that the disk is fine") == []


def test_an_unsure_confirm_does_not_fire() -> None:
    assert fired("confirm", logprob=-1.2) == []
    assert fired("confirm", logprob=-0.2) == [Action.CONFIRM]


def test_an_unsure_cancel_does_not_fire() -> None:
    # Short replay: the text pass heard a lone "council" / "consult" as "cancel", unsure.
    assert fired("cancel", logprob=-1.19) == []
    assert fired("cancelled", logprob=-1.15) == []
    assert fired("cancel that", logprob=-0.4) == [Action.CANCEL]


def test_without_a_decision_pass_confirm_does_not_fire() -> None:
    unchecked = match_utterance("confirm", (), DEFAULT_PHRASES, at=1.0)
    assert [(m.action, m.named, m.source) for m in unchecked] == [(Action.CONFIRM, None, "unsure")]
    # No decision pass for "cancel": espeak's "cancel" is "council" to tiny.en half the time.
    assert [m.action for m in match_utterance("cancel", (), DEFAULT_PHRASES, at=1.0)] == [
        Action.CANCEL
    ]


def test_the_decision_pass_lists_the_phrase_among_its_rivals() -> None:
    confirm = next(p for p in DEFAULT_PHRASES if p.action is Action.CONFIRM)
    hotwords = confirm.decision_hotwords.removesuffix(".").split(", ")
    assert hotwords[0] == "confirm" and "concern" in hotwords and len(hotwords) > 5
    # A full stop ends the list: without it "confirm, please" was heard as "please".
    assert confirm.decision_hotwords.endswith(".")


def test_confer_is_read_against_confirm_but_not_listed_in_the_decision_pass() -> None:
    # Short replay: "confer reload" heard as "confirm reload" by both passes.  Listed in the
    # decision pass, "confer" made it write "confirm" for "conform" (bench_confirm clips).
    assert "confer" not in CONFIRM.decision_hotwords.removesuffix(".").split(", ")
    reads = {"confirm reload": 0.0, "confer reload": 1.0}
    matches = match_utterance(
        "confirm reload", (), DEFAULT_PHRASES, 1.0, logprob=-0.1,
        recheck=passes("confirm reload"), rivalry=lambda ts: [reads.get(t, -5.0) for t in ts],
    )  # fmt: skip
    assert [(m.action, m.named) for m in matches] == [(Action.CONFIRM, None)]
    reads["confer reload"] = -1.0
    heard = match_utterance(
        "confirm reload", (), DEFAULT_PHRASES, 1.0, logprob=-0.1,
        recheck=passes("confirm reload"), rivalry=lambda ts: [reads.get(t, -5.0) for t in ts],
    )  # fmt: skip
    assert [(m.action, m.named) for m in heard] == [(Action.CONFIRM, "reload")]


def as_written(texts: Sequence[str]) -> list[float]:
    """A forced reading that finds the text as written (the first) likelier than the rest."""
    return [0.0, *[-2.0] * (len(texts) - 1)]


def test_one_utterance_fires_each_action_once() -> None:
    matches = match_utterance(
        "execute plan, execute plan", ["execute plan"], DEFAULT_PHRASES, 2.0, rivalry=as_written
    )
    assert [(m.action, m.source) for m in matches] == [(Action.EXECUTE, "text")]


def test_cooldown_on_the_audio_clock() -> None:
    matcher = TriggerMatcher(cooldown_s=3.0)

    def heard(text: str, at: float) -> list[Action]:
        return [m.action for m in matcher.utterance(text, [], at=at, rivalry=as_written)]

    assert heard("execute plan", 10.0) == [Action.EXECUTE]
    assert heard("execute plan", 11.5) == []  # same request, split by a pause
    assert heard("cancel", 11.6) == [Action.CANCEL]
    assert heard("execute plan", 13.5) == [Action.EXECUTE]


def test_custom_phrase() -> None:
    phrases = (TriggerPhrase("make it so", Action.EXECUTE),)
    assert [m.phrase for m in match_utterance("Make it so!", [], phrases, 0.0)] == ["make it so"]
    assert match_utterance("execute plan", [], phrases, 0.0) == []


def test_bad_phrases_are_refused() -> None:
    with pytest.raises(ValueError, match="no words"):
        TriggerPhrase(" ... ", Action.EXECUTE)
    with pytest.raises(ValueError, match="EXECUTE, CONFIRM or CANCEL"):
        TriggerPhrase("stop", Action.PAUSE)


@pytest.mark.parametrize(
    "text",
    ["confirm", "Confirm.", "confirmed", "yes, confirm", "Yes, confirm please.", "okay confirm it",
     "I confirm", "  confirm  "],
)  # fmt: skip
def test_an_answer_confirms_spoken_or_typed(text: str) -> None:
    assert fired(text) == [Action.CONFIRM]
    assert typed_answer(text) == Answer(Action.CONFIRM)


@pytest.mark.parametrize(
    "text",
    ["yes", "go ahead", "Yes, go ahead.", "do it", "ok", "", "...", "unconfirmed",
     "confirmation", "don't confirm", "I cannot confirm that", "can you confirm",
     "is it confirmed", "no, confirm", "yes confirm the restart of nginx"],
)  # fmt: skip
def test_agreement_without_confirm_or_a_negated_confirm_answers_nothing(text: str) -> None:
    # A false confirm runs a destructive command: only the word "confirm", in harmless company.
    assert fired(text) == []
    assert typed_answer(text) is None


@pytest.mark.parametrize(
    "text", ["cancel", "Cancel!", "No, cancel that.", "cancelled", "ok cancel"]
)
def test_an_answer_cancels_spoken_or_typed(text: str) -> None:
    assert fired(text) == [Action.CANCEL]
    assert typed_answer(text) == Answer(Action.CANCEL)


@pytest.mark.parametrize("text", ["cancel net", "Cancel, not.", "cancel map", "cancel the restart"])
def test_cancel_first_in_a_short_reply_cancels_whatever_follows(text: str) -> None:
    # tiny.en hears "cancel that" as "cancel net": cancelling is the harmless direction.
    assert fired(text) == [Action.CANCEL]
    assert typed_answer(text) == Answer(Action.CANCEL)


@pytest.mark.parametrize("text", ["confirm net", "Confirm, not.", "confirm map"])
def test_confirm_keeps_the_strict_company(text: str) -> None:
    # A false confirm runs a destructive command: unknown words beside it answer nothing.
    assert fired(text) == []
    assert typed_answer(text) is None


@pytest.mark.parametrize(
    "text",
    ["no", "stop", "never mind", "don't cancel", "cancellation", "cancel the restart of nginx",
     "why cancel", "I would cancel"],
)  # fmt: skip
def test_other_refusals_cancel_nothing(text: str) -> None:
    assert fired(text) == []
    assert typed_answer(text) is None


def test_a_typed_answer_needs_no_second_hearing() -> None:
    # Typed words are not misheard: no decision pass, no confidence floor.
    assert [m.source for m in match_utterance("confirm", (), DEFAULT_PHRASES, at=1.0)] == ["unsure"]
    assert typed_answer("confirm") == Answer(Action.CONFIRM)


@pytest.mark.parametrize(
    ("text", "action"),
    [("confirm restart", "restart"), ("Yes, confirm stop, please.", "stop"),
     ("Confirm remove.", "remove"), ("okay confirm kill", "kill"), ("confirm", None),
     ("Confirmed. Reload.", "reload")],
)  # fmt: skip
def test_a_confirmation_names_the_action_right_after_confirm(text: str, action: str | None) -> None:
    assert named(text) == [(Action.CONFIRM, action)]
    assert typed_answer(text) == Answer(Action.CONFIRM, action)


def test_an_answer_tiny_en_may_have_written_for_a_denial_confirms_nothing() -> None:
    # bench_confirm --set take_back_2: "don't confirm restart" written "and confirm restart"
    # (2 of 6 voices), and it ran restart.
    assert named("and confirm restart") == []
    # en-gb-x-rp+Linda, 185 wpm, clean: "don't confirm restart" written "then confirm restart".
    assert named("then confirm restart") == []
    assert typed_answer("then confirm restart") is None
    assert named("okay, confirm restart then") == [(Action.CONFIRM, "restart")]
    # "and" may follow the action, though it may not lead "confirm".
    assert named("confirm, remove, and") == [(Action.CONFIRM, "remove")]
    # "… not now" written with two words after the action (bench_confirm --set take_back_dev),
    # even where the action alone reads likeliest.
    for text, spoken in [
        ("confirm remove, now, now", "confirm remove, now"),
        ("confirm, restart, out, out", "confirm, restart, out"),
        ("confirm kill, help out", "confirm kill, now"),
    ]:
        assert named(text, spoken=spoken) == [(Action.CONFIRM, None)]
    # "nope" takes it back too (quiet, 185 wpm: "confirm, restart, nope" ran restart).
    assert named("confirm, restart, nope", spoken="confirm, restart") == [(Action.CONFIRM, None)]
    # A breath before the tail is no word ("confirm restart then" written "… and end"), nor is
    # the action's last "t" ("confirm restart now" written "confirm, restart it out").
    assert named("confirm, restart, and end", spoken="confirm, restart then") == [
        (Action.CONFIRM, "restart")
    ]
    assert named("confirm, restart it out", spoken="confirm, restart now") == [
        (Action.CONFIRM, "restart")
    ]


@pytest.mark.parametrize(
    "text", ["confirm the restart", "confirm restart nginx", "restart confirm", "confirm reboot"]
)
def test_a_confirmation_names_nothing_else(text: str) -> None:
    # Only a policy action word, right after "confirm", may stand beside it: said, a
    # "confirm" first gets what to say (it names nothing and runs nothing); typed, nothing.
    assert named(text) == ([] if text.startswith("restart") else [(Action.CONFIRM, None)])
    assert typed_answer(text) is None


def test_the_action_is_read_not_decoded() -> None:
    # Measured: tiny.en writes the action as other words, and the decision pass (listening
    # for "confirm" among its sound-alikes) garbles it; a forced reading decides.
    assert named("Confirm, list heart.", spoken="confirm restart") == [(Action.CONFIRM, "restart")]
    assert named("confirm restart", again="confirm, rest out.") == [(Action.CONFIRM, "restart")]
    assert named("confirm restart", spoken="confirm start") == [(Action.CONFIRM, "start")]
    # The decision pass must still hear "confirm" (else: unsure, naming nothing).
    assert named("confirm kill, please", again="Please.") == [(Action.CONFIRM, None)]
    # Words after "confirm" that read as no action name nothing (the flow says what to say).
    assert named("confirm net") == [(Action.CONFIRM, None)]
    assert named("Confirm, list heart.") == [(Action.CONFIRM, None)]


@pytest.mark.parametrize(
    ("text", "spoken", "action"),
    # Measured (bench_confirm dev set with a word after the action, 185 wpm, room noise).
    [("Confirm, kill, how?", "confirm kill now", "kill"),
     ("confirm, reload, how", "confirm reload now", "reload"),
     ("Okay, confirm, kill out", "okay confirm kill now", "kill"),
     ("confirm, ribbed men", "confirm remove then", "remove"),
     ("confirm, restart to end", "confirm restart then", "restart"),
     ("sure confirm start to help", "sure confirm start now", "start")],
)  # fmt: skip
def test_the_words_after_the_action_are_read_as_a_tail(text: str, spoken: str, action: str) -> None:
    # tiny.en writes "now" as "how" and "then" as "men", and reads its own words likelier than
    # what was said; read against the answer taken back, the tail decides.
    assert named(text, spoken=spoken) == [(Action.CONFIRM, action)]
    # Typed words are not misheard: a typed tail that is no tail is no answer.
    assert typed_answer(text) is None


@pytest.mark.parametrize(
    "text", ["confirm, kill, no", "confirm start, no", "confirm stop later", "confirm, no, restart"]
)
def test_an_answer_taken_back_runs_nothing(text: str) -> None:
    # Measured (bench_confirm take_back, fourth held-out voices): "confirm kill? no", written
    # "confirm, kill, no", read likelier as "confirm, kill" and ran kill (10 of 72 answers taken
    # back).  Words that take it back are never part of the action's words.
    assert named(text, spoken="confirm kill") == [(Action.CONFIRM, None)]
    assert named(text, spoken=" ".join(words(text)[:2])) == [(Action.CONFIRM, None)]
    assert typed_answer(text) is None


def tail_read(text: str, reads: dict[str, float]) -> list[tuple[Action, str | None]]:
    """What ``text`` fires when a forced reading scores the words of ``reads`` as given (the
    text as written 0, anything else -9); both passes hear ``text``."""
    scores = {words(t): s for t, s in reads.items()}
    matches = match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, logprob=-0.1, recheck=passes(text),
        rivalry=lambda texts: [
            0.0 if t == text else scores.get(words(t), -9.0) for t in texts
        ],
    )  # fmt: skip
    return [(m.action, m.named) for m in matches]


def test_a_tail_read_as_the_answer_taken_back_confirms_nothing() -> None:
    # Measured: "now" and "not now" read within 0.5 nats of each other when tiny.en wrote
    # "how" for them ("confirm reload, not now" written "confirm, reload, how to help").
    text = "confirm, reload, how"
    now = {"confirm reload now": -6.6}
    assert tail_read(text, {**now, "confirm reload not now": -6.1}) == [(Action.CONFIRM, None)]
    # Likelier as "now", but by less than the margin.
    assert tail_read(text, {**now, "confirm reload not now": -7.0}) == [(Action.CONFIRM, None)]
    assert tail_read(text, {**now, "confirm reload not now": -8.0}) == [(Action.CONFIRM, "reload")]
    # Two actions that read alike name neither.
    both = {**now, "confirm restart now": -6.6}
    assert tail_read(text, both) == [(Action.CONFIRM, None)]


@pytest.mark.parametrize(
    "text",
    # "… never" was written "confirm, restart, and error": "error" is no tail tiny.en wrote.
    ["confirm, restart, and error", "confirm restart nginx", "confirm restart, no wait",
     "confirm restart and stop", "confirm, restart, not how", "confirm, and how",
     "confirm, no, how",
     # "… not now" (bench_confirm --set take_back_dev): two words for the tail.
     "confirm, restart, out, out", "confirm restart, how to how", "confirm restart, now to how"],
)  # fmt: skip
def test_only_what_tiny_en_wrote_for_a_tail_is_read_as_one(text: str) -> None:
    reads = {"confirm restart now": 0.0, "confirm restart then": 0.0}
    assert tail_read(text, reads) == [(Action.CONFIRM, None)]
    # After other words, "confirm" and its tail answer nothing at all.
    assert tail_read(f"don't {text}", reads) == []


def test_an_object_pass_hears_the_action_the_text_pass_missed() -> None:
    # Measured (bench_confirm dev set): the text pass wrote "reboot" for "remove", which reads
    # likelier than any action; heard again told the actions, it wrote "remove".
    assert named("Okay, confirm reboot") == [(Action.CONFIRM, None)]
    told = "Okay, confirm, remove."
    heard_again = named("Okay, confirm reboot", told=told, spoken=told)
    assert heard_again == [(Action.CONFIRM, "remove")]
    # An object pass that lost "confirm" or the words after it leaves the text pass's words.
    for lost in ("Remove.", "Okay, confirm."):
        assert named("Okay, confirm remove", told=lost) == [(Action.CONFIRM, "remove")]


def test_an_s_glued_onto_confirm_is_heard_again_told_the_actions() -> None:
    # Measured (bench_confirm): tiny.en wrote "Yes, confirm's top" for "yes, confirm stop" and
    # "Sure, confirm's talk" for "sure, confirm start".
    told = "Yes, confirm, stop."
    glued = named("Yes, confirm's top", told=told, spoken=told, again=told)
    assert glued == [(Action.CONFIRM, "stop")]
    # Heard again, the words must still be a confirmation that names the action.
    assert named("Yes, confirm's top", told="Yes, confirms top.") == []
    assert named("That confirms it.", told="That confirms it.") == []
    # The decision pass must still hear "confirm" (else: unsure, naming nothing).
    unsure = named("Yes, confirm's top", told=told, spoken=told, again="Yes.")
    assert unsure == [(Action.CONFIRM, None)]
    # Typed words are not misheard: a typed "confirm's" is no answer.
    assert typed_answer("Yes, confirm's top") is None


@pytest.mark.parametrize(
    ("text", "asked_again"),
    [("confirm restart now", True), ("don't confirm restart now", False),
     ("I can't confirm that", False), ("confirm to how", True)],
)  # fmt: skip
def test_only_harmless_words_around_confirm_earn_an_object_pass(
    text: str, asked_again: bool
) -> None:
    # The object pass could drop a word before "confirm" ("don't"): never asked then.
    asked: list[str] = []
    match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, recheck=passes("", asked=asked),
        rivalry=lambda texts: [0.0] * len(texts),
    )  # fmt: skip
    assert (f"{CONFIRM.object_hotwords} (once)" in asked) is asked_again


@pytest.mark.parametrize("text", ["it confirms", "Yes, confirm's top"])
def test_only_a_glued_s_with_words_after_earns_a_pass(text: str) -> None:
    asked: list[str] = []
    match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, recheck=passes("", asked=asked),
        rivalry=lambda texts: [0.0] * len(texts),
    )  # fmt: skip
    assert asked == ([] if text == "it confirms" else [f"{CONFIRM.object_hotwords} (once)"])


@pytest.mark.parametrize(
    ("text", "passes_asked"),
    [
        ("yes, confirm please", [CONFIRM.decision_hotwords]),
        ("confirm restart", [f"{CONFIRM.object_hotwords} (once)", CONFIRM.decision_hotwords]),
    ],
)
def test_only_words_after_confirm_earn_an_object_pass(text: str, passes_asked: list[str]) -> None:
    # Told the actions, a pass could put one into a bare "confirm": it is never asked.
    asked: list[str] = []
    matches = match_utterance(
        text, (), DEFAULT_PHRASES, 1.0, recheck=passes(text, asked=asked),
        rivalry=lambda texts: [0.0 if words(t) == words(text) else -2.0 for t in texts],
    )  # fmt: skip
    assert asked == passes_asked
    assert [m.action for m in matches] == [Action.CONFIRM]


def test_the_actions_are_the_policys() -> None:
    assert load_policy().confirm_words() == SHIPPED_CONFIRM_WORDS
    other = naming_actions(DEFAULT_PHRASES, ("truncate",))
    matches = match_utterance(
        "confirm truncate", (), other, 1.0, recheck=passes("confirm truncate"),
        rivalry=lambda texts: [0.0 if t == "confirm truncate" else -1.0 for t in texts],
    )  # fmt: skip
    assert [(m.action, m.named) for m in matches] == [(Action.CONFIRM, "truncate")]
    assert named("confirm truncate") == [(Action.CONFIRM, None)]


def test_rivals_take_the_place_of_the_phrase_in_the_text_as_written() -> None:
    texts = rival_texts(
        "Yes, confirmed restart.", ("confirm", "confirmed"), ("conform", "can form")
    )
    assert texts == ("Yes, confirmed restart.", "Yes, conform restart.", "Yes, can form restart.")
    assert rival_texts("Confirm stop.", ("confirm",), ("concern",)) == (
        "Confirm stop.",
        "Concern stop.",
    )
    assert rival_texts("okay", ("confirm",), ("concern",)) == ("okay",)
    # A phrase of two words, whatever the text pass put between them.
    assert rival_texts("Okay, execute, plan.", ("execute plan",), ("exit plan",)) == (
        "Okay, execute, plan.",
        "Okay, exit plan.",
    )
