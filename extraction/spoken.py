"""Pure text helpers for speech-recognised words: normalising, clause splitting, literals.

Speech recognisers emit lower-case words without punctuation, spell numbers as words and say
"dash" where a person would type ``-``.  These helpers turn such text into a canonical form the
rules can match, and turn a spoken literal command ("df dash h") into command text ("df -h").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from voiceops.words import without_apostrophes

# Characters kept inside words: they occur in service names, paths and typed flags.
_DROP = re.compile(r"[^a-z0-9\-./_@:=%+ ]+")
_EDGE_PUNCT = ".:=,"
_SHORT_FLAG = re.compile(r"-[a-z]+")

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def _numbers_to_digits(words: list[str]) -> list[str]:
    """Replace spoken numbers up to 9999 ("two hundred fifty") by digits ("250")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        value, used = _read_number(words, i)
        if used:
            out.append(str(value))
            i += used
        else:
            out.append(words[i])
            i += 1
    return out


def _read_number(words: list[str], i: int) -> tuple[int, int]:
    """Read one spoken number starting at ``words[i]``; return (value, words used)."""
    total, chunk, j = 0, 0, i
    seen = False
    while j < len(words):
        w = words[j]
        nxt = words[j + 1] if j + 1 < len(words) else ""
        if w in _UNITS and (chunk % 100 == 0 or (chunk % 10 == 0 and _UNITS[w] < 10)):
            if chunk % 100 >= 20 and _UNITS[w] == 0:
                break
            chunk += _UNITS[w]
        elif w in _TENS and chunk % 100 == 0:
            chunk += _TENS[w]
        elif w == "hundred" and 0 < chunk < 10:
            chunk *= 100
        elif w == "thousand" and 0 < chunk < 1000 and total == 0:
            total, chunk = chunk * 1000, 0
        elif w == "a" and not seen and nxt in ("hundred", "thousand"):
            chunk = 1
        elif w == "and" and seen and chunk % 100 == 0 and (nxt in _UNITS or nxt in _TENS):
            pass
        else:
            break
        seen = True
        j += 1
    if not seen:
        return 0, 0
    return total + chunk, j - i


def normalise(text: str) -> str:
    """Canonical form of spoken or typed words: lower case, no apostrophes, digits, single spaces.

    ``"What's using memory?"`` becomes ``"whats using memory"``; ``"last fifty lines"`` becomes
    ``"last 50 lines"``.  Hyphens, slashes, dots and the like stay inside words because they
    occur in names and typed flags.
    """
    lowered = without_apostrophes(text.lower())
    words = [w.strip(_EDGE_PUNCT) for w in _DROP.sub(" ", lowered).split()]
    return " ".join(_numbers_to_digits([w for w in words if w]))


def phrase_regex(phrases: Sequence[str]) -> str:
    """Alternation matching any of ``phrases`` as whole words, longest first."""
    ordered = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    return "|".join(re.escape(p) for p in ordered)


def split_clauses(text: str, breaks: Sequence[str]) -> list[str]:
    """Split normalised text at clause words ("and", "then"), so each request stands alone."""
    alternation = phrase_regex(breaks)
    if not alternation:
        return [text] if text else []
    parts = re.split(rf"(?:^| )(?:{alternation})(?= |$)", text)
    return [p.strip() for p in parts if p.strip()]


def remove_phrases(text: str, phrases: Sequence[str]) -> str:
    """Remove whole-word ``phrases`` (e.g. the trigger phrase) from normalised text."""
    alternation = phrase_regex(phrases)
    if not alternation:
        return text
    return " ".join(re.sub(rf"(?:^| )(?:{alternation})(?= |$)", " ", text).split())


def spoken_to_literal(words: str, vocabulary: Mapping[str, str]) -> str:
    """Turn spoken command words into command text: ``"df dash h"`` → ``"df -h"``.

    ``vocabulary`` maps spoken words to symbols (``"dash" → "-"``, ``"slash" → "/"``).  Flags
    attach to the word after them, a slash starts a path and continues one, and a dot, colon,
    underscore or equals sign between two words joins them (``"nginx dot conf"`` → ``nginx.conf``).
    """
    alternation = phrase_regex(list(vocabulary))
    normal_vocab = {normalise(k): v for k, v in vocabulary.items()}
    tokens: list[str] = []
    pos = 0
    text = words
    pattern = re.compile(rf"(?:^| )({alternation})(?= |$)") if alternation else None
    while pattern is not None:
        m = pattern.search(text, pos)
        if m is None:
            break
        tokens.extend(text[pos : m.start()].split())
        tokens.append("\0" + normal_vocab[m.group(1)])
        pos = m.end()
    tokens.extend(text[pos:].split())
    return _join_symbols(tokens)


def _join_symbols(tokens: list[str]) -> str:
    """Glue symbol tokens (marked with a leading NUL) to their neighbours."""
    out: list[str] = []
    glue_next = False
    for index, token in enumerate(tokens):
        if not token.startswith("\0"):
            # Spelled-out short flags: "dash l a" is "-la", as a person types it.
            last = out[-1] if out else ""
            spelled_flag = len(token) == 1 and token.isalpha() and _SHORT_FLAG.fullmatch(last)
            if out and (glue_next or spelled_flag):
                out[-1] += token
            else:
                out.append(token)
            glue_next = False
            continue
        symbol = token[1:]
        has_next = index + 1 < len(tokens)
        if symbol in ("-", "--"):
            out.append(symbol)
            glue_next = has_next
        elif symbol == "/":
            # A slash continues a path ("/var" + "/log") or glues to a flag/symbol before it.
            if out and (glue_next or "/" in out[-1]):
                out[-1] += symbol
            else:
                out.append(symbol)
            glue_next = has_next
        elif out and has_next:
            out[-1] += symbol
            glue_next = True
        elif glue_next and out:
            out[-1] += symbol
        else:
            out.append(symbol)
            glue_next = False
    return " ".join(out)
