"""Pure slot finding: which service, container, path or count a clause names, and what kind.

The meaning layer compares clauses with examples that never name a service, so a clause's
names are replaced by what they are before comparing ("is postgres alive" is compared as "is
the service alive").  The kind matters as much as the value: "stop the docker container web"
names a *container*, and a service intent must never take "docker" from it instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from extraction.soundalike import find_names
from extraction.spoken import phrase_regex, spoken_to_literal

# Words that sit where a container's name would and are not names.
_NOT_CONTAINER = frozenset((
    "the", "a", "an", "my", "our", "that", "this", "it", "its", "all", "docker", "container",
    "containers", "logs", "log", "please", "now", "of", "for", "from", "last", "latest",
    "recent", "again", "running", "stopped", "one", "ones", "up", "down", "same", "and", "then",
    "to", "stop", "start", "restart", "show", "check", "list", "bounce", "kill",
))  # fmt: skip
_NAME = r"[a-z0-9][a-z0-9_.-]{0,62}"
# Tried in order: "container web", "the web container", typed "docker stop web".
_CONTAINERS = (
    re.compile(rf"(?<![^ ])(?:docker )?containers? (?P<name>{_NAME})(?![^ ])"),
    re.compile(rf"(?<![^ ])(?P<name>{_NAME}) containers?(?![^ ])"),
    re.compile(rf"(?<![^ ])docker (?:restart|stop|start|logs|kill) (?P<name>{_NAME})(?![^ ])"),
)
_CONTAINER_WORD = re.compile(r"(?<![^ ])containers?(?![^ ])")
_SPOKEN_PATH = re.compile(r"(?<![^ ])slash [a-z0-9._-]+(?: (?:slash|dot|dash) [a-z0-9._-]+)*")
_TYPED_PATH = re.compile(r"(?<![^ ])/[a-z0-9._/-]*")
_PATH_ALIASES = {
    "var log": "/var/log",
    "log directory": "/var/log",
    "logs directory": "/var/log",
    "log folder": "/var/log",
    "logs folder": "/var/log",
}
_PATH_ALIAS = re.compile(rf"(?<![^ ])(?:the )?(?:{phrase_regex(list(_PATH_ALIASES))})(?![^ ])")
_PATH_WORDS = {"slash": "/", "dot": ".", "dash": "-"}
_LINES = re.compile(r"(?<![^ ])(?:last )?(?P<n>[0-9]{1,4}|hundred) (?:log )?lines(?![^ ])")
# Digits said one by one ("one two three four" → "1 2 3 4") are one number.
_NUMBER = re.compile(r"(?<![^ ])(?:[0-9] ){0,6}[0-9]{1,7}(?![^ ])")
_PRONOUN = re.compile(r"(?<![^ ])(?:it|its|them|ones|one|the same one)(?![^ ])")
_SUFFIX = r"(?: (?:service|server|daemon|unit))?"
# Words the sound matcher may read (no paths, flags or dotted names: their word breaks differ).
_PLAIN_WORDS = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Slots:
    """What one clause names; ``plain`` is the clause with names replaced by their kind."""

    plain: str
    service: str | None = None
    container: str | None = None
    path: str | None = None
    number: str | None = None
    lines: str | None = None
    pronoun: bool = False
    says_container: bool = False

    def values(self) -> dict[str, str]:
        """Slot name → value for the ones that were found, for filling a command template."""
        found = {
            "service": self.service,
            "container": self.container,
            "path": self.path,
            "number": self.number,
            "lines": self.lines,
        }
        return {k: v for k, v in found.items() if v is not None}


class SlotFinder:
    """Finds slots using the service names (spoken form → unit name) the rules file knows."""

    def __init__(self, services: Mapping[str, str]) -> None:
        self.services = dict(services)
        alternation = phrase_regex(list(self.services))
        # "docker images", "docker stats": the docker command, not the docker service.
        self._service = re.compile(
            rf"(?<![^ ])(?:the )?({alternation}){_SUFFIX}(?![^ ])(?! (?:images|stats|ps)(?![^ ]))"
        )

    def find(self, clause: str) -> Slots:
        """The slots of one normalised clause."""
        plain = clause
        container = path = None
        for pattern in _CONTAINERS:
            m = pattern.search(plain)
            if m is not None and m.group("name") not in _NOT_CONTAINER:
                container = m.group("name")
                plain = f"{plain[: m.start()]}the container{plain[m.end() :]}"
                break
        typed = _TYPED_PATH.search(plain)
        spoken = _SPOKEN_PATH.search(plain)
        alias = _PATH_ALIAS.search(plain)
        for found in (spoken, typed, alias):
            if found is not None:
                words = found.group(0).removeprefix("the ")
                path = _PATH_ALIASES.get(words) or spoken_to_literal(words, _PATH_WORDS)
                plain = f"{plain[: found.start()]}the directory{plain[found.end() :]}"
                break
        service = None
        s = self._service.search(plain)
        if s is not None:
            service = self.services[s.group(1)]
            plain = f"{plain[: s.start()]}the service{plain[s.end() :]}"
        lines = _LINES.search(plain)
        number = _NUMBER.search(plain)
        return Slots(
            plain=" ".join(plain.split()),
            service=service,
            container=container,
            path=path,
            number=number.group(0).replace(" ", "") if number else None,
            lines=(lines.group("n").replace("hundred", "100")) if lines else None,
            pronoun=_PRONOUN.search(clause) is not None,
            says_container=_CONTAINER_WORD.search(clause) is not None,
        )

    def by_sound(self, clause: str) -> Slots | None:
        """The clause's slots with a service it names in words that only sound like it
        ("restart radish" → redis, "is the kron service running" → cron), or None.

        The caller takes these only when the clause's meaning asks for a service: read alone,
        ordinary words come too close to names ("being used" → memcached).  A clause that
        spells a service, or is about a container, is never read this way.
        """
        slots = self.find(clause)
        if slots.service or slots.says_container or not _PLAIN_WORDS.fullmatch(clause):
            return None
        found = [m for m in find_names(clause, self.services) if not m.spelt]
        if len(found) != 1:
            return None
        words = clause.split()
        words[found[0].start : found[0].end] = ["the service"]
        return replace(self.find(" ".join(words)), service=found[0].name)

    def sounds_like(self, clause: str) -> str | None:
        """The service whose name is closest in spelling to a word of the clause, if any is close.

        Only for suggestions ("did you mean cron?"): a guess never fills a command.
        """
        best, score = None, 0.6
        for word in clause.split():
            if len(word) < 3:
                continue
            for spoken, service in self.services.items():
                ratio = difflib.SequenceMatcher(None, word, spoken).ratio()
                if ratio > score:
                    best, score = service, ratio
        return best
