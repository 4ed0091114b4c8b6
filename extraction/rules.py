"""Offline extractor: spoken requests → command text, from rules in a TOML data file.

How both speakers are used: commands come from what the **user** asked for.  An assistant turn
only counts when the user accepts it: if the assistant proposes something the rules recognise
("shall I restart nginx?") and the user's next turn starts with an affirmation ("yes please"),
the proposal is taken, placed where the user accepted it.  Anything else the assistant says is
ignored, so the voice model cannot talk a command into existence.

Within a turn, requests are found clause by clause ("check the disk space and then restart
nginx" → two clauses, in order); a negation just before a request in its clause cancels it
("don't restart nginx"); trigger phrases ("execute plan") are removed first; the result is in
spoken order, without duplicates.  This backend never decides safety: the guard checks every
command.  It ignores recalled context.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from extraction import model
from extraction.model import Extraction, ProposedCommand, Recollection, Turn, Unmatched
from extraction.spoken import (
    normalise,
    phrase_regex,
    remove_phrases,
    split_clauses,
    spoken_to_literal,
)
from extraction.targeting import FleetNames, Targeting
from extraction.targets import Said
from fleet.model import FleetSource
from voiceops.errors import VoiceOpsError
from voiceops.phrases import EXECUTE_SAYINGS

log = logging.getLogger(__name__)

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")

MAX_RULES_FILE_BYTES = 1_000_000
MAX_RULES = 1000
MAX_COMMANDS = 10
MAX_LITERAL_WORDS = 12
# How many words before a request a negation may stand and still cancel it.
NEGATION_REACH = 4

_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
_FILL = r"(?:[^ ]+(?: [^ ]+){0,3})"
_WORD = r"[^ ]+"
_GROUP = re.compile(r"\(\?P<([a-z_][a-z0-9_]*)>SLOT\)")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_FILLERS = ("please", "now", "for me", "thanks", "thank you", "right now", "quickly")


class RulesError(VoiceOpsError, ValueError):
    """The rules file is missing, unreadable or inconsistent: ``path``, ``line`` (when known)
    and ``message``, shown as ``path:line: message`` like a bad guard policy."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        where = "" if path is None else f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)

    def at(self, path: Path, line: int | None) -> RulesError:
        """The same problem, located in ``path`` at ``line``."""
        return RulesError(self.message, path, line)


@dataclass(frozen=True, slots=True)
class Slot:
    """A named parameter of a rule: a regex for its words and how to turn them into a value."""

    name: str
    regex: str
    aliases: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of request: compiled patterns and the command template they produce."""

    name: str
    command: str
    patterns: tuple[re.Pattern[str], ...]
    defaults: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything loaded from a rules file, ready to match normalised text."""

    rules: tuple[Rule, ...]
    slots: Mapping[str, Slot]
    trigger_phrases: tuple[str, ...]
    negation: re.Pattern[str] | None
    clause_breaks: tuple[str, ...]
    affirmation: re.Pattern[str] | None
    literal_verbs: re.Pattern[str] | None
    literal_programs: frozenset[str]
    literal_words: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    command: str


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where} must be a list of strings")
    return tuple(value)


def _str_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RulesError(f"{where} must be a table of strings")
    return dict(value)


def _compile_slot(name: str, spec: object) -> Slot:
    if not isinstance(spec, dict):
        raise RulesError(f"slots.{name} must be a table")
    aliases = {normalise(k): v for k, v in _str_map(spec.get("aliases", {}), name).items()}
    if "values" in spec:
        values = _strings(spec["values"], f"slots.{name}.values")
        for value in values:
            aliases.setdefault(normalise(value), value)
        return Slot(name, f"(?:{phrase_regex(list(aliases))})", aliases)
    if "pattern" in spec:
        pattern = spec["pattern"]
        if not isinstance(pattern, str):
            raise RulesError(f"slots.{name}.pattern must be a string")
        excluded = phrase_regex(_strings(spec.get("not", []), f"slots.{name}.not"))
        guard = f"(?!(?:{excluded})(?![^ ]))" if excluded else ""
        return Slot(name, f"{guard}(?:{pattern})", aliases)
    raise RulesError(f"slots.{name} needs `values` or `pattern`")


def _compile_rule(index: int, spec: object, slots: Mapping[str, Slot]) -> Rule:
    if not isinstance(spec, dict):
        raise RulesError(f"rule #{index} must be a table")
    name = spec.get("name", f"rule #{index}")
    command = spec.get("command")
    if not isinstance(name, str) or not isinstance(command, str) or not command.strip():
        raise RulesError(f"{name}: `name` and `command` must be non-empty strings")
    defaults = _str_map(spec.get("defaults", {}), f"{name}.defaults")
    compiled: list[re.Pattern[str]] = []
    for raw in _strings(spec.get("patterns"), f"{name}.patterns"):
        groups = set(_GROUP.findall(raw))
        for group in groups:
            if group not in slots:
                raise RulesError(f"{name}: pattern uses slot {group!r}, which is not defined")
        missing = set(_PLACEHOLDER.findall(command)) - groups - set(defaults)
        if missing:
            raise RulesError(f"{name}: {raw!r} leaves {sorted(missing)} unfilled")
        expanded = _GROUP.sub(lambda m: f"(?P<{m.group(1)}>{slots[m.group(1)].regex})", raw)
        expanded = expanded.replace("FILL", _FILL)
        try:
            # Whole words only: a request must start and end at word boundaries.
            compiled.append(re.compile(rf"(?<![^ ])(?:{expanded})(?![^ ])"))
        except re.error as exc:
            raise RulesError(f"{name}: bad pattern {raw!r}: {exc}") from exc
    if not compiled:
        raise RulesError(f"{name}: no patterns")
    return Rule(name, command.strip(), tuple(compiled), defaults)


