"""What the tap reports: frozen events, delivered on the event loop (see ``proxy.listen.tap``)."""

from __future__ import annotations

from dataclasses import dataclass

from extraction.model import Turn
from proxy.relay.codec import Action


@dataclass(frozen=True, slots=True)
class UserSpoke:
    """The user finished an utterance; ``turn`` is its recognised text on the audio clock."""

    turn: Turn


@dataclass(frozen=True, slots=True)
class AssistantSpoke:
    """The model finished a stretch of speech (its 0x02 words, on the server audio clock)."""

    turn: Turn


@dataclass(frozen=True, slots=True)
class TriggerHeard:
    """The user said a trigger phrase.

    ``action`` is EXECUTE, CONFIRM or CANCEL (CONFIRM/CANCEL are reported whenever heard; the
    action flow honours them only while a request awaits confirmation).  ``at`` is the end of
    the utterance on the user's audio clock; ``turns`` is the transcript up to and including
    that utterance.  ``named`` is the action a confirmation named ("confirm restart" →
    ``"restart"``; ``None``: it named none).
    """

    action: Action
    phrase: str
    at: float
    turns: tuple[Turn, ...]
    named: str | None = None

    def __post_init__(self) -> None:
        if self.action not in (Action.EXECUTE, Action.CONFIRM, Action.CANCEL):
            raise ValueError(f"a trigger is EXECUTE, CONFIRM or CANCEL, not {self.action.name}")


TapEvent = UserSpoke | AssistantSpoke | TriggerHeard
