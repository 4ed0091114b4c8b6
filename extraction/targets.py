"""Which servers a clause names: "on web-2", "on both web servers", "everywhere" (pure).

A recogniser writes a node called ``web-2`` as "web-2", "web 2", "web two" or "webb two", and
the operator says "the database box" where an alias means ``db-1``.  :class:`ServerNames`
reads a normalised clause (:func:`extraction.spoken.normalise`: digits, no punctuation) and
returns what it names and the clause without those words, so the rest is read as a request as
it always was.  The number of a node is never guessed: "web" may be heard as "webb" (same
sound, and only after "on", "at", "for" …), "2" must be 2.  A name the fleet does not have, or
one that fits several nodes ("on the web server" with two of them), becomes a question.

Where requests run over a conversation is :mod:`extraction.targeting`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extraction.soundalike import sound_key
from extraction.spoken import normalise
from fleet.model import ALL, Fleet

# Words that put a server name after them; a name heard by sound only counts after one.
_PREPOSITIONS = frozenset(("on", "at", "for", "of", "in", "to", "from", "across", "over", "onto"))
_DETERMINERS = frozenset(("the", "a", "an", "our", "my", "that", "this", "both", "each", "every"))
# "both web servers", "all the web servers": the whole group, whatever the noun's number.
_QUANTIFIERS = ("both", "all", "all the", "all of the", "all our", "each", "every", "both the")
_NOUNS = {
    "server": "servers", "box": "boxes", "machine": "machines", "host": "hosts",
    "node": "nodes", "instance": "instances", "vm": "vms",
}  # fmt: skip
_EVERYWHERE = (
    "everywhere", "on all of them", "on each of them", "across the fleet", "on the whole fleet",
    "the whole fleet", "fleet wide", "on every one of them",
)  # fmt: skip
# Recognisers write a spoken digit as its homophone: "web to", "web for".
_HOMOPHONES = {"to": "2", "too": "2", "for": "4", "won": "1", "ate": "8"}
# "web two's disk" is normalised to "web twos disk".
_POSSESSIVE_DIGITS = {
    f"{word}s": str(n)
    for n, word in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven"))
}
# A clause made only of these (besides a server name) asks for nothing but a place.
_MOVES = frozenset((
    "lets", "look", "switch", "focus", "go", "move", "jump", "connect", "log", "stay", "head",
    "back", "change", "turn", "now", "over", "work", "working", "talk", "talking", "onto",
    "into", "continue", "see",
))  # fmt: skip
_PLACE_ONLY = _MOVES | _PREPOSITIONS | _DETERMINERS | frozenset((
    "let", "us", "we", "are", "i", "im", "am", "ok", "okay", "so", "please", "too", "also", "as",
    "well", "and", "then", "with", "same", "there", "do", "it", "just", "only", "instead",
    "thing", "again", "about", "up", "next", "one", "mean", "meant", "sorry", "actually",
    "rather", *_NOUNS, *_NOUNS.values(),
))  # fmt: skip
_PARTS = re.compile(r"[a-z]+|[0-9]+")
_NODE_LIKE = re.compile(r"[a-z]{1,12}-?[0-9]{1,3}")
_KIND = re.compile(r"^1 of (?:the )?| (?:" + "|".join((*_NOUNS, *_NOUNS.values())) + ")$")


@dataclass(frozen=True, slots=True)
class Said:
    """Where one clause says its request runs.

    ``rest`` is the clause without the words that named servers; ``names`` the node, group or
    :data:`~fleet.model.ALL` names it named, in order; ``question`` what to ask instead (an
    unknown or ambiguous name); ``only`` is true when the clause says nothing but a place ("on
    web-1 now", "and on web-2"), ``moves`` when it says to move there ("let's look at web-1").
    """

    rest: str
    names: tuple[str, ...] = ()
    question: str | None = None
    only: bool = False
    moves: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int  # word indexes in the clause, end exclusive
    end: int
    names: tuple[str, ...]
    question: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    """What a spoken phrase names (nodes, groups or ALL), or the nodes it could mean."""

    names: tuple[str, ...]
    ask: tuple[str, ...] = ()  # the nodes to choose from when the phrase fits several
    after_preposition: bool = False


@dataclass(frozen=True, slots=True)
class _Node:
    name: str
    stem: str  # the letters before the number, joined: "web", "db"
    key: str  # the stem's sound key
    number: str | None


def _node(name: str) -> _Node:
    parts = _PARTS.findall(name.lower())
    number = parts.pop() if len(parts) > 1 and parts[-1].isdigit() else None
    stem = "".join(parts)
    return _Node(name, stem, sound_key(" ".join(parts)), number)


def either(options: Sequence[str], word: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + f" {word} " + options[-1]


class ServerNames:
    """Reads server names in clauses, against one :class:`~fleet.model.Fleet`."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._nodes = tuple(_node(n) for n in fleet.nodes)
        self._stems = {node.stem: node.key for node in self._nodes if node.number}
        self._phrases = _phrase_table(fleet, self._nodes)
        self._longest = max((len(p) for p in self._phrases), default=1)

    def read(self, clause: str) -> Said:
        """What ``clause`` (normalised words) says about where it runs."""
        words = clause.split()
        hits: list[_Hit] = []
        i = 0
        while i < len(words):
            hit = self._node_at(words, i) or self._phrase_at(words, i) or self._unknown_at(words, i)
            if hit is None:
                i += 1
                continue
            hits.append(hit)
            i = hit.end
        if not hits:
            return Said(clause)
        dropped: set[int] = set()
        for hit in hits:
            dropped.update(range(_lead_in(words, hit.start), hit.end))
        rest = [w for n, w in enumerate(words) if n not in dropped]
        questions = [h.question for h in hits if h.question]
        names = tuple(dict.fromkeys(n for h in hits for n in h.names))
        return Said(
            " ".join(rest),
            () if questions else names,
            questions[0] if questions else None,
            only=set(rest) <= _PLACE_ONLY,
            moves=bool(_MOVES & set(rest)),
        )

    def _phrase_at(self, words: list[str], i: int) -> _Hit | None:
        for size in range(min(self._longest, len(words) - i), 0, -1):
            entry = self._phrases.get(tuple(words[i : i + size]))
            if entry is None or (entry.after_preposition and not _after_preposition(words, i)):
                continue
            if entry.ask:
                said = " ".join(w for w in words[i : i + size] if w not in _DETERMINERS)
                kind = _KIND.sub("", said)  # "1 of the web servers" → "web"
                noun = next((n for n in _NOUNS if said.endswith((n, _NOUNS[n]))), "server")
                return _Hit(i, i + size, (), f"Which {kind} {noun}: {either(entry.ask)}?")
            return _Hit(i, i + size, entry.names)
        return None

    def _node_at(self, words: list[str], i: int) -> _Hit | None:
        """A node name with a number starting at word ``i``: "web-2", "web 2", "d b 1"."""
        placed = _after_preposition(words, i)
        for size in range(1, min(3, len(words) - i) + 1):
            window = words[i : i + size]
            last = window[-1]
            parts = [p for w in window[:-1] for p in _PARTS.findall(w)]
            tail = _PARTS.findall(last)
            if last in _HOMOPHONES and size > 1:
                tail = [_HOMOPHONES[last]]
            elif last in _POSSESSIVE_DIGITS and size > 1:
                tail = [_POSSESSIVE_DIGITS[last]]
            elif tail[-2:-1] and tail[-1] == "s" and tail[-2].isdigit():
                tail = tail[:-1]  # "web-2s disk": the possessive
            if not tail or not tail[-1].isdigit():
                continue
            stem_parts = parts + tail[:-1]
            if not stem_parts or any(p.isdigit() for p in stem_parts):
                continue
            stem = "".join(stem_parts)
            heard = stem if stem in self._stems else self._sounds_like(stem_parts, placed)
            if heard is None and size == 1 and placed and _NODE_LIKE.fullmatch(last):
                # "on the V-1", "on BB1": a server was named, badly heard; never the default.
                every = either(self.fleet.nodes, "and")
                return _Hit(i, i + 1, (), f"There is no {last}: I know {every}.")
            if heard is None:
                continue
            number = tail[-1]
            for node in self._nodes:
                if node.stem == heard and node.number == number:
                    return _Hit(i, i + size, (node.name,))
            if last in _HOMOPHONES:
                continue  # "check web for errors": not a node
            known = [n.name for n in self._nodes if n.stem == heard]
            spoken = f"{heard}-{number}"
            return _Hit(i, i + size, (), f"There is no {spoken}: I know {either(known, 'and')}.")
        return None

    def _sounds_like(self, parts: list[str], placed: bool) -> str | None:
        """The node stem ``parts`` sound like ("webb" → "web"), only after a preposition and
        with the same first letter: short keys are loose ("bb" and "web" share one)."""
        if not placed or any(p in _PLACE_ONLY for p in parts):
            return None
        key = sound_key(" ".join(parts))
        matches = [s for s, k in self._stems.items() if k == key and s[0] == parts[0][0]]
        return matches[0] if len(matches) == 1 else None

    def _unknown_at(self, words: list[str], i: int) -> _Hit | None:
        """ "on the mail server": a server the fleet does not have (only after a preposition)."""
        if words[i] in _PLACE_ONLY or not _after_preposition(words, i):
            return None
        for size in (1, 2):
            end = i + size
            if end < len(words) and (words[end] in _NOUNS or words[end] in _NOUNS.values()):
                if any(w in _PLACE_ONLY for w in words[i:end]):
                    return None
                said = " ".join(words[i : end + 1])
                known = either(self.fleet.nodes, "and")
                return _Hit(i, end + 1, (), f"There is no {said}: I know {known}.")
        return None


def _after_preposition(words: list[str], i: int) -> bool:
    """Whether a preposition stands before word ``i`` (determiners may come between)."""
    j = i - 1
    while j >= 0 and words[j] in _DETERMINERS:
        j -= 1
    return j >= 0 and words[j] in _PREPOSITIONS


def _lead_in(words: list[str], start: int) -> int:
    """Where the words leading to a name begin: "on the" in "restart nginx on the web-1"."""
    j = start
    while j > 0 and words[j - 1] in _DETERMINERS:
        j -= 1
    if j > 0 and words[j - 1] in _PREPOSITIONS:
        j -= 1
    return j


def _phrase_table(fleet: Fleet, nodes: Sequence[_Node]) -> dict[tuple[str, ...], _Entry]:
    """Spoken phrases (word tuples) for groups, aliases, number-less nodes and "everywhere".

    An alias as written names its target; a group or alias with a plural noun or a quantifier
    ("web servers", "both web servers") names all its nodes; the singular ("the web server")
    asks which one when there are several.  Nodes that share a stem ("web-1", "web-2") make a
    group of that stem unless the fleet defines one.
    """
    table = {tuple(normalise(a).split()): _Entry((t,)) for a, t in fleet.aliases.items()}
    named: dict[str, tuple[str, ...]] = {normalise(g): (g,) for g in fleet.groups}
    stems: dict[str, list[str]] = {}
    for node in nodes:
        if node.number:
            stems.setdefault(node.stem, []).append(node.name)
        else:
            named[normalise(node.name)] = (node.name,)
    for stem, sharing in stems.items():
        named.setdefault(stem, tuple(sharing))
    for phrase, target in fleet.aliases.items():
        named.setdefault(normalise(phrase), (target,))
    for spoken, names in named.items():
        _add_forms(table, spoken, names, fleet)
    for phrase in _EVERYWHERE:
        table[tuple(phrase.split())] = _Entry((ALL,))
    for quantifier in _QUANTIFIERS:
        for noun in (*_NOUNS, *_NOUNS.values()):
            table[(*quantifier.split(), noun)] = _Entry((ALL,))
    return table


def _add_forms(
    table: dict[tuple[str, ...], _Entry], spoken: str, names: tuple[str, ...], fleet: Fleet
) -> None:
    """The ways to say ``spoken`` (a group, stem or alias): bare, singular, plural, quantified."""
    members = tuple(m for name in names for m in fleet.members(name))
    ask = members if len(members) > 1 else ()
    words = tuple(spoken.split())
    if words[-1] in _NOUNS or words[-1] in _NOUNS.values():
        words = words[:-1]
    if not words:
        return
    # A bare group name is the group; bare words that fit several nodes ask.
    table.setdefault(words, _Entry(names, ask if len(names) > 1 else (), after_preposition=True))
    for singular, plural in _NOUNS.items():
        table.setdefault((*words, plural), _Entry(names))
        table.setdefault(("".join(words) + plural,), _Entry(names))
        table.setdefault((*words, singular), _Entry(names, ask, after_preposition=True))
        for quantifier in _QUANTIFIERS:
            for noun in (singular, plural):
                table.setdefault((*quantifier.split(), *words, noun), _Entry(names))
        # "one of the web servers" is one of them: which?
        table.setdefault(("1", "of", "the", *words, plural), _Entry(names, ask))
