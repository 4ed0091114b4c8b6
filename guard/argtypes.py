"""Types of the values a command may carry: option values and positional arguments.

A policy names its types (``[types]`` in the TOML file); each named type wraps one of four
checks.  ``problem(value)`` returns ``None`` when the value fits, otherwise a short phrase saying
what is wrong, for the refusal a person reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# int() accepts "+5", " 5", "1_000" and non-ASCII digits; only plain decimal numbers without
# leading zeros mean the same thing to every program that might parse them.
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,8}")


@dataclass(frozen=True, slots=True)
class IntRange:
    """A plain decimal integer between ``low`` and ``high`` inclusive."""

    low: int
    high: int

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not such an integer, or ``None``."""
        if not _DECIMAL.fullmatch(value):
            return f"{value!r} is not a plain number"
        if not self.low <= int(value) <= self.high:
            return f"{value} is outside {self.low}..{self.high}"
        return None

    def describe(self) -> str:
        """The type in words."""
        return f"a number from {self.low} to {self.high}"


@dataclass(frozen=True, slots=True)
class OneOf:
    """One of a fixed list of words."""

    values: tuple[str, ...]

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not one of the words, or ``None``."""
        if value in self.values:
            return None
        return f"{value!r} is not one of {', '.join(self.values)}"

    def describe(self) -> str:
        """The type in words."""
        return "one of " + ", ".join(self.values)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A value the whole of which matches a regular expression."""

    regex: re.Pattern[str]

    def problem(self, value: str) -> str | None:
        """Why ``value`` does not match, or ``None``."""
        if self.regex.fullmatch(value):
            return None
        return f"{value!r} does not match {self.regex.pattern}"

    def describe(self) -> str:
        """The type in words."""
        return f"matching {self.regex.pattern}"


@dataclass(frozen=True, slots=True)
class PathUnder:
    """An absolute, already-normal path equal to or below one of ``roots``.

    The guard reads no file system, so it judges the spelling only: no ``.`` or ``..``
    component, no empty component, one optional trailing slash.  Symbolic links inside a root
    are the administrator's to avoid.
    """

    roots: tuple[str, ...]
    max_length: int = 256

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not such a path, or ``None``."""
        if len(value) > self.max_length:
            return f"the path is longer than {self.max_length} characters"
        if not value.startswith("/"):
            return f"{value!r} is not an absolute path"
        parts = value[1:].removesuffix("/").split("/") if value != "/" else []
        if any(part in {"", ".", ".."} for part in parts):
            return f"{value!r} contains an empty, '.' or '..' component"
        if not any(
            value == root or value.startswith(root.rstrip("/") + "/") for root in self.roots
        ):
            return f"{value!r} is not under {', '.join(self.roots)}"
        return None

    def describe(self) -> str:
        """The type in words."""
        return "an absolute path under " + ", ".join(self.roots)


ValueCheck = IntRange | OneOf | Pattern | PathUnder


@dataclass(frozen=True, slots=True)
class Denied:
    """Values that fit the type's shape but are refused anyway, with the reason a person reads.

    For names that are valid spellings yet dangerous, e.g. ``poweroff.target`` as a systemd
    unit: the pattern is matched against the whole value, ignoring case.
    """

    regex: re.Pattern[str]
    reason: str


@dataclass(frozen=True, slots=True)
class ArgType:
    """A named type from the policy: ``name`` for rules and messages, ``about`` for people."""

    name: str
    about: str
    check: ValueCheck
    deny: tuple[Denied, ...] = ()

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not of this type (or is one it refuses), or ``None``."""
        for denied in self.deny:
            if denied.regex.fullmatch(value):
                return f"{value!r} is refused: {denied.reason}"
        return self.check.problem(value)

    def describe(self) -> str:
        """The type in words, with the administrator's note when there is one."""
        words = self.check.describe()
        return f"{self.about} ({words})" if self.about else words
