"""The spoken vocabulary of the product, defined once: the trigger and the two answers.

Speech (:mod:`proxy.listen.triggers`), typed answers (the HTTP API's ``/process``), the extractor
(which removes the trigger from a request) and the messages that tell the operator what to say
all take their words from here.
"""

from __future__ import annotations

#: Said at the end of a request, then a pause: run what was agreed.
EXECUTE_PLAN = "execute plan"
#: Other ways of asking to run the plan.  Speech does not fire on them ("we will execute the
#: plan" is talk about it), but the extractor removes them with :data:`EXECUTE_PLAN` so that the
#: request to run never becomes a command itself.
EXECUTE_SAYINGS = (
    EXECUTE_PLAN, "execute the plan", "run the plan", "run plan", "execute that plan"
)  # fmt: skip

#: The answer that runs a pending command, and the spellings a recogniser writes for it.
CONFIRM = "confirm"
CONFIRM_SPELLINGS = (CONFIRM, "confirmed")


def confirming(action: str) -> str:
    """What to say to run a pending command whose action is ``action``: "confirm restart".
    Said aloud, "confirm" must name the action (a lone sound-alike must not run anything)."""
    return f"{CONFIRM} {action}"


#: The answer that drops a pending command.
CANCEL = "cancel"
CANCEL_SPELLINGS = (CANCEL, "cancelled", "canceled")
#: Longest utterance (in words) that counts as an answer: longer ones talk about something.
ANSWER_MAX_WORDS = 4
#: Words that may stand beside an answer without changing it ("yes, confirm please").  No
#: negation is among them, so "don't confirm" or "I cannot confirm that" answer nothing; nor is
#: any agreement enough alone: a false confirm runs a destructive command, so only the word
#: "confirm" confirms (false confirms were measured in bench/bench_triggers.py).  "and": tiny.en
#: writes a word after the action so ("confirm, remove, and" for "confirm remove then"); it may
#: not lead "confirm" (:data:`CONFIRM_LEADS`).
ANSWER_COMPANY = frozenset(
    {"yes", "yeah", "yep", "ok", "okay", "alright", "sure", "please", "now", "then", "so", "i",
     "it", "that", "this", "go", "ahead", "thanks", "and"}
)  # fmt: skip
#: The only words that may come before "confirm": agreement ("yes", "I confirm").  Not the other
#: company: tiny.en wrote "don't confirm restart" as "then confirm restart" (en-gb-x-rp+Linda,
#: 185 wpm, clean) and as "and confirm restart" (``bench/bench_confirm.py --set take_back_2``),
#: and both ran it.
CONFIRM_LEADS = frozenset(
    {"yes", "yeah", "yep", "ok", "okay", "alright", "sure", "please", "go", "ahead", "i"}
)
#: What may follow the action of a confirmation ("confirm start now").
ANSWER_TAILS = ("now", "then", "please")
#: What tiny.en wrote for those last words, said fast in room noise (``bench/bench_confirm.py``,
#: dev set with a word after the action): "confirm, kill, how?", "confirm, remove, and",
#: "confirm, restart to end", "Yes, confirm start to help", "confirm, ribbed men".  Only these
#: may stand for a tail (:func:`proxy.listen.answers.read_tail`): "confirm restart nginx" or
#: "confirm restart, and error" ("… never") are no answer.
TAIL_SOUNDS = frozenset({"how", "out", "and", "end", "to", "help", "hope", "man", "men", "net"})
#: What tiny.en writes for the "t" that ends an action before its tail ("confirm restart to end",
#: "confirm, restart it out") or for a breath before it ("confirm, restart, and end"): no word
#: said.  Besides these, a tail is one word: "not now" was written as two ("confirm, restart,
#: out, out", "confirm kill, how to how") and read as "now" (``bench/bench_confirm.py --set
#: take_back_dev``).
TAIL_GLIDES = frozenset({"to", "it", "and"})
#: Endings that take a confirmation back or put it off ("confirm reload, not now" was written
#: "confirm, reload, how to help"): a tail must read likelier as one of :data:`ANSWER_TAILS`.
TAKING_BACK = (
    "no", "not now", "no wait", "not yet", "wait", "later", "never", "hold on", "tomorrow"
)  # fmt: skip
#: Their words that are no company, and "nope": none may be read as part of a confirmation's
#: action ("confirm kill, no" read as "confirm kill" ran it, and "confirm, restart, nope" ran
#: restart: ``bench/bench_confirm.py --set take_back_quiet``).
TAKING_BACK_WORDS = (
    frozenset(w for saying in TAKING_BACK for w in saying.split()) | {"nope"}
) - ANSWER_COMPANY
#: Beside "cancel" only: "no, cancel that".
CANCEL_COMPANY = ANSWER_COMPANY | {"no", "nope"}
#: "cancel" first in a reply of at most this many words cancels whatever follows it: tiny.en
#: hears "cancel that" as "cancel net" or "cancel map", and a false cancel only drops a command
#: (a false confirm runs one, so "confirm" keeps the strict company).
CANCEL_LEAD_MAX_WORDS = 3
