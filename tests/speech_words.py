"""A recogniser's text as plain lower-case words ("27%" → 27 percent, "75GB" → gigabytes)."""

from __future__ import annotations

import re

_SPELLED = {"%": " percent ", "gb": " gigabytes ", "mb": " megabytes "}


def heard_words(text: str) -> set[str]:
    """Words of ``text`` with numbers and units spelled out ("file system" → filesystem)."""
    return set(word_list(text))


def word_list(text: str) -> list[str]:
    """The words of ``text`` in order, spelled as :func:`heard_words` spells them."""
    text = text.lower()
    text = re.sub(r"(\d)\s*(%|gb|mb)\b", lambda m: m.group(1) + _SPELLED[m.group(2)], text)
    text = text.replace("%", " percent ").replace("file system", "filesystem")
    return re.findall(r"[a-z0-9]+", text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length."""
    ref, hyp = word_list(reference), word_list(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))
