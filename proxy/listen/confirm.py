"""Is this utterance a confirmation (or a cancellation) of a pending command?

The voice path hears the user through speech recognition, so a pending destructive command must
not run because "confirm" appeared somewhere in a longer sentence ("I cannot confirm that") or
inside another word ("unconfirmed").  An utterance counts only when *every* word in it is either
a confirmation word or harmless filler ("please", "ahead", …) and at least one real confirmation
word is present.  Punctuation and case are ignored, so "Yes." and "Go ahead!" match.

Only the user's side may call these: the model's own text never reaches them (see
:mod:`proxy.actions.runner`), so the voice model cannot confirm its own proposals.
"""

from __future__ import annotations

import re

# Anything that is neither a letter/digit nor whitespace separates words; apostrophes are
# dropped first so that "don't" stays one word ("dont") instead of becoming "don" + "t".
_APOSTROPHES = re.compile(r"['’ʼ]")
_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)

# Longer utterances are sentences about something else, not an answer to "confirm?".
_MAX_WORDS = 6

_CONFIRM_WORDS = frozenset(
    {"confirm", "confirmed", "yes", "yeah", "yep", "go", "proceed", "approve", "approved"}
)
_CANCEL_WORDS = frozenset(
    {"cancel", "cancelled", "canceled", "no", "nope", "stop", "abort", "dont", "nevermind"}
)
# Words that may surround the answer without changing it.  No negation is in here.
_FILLER = frozenset(
    {"please", "ok", "okay", "ahead", "do", "it", "that", "this", "sure", "alright", "then"}
)
# Two-word answers whose words are only filler on their own.
_CONFIRM_PHRASES = frozenset({("do", "it"), ("do", "it", "please"), ("please", "do", "it")})
_CANCEL_PHRASES = frozenset({("never", "mind")})


def _words(text: str) -> tuple[str, ...]:
    cleaned = _NON_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold()))
    return tuple(cleaned.split())


def _matches(text: str, core: frozenset[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    words = _words(text)
    if not words or len(words) > _MAX_WORDS:
        return False
    if words in phrases:
        return True
    if not all(word in core or word in _FILLER for word in words):
        return False
    return any(word in core for word in words)


def is_confirmation(text: str) -> bool:
    """True when the whole utterance says "yes, run it" ("confirm", "yes", "go ahead", …).

    >>> is_confirmation("Yes, please.")
    True
    >>> is_confirmation("I cannot confirm that")
    False
    """
    return _matches(text, _CONFIRM_WORDS, _CONFIRM_PHRASES)


def is_cancellation(text: str) -> bool:
    """True when the whole utterance says "no, drop it" ("cancel", "no", "never mind", …)."""
    return _matches(text, _CANCEL_WORDS, _CANCEL_PHRASES)
