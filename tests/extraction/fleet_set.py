"""The fleet-words evaluation set (``fleet_set.txt``): its fleet, loading and scoring.

Shared by ``tests/extraction/test_fleet_words.py`` (the same notation for its table) and
``bench/bench_fleet_words.py`` (the held-out figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from extraction.model import Extraction
from fleet import Fleet
from tests.extraction.understanding_set import rows, turns

__all__ = ["FLEET", "as_pairs", "correct", "expected", "load", "turns"]

SET_PATH = Path(__file__).with_name("fleet_set.txt")
FLEET = Fleet(("web-1", "web-2", "db-1"), {"web": ("web-1", "web-2")}, {"database box": "db-1"})

Pairs = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Case:
    """One conversation and what should run where (or be asked)."""

    split: str
    category: str
    said: str
    want: str


def expected(text: str) -> tuple[Pairs, list[str]]:
    """``"df -h @ web-1,web-2 ; ? which server"`` → (command, node) pairs and question words."""
    pairs: Pairs = []
    questions: list[str] = []
    for item in (i.strip() for i in text.split(" ; ") if text.strip() != "-"):
        if item.startswith("?"):
            questions.append(item[1:].strip().lower())
            continue
        command, _, nodes = item.partition(" @ ")
        pairs.extend((command.strip(), node.strip()) for node in nodes.split(","))
    return pairs, questions


def as_pairs(result: Extraction) -> Pairs:
    """The extraction as (command, node) pairs in run order."""
    return [(p.command, node) for p in result.commands for node in p.targets]


def correct(result: Extraction, want: str) -> bool:
    """Exactly the expected pairs, a question for each expected one, and no other questions."""
    pairs, questions = expected(want)
    whys = [u.why.lower() for u in result.unmatched]
    asked = all(any(q in why for why in whys) for q in questions)
    return as_pairs(result) == pairs and asked and len(whys) == len(questions)


def load(split: str) -> list[Case]:
    """Every case of ``split`` in file order."""
    return [Case(section, *parts) for section, parts in rows(SET_PATH) if section == split]
