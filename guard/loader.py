"""Load a policy from TOML, checking every key, and say exactly where a bad file is wrong.

The format is documented at the top of ``guard/default_policy.toml``.  Unknown keys are errors:
in a security policy a misspelt ``forbid`` must not silently allow.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import NoReturn

from guard.argtypes import ArgType, Denied, IntRange, OneOf, PathUnder, Pattern, ValueCheck
from guard.policy import (
    CommandRule,
    Limits,
    Policy,
    PolicyError,
    Positionals,
    Reasoned,
    Switch,
)
from guard.screen import ALLOWED
from guard.targets import read_targets

DEFAULT_POLICY = "default_policy.toml"

_WORD = re.compile(r"[a-z0-9][a-z0-9._+-]{0,63}")
_SWITCH = re.compile(r"-[A-Za-z0-9]|--[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_COMMAND_KEYS = frozenset(
    {"about", "flags", "options", "args", "require", "forbid", "add", "destructive", "say",
     "subcommands"}
)  # fmt: skip
#: A word that names an action in a spoken confirmation ("confirm restart").
_SAID = re.compile(r"[a-z]{2,24}")
_TYPE_KINDS = ("int", "enum", "regex", "path")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
_HEADER = re.compile(r"\[\[?([A-Za-z0-9_.\s\"'|@:+-]+)\]\]?\s*(#.*)?")

KeyPath = tuple[str, ...]


def load_policy(path: Path | None = None) -> Policy:
    """Read and check a policy file; ``None`` loads the shipped ``guard/default_policy.toml``.

    Raises :class:`PolicyError` naming the file, the line and what is wrong.
    """
    if path is None:
        resource = resources.files("guard").joinpath(DEFAULT_POLICY)
        return parse_policy(resource.read_text(encoding="utf-8"), str(resource))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), None, f"cannot read the policy: {exc}") from exc
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str) -> Policy:
    """Build a :class:`Policy` from TOML ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        line = int(found.group(1)) if found else None
        raise PolicyError(source, line, f"not valid TOML: {message}") from exc
    return _Reader(text, source).policy(data)


