"""A fleet: node names, groups of them and the spoken aliases that stand for either.

Pure data, no I/O.  The proxy builds the live fleet (configured nodes plus the nodes connected
to its OpenClaw gateway, :meth:`Fleet.with_nodes`); extractors resolve spoken names against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from voiceops.errors import VoiceOpsError

#: The name that stands for every node ("everywhere", "on all servers" resolve to it).
ALL = "all"

#: A node or group name: what OpenClaw display names and host names look like.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A spoken alias: lower-case words, as a transcript writes them.
ALIAS = re.compile(r"[a-z0-9][a-z0-9' -]{0,63}")


class FleetError(VoiceOpsError, ValueError):
    """A fleet that cannot be used: a bad file (``path:line: message``) or an unknown name."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        where = "" if path is None else f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


@dataclass(frozen=True, slots=True)
class Fleet:
    """The servers an operator can name.

    ``nodes`` are node host names (OpenClaw display names) in a stable order; ``groups`` map a
    group name to its nodes ("web" → web-1, web-2); ``aliases`` map a spoken phrase to a node or
    group name ("database box" → db-1); ``default`` is the node or group a request runs on when
    it names none and the conversation has no current target.  Construction checks that every
    name refers to something, so a resolved name always has members.
    """

    nodes: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default: str | None = None

    def __post_init__(self) -> None:
        # Read-only copies: a fleet is shared between conversations and must not change under
        # one of them.
        object.__setattr__(self, "nodes", tuple(dict.fromkeys(self.nodes)))
        groups = {name: tuple(dict.fromkeys(members)) for name, members in self.groups.items()}
        object.__setattr__(self, "groups", MappingProxyType(groups))
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))
        problem = self._problem()
        if problem:
            raise FleetError(problem)

    def _problem(self) -> str | None:
        """What makes this fleet inconsistent, or ``None``."""
        for name in (*self.nodes, *self.groups):
            if not NAME.fullmatch(name):
                return f"{name!r} is not a node or group name (letters, digits, . _ -)"
            if name.lower() == ALL:
                return f"{ALL!r} is reserved: it means every node"
        for name, members in self.groups.items():
            if name in self.nodes:
                return f"group {name!r} has the name of a node"
            if not members:
                return f"group {name!r} has no nodes"
            unknown = [m for m in members if m not in self.nodes]
            if unknown:
                return f"group {name!r} lists {unknown[0]!r}, which is not a node"
        for phrase, target in self.aliases.items():
            if not ALIAS.fullmatch(phrase):
                return f"alias {phrase!r} must be lower-case words"
            if not self.knows(target):
                return f"alias {phrase!r} names {target!r}, which is not a node or group"
        if self.default is not None and not self.knows(self.default):
            return f"default {self.default!r} is not a node or group"
        return None

    def knows(self, name: str) -> bool:
        """Whether ``name`` is a node, a group or :data:`ALL`."""
        return name in self.nodes or name in self.groups or name == ALL

    def members(self, name: str) -> tuple[str, ...]:
        """The nodes ``name`` stands for: a node itself, a group's nodes, or every node for
        :data:`ALL`.  Raises :class:`FleetError` for a name the fleet does not know, so a typo
        never silently means "nowhere"."""
        if name in self.nodes:
            return (name,)
        if name in self.groups:
            return self.groups[name]
        if name == ALL:
            return self.nodes
        raise FleetError(f"no node or group is called {name!r}")

    def with_nodes(self, nodes: Iterable[str]) -> Fleet:
        """This fleet plus ``nodes`` (e.g. those connected to the gateway), configured first.

        Raises :class:`FleetError` when a new node's name is not a name or is a group's name.
        """
        return Fleet((*self.nodes, *nodes), self.groups, self.aliases, self.default)


#: Where an extractor reads the live fleet from at each request (nodes connect and go away
#: during a conversation); ``None`` from it means "no fleet": commands get no targets.
FleetSource = Callable[[], Fleet | None]
