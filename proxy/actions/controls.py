"""User actions and the ``0x03`` control frames that carry them.

EXECUTE, CONFIRM and CANCEL reach a session from three places (extension control frames, the
user's recognised speech and the HTTP API); all three end up as one of the frozen actions here.
:func:`action_from_control` validates a control frame's payload and never raises: a payload that
does not fit becomes :class:`InvalidControl` with a reason meant for the user.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from extraction.model import MAX_REQUEST_CHARS
from proxy.relay.codec import Action, Control

#: Longest explicit request text accepted in an EXECUTE payload.
_PENDING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Execute:
    """Run the commands agreed in the conversation, or those in ``request`` when given."""

    request: str | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    """Run the pending command ``pending_id`` (the newest pending one when ``None``).

    ``named``: the action the confirmation named ("confirm restart"), which must be the pending
    command's; ``spoken``: said aloud, so it must name one
    (:class:`~proxy.actions.events.ConfirmRequested`).
    """

    pending_id: str | None = None
    named: str | None = None
    spoken: bool = False


@dataclass(frozen=True, slots=True)
class Cancel:
    """Drop the pending command ``pending_id`` (the newest pending one when ``None``)."""

    pending_id: str | None = None


UserAction = Execute | Confirm | Cancel


@dataclass(frozen=True, slots=True)
class InvalidControl:
    """A malformed extension control frame; ``reason`` is meant to be shown to the user."""

    reason: str


def valid_pending_id(text: str) -> bool:
    """True when ``text`` has the shape of a pending id (short, no spaces or control chars)."""
    return _PENDING_ID.fullmatch(text) is not None


def action_from_control(control: Control) -> UserAction | InvalidControl | None:
    """Turn a ``0x03`` control message into a user action.

    Returns ``None`` for the upstream's own actions (START, END_TURN, PAUSE, RESTART), which the
    proxy accepts and ignores as the server does, and :class:`InvalidControl` with a readable
    reason for an extension action whose payload does not fit.  Never raises.
    """
    if not control.action.is_extension:
        return None
    try:
        text = control.payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return InvalidControl(f"{control.action.name} payload is not valid UTF-8")
    if control.action is Action.EXECUTE:
        return _execute_from_payload(text)
    if text and not valid_pending_id(text):
        return InvalidControl(
            f"{control.action.name} payload must be a pending id such as 'r1.2' (or empty for "
            f"the newest), not {text[:40]!r}"
        )
    pending_id = text or None
    return Confirm(pending_id) if control.action is Action.CONFIRM else Cancel(pending_id)


def _execute_from_payload(text: str) -> Execute | InvalidControl:
    if not text:
        return Execute()
    example = 'a JSON object such as {"request": "check disk space"}'
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad JSON, 5000-digit numbers, nesting too deep
        return InvalidControl(f"EXECUTE payload must be {example}")
    if not isinstance(value, dict):
        return InvalidControl(f"EXECUTE payload must be {example}")
    unknown = sorted(set(value) - {"request"})
    if unknown:
        return InvalidControl(f"EXECUTE payload has unknown field(s): {', '.join(unknown)}")
    request = value.get("request")
    if request is None:
        return Execute()
    if not isinstance(request, str) or not request.strip():
        return InvalidControl('EXECUTE "request" must be a non-empty string')
    if len(request) > MAX_REQUEST_CHARS:
        return InvalidControl(f'EXECUTE "request" is longer than {MAX_REQUEST_CHARS} characters')
    return Execute(request.strip())
