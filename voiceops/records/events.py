"""The ``0x04`` JSON events the proxy sends to a client that asked for them (``events=1``).

Every event is one JSON object ``{"type": "voiceops", "session_id": …, "event": KIND, …}``: a
:class:`SessionEvent` wrapping one of the records below, whose fields follow ``event``.  In the
order a request produces them:

``accepted``     a request was taken (``request_id``, ``via``, the explicit ``request`` text);
``inferred``     commands the operator did not say (``origins``: command → ``assistant`` or
                 ``memory``);
``command``      one command's fate: a :class:`~voiceops.records.commands.CommandResult`'s
                 fields beside ``request_id``; ``status: needs_confirmation`` asks to CONFIRM
                 ``id``;
``done``         the request's closing tally (``outcome``, every ``results`` item);
``expired``      pending ``ids`` whose confirmation timed out;
``invalid``      a control frame that was not understood (``reason``);
``refused``      running commands is switched off (``reason``);
``busy``         a request is still running (its ``request_id``);
``not_pending``  CONFIRM/CANCEL named nothing pending (the ``id`` it named, or ``null``);
``unnamed``      a spoken confirmation named no action or another one (``id``, ``say``,
                 ``heard``);
``speaking``     the proxy's voice starts a piece of speech: ``seconds`` of it are queued from
                 now, and ``more`` says whether further texts are still being synthesised.

The PersonaPlex UI never gets these (it would log a schema error for each): the proxy sends them
only to clients that asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from voiceops.records.base import FLATTENED, Kinded, Record, RecordError, rounded
from voiceops.records.commands import CommandResult, ReportOutcome

#: The ``type`` of every event the proxy sends.
EVENT_TYPE = "voiceops"


class Event(Kinded):
    """Base of the event records; ``kind`` is the event's ``event`` name on the wire."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AcceptedEvent(Event):
    """A request was accepted; ``request`` is its explicit text (``None``: the conversation)."""

    kind: ClassVar[str] = "accepted"
    request_id: str
    via: str
    request: str | None


@dataclass(frozen=True, slots=True)
class InferredEvent(Event):
    """Commands the operator did not say themselves: command text → where it came from."""

    kind: ClassVar[str] = "inferred"
    request_id: str
    origins: dict[str, str]


@dataclass(frozen=True, slots=True)
class CommandEvent(Event):
    """One command's fate; ``result.status == "needs_confirmation"`` asks for a CONFIRM."""

    kind: ClassVar[str] = "command"
    request_id: str
    result: CommandResult = field(metadata=FLATTENED)

    @property
    def asks_confirmation(self) -> bool:
        """True when this command waits for a person to confirm ``result.id``."""
        return self.result.status == "needs_confirmation"


@dataclass(frozen=True, slots=True)
class DoneEvent(Event):
    """The closing note of a request."""

    kind: ClassVar[str] = "done"
    request_id: str
    outcome: ReportOutcome
    results: tuple[CommandResult, ...]


@dataclass(frozen=True, slots=True)
class ExpiredEvent(Event):
    """Pending commands whose confirmation timed out."""

    kind: ClassVar[str] = "expired"
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InvalidEvent(Event):
    """A control frame that could not be understood."""

    kind: ClassVar[str] = "invalid"
    reason: str


@dataclass(frozen=True, slots=True)
class RefusedEvent(Event):
    """Running commands is switched off."""

    kind: ClassVar[str] = "refused"
    reason: str


@dataclass(frozen=True, slots=True)
class BusyEvent(Event):
    """A request is still running (``request_id``); try again when it has finished."""

    kind: ClassVar[str] = "busy"
    request_id: str | None


@dataclass(frozen=True, slots=True)
class NotPendingEvent(Event):
    """CONFIRM/CANCEL named nothing pending (``id``: what it named, ``None`` for the newest)."""

    kind: ClassVar[str] = "not_pending"
    id: str | None


@dataclass(frozen=True, slots=True)
class UnnamedEvent(Event):
    """A spoken confirmation named no action, or not the waiting one's (``heard``: the action
    it named); nothing ran.  ``say`` runs the pending command ``id`` ("confirm restart")."""

    kind: ClassVar[str] = "unnamed"
    id: str
    say: str
    heard: str | None


@dataclass(frozen=True, slots=True)
class SpeakingEvent(Event):
    """The proxy's voice starts a piece of speech: ``seconds`` of speech are queued from now
    on, and ``more`` texts are still being synthesised behind them.  A client that answers
    aloud waits until the proxy has finished (words said over its speech may be its echo and
    fire no trigger)."""

    kind: ClassVar[str] = "speaking"
    seconds: float = field(metadata=rounded(3))
    more: bool


@dataclass(frozen=True, slots=True)
class SessionEvent(Record):
    """One ``0x04`` event of session ``session_id``, as sent."""

    session_id: str
    event: Event

    def to_json(self) -> dict[str, object]:
        """``{"type": "voiceops", "session_id", "event": kind, …the event's fields}``."""
        head = {"type": EVENT_TYPE, "session_id": self.session_id, "event": self.event.kind}
        return head | self.event.to_json()

    @classmethod
    def from_json(cls, data: object) -> Self:
        """The event ``data`` holds; :class:`RecordError` when it is not one of ours (another
        ``type``, an unknown ``event`` kind, a field missing or of the wrong type)."""
        if not isinstance(data, dict) or data.get("type") != EVENT_TYPE:
            raise RecordError(f'not a voiceops event (no "type": "{EVENT_TYPE}")')
        kind = Event.named(data.get("event"))
        session_id = data.get("session_id")
        if not isinstance(session_id, str):
            raise RecordError('"session_id" must be a string')
        return cls(session_id, kind.from_json(data))
