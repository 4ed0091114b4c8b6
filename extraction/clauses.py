"""Pure helpers that read the shape of normalised spoken words: is this a request at all?

The meaning layer only compares a clause with the intent examples when the clause is shaped
like a request (an imperative, a question, "can you …", "I'd like to know …") and is not a
plan for later, a hypothetical or a story about the past: "my disk at home is full" and "we
should check the disk next week" are close in meaning to "is the disk full", and must still
propose nothing.  Everything here works on text already passed through
:func:`extraction.spoken.normalise` (lower case, no apostrophes: "don't" is "dont").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from extraction.spoken import normalise, phrase_regex

# Said before a request without changing it; stripping them exposes the verb or question word.
_LEADING_FILLERS = (
    "please", "hey", "ok", "okay", "so", "now", "and", "also", "then", "first", "um", "uh",
    "oh", "kindly", "quickly", "and then", "after that", "finally", "lastly",
)  # fmt: skip
# Openings that make the rest a request even when it is a bare noun ("I'd like to know the load").
_REQUEST_OPENINGS = (
    "can you", "could you", "would you", "will you", "would you mind", "can we", "could we",
    "lets", "let us", "i want to", "i want you to", "i need to", "we need to", "i need you to",
    "id like to", "id like you to", "i would like to", "i think we need to", "we have to",
    "i want to know", "i need to know", "id like to know", "i would like to know",
    "i want to see", "i need to see", "id like to see", "go ahead and", "just", "only",
    "instead", "tell me", "show me", "give me", "let me see", "let me know", "have a look at",
    "take a look at", "look at",
)  # fmt: skip
# The voice model offering to do something; what follows is its proposal.
_PROPOSAL_OPENINGS = (
    "shall i", "should i", "do you want me to", "would you like me to", "want me to",
    "i can", "i could", "let me", "how about i", "i will", "ill", "may i", "can i",
)  # fmt: skip
_VERBS = (
    "check", "show", "list", "restart", "bounce", "reload", "start", "stop", "tail", "get",
    "give", "tell", "display", "look", "see", "run", "execute", "pull", "bring", "kill",
    "reboot", "delete", "remove", "format", "update", "upgrade", "shut", "find", "print",
    "repeat", "do", "status", "read", "fire", "recycle", "clean", "wipe", "power", "turn",
    "terminate", "verify", "inspect", "report", "count", "measure", "monitor", "examine",
    "logs", "type", "same", "fix", "make", "order", "set", "change", "open", "close",
    "install", "create", "add", "move", "copy", "send", "deploy", "scale", "build",
    "configure", "enable", "disable", "mount", "unmount", "backup", "edit", "write", "free",
    "flush", "clear", "purge", "rotate", "renew", "test", "ping", "trace", "open", "grep",
)  # fmt: skip
_QUESTIONS = (
    "what", "whats", "which", "who", "whos", "how", "hows", "is", "are", "do", "does", "did",
    "any", "why", "when", "where", "wheres", "has", "have", "can", "could",
)  # fmt: skip
# Plans, hypotheticals and wishes: a clause with one of these proposes nothing.
_NOT_NOW = (
    "tomorrow", "next week", "next month", "next sprint", "next time", "later", "someday",
    "some day", "at some point", "eventually", "after lunch", "tonight", "this weekend",
    "we will", "we shall", "ill", "well", "going to", "gonna", "might", "in case", "plan to",
    "planning to", "remind me", "we should",
    "should we", "shall we", "could be", "would be", "i wonder", "we could", "wondering",
    "yesterday", "last week", "last month", "this morning", "ago", "used to", "on monday",
)  # fmt: skip
# Conditions: "if memory gets low …", "once the backup finishes …".
_CONDITION = re.compile(r"^(?:if|once|whenever|unless|as soon as) ")
# A past-tense story: "I restarted my laptop", "my colleague checked the logs".
_STORY = re.compile(
    r"^(?:i|we|he|she|they|you|someone|my \w+|our \w+|the \w+) "
    r"(?:\w+ed|ran|went|did|said|was|were|had|saw|made|got|took|fixed)(?: |$)"
)
# Opening a turn or clause with these replaces what was asked just before.
_CORRECTIONS = (
    "no", "nope", "actually", "wait", "sorry", "scratch that", "make that", "rather",
    "no wait", "no sorry", "i mean", "correction", "change that", "forget that",
)  # fmt: skip
# Asking for what was run before, taken from memory.
_AGAIN = re.compile(
    r"(?<![^ ])(?:again|same as (?:last time|before)|(?:the )?same (?:thing|checks?|as)"
    r"|repeat (?:that|it|what|the)|do the same|same as last|same again)(?![^ ])"
)
_DECLINES = ("no", "nope", "no thanks", "not now", "dont", "do not", "let me think", "not yet")


def _regex(phrases: Sequence[str]) -> re.Pattern[str]:
    return re.compile(rf"(?<![^ ])(?:{phrase_regex(phrases)})(?![^ ])")


_FILLER_RE = re.compile(rf"^(?:{phrase_regex(_LEADING_FILLERS)})(?: |$)")
_OPENING_RE = re.compile(rf"^(?:{phrase_regex(_REQUEST_OPENINGS)})(?: |$)")
_PROPOSAL_RE = re.compile(rf"(?:^| )(?:{phrase_regex(_PROPOSAL_OPENINGS)}) ")
_NOT_NOW_RE = _regex(_NOT_NOW)
_CORRECTION_RE = re.compile(rf"^(?:{phrase_regex(_CORRECTIONS)})(?: |$)")
_DECLINE_RE = re.compile(rf"^(?:{phrase_regex(_DECLINES)})(?: |$)")
_FRAGMENT_WORDS = 4
# Words that make a clause a statement rather than a fragment of a request list.
_FINITE = frozenset((
    "is", "are", "was", "were", "be", "been", "am", "has", "have", "had", "will", "would",
    "should", "could", "can", "may", "might", "must", "went", "did", "does", "do", "said",
    "think", "know", "love", "like", "hate", "feel", "called", "ran", "got",
))  # fmt: skip
# "nginx needs a reload": a statement that asks for something.
_NEEDS = re.compile(r"^(?:the )?[a-z0-9_.-]+(?: service| server)? needs (?:a |to )")
_SENTENCE_MARKS = re.compile(r"[,;!?]|\.(?=\s|$)")
_VERB_SET = frozenset(_VERBS)
_QUESTION_SET = frozenset(_QUESTIONS)


def strip_openings(clause: str) -> tuple[str, bool]:
    """The clause without fillers and polite openings, and whether an opening marked a request."""
    marked = False
    while True:
        m = _FILLER_RE.match(clause) or _OPENING_RE.match(clause)
        if m is None or not m.group(0).strip():
            return clause, marked
        marked = marked or m.re is _OPENING_RE
        clause = clause[m.end() :].strip()


def has_verb(clause: str) -> bool:
    """Whether the clause opens with a request verb or question word (after its openings)."""
    first = strip_openings(clause)[0].split(" ", 1)[0]
    return first in _VERB_SET or first in _QUESTION_SET


def request_shaped(clause: str) -> bool:
    """An imperative, a question, a polite request or a short fragment ("the uptime, then the
    memory"), rather than a statement ("the memory of that trip is still fresh")."""
    rest, marked = strip_openings(clause)
    words = rest.split()
    fragment = 0 < len(words) <= _FRAGMENT_WORDS and not _FINITE & set(words)
    return bool(rest) and (marked or has_verb(rest) or fragment or _NEEDS.match(rest) is not None)


def not_now(clause: str) -> bool:
    """A plan, a hypothetical or a story about the past: nothing to run now."""
    return any(pattern.search(clause) is not None for pattern in (_NOT_NOW_RE, _STORY, _CONDITION))


def correction(clause: str) -> tuple[str, bool]:
    """The clause without its correcting opening ("no, just …"), and whether it had one."""
    found = False
    while True:
        m = _CORRECTION_RE.match(clause)
        if m is None:
            return clause, found
        found = True
        clause = clause[m.end() :].strip()


def declines(turn: str) -> bool:
    """Whether a user turn opens by saying no to what the assistant proposed."""
    return _DECLINE_RE.match(turn) is not None


def asks_again(clause: str) -> bool:
    """Whether the clause asks to repeat an earlier request ("same as last time", "again")."""
    return _AGAIN.search(clause) is not None


def proposal(text: str) -> str | None:
    """What the assistant offers to do ("shall I restart nginx" → "restart nginx"), or None."""
    m = _PROPOSAL_RE.search(text)
    return text[m.end() :] if m else None


def split(text: str, breaks: Sequence[str]) -> list[str]:
    """Normalised clauses of a raw turn, at sentence marks and clause words ("and", "then").

    Punctuation is read before normalising (which drops it): a comma or full stop ends a clause.
    """
    alternation = phrase_regex([*breaks, "first", "after that", "finally"])
    clauses: list[str] = []
    for piece in _SENTENCE_MARKS.split(text):
        words = normalise(piece)
        clauses.extend(p.strip() for p in re.split(rf"(?:^| )(?:{alternation})(?= |$)", words))
    return [c for c in clauses if c]
