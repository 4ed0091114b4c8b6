"""Intent matching by meaning: clause vectors against example phrasings, nearest neighbour.

The examples (``extraction/intents.toml``) are embedded once, when the index is prepared, with
the same packaged sentence model as memory (:mod:`extraction.embedding`); a request then costs
one batched embedding of its clauses and a matrix product.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from extraction.rules import RulesError

DEFAULT_INTENTS_PATH = Path(__file__).with_name("intents.toml")
MAX_INTENTS = 500
MAX_EXAMPLES = 5000
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

Vectors = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Sequence[Any]]

_CACHE: dict[tuple[Embed, tuple[str, ...]], Vectors] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing an operator can ask for: the command template and how to name it."""

    name: str
    command: str
    describe: str
    examples: tuple[str, ...]
    defaults: Mapping[str, str]
    requires: frozenset[str] = frozenset()

    def applies(self, clause: str) -> bool:
        """False when the intent names words one of which the clause must say and it says none
        (a bare "restart" is close to "reboot" in meaning, but names no machine)."""
        return not self.requires or not self.requires.isdisjoint(clause.split())

    @property
    def needs(self) -> frozenset[str]:
        """Slots the command needs that have no default."""
        return frozenset(_PLACEHOLDER.findall(self.command)) - set(self.defaults)

    def fill(self, values: Mapping[str, str]) -> str | None:
        """The command with its slots filled, or None when a needed slot has no value."""
        merged = {**self.defaults, **values}
        if any(name not in merged for name in _PLACEHOLDER.findall(self.command)):
            return None
        return _PLACEHOLDER.sub(lambda m: merged[m.group(1)], self.command)

    def described(self, values: Mapping[str, str]) -> str:
        """How a reply names this intent ("status of cron"; "status of a service" if unknown)."""
        kinds = {"service": "a service", "container": "a container", "path": "a directory"}
        named = {**values}
        if "container" in named:
            named["container"] = f"container {named['container']}"
        merged = {**kinds, "number": "N", **self.defaults, **named}
        return _PLACEHOLDER.sub(lambda m: merged.get(m.group(1), m.group(1)), self.describe)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RulesError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def load_intents(path: Path | None = None) -> tuple[Intent, ...]:
    """Read and check an intents file; a broken one raises :class:`RulesError` naming why."""
    path = path or DEFAULT_INTENTS_PATH
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"cannot use intents file {path}: {exc}") from exc
    specs = data.get("intent", [])
    if not isinstance(specs, list) or not 0 < len(specs) <= MAX_INTENTS:
        raise RulesError(f"`intent` must be an array of 1–{MAX_INTENTS} tables")
    intents = []
    for n, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise RulesError(f"intent #{n} must be a table")
        name, command, describe = (spec.get(k) for k in ("name", "command", "describe"))
        if not all(isinstance(v, str) and v.strip() for v in (name, command, describe)):
            raise RulesError(f"intent #{n}: name, command and describe must be non-empty strings")
        defaults = spec.get("defaults", {})
        if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
            raise RulesError(f"{name}: defaults must be a table of strings")
        examples = _strings(spec.get("examples"), f"{name}.examples")
        needed = spec.get("requires")
        requires = frozenset(_strings(needed, f"{name}.requires")) if needed else frozenset()
        intents.append(Intent(str(name), str(command), str(describe), examples, defaults, requires))
    if sum(len(i.examples) for i in intents) > MAX_EXAMPLES:
        raise RulesError(f"more than {MAX_EXAMPLES} examples")
    return tuple(intents)


class IntentIndex:
    """Example vectors of every intent; ``prepare`` embeds them once (thread-safe, idempotent)."""

    def __init__(self, intents: Sequence[Intent], embed: Embed) -> None:
        self.intents = tuple(intents)
        self._embed = embed
        self._owner = np.array(
            [n for n, intent in enumerate(self.intents) for _ in intent.examples], dtype=np.int64
        )
        self._vectors: Vectors | None = None
        self._lock = threading.Lock()

    def vectors(self, texts: list[str]) -> Vectors:
        """Unit vectors for ``texts``, one row each."""
        return np.asarray(np.stack([np.asarray(v) for v in self._embed(texts)]), dtype=np.float32)

    def prepare(self) -> None:
        """Embed every example (seconds on first call: it may load the model); then free.

        The vectors are shared by every index of the same examples and embedding."""
        with self._lock:
            if self._vectors is None:
                examples = tuple(e for intent in self.intents for e in intent.examples)
                key = (self._embed, examples)
                with _CACHE_LOCK:
                    if key not in _CACHE:
                        _CACHE[key] = self.vectors(list(examples))
                    self._vectors = _CACHE[key]

    def rank(self, vector: Vectors) -> list[tuple[float, Intent]]:
        """Every intent with its best example similarity to ``vector``, closest first."""
        self.prepare()
        assert self._vectors is not None
        scores = self._vectors @ vector
        best = np.full(len(self.intents), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owner, scores)
        order = np.argsort(-best)
        return [(float(best[i]), self.intents[i]) for i in order]
