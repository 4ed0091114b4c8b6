"""The vocabulary shared by the transcript, the extractors and memory.

Turns come in (from the proxy's transcript), an :class:`Extraction` goes out.  Recollections are
what memory recalls about past requests and are handed to extractors as context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Speaker = Literal["user", "assistant"]
#: Whose words a command came from: the operator's, the voice model's (accepted by the
#: operator) or memory ("same as last time").  Replies name the last two as such.
Origin = Literal["user", "assistant", "memory"]

#: Most turns of one conversation kept (the transcript drops the oldest) and read by extractors.
MAX_TURNS = 200
#: Longest text of one turn: the transcript cuts longer text, extractors read no more.
MAX_TURN_CHARS = 2000
#: Longest request text: an EXECUTE payload, an API transcript, and what memory keeps of one.
MAX_REQUEST_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's words; ``start``/``end`` are seconds on the session's audio clock."""

    speaker: Speaker
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ProposedCommand:
    """A command the conversation agreed on, as text for the guard, and the words it came from.

    ``targets`` are the fleet's node names it must run on, in order ("restart nginx on both web
    servers" → web-1, web-2); empty when no fleet is configured: it runs where every command
    runs without one.
    """

    command: str
    source: str
    origin: Origin = "user"
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Words that asked for something no command was taken for, and what they may have meant.

    ``why`` is a sentence for the operator ("I heard 'is the wrong service running'. Did you
    mean: status of cron?"); ``suggestions`` are the closest things that can be done.
    """

    words: str
    why: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Extraction:
    """Commands in the order they should run; when there are none, ``reason`` says why.

    ``unmatched`` lists requests heard but not turned into commands, so a reply can say them
    beside the commands that ran instead of dropping them in silence.
    """

    commands: tuple[ProposedCommand, ...]
    reason: str | None = None
    unmatched: tuple[Unmatched, ...] = ()


@dataclass(frozen=True, slots=True)
class Recollection:
    """One remembered interaction, as recalled for context."""

    id: str
    request: str
    commands: tuple[str, ...]
    summary: str
    session_id: str
    time: float
    distance: float


class Extractor(Protocol):
    """Turns transcript turns (plus recalled context) into proposed commands."""

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        """Return the agreed commands, or none with a reason.  Never raises for bad input."""
        ...