def _words_regex(phrases: Sequence[str]) -> re.Pattern[str] | None:
    alternation = phrase_regex(phrases)
    return re.compile(rf"(?<![^ ])(?:{alternation})(?![^ ])") if alternation else None


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and check a rules file (default: the shipped ``extraction/rules.toml``).

    Raises :class:`RulesError` with a message naming the problem when the file cannot be used.
    """
    path = path or DEFAULT_RULES_PATH
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"cannot read rules file: {exc.strerror or exc}", path) from exc
    if len(raw) > MAX_RULES_FILE_BYTES:
        raise RulesError(f"rules file is larger than {MAX_RULES_FILE_BYTES} bytes", path)
    try:
        text = raw.decode("utf-8")
        data: dict[str, Any] = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise RulesError(f"not UTF-8 text: {exc}", path) from exc
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        line = int(found.group(1)) if found else None
        raise RulesError(f"not valid TOML: {exc}", path, line) from exc
    try:
        return _rule_set(data, text, path)
    except RulesError as exc:
        if exc.path is not None:
            raise
        raise exc.at(path, None) from exc


def _header_line(text: str, header: str, nth: int = 0) -> int | None:
    """The 1-based line of the ``nth`` ``[header]`` / ``[[header]]`` table in ``text``."""
    pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(header)}\s*\]\]?")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]
    return lines[nth] if nth < len(lines) else None


def _rule_set(data: dict[str, Any], text: str, path: Path) -> RuleSet:
    slot_specs = data.get("slots", {})
    if not isinstance(slot_specs, dict):
        raise RulesError("`slots` must be a table", path, _header_line(text, "slots"))
    slots = {}
    for name, spec in slot_specs.items():
        try:
            slots[name] = _compile_slot(name, spec)
        except RulesError as exc:
            raise exc.at(path, _header_line(text, f"slots.{name}")) from exc
    rule_specs = data.get("rule", [])
    if not isinstance(rule_specs, list) or len(rule_specs) > MAX_RULES:
        raise RulesError(f"`rule` must be an array of at most {MAX_RULES} tables", path)
    rules = []
    for index, spec in enumerate(rule_specs):
        try:
            rules.append(_compile_rule(index, spec, slots))
        except RulesError as exc:
            raise exc.at(path, _header_line(text, "rule", index)) from exc
    settings = data.get("settings", {})
    literal = data.get("literal", {})
    if not isinstance(settings, dict) or not isinstance(literal, dict):
        raise RulesError("`settings` and `literal` must be tables")
    programs = _strings(literal.get("programs", []), "literal.programs")
    return RuleSet(
        rules=tuple(rules),
        slots=slots,
        trigger_phrases=EXECUTE_SAYINGS
        + _strings(settings.get("trigger_phrases", []), "trigger_phrases"),
        negation=_words_regex(_strings(settings.get("negations", []), "negations")),
        clause_breaks=_strings(settings.get("clause_breaks", []), "clause_breaks"),
        affirmation=_words_regex(_strings(settings.get("affirmations", []), "affirmations")),
        literal_verbs=_words_regex(_strings(literal.get("verbs", []), "literal.verbs")),
        literal_programs=frozenset(normalise(p) for p in programs),
        literal_words=_str_map(literal.get("words", {}), "literal.words"),
    )


def _fill(rule: Rule, match: re.Match[str], slots: Mapping[str, Slot]) -> str:
    values = dict(rule.defaults)
    for name, spoken in match.groupdict().items():
        if spoken is not None:
            values[name] = slots[name].aliases.get(spoken, spoken)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], rule.command)


def _literal_matches(ruleset: RuleSet, clause: str) -> list[_Match]:
    """Spoken literal commands: a verb ("run") then a known program and its spoken arguments."""
    if ruleset.literal_verbs is None:
        return []
    found: list[_Match] = []
    for verb in ruleset.literal_verbs.finditer(clause):
        rest = clause[verb.end() :].split()
        if not rest:
            continue
        words = remove_phrases(" ".join(rest[:MAX_LITERAL_WORDS]), _FILLERS)
        literal = spoken_to_literal(words, ruleset.literal_words)
        program = literal.split(" ", 1)[0] if literal else ""
        if program in ruleset.literal_programs:
            found.append(_Match(verb.start(), len(clause), literal))
    return found


def _negated(ruleset: RuleSet, clause: str, since: int, start: int) -> bool:
    """Whether a negation stands just before ``start``, after the previous request ended."""
    if ruleset.negation is None:
        return False
    before = " ".join(clause[since:start].split()[-NEGATION_REACH:])
    return ruleset.negation.search(before) is not None


def clause_commands(ruleset: RuleSet, clause: str) -> list[str]:
    """Commands requested in one clause, in spoken order; overlapping matches keep the longest."""
    candidates = _literal_matches(ruleset, clause)
    for rule in ruleset.rules:
        for pattern in rule.patterns:
            for m in pattern.finditer(clause):
                candidates.append(_Match(m.start(), m.end(), _fill(rule, m, ruleset.slots)))
    # Earliest first; at the same start the longest (most specific) wins.
    candidates.sort(key=lambda c: (c.start, -(c.end - c.start)))
    chosen: list[_Match] = []
    for cand in candidates:
        if chosen and cand.start < chosen[-1].end:
            continue
        chosen.append(cand)
    ends = [0, *(c.end for c in chosen)]
    return [
        c.command
        for c, since in zip(chosen, ends, strict=False)
        if not _negated(ruleset, clause, since, c.start)
    ]


def _clauses(ruleset: RuleSet, text: str) -> list[str]:
    """One turn's words, normalised, without trigger phrases, cut into clauses."""
    cleaned = remove_phrases(normalise(text[: model.MAX_TURN_CHARS]), ruleset.trigger_phrases)
    return split_clauses(cleaned, ruleset.clause_breaks)


