"""What the action runner needs from the rest of the proxy, as protocols.

The runner never talks to a socket, a database or the guard's internals directly: the relay
provides a :class:`Notifier`, the guard is a :class:`CommandChecker`, memory a
:class:`MemoryStore` and the conversation's transcript a :data:`TranscriptSource`.  Tests pass
small real implementations of these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from extraction.model import Recollection, Turn
from guard.decision import Decision
from voiceops.records.events import SessionEvent

if TYPE_CHECKING:
    # extraction.memory loads ChromaDB (seconds); a proxy without memory never needs it.
    from extraction.memory import InteractionRecord


class Notifier(Protocol):
    """Where a session's progress and results go (the relay sends them to the browser)."""

    async def notify_text(self, text: str) -> None:
        """Show ``text`` to the user (as ``0x02`` text in the conversation)."""
        ...

    async def notify_event(self, event: SessionEvent) -> None:
        """Deliver a structured event (as ``0x04`` JSON to clients that asked for it)."""
        ...

    async def notify_speech(self, text: str) -> None:
        """Say ``text`` into the conversation's reply audio; returns at once (a notifier
        without a voice drops it)."""
        ...


class NullNotifier:
    """A notifier that drops everything (HTTP API sessions read the returned report instead)."""

    async def notify_text(self, text: str) -> None:
        """Drop ``text``."""

    async def notify_event(self, event: SessionEvent) -> None:
        """Drop ``event``."""

    async def notify_speech(self, text: str) -> None:
        """Drop ``text``."""


class CommandChecker(Protocol):
    """The guard's interface as the runner uses it (``guard.Guard`` implements it)."""

    def check(self, text: str, node: str | None = None) -> Decision:
        """Decide about one command text (for fleet node ``node``, when given); never raises."""
        ...


class MemoryStore(Protocol):
    """The memory's interface as the runner uses it (``extraction.memory.Memory``); blocking."""

    def store(self, record: InteractionRecord) -> str | None:
        """Remember one finished request; returns its id (or ``None`` when not stored)."""
        ...

    def recall(self, text: str, k: int) -> list[Recollection]:
        """Up to ``k`` past requests similar to ``text``."""
        ...


#: The conversation so far, oldest turn first (the session's transcript).
TranscriptSource = Callable[[], Sequence[Turn]]
