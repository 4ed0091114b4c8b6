"""The first look at a command's text, before any parsing: length, characters, word count.

Commands are plain words separated by spaces.  Anything a shell would treat specially is
refused here, so no later stage (nor any executor that might hand the argv to a shell) ever
sees it.  The allowed characters are a positive list; the named ones below only improve the
message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guard.policy import Limits

ALLOWED = re.compile(r"[A-Za-z0-9 _./:=,+@%-]*")
"""Every character a command may contain; an argv the guard approves matches it too."""

_NAMED = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    "\0": "a NUL byte",
    "'": "a quote",
    '"': "a quote",
    "`": "a backtick (command substitution)",
    "$": "a dollar sign (variables and command substitution)",
    ";": "a semicolon (command separator)",
    "|": "a pipe",
    "&": "an ampersand (background job or command separator)",
    "<": "a redirection",
    ">": "a redirection",
    "(": "a parenthesis (subshell or process substitution)",
    ")": "a parenthesis (subshell or process substitution)",
    "{": "a brace (brace expansion)",
    "}": "a brace (brace expansion)",
    "*": "a glob",
    "?": "a glob",
    "[": "a glob",
    "]": "a glob",
    "~": "a tilde (home directory expansion)",
    "!": "an exclamation mark (history expansion)",
    "\\": "a backslash (escape)",
    "#": "a hash (shell comment)",
}


@dataclass(frozen=True, slots=True)
class Screened:
    """Text that passed the screen, split into its words."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Text the screen refused: ``reason`` for a person, ``rule`` naming the check."""

    reason: str
    rule: str


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in _NAMED:
        return f"{_NAMED[char]} ({code})"
    if not char.isascii():
        return f"the non-ASCII character {char!r} ({code}); type commands in plain ASCII"
    if not char.isprintable():
        return f"a control character ({code})"
    return f"the character {char!r} ({code})"


def screen(text: str, limits: Limits) -> Screened | Rejected:
    """Refuse over-long text, any character outside :data:`ALLOWED`, and too many words."""
    if len(text) > limits.max_input_chars:
        return Rejected(
            f"the command is {len(text)} characters long; the limit is {limits.max_input_chars}",
            "limits.max_input_chars",
        )
    if not ALLOWED.fullmatch(text):
        bad = next(char for char in text if not ALLOWED.fullmatch(char))
        return Rejected(
            f"the command contains {_describe(bad)}; commands are plain words, "
            "and shell syntax is never run",
            "charset",
        )
    words = tuple(text.split(" "))
    words = tuple(word for word in words if word)
    if not words:
        return Rejected("the command is empty", "empty")
    if len(words) - 1 > limits.max_args:
        return Rejected(
            f"the command has {len(words) - 1} arguments; the limit is {limits.max_args}",
            "limits.max_args",
        )
    return Screened(words)
