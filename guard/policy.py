"""The policy as the guard uses it: immutable rules, with inheritance already applied.

:func:`guard.loader.load_policy` builds these from TOML; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from guard.argtypes import ArgType

if TYPE_CHECKING:
    from guard.targets import TargetRule
from voiceops.errors import VoiceOpsError


class PolicyError(VoiceOpsError, ValueError):
    """A policy file that cannot be used: ``path``, ``line`` (when known) and ``message``."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the input, checked before anything else."""

    max_input_chars: int = 512
    max_args: int = 32


@dataclass(frozen=True, slots=True)
class Switch:
    """A flag (``value`` is ``None``) or an option that takes a value of type ``value``.

    ``names`` are aliases of one another (``-n``, ``--lines``); the first is the canonical one
    that ``require`` and ``add`` refer to.
    """

    names: tuple[str, ...]
    value: ArgType | None = None

    @property
    def canonical(self) -> str:
        """The name rules use for this switch."""
        return self.names[0]

    def describe(self) -> str:
        """The switch in words."""
        spelled = "|".join(self.names)
        return spelled if self.value is None else f"{spelled} <{self.value.name}>"


@dataclass(frozen=True, slots=True)
class Positionals:
    """How many positional arguments a command takes, and of which type."""

    type: ArgType
    min: int
    max: int

    def describe(self) -> str:
        """The count and type in words."""
        count = str(self.min) if self.min == self.max else f"{self.min} to {self.max}"
        return f"{count} × <{self.type.name}>"


@dataclass(frozen=True, slots=True)
class Reasoned:
    """Names (spellings of a switch, or a word) with the reason a person reads when it fires.

    ``key`` is where the entry is written in the policy file, which for an inherited entry is
    the parent's table.
    """

    names: tuple[str, ...]
    reason: str
    key: str


@dataclass(frozen=True)
class CommandRule:
    """What one binary, or one subcommand of it, may be given.

    ``key`` is where the rule lives in the policy file (``commands.systemctl.subcommands.status``)
    and is what decisions name.  ``switches`` maps every alias to its switch.  ``require`` lists
    switches that must be present, ``forbid`` switches or subcommand words refused with a
    reason.  ``add`` are flags appended when missing.  ``destructive`` is the reason a person
    must confirm, or ``None``; ``say`` is then the word that names the action when a person
    confirms it aloud ("confirm restart").  Inherited switches, ``forbid`` and ``add`` are
    already merged in.
    """

    name: str
    key: str
    about: str = ""
    switches: Mapping[str, Switch] = field(default_factory=dict)
    positionals: Positionals | None = None
    require: tuple[Reasoned, ...] = ()
    forbid: tuple[Reasoned, ...] = ()
    add: tuple[str, ...] = ()
    destructive: str | None = None
    say: str | None = None
    subcommands: Mapping[str, CommandRule] = field(default_factory=dict)

    def unique_switches(self) -> list[Switch]:
        """Each switch once, in the order the policy lists them."""
        seen: dict[str, Switch] = {}
        for switch in self.switches.values():
            seen.setdefault(switch.canonical, switch)
        return list(seen.values())

    def forbidden(self, name: str) -> Reasoned | None:
        """The forbid entry naming ``name``, if any."""
        return next((entry for entry in self.forbid if name in entry.names), None)


@dataclass(frozen=True)
class Policy:
    """A whole policy: input limits, named types and the commands, from ``source``; ``targets``
    narrow it per fleet node or group (:mod:`guard.targets`)."""

    source: str
    limits: Limits
    types: Mapping[str, ArgType]
    commands: Mapping[str, CommandRule]
    targets: Mapping[str, TargetRule] = field(default_factory=dict)

    def confirm_words(self) -> tuple[str, ...]:
        """Every word that names an action in a spoken confirmation (each rule's ``say``),
        sorted: what the recogniser must hear after "confirm"."""
        found: set[str] = set()
        rules = list(self.commands.values())
        while rules:
            rule = rules.pop()
            if rule.say is not None:
                found.add(rule.say)
            rules.extend(rule.subcommands.values())
        return tuple(sorted(found))
