"""Where a conversation's requests run: the servers named, the current target, or a question.

One :class:`Targeting` lives for one extraction.  The last server named (in a request, or on its
own: "let's look at web-1") applies to later requests that name none; then the fleet's default;
then its only node; otherwise the request is asked about ("Which server: web-1, web-2 or
db-1?"), never guessed.  A clause that names only a place right after a request ("and on
web-2") repeats that request there; "no, on web-2" moves it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from extraction.model import ProposedCommand, Unmatched
from extraction.targets import Said, ServerNames, either
from fleet.model import FleetSource


def asked(words: str, question: str) -> Unmatched:
    """A request held back because of where it should run, with the question to ask."""
    return Unmatched(words, f"I heard '{words}'. {question}" if words else question)


@dataclass(slots=True)
class FleetNames:
    """One extractor's reader of server names for the fleet ``source`` gives (the live fleet
    changes as nodes connect).  The last reader is kept while the source keeps giving the same
    fleet object: building one compiles every node's names."""

    source: FleetSource | None
    _last: ServerNames | None = None

    def now(self) -> ServerNames | None:
        """The reader for the fleet now; ``None`` without a fleet or nodes (then commands carry
        no targets, exactly as before fleets)."""
        fleet = self.source() if self.source is not None else None
        if fleet is None or not fleet.nodes:
            return None
        # Extractions run in worker threads: read the last reader once, so the one returned
        # always belongs to this call's fleet.
        last = self._last
        if last is None or last.fleet is not fleet:
            last = ServerNames(fleet)
            self._last = last
        return last


@dataclass(slots=True)
class Targeting:
    """One conversation's reading of where its requests run (private to one extraction).

    ``focus`` holds the names last named ("let's look at web-1", or "on web-2" in a request):
    requests that name no server run there.  ``follows`` is true right after a request in the
    same turn, so "and on web-2" repeats that request there instead of moving the focus.
    """

    names: ServerNames | None
    focus: tuple[str, ...] = ()
    follows: bool = False

    def read(self, clause: str) -> Said:
        """The clause's place words; with no fleet, the clause unchanged and nothing named."""
        return self.names.read(clause) if self.names is not None else Said(clause)

    def heard(self, said: Said) -> None:
        """A clause named servers (even one that asked for nothing): later requests go there."""
        if said.names:
            self.focus = said.names

    def aim(
        self, said: Said, proposed: Sequence[ProposedCommand]
    ) -> tuple[list[ProposedCommand], str | None]:
        """``proposed`` (one clause's commands) with their targets, or none and the question to
        ask.  Without a fleet they come back unchanged: no targets, as before fleets."""
        if self.names is None or not proposed:
            return list(proposed), None
        self.heard(said)
        fleet = self.names.fleet
        chosen = said.names or self.focus or ((fleet.default,) if fleet.default else ())
        if not chosen and len(fleet.nodes) == 1:
            chosen = fleet.nodes
        question = said.question
        if not chosen and not question:
            question = f"Which server: {either(fleet.nodes)}?"
        if question:
            return [], question
        self.follows = True
        return [replace(p, targets=self._members(chosen)) for p in proposed], None

    def again(
        self, said: Said, last: Sequence[ProposedCommand], corrects: bool
    ) -> list[ProposedCommand] | None:
        """For a clause that says only where: the last request again there ("and on web-2";
        "no, on web-2" corrects it), or ``[]`` when it only moves the focus ("let's look at
        web-1").  ``None`` when the clause asks for more than a place."""
        if self.names is None or not said.only or not said.names:
            return None
        nodes = self._members(said.names)
        if corrects and last:
            self.focus = said.names
            return [replace(p, targets=nodes) for p in last]
        if said.moves or not self.follows or not last:
            self.focus = said.names
            return []
        self.focus = (*dict.fromkeys(t for p in last for t in p.targets), *said.names)
        return [replace(p, targets=nodes) for p in last]

    def place_turn(
        self,
        requests: Iterable[tuple[Said, Sequence[ProposedCommand]]],
        unmatched: list[Unmatched],
    ) -> list[ProposedCommand]:
        """One turn's clauses (where each says, what it asks for) → the commands, placed;
        what cannot be placed is asked about in ``unmatched``.  For extractors that read clause
        by clause without more context (:class:`~extraction.rules.RulesExtractor`)."""
        found: list[ProposedCommand] = []
        last: list[ProposedCommand] = []
        for said, commands in requests:
            again = None if commands else self.again(said, last, corrects=False)
            placed, question = (again, None) if again is not None else self.aim(said, commands)
            question = question or (said.question if said.only else None)
            if question:
                unmatched.append(asked(said.rest, question))
            elif not commands and again is None:
                self.heard(said)
            found.extend(placed)
            last = placed or last
        return found

    def _members(self, names: Iterable[str]) -> tuple[str, ...]:
        assert self.names is not None
        fleet = self.names.fleet
        return tuple(dict.fromkeys(m for name in names for m in fleet.members(name)))
