"""Recognise the proxy asking for a confirmation, for ``--confirm-when-asked``.

Two sources, never mixed in one session (see :class:`client.recorder.SessionRecorder`):

* a ``0x04`` event: the proxy's typed :class:`~voiceops.records.events.SessionEvent`, a
  ``command`` event whose result has ``status: needs_confirmation``; its ``id`` is the pending
  command to confirm;
* one whole ``0x02`` message that is a proxy line (``[voiceops] …``, which model text can never
  start with) asking in the words of :func:`voiceops.records.lines.asking`, e.g. ``[voiceops]
  systemctl restart nginx needs confirmation (id r1.2): …``.

Both rules are the proxy's own definitions, imported from :mod:`voiceops.records`; anything else
(another server's JSON, the model's words) is not a request for confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceops.records.events import CommandEvent, SessionEvent
from voiceops.records.lines import read_asking


@dataclass(frozen=True, slots=True)
class ConfirmationAsk:
    """The proxy wants a CONFIRM of ``pending_id`` (``None``: it did not say; the newest)."""

    pending_id: str | None


def ask_in_event(record: SessionEvent | None) -> ConfirmationAsk | None:
    """The confirmation asked for by a ``0x04`` event (``None``: not one of the proxy's), or
    ``None``."""
    event = record.event if record is not None else None
    if isinstance(event, CommandEvent) and event.asks_confirmation:
        return ConfirmationAsk(event.result.id)
    return None


def ask_in_text(text: str) -> ConfirmationAsk | None:
    """The confirmation asked for by one whole ``0x02`` message, or ``None``."""
    asks, pending_id = read_asking(text)
    return ConfirmationAsk(pending_id) if asks else None
