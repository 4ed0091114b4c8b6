"""A recogniser's text as plain lower-case words ("27%" → 27 percent, "75GB" → gigabytes)."""

from __future__ import annotations

import re

_SPELLED = {"%": " percent ", "gb": " gigabytes ", "mb": " megabytes "}


def heard_words(text: str) -> set[str]:
    """Words of ``text`` with numbers, units and run-together compounds split out."""
    text = text.lower()
    text = re.sub(r"(\d)\s*(%|gb|mb)\b", lambda m: m.group(1) + _SPELLED[m.group(2)], text)
    text = text.replace("%", " percent ")
    words = set(re.findall(r"[a-z0-9]+", text))
    return words | {"filesystem"} if {"file", "system"} <= words else words
