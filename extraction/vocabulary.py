"""Names the offline extractor can act on, for speech recognisers to listen for.

A recogniser that is told the names (as hotwords or in its prompt) hears "nginx" and "cron"
instead of "engine next" and "wrong".  The names come from the same files that turn words into
commands, so a name added to the rules is heard and understood alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from extraction.intents import load_intents
from extraction.rules import load_rules
from fleet.model import Fleet


def service_aliases(rules_path: Path | None = None) -> Mapping[str, str]:
    """Spoken or misheard form → service unit ("postgres" → "postgresql", "engine x" → "nginx"),
    including each unit's own name; what a sound-alike matcher should map words onto."""
    service = load_rules(rules_path).slots.get("service")
    return dict(service.aliases) if service is not None else {}


def known_names(
    rules_path: Path | None = None,
    intents_path: Path | None = None,
    programs: Iterable[str] = (),
) -> tuple[str, ...]:
    """Service units and programs the rules and intents can propose, plus ``programs`` (e.g. the
    guard policy's command names): sorted, unique, as written ("postgresql", "nvidia-smi").

    Container names are not known in advance (any name may follow "container"), so none are
    listed; misheard forms are in :func:`service_aliases`.
    """
    ruleset = load_rules(rules_path)
    names: set[str] = set(ruleset.literal_programs) | {p.strip() for p in programs if p.strip()}
    names.update(service_aliases(rules_path).values())
    names.update(intent.command.split(" ", 1)[0] for intent in load_intents(intents_path))
    return tuple(sorted(names))


def fleet_words(fleet: Fleet | None) -> tuple[str, ...]:
    """The server names an operator may say, as a recogniser should write them: node names
    ("web-1"), group names and aliases ("database box"); none without a fleet.

    Node names are not English words: a recogniser not told about them writes "web two" as
    "webmaster".  Spoken variants ("web two", "webb 2") are read by :mod:`extraction.targets`.
    """
    if fleet is None:
        return ()
    return tuple(dict.fromkeys((*fleet.nodes, *fleet.groups, *fleet.aliases)))
