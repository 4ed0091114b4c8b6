"""Policy per server: ``[targets.NAME]`` sections that narrow what may run on a node or group.

A target section can only take away: ``commands`` lists the only programs that run there,
``forbid`` maps a command prefix ("systemctl restart postgresql", or just "docker") to the
reason it never runs there.  The base policy still decides everything else, so a mistake in a
target section can refuse too much but never allow what the base policy refuses.  A node is
subject to its own section and to the section of every group it belongs to (the fleet's
``[groups]``); the first that refuses is named in the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from guard.policy import Reasoned

KeyPath = tuple[str, ...]
_TARGET_KEYS = frozenset({"commands", "forbid"})


@dataclass(frozen=True, slots=True)
class TargetRule:
    """What one node or group narrows: ``commands`` (``None``: every program of the policy)
    and ``forbid`` prefixes, each :class:`Reasoned` with its words as ``names``."""

    name: str
    commands: tuple[str, ...] | None
    forbid: tuple[Reasoned, ...]


def read_targets(
    data: Mapping[str, object],
    known: Sequence[str],
    fail: Callable[[KeyPath, str], NoReturn],
) -> dict[str, TargetRule]:
    """The ``[targets]`` table checked against the policy's ``known`` commands."""
    targets = {}
    for name, spec in data.items():
        at = ("targets", name)
        if not isinstance(spec, dict):
            fail(at, f"targets.{name} must be a table")
        for key in spec:
            if key not in _TARGET_KEYS:
                fail((*at, key), f"unknown key {key!r} in targets.{name} (known: commands, forbid)")
        commands = spec.get("commands")
        if commands is not None:
            if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
                fail((*at, "commands"), f"targets.{name}.commands must be a list of programs")
            for command in commands:
                if command not in known:
                    fail((*at, "commands"), f"{command!r} is not a command of this policy")
        forbid = spec.get("forbid", {})
        if not isinstance(forbid, dict):
            fail((*at, "forbid"), f'targets.{name}.forbid must be a table: "command words" = "why"')
        entries = []
        for prefix, reason in forbid.items():
            words = tuple(prefix.split())
            if not words or words[0] not in known:
                fail((*at, "forbid", prefix), f"{prefix!r} must start with a command of the policy")
            if not isinstance(reason, str) or not reason.strip():
                fail((*at, "forbid", prefix), f"the reason for {prefix!r} must be a sentence")
            entries.append(Reasoned(words, reason, f"targets.{name}.forbid.{prefix}"))
        targets[name] = TargetRule(
            name, None if commands is None else tuple(commands), tuple(entries)
        )
    return targets


def applicable(
    targets: Mapping[str, TargetRule], node: str, groups: Mapping[str, Sequence[str]]
) -> tuple[TargetRule, ...]:
    """The sections that apply to ``node``: its own, then each group's that lists it."""
    names = [node, *(group for group, members in groups.items() if node in members)]
    return tuple(targets[name] for name in names if name in targets)


def refusal(
    rules: Sequence[TargetRule], node: str, binary: str, words: Sequence[str]
) -> tuple[str, str] | None:
    """Why ``binary words…`` may not run on ``node`` (reason, rule key), or ``None``."""
    plain = [word for word in words if not word.startswith("-")]
    for rule in rules:
        if rule.commands is not None and binary not in rule.commands:
            where = "" if rule.name == node else f" (group {rule.name})"
            return (
                f"{binary} does not run on {node}{where}: only {', '.join(rule.commands)} do",
                f"targets.{rule.name}.commands",
            )
        for entry in rule.forbid:
            first, *rest = entry.names
            if first == binary and _in_order(rest, plain):
                return f"not on {node}: {entry.reason}", entry.key
    return None


def allows_binary(rules: Sequence[TargetRule], binary: str) -> bool:
    """Whether ``binary`` can run at all under ``rules`` (for a node's exec approvals)."""
    return not any(
        (rule.commands is not None and binary not in rule.commands)
        or any(entry.names == (binary,) for entry in rule.forbid)
        for rule in rules
    )


def _in_order(wanted: Sequence[str], plain: Sequence[str]) -> bool:
    """Whether each wanted word appears among ``plain`` in order; a unit's suffix
    (``postgresql.service``, ``postgresql@15``) still names it, so it cannot slip past."""
    remaining = iter(plain)
    return all(
        any(w == word or w.startswith((word + ".", word + "@")) for w in remaining)
        for word in wanted
    )