def accepts(ruleset: RuleSet, text: str) -> bool:
    """Whether a user turn opens by saying yes (and does not say no in the same breath)."""
    words = normalise(text[: model.MAX_TURN_CHARS])
    if ruleset.affirmation is None:
        return False
    m = ruleset.affirmation.match(words)
    if m is None:
        return False
    return ruleset.negation is None or ruleset.negation.search(words) is None


class RulesExtractor:
    """Offline :class:`~extraction.model.Extractor` driven by a rules file an admin can extend.

    ``rules_path`` defaults to the shipped ``extraction/rules.toml``; a broken file raises
    :class:`RulesError` here, at start-up, rather than silently proposing nothing later.
    ``fleet``: the servers requests may name (:mod:`extraction.targeting`); none, no targets.
    """

    def __init__(self, rules_path: Path | None = None, *, fleet: FleetSource | None = None) -> None:
        self.ruleset = load_rules(rules_path)
        self.rules_path = rules_path or DEFAULT_RULES_PATH
        self._fleet = FleetNames(fleet)

    def __repr__(self) -> str:
        return f"RulesExtractor(rules_path={str(self.rules_path)!r})"

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        """Turns (both speakers, oldest first) → the user's requested commands, in order.

        Returns no commands and a reason when the user asked for nothing the rules know.
        """
        return self.extract_sync(turns)

    def extract_sync(self, turns: Sequence[Turn]) -> Extraction:
        """The same as :meth:`extract`, for callers without an event loop."""
        recent = list(turns)[-model.MAX_TURNS :]
        targeting = Targeting(self._fleet.now())
        ordered: list[ProposedCommand] = []
        unmatched: list[Unmatched] = []
        pending: list[ProposedCommand] = []
        for turn in recent:
            if turn.speaker == "assistant":
                # Only the assistant's latest proposal can be accepted by the next user turn;
                # its words never move the conversation to another server.
                pending = self._requests(turn.text, replace(targeting, follows=False), [])
                continue
            if pending and accepts(self.ruleset, turn.text):
                answer = normalise(turn.text[: model.MAX_TURN_CHARS])
                ordered.extend(
                    replace(p, source=f"assistant: {p.source} / user: {answer}") for p in pending
                )
            pending = []
            targeting.follows = False
            ordered.extend(self._requests(turn.text, targeting, unmatched))
        first: dict[tuple[str, tuple[str, ...]], ProposedCommand] = {}
        for proposed in ordered:
            first.setdefault((proposed.command, proposed.targets), proposed)
        unique = list(first.values())
        if not unique:
            if not any(t.speaker == "user" and t.text.strip() for t in recent):
                return Extraction((), "nothing was said by the user since the last execution")
            if unmatched:
                return Extraction((), " ".join(u.why for u in unmatched), tuple(unmatched))
            return Extraction((), "no request the offline rules recognise was found")
        if len(unique) > MAX_COMMANDS:
            log.warning("rules: %d commands, keeping the first %d", len(unique), MAX_COMMANDS)
        return Extraction(tuple(unique[:MAX_COMMANDS]), None, tuple(unmatched))

    def _requests(
        self, text: str, targeting: Targeting, unmatched: list[Unmatched]
    ) -> list[ProposedCommand]:
        """The commands one turn asks for, placed on servers (questions go to ``unmatched``)."""
        requests: list[tuple[Said, list[ProposedCommand]]] = []
        for clause in _clauses(self.ruleset, text):
            said = targeting.read(clause)
            commands = clause_commands(self.ruleset, said.rest)
            requests.append((said, [ProposedCommand(c, clause) for c in commands]))
        return targeting.place_turn(requests, unmatched)