def _split_dotted(header: str) -> KeyPath:
    """Split a TOML table header or dotted key into its parts, honouring quotes."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', header)
    return tuple(next(group for group in groups if group) for groups in parts)


def locate(text: str, keypath: KeyPath) -> int | None:
    """The 1-based line in ``text`` where ``keypath`` is defined, as near as can be found.

    Finds the table header that covers the longest prefix of the path, then the remaining keys
    in order below it (inline tables and arrays keep their keys on following lines or the same
    one).  Falls back to the nearest enclosing line found.
    """
    lines = text.splitlines()
    best_line: int | None = None
    best_depth = -1
    section_start = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        header = _HEADER.fullmatch(stripped)
        if not header:
            continue
        parts = _split_dotted(header.group(1))
        if keypath[: len(parts)] == parts and len(parts) > best_depth:
            best_depth, best_line, section_start = len(parts), index + 1, index
    if best_depth < 0:
        best_depth, section_start = 0, -1
    line_no = best_line
    cursor = section_start + 1
    for key in keypath[max(best_depth, 0) :]:
        found = _find_key(lines, key, cursor)
        if found is None:
            break
        line_no, cursor = found + 1, found
    return line_no


def _find_key(lines: list[str], key: str, start: int) -> int | None:
    """The index of the first line at or after ``start`` that defines ``key``."""
    spelled = rf'(?:"{re.escape(key)}"|\'{re.escape(key)}\'|(?<![\w"\'-]){re.escape(key)}(?![\w-]))'
    pattern = re.compile(spelled + r"\s*=|" + rf'"{re.escape(key)}"|\'{re.escape(key)}\'')
    for index in range(max(start, 0), len(lines)):
        if _HEADER.fullmatch(lines[index].strip()):
            return None
        if pattern.search(lines[index].split("#", 1)[0]):
            return index
    return None


class _Reader:
    """Turns parsed TOML into a :class:`Policy`, failing with a located :class:`PolicyError`."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.types: dict[str, ArgType] = {}

    def fail(self, keypath: KeyPath, message: str) -> NoReturn:
        raise PolicyError(self.source, locate(self.text, keypath), message)

    def table(self, value: object, keypath: KeyPath) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(keypath, f"{'.'.join(keypath)} must be a table")
        return value

    def string(self, value: object, keypath: KeyPath) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(keypath, f"{'.'.join(keypath)} must be a non-empty string")
        return value

    def strings(self, value: object, keypath: KeyPath) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(keypath, f"{'.'.join(keypath)} must be a list of strings")
        return list(value)

    def count(self, value: object, keypath: KeyPath, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(keypath, f"{'.'.join(keypath)} must be a whole number ≥ {low}")
        return value

    def said(self, data: Mapping[str, object], at: KeyPath, destructive: bool) -> str | None:
        """The word a person says to confirm a destructive rule ("confirm restart")."""
        if "say" in data and not destructive:
            self.fail(
                (*at, "say"),
                "say names the action of a confirmation: only a rule with destructive is confirmed",
            )
        if not destructive:
            return None
        word = self.string(data["say"], (*at, "say")) if "say" in data else at[-1]
        if _SAID.fullmatch(word) is None:
            where = (*at, "say") if "say" in data else at
            self.fail(
                where,
                f'{word!r} cannot be said to confirm it ("confirm {word}"): '
                'give say = "<one lowercase word>", e.g. say = "remove"',
            )
        return word

    def only_keys(self, data: Mapping[str, object], allowed: frozenset[str], at: KeyPath) -> None:
        for key in data:
            if key not in allowed:
                where = ".".join(at) or "the top level"
                self.fail((*at, key), f"unknown key {key!r} in {where} (known: {_list(allowed)})")

    def policy(self, data: dict[str, object]) -> Policy:
        self.only_keys(data, frozenset({"limits", "types", "commands", "targets"}), ())
        limits = self.limits(self.table(data.get("limits", {}), ("limits",)))
        for name, spec in self.table(data.get("types", {}), ("types",)).items():
            if not _TYPE_NAME.fullmatch(name):
                self.fail(("types", name), f"type name {name!r} must be a plain identifier")
            self.types[name] = self.arg_type(name, self.table(spec, ("types", name)))
        commands_data = self.table(data.get("commands", {}), ("commands",))
        if not commands_data:
            self.fail(("commands",), "the policy allows no commands")
        commands = {
            name: self.command(name, spec, ("commands", name), parent=None)
            for name, spec in commands_data.items()
        }
        targets = read_targets(
            self.table(data.get("targets", {}), ("targets",)), tuple(commands), self.fail
        )
        return Policy(self.source, limits, dict(self.types), commands, targets)

    def limits(self, data: dict[str, object]) -> Limits:
        self.only_keys(data, frozenset({"max_input_chars", "max_args"}), ("limits",))
        default = Limits()
        return Limits(
            max_input_chars=self.count(
                data.get("max_input_chars", default.max_input_chars),
                ("limits", "max_input_chars"),
                low=1,
            ),
            max_args=self.count(data.get("max_args", default.max_args), ("limits", "max_args")),
        )

    def arg_type(self, name: str, data: dict[str, object]) -> ArgType:
        at: KeyPath = ("types", name)
        self.only_keys(data, frozenset({"about", "deny", *_TYPE_KINDS}), at)
        kinds = [kind for kind in _TYPE_KINDS if kind in data]
        if len(kinds) != 1:
            self.fail(at, f"type {name!r} needs exactly one of {', '.join(_TYPE_KINDS)}")
        about = self.string(data["about"], (*at, "about")) if "about" in data else ""
        check = self.value_check(kinds[0], data[kinds[0]], (*at, kinds[0]))
        return ArgType(name, about, check, self.denied(data.get("deny", {}), (*at, "deny")))

    def denied(self, value: object, at: KeyPath) -> tuple[Denied, ...]:
        if not isinstance(value, dict):
            self.fail(at, 'deny must be a table of "regex" = "reason"')
        out = []
        for pattern, reason in value.items():
            try:
                regex = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                self.fail((*at, pattern), f"bad regular expression {pattern!r}: {exc}")
            out.append(Denied(regex, self.string(reason, (*at, pattern))))
        return tuple(out)

    def value_check(self, kind: str, value: object, at: KeyPath) -> ValueCheck:
        if kind == "int":
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not 0 <= value[0] <= value[1]
            ):
                self.fail(at, "int must be [low, high] with 0 ≤ low ≤ high")
            return IntRange(value[0], value[1])
        if kind == "enum":
            words = self.strings(value, at)
            bad = [word for word in words if not word or not ALLOWED.fullmatch(word) or " " in word]
            if not words or bad:
                self.fail(at, f"enum needs words a command can contain (bad: {bad or 'none'})")
            return OneOf(tuple(words))
        if kind == "regex":
            pattern = self.string(value, at)
            try:
                return Pattern(re.compile(pattern))
            except re.error as exc:
                self.fail(at, f"bad regular expression {pattern!r}: {exc}")
        roots = self.strings(value, at)
        for root in roots:
            problem = PathUnder(("/",)).problem(root)
            if problem or not ALLOWED.fullmatch(root):
                self.fail(at, f"path root {root!r} must be an absolute, normal path")
        if not roots:
            self.fail(at, "path needs at least one root")
        return PathUnder(tuple(roots))

    def type_named(self, value: object, at: KeyPath) -> ArgType:
        name = self.string(value, at)
        if name not in self.types:
            self.fail(at, f"unknown type {name!r} (types: {_list(self.types)})")
        return self.types[name]

    def names(self, spelled: str, at: KeyPath, *, words: bool = False) -> tuple[str, ...]:
        names = tuple(spelled.split("|"))
        for name in names:
            if not (_SWITCH.fullmatch(name) or (words and _WORD.fullmatch(name))):
                kind = (
                    "a flag like -x or --name, or a subcommand word"
                    if words
                    else "like -x or --name"
                )
                self.fail(at, f"{name!r} must be {kind}")
        return names

    def command(
        self, name: str, data_in: object, at: KeyPath, parent: CommandRule | None
    ) -> CommandRule:
        if not _WORD.fullmatch(name):
            self.fail(at, f"command name {name!r} must be a plain lower-case word")
        data = self.table(data_in, at)
        self.only_keys(data, _COMMAND_KEYS, at)
        full_name = f"{parent.name} {name}" if parent else name
        switches = dict(parent.switches) if parent else {}
        for spelled in self.strings(data.get("flags", []), (*at, "flags")):
            where = (*at, "flags", spelled)
            self.define(switches, Switch(self.names(spelled, where)), where)
        options = self.table(data.get("options", {}), (*at, "options"))
        for spelled, type_name in options.items():
            where = (*at, "options", spelled)
            switch = Switch(self.names(spelled, where), self.type_named(type_name, where))
            self.define(switches, switch, where)

        subs_data = self.table(data.get("subcommands", {}), (*at, "subcommands"))
        for key in ("args", "require", "destructive", "say"):
            if subs_data and key in data:
                self.fail((*at, key), f"{full_name} has subcommands: put {key} on each of them")

        positionals = self.positionals(data["args"], (*at, "args")) if "args" in data else None
        require = tuple(
            self.required(spelled, reason, switches, (*at, "require", spelled))
            for spelled, reason in self.table(data.get("require", {}), (*at, "require")).items()
        )
        forbid = list(parent.forbid) if parent else []
        for spelled, reason in self.table(data.get("forbid", {}), (*at, "forbid")).items():
            where = (*at, "forbid", spelled)
            names = self.names(spelled, where, words=True)
            forbid.append(Reasoned(names, self.string(reason, where), ".".join(where)))
        add = list(parent.add) if parent else []
        for flag in self.strings(data.get("add", []), (*at, "add")):
            known = switches.get(flag)
            if known is None or known.value is not None:
                self.fail((*at, "add"), f"add: {flag!r} must be one of {full_name}'s flags")
            if flag not in add:
                add.append(flag)
        destructive = (
            self.string(data["destructive"], (*at, "destructive"))
            if "destructive" in data
            else None
        )
        say = self.said(data, at, destructive is not None)
        rule = CommandRule(
            name=full_name,
            key=".".join(at),
            about=self.string(data["about"], (*at, "about")) if "about" in data else "",
            switches=switches,
            positionals=positionals,
            require=require,
            forbid=tuple(forbid),
            add=tuple(add),
            destructive=destructive,
            say=say,
        )
        subcommands = {
            sub: self.command(sub, spec, (*at, "subcommands", sub), parent=rule)
            for sub, spec in subs_data.items()
        }
        return replace(rule, subcommands=subcommands)

    def define(self, switches: dict[str, Switch], switch: Switch, at: KeyPath) -> None:
        for name in switch.names:
            if name in switches:
                command = " ".join(at[1:-2:2])
                self.fail(at, f"{name} is defined twice for {command} (check flags and options)")
            switches[name] = switch

    def positionals(self, value: object, at: KeyPath) -> Positionals:
        data = self.table(value, at)
        self.only_keys(data, frozenset({"type", "min", "max"}), at)
        arg_type = self.type_named(data.get("type"), (*at, "type"))
        low = self.count(data.get("min", 0), (*at, "min"))
        high = self.count(data.get("max", low), (*at, "max"), low=low)
        return Positionals(arg_type, low, high)

    def required(
        self, spelled: str, reason: object, switches: Mapping[str, Switch], at: KeyPath
    ) -> Reasoned:
        names = self.names(spelled, at)
        for name in names:
            if name not in switches:
                self.fail(at, f"require: {name} must be one of the command's flags or options")
        return Reasoned(names, self.string(reason, at), ".".join(at))


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))
