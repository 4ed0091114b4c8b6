"""The vocabulary shared by the transcript, the extractors and memory.

Turns come in (from the proxy's transcript), an :class:`Extraction` goes out.  Recollections are
what memory recalls about past requests and are handed to extractors as context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Speaker = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's words; ``start``/``end`` are seconds on the session's audio clock."""

    speaker: Speaker
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ProposedCommand:
    """A command the conversation agreed on, as text for the guard, and the words it came from."""

    command: str
    source: str


@dataclass(frozen=True, slots=True)
class Extraction:
    """Commands in the order they should run; when there are none, ``reason`` says why."""

    commands: tuple[ProposedCommand, ...]
    reason: str | None = None


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
