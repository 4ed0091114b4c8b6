"""Recognise the proxy asking for a confirmation, for ``--confirm-when-asked``.

Two sources, never mixed in one session (see :class:`client.recorder.SessionRecorder`):

* a ``0x04`` event whose ``type`` (or ``event`` / ``state`` / ``status``) names a pending
  confirmation, e.g. ``{"type": "confirmation_required", "id": "r3", ...}``, or that carries
  ``"needs_confirmation": true``;
* one whole ``0x02`` message that asks for it in words, e.g. ``"Request r3 needs confirmation:
  restart nginx. Say confirm or cancel."``.  The model's own words arrive a piece at a time, so a
  single message carrying such a sentence is the proxy speaking.

The request id comes from ``id`` / ``request_id`` in an event, or from ``request r3`` / ``#r3`` /
``id: r3`` in text (an id must contain a digit so that "request needs" is not read as an id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Event type names (case and ``-``/space insensitive) that mean "a request awaits confirmation".
ASK_EVENT_TYPES = frozenset(
    {
        "confirm_required",
        "confirmation_required",
        "needs_confirmation",
        "awaiting_confirmation",
        "confirmation_requested",
        "confirm_request",
        "pending_confirmation",
    }
)

_TYPE_KEYS = ("type", "event", "state", "status")
_ID_KEYS = ("id", "request_id", "requestId")

_ASK_TEXT = re.compile(
    r"\b(?:say|reply|answer|send)\s+[\"'“‘]?confirm\b"
    r"|\bconfirm\s+or\s+cancel\b"
    r"|\b(?:awaiting|awaits|needs?|requires?|waiting\s+for)\s+(?:your\s+)?confirmation\b",
    re.IGNORECASE,
)
_TEXT_ID = re.compile(
    # Ids as the proxy makes them (letters, digits, ``._:-``), not ending in sentence punctuation.
    r"(?:\brequest\s+(?:id\s*)?#?|\bid\s*[:=]\s*|#)"
    r"((?=[\w.:-]*\d)[A-Za-z0-9](?:[\w.:-]{0,62}\w)?)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ConfirmationAsk:
    """The proxy wants a CONFIRM; ``request_id`` is ``None`` when it did not say which request."""

    request_id: str | None


def _normalise(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _id_of(data: dict[str, object]) -> str | None:
    for key in _ID_KEYS:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    nested = data.get("request")
    if isinstance(nested, dict):
        return _id_of(nested)
    return None


def ask_in_event(data: dict[str, object]) -> ConfirmationAsk | None:
    """The confirmation asked for by a ``0x04`` event, or ``None``."""
    asks = data.get("needs_confirmation") is True or any(
        isinstance(data.get(key), str) and _normalise(str(data[key])) in ASK_EVENT_TYPES
        for key in _TYPE_KEYS
    )
    return ConfirmationAsk(_id_of(data)) if asks else None


def ask_in_text(text: str) -> ConfirmationAsk | None:
    """The confirmation asked for by one whole ``0x02`` message, or ``None``."""
    if not _ASK_TEXT.search(text):
        return None
    found = _TEXT_ID.search(text)
    return ConfirmationAsk(found.group(1) if found else None)
