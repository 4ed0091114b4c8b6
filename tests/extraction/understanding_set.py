"""The extractor evaluation set (``understanding_set.txt``): loading it and scoring answers.

Shared by the test suite (the tuning part, with an accuracy floor) and
``bench/bench_understanding.py`` (both parts, per category, with the confusions).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from extraction.model import Recollection, Turn

SET_PATH = Path(__file__).with_name("understanding_set.txt")
HELD_OUT = "held-out"
TUNE = "tune"


@dataclass(frozen=True, slots=True)
class Case:
    """One conversation and the commands a careful operator would expect from it."""

    split: str
    category: str
    turns: tuple[Turn, ...]
    expected: tuple[tuple[str, ...], ...]
    recalled: tuple[Recollection, ...]

    @property
    def words(self) -> str:
        """The conversation as one line, for reports."""
        return " // ".join(f"{t.speaker[0]}: {t.text}" for t in self.turns)


def turns(text: str) -> tuple[Turn, ...]:
    """``"u: ... // a: ..."`` → turns; a turn without a prefix is the operator's."""
    if text.strip() == "-":
        return ()
    found = []
    for n, raw in enumerate(text.split(" // ")):
        speaker, _, said = raw.strip().partition(": ")
        if speaker not in ("u", "a") or not said:
            speaker, said = "u", raw.strip()
        found.append(Turn("user" if speaker == "u" else "assistant", said, n, n + 0.9))
    return tuple(found)


def _commands(text: str) -> tuple[tuple[str, ...], ...]:
    if text.strip() == "-":
        return ()
    return tuple(tuple(a.strip() for a in item.split("||")) for item in text.split(" ; "))


def rows(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(section, the line's ``" | "``-separated parts) for each case line of a set file."""
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        yield current, [part.strip() for part in line.split(" | ")]


def load(split: str | None = None) -> list[Case]:
    """Every case of ``split`` (``"tune"``, ``"held-out"``, or both when None), in file order."""
    cases: list[Case] = []
    for current, parts in rows(SET_PATH):
        category, said, expected, *rest = parts
        recalled: tuple[Recollection, ...] = ()
        if rest:
            commands = tuple(c.strip() for c in rest[0].split(" ; "))
            recalled = (
                Recollection("r0", "earlier request", commands, "", "earlier", time.time(), 0.5),
            )
        case = Case(current, category, turns(said), _commands(expected), recalled)
        if split is None or split == current:
            cases.append(case)
    return cases


def matches(expected: Sequence[Sequence[str]], proposed: Sequence[str]) -> bool:
    """Whether ``proposed`` is exactly the expected commands in order.

    Each expected item lists accepted alternatives; ``"rm *"`` accepts any ``rm`` command.
    """
    if len(expected) != len(proposed):
        return False
    return all(_accepts(options, got) for options, got in zip(expected, proposed, strict=True))


def _accepts(options: Sequence[str], got: str) -> bool:
    for option in options:
        if option.endswith(" *") and got.split(" ", 1)[0] == option[:-2]:
            return True
        if option == got:
            return True
    return False
