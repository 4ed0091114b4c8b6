"""Match a command's words against one binary's rule, the way getopt would read them.

The parse mirrors what the program itself does with its argv, so the guard and the program
never disagree about which word is a flag, an option's value, a subcommand or a positional
argument: short flags combine (``-lah``), a short option takes the rest of its word or the next
word (``-n5``, ``-n 5``), a long option takes ``=value`` or the next word, ``--`` ends the
options.  Long options must be spelt in full (getopt's abbreviations are unknown names here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guard.policy import CommandRule, Switch


@dataclass(frozen=True, slots=True)
class Matched:
    """The words are allowed by ``rule`` (the innermost subcommand's rule).

    ``words`` is what runs after the binary: the input's words in order without ``--`` (no
    positional argument may start with a dash, so none is needed), then the flags the policy
    adds.
    """

    rule: CommandRule
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The words break ``rule`` (a policy key); ``reason`` says how, for a person."""

    reason: str
    rule: str


@dataclass
class _State:
    """What the parse has seen so far."""

    node: CommandRule
    out: list[str] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    positionals: list[str] = field(default_factory=list)
    end_of_options: bool = False


def _forbidden(node: CommandRule, name: str) -> Mismatch | None:
    entry = node.forbidden(name)
    if entry is None:
        return None
    return Mismatch(f"{node.name}: {name} is forbidden: {entry.reason}", entry.key)


def _unknown(node: CommandRule, name: str) -> Mismatch:
    allowed = ", ".join(switch.describe() for switch in node.unique_switches()) or "none"
    return Mismatch(
        f"{node.name}: {name} is not an allowed flag or option (allowed: {allowed})",
        f"{node.key}.flags",
    )


def _value(node: CommandRule, name: str, switch: Switch, value: str) -> Mismatch | None:
    assert switch.value is not None
    problem = switch.value.problem(value)
    if problem is None:
        return None
    return Mismatch(
        f"{node.name}: {name} takes {switch.value.describe()}: {problem}",
        f"{node.key}.options.{'|'.join(switch.names)}",
    )


def _long(state: _State, word: str, following: str | None) -> tuple[int, Mismatch | None]:
    """Read a ``--name`` or ``--name=value`` word; returns how many extra words it used."""
    node = state.node
    name, has_value, value = word.partition("=")
    refusal = _forbidden(node, name)
    if refusal:
        return 0, refusal
    switch = node.switches.get(name)
    if switch is None:
        return 0, _unknown(node, name)
    state.present.add(switch.canonical)
    state.out.append(word)
    if switch.value is None:
        if has_value:
            return 0, Mismatch(f"{node.name}: the flag {name} takes no value", f"{node.key}.flags")
        return 0, None
    if has_value:
        return 0, _value(node, name, switch, value)
    if following is None:
        return 0, Mismatch(f"{node.name}: {name} needs a value", f"{node.key}.options")
    state.out.append(following)
    return 1, _value(node, name, switch, following)


def _short(state: _State, word: str, following: str | None) -> tuple[int, Mismatch | None]:
    """Read a cluster of short switches such as ``-lah`` or ``-bn3``."""
    node = state.node
    state.out.append(word)
    for index, char in enumerate(word[1:], start=1):
        name = "-" + char
        refusal = _forbidden(node, name)
        if refusal:
            return 0, refusal
        switch = node.switches.get(name)
        if switch is None:
            return 0, _unknown(node, name)
        state.present.add(switch.canonical)
        if switch.value is None:
            continue
        rest = word[index + 1 :]
        if rest:
            return 0, _value(node, name, switch, rest)
        if following is None:
            return 0, Mismatch(f"{node.name}: {name} needs a value", f"{node.key}.options")
        state.out.append(following)
        return 1, _value(node, name, switch, following)
    return 0, None


def _subcommand(state: _State, word: str) -> Mismatch | None:
    node = state.node
    refusal = _forbidden(node, word)
    if refusal:
        return refusal
    sub = node.subcommands.get(word)
    if sub is None:
        return Mismatch(
            f"{node.name} {word} is not allowed (allowed: {', '.join(node.subcommands)})",
            f"{node.key}.subcommands",
        )
    state.node = sub
    state.out.append(word)
    return None


def _finish(state: _State) -> Matched | Mismatch:
    node = state.node
    if node.subcommands:
        return Mismatch(
            f"{node.name} needs a subcommand: one of {', '.join(node.subcommands)}",
            f"{node.key}.subcommands",
        )
    spec = node.positionals
    low, high = (spec.min, spec.max) if spec else (0, 0)
    count = len(state.positionals)
    if not low <= count <= high:
        wanted = f"{spec.describe()}" if spec else "no arguments"
        return Mismatch(
            f"{node.name} takes {wanted}, not {count}: {' '.join(state.positionals) or '(none)'}",
            f"{node.key}.args",
        )
    for value in state.positionals:
        assert spec is not None
        if value.startswith("-"):
            return Mismatch(
                f"{node.name}: {value!r} is not an allowed flag, and an argument may not start "
                "with a dash",
                f"{node.key}.args",
            )
        problem = spec.type.problem(value)
        if problem:
            return Mismatch(
                f"{node.name}: the argument must be {spec.type.describe()}: {problem}",
                f"{node.key}.args",
            )
    for entry in node.require:
        canonical = {node.switches[name].canonical for name in entry.names}
        if not canonical & state.present:
            return Mismatch(
                f"{node.name} needs {'|'.join(entry.names)}: {entry.reason}",
                entry.key,
            )
    added = [flag for flag in node.add if node.switches[flag].canonical not in state.present]
    return Matched(node, (*state.out, *added))


def match(rule: CommandRule, words: tuple[str, ...]) -> Matched | Mismatch:
    """Check the words after the binary's name against ``rule`` and its subcommands."""
    state = _State(rule)
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        index += 1
        if not state.end_of_options and word == "--":
            state.end_of_options = True
            continue
        if not state.end_of_options and word.startswith("--"):
            used, refusal = _long(state, word, following)
        elif not state.end_of_options and word.startswith("-") and word != "-":
            used, refusal = _short(state, word, following)
        elif state.node.subcommands:
            used, refusal = 0, _subcommand(state, word)
        else:
            state.positionals.append(word)
            state.out.append(word)
            used, refusal = 0, None
        if refusal:
            return refusal
        index += used
    return _finish(state)
