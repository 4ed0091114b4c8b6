"""The one tokeniser for natural-language words, spoken (recognised) or typed.

Trigger matching, typed answers to a confirmation and sound-alike name matching all compare
words, so they must agree on what a word is: lower case (``casefold``), apostrophes dropped
inside a word ("don't" → "dont", one word, never "don" + "t"), and every other character that is
not a letter or digit separating words ("Execute plan." → execute, plan; "web-1" → web, 1).

Command text is not natural language: :func:`extraction.spoken.normalise` keeps ``-./_:`` inside
words for names and typed flags, and the guard splits a command at spaces only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SEPARATORS = re.compile(r"[\W_]+")


def words(text: str) -> tuple[str, ...]:
    """The words of ``text`` ("Don't, EXECUTE plan!" → dont, execute, plan)."""
    return tuple(_SEPARATORS.sub(" ", without_apostrophes(text.casefold())).split())


def without_apostrophes(text: str) -> str:
    """``text`` with every kind of apostrophe dropped, so "what's" and "what’s" are one word."""
    return _APOSTROPHES.sub("", text)


def contains_words(
    haystack: Sequence[str], needle: Sequence[str], max_after: int | None = None
) -> bool:
    """True when ``needle`` occurs as consecutive whole words in ``haystack``, followed by at
    most ``max_after`` words (``None``: any number)."""
    n, total = len(needle), len(haystack)
    return n > 0 and any(
        tuple(haystack[i : i + n]) == tuple(needle)
        and (max_after is None or total - (i + n) <= max_after)
        for i in range(total - n + 1)
    )
