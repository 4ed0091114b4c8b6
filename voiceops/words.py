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

_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SEPARATORS = re.compile(r"[\W_]+")


def words(text: str) -> tuple[str, ...]:
    """The words of ``text`` ("Don't, EXECUTE plan!" → dont, execute, plan)."""
    return tuple(_SEPARATORS.sub(" ", without_apostrophes(text.casefold())).split())


def without_apostrophes(text: str) -> str:
    """``text`` with every kind of apostrophe dropped, so "what's" and "what’s" are one word."""
    return _APOSTROPHES.sub("", text)
