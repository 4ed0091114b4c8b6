"""One conversation as the offline extractor reads it: each clause, and the state so far.

Private to :mod:`extraction.understand` (split from it to keep modules small): a
:class:`Clause` is what one clause says without context, a :class:`Reading` what the
conversation has established up to the current clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from extraction.model import Extraction, Origin, ProposedCommand, Turn, Unmatched
from extraction.rules import MAX_COMMANDS
from extraction.slots import Slots
from extraction.targeting import Targeting, asked
from extraction.targets import Said

_BARE = frozenset((
    "the", "service", "container", "ones", "one", "too", "as", "well", "also", "instead",
    "please", "and", "just", "only", "then", "what", "about", "how", "logs",
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Clause:
    """What one clause says, read without context."""

    words: str
    slots: Slots
    by_sound: Slots | None  # with a service heard as other words ("radish"), if one was
    corrects: bool
    negated: bool
    later: bool
    shaped: bool
    verbless: bool
    again: bool
    ruled: tuple[str, ...]
    place: Said  # the servers it names (its ``words`` are without them)

    @property
    def wants_name(self) -> bool:
        """A request for now that names no target, or names its service only by sound ("restart
        get next", "is the kron service running"): what a recogniser told the names could
        have heard better.  Not a rule's own request, a pronoun ("its status"), a negation, a
        plan for later or "same as last time"."""
        if not self.words or self.ruled or self.negated or self.later or self.again:
            return False
        named = self.slots.service or self.slots.container or self.slots.path
        return self.shaped and not named and not self.slots.pronoun


@dataclass(slots=True)
class Reading:
    """The conversation read so far (private to one extraction)."""

    commands: list[ProposedCommand] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)  # requests not understood
    chatter: list[Unmatched] = field(default_factory=list)  # words that asked for nothing
    last_request: list[ProposedCommand] = field(default_factory=list)
    service: str | None = None
    container: str | None = None
    template: tuple[str, str] | None = None  # (command with {kind}, kind) for "and redis"
    requesting: bool = False
    correcting: bool = False  # a clause that was only "no, sorry": the next one corrects
    recalled: tuple[str, ...] = ()  # commands of the most recent remembered request
    targeting: Targeting = field(default_factory=lambda: Targeting(None))

    def place_only(self, clause: Clause, corrects: bool) -> bool:
        """A clause that says only where ("let's look at web-1", "and on web-2", "no, on
        web-2"): moves the focus or puts the last request there.  False for any other clause."""
        if clause.place.only and clause.place.question:
            self.unmatched.append(asked(clause.words, clause.place.question))
            return True
        again = self.targeting.again(clause.place, self.last_request, corrects)
        if again is None:
            return False
        if corrects:
            self.commands = [c for c in self.commands if c not in self.last_request]
        self.commands.extend(again)
        self.last_request = again or self.last_request
        return True

    def aimed(
        self, clause: Clause, proposed: list[ProposedCommand]
    ) -> list[ProposedCommand] | None:
        """``proposed`` on the servers ``clause`` names (or the focus); ``None`` when it must
        be asked about first (the question is kept with the unmatched requests)."""
        placed, question = self.targeting.aim(clause.place, proposed)
        if question:
            self.unmatched.append(asked(clause.words, question))
            return None
        return placed

    def extraction(self, recent: Sequence[Turn]) -> Extraction:
        """What was read, as the extractor's answer: each command once per set of servers."""
        unique: list[ProposedCommand] = []
        for command in self.commands:
            if (command.command, command.targets) not in {(u.command, u.targets) for u in unique}:
                unique.append(command)
        heard = tuple(self.unmatched)
        if unique:
            return Extraction(tuple(unique[:MAX_COMMANDS]), None, heard)
        if not any(t.speaker == "user" for t in recent):
            return Extraction((), "nothing was said by the user since the last execution")
        if heard or self.chatter:
            return Extraction((), " ".join(u.why for u in heard or self.chatter), heard)
        return Extraction((), "nothing in what was said asks for a command to run now")


def bare(clause: Clause) -> bool:
    """Only a name ("and redis", "no, the postgres ones"): the last request, for it."""
    named = clause.slots.service or clause.slots.container
    return bool(named) and set(clause.slots.plain.split()) <= _BARE


def remember(state: Reading, command: str, slots: Slots) -> None:
    """Keep ``command`` as the template a bare name ("and redis") fills in next."""
    words = command.split()
    for kind in ("service", "container"):
        value = getattr(slots, kind) or getattr(state, kind)
        if value and value in words:
            slot = "{" + kind + "}"
            state.template = (" ".join(slot if w == value else w for w in words), kind)
            return


def propose(
    command: str, clause: Clause, origin: Origin, taken_from: Origin | None
) -> ProposedCommand:
    """The command as proposed from ``clause``, marked with whose words it came from."""
    source = clause.words if origin == "user" else f"{origin}: {clause.words}"
    return ProposedCommand(command, source, taken_from or origin)
