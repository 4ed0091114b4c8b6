"""Telling the user: ``0x02`` text and ``0x04`` events through the notifier, and the session's
result history for ``GET /api/sessions/{id}/actions``."""

from __future__ import annotations

import logging
import time
from collections import deque

from proxy.actions.digest import Digest
from proxy.actions.ports import Notifier, NullNotifier
from voiceops.records.commands import CommandResult, HistoryEntry
from voiceops.records.events import CommandEvent, Event, SessionEvent

log = logging.getLogger(__name__)


class Reporter:
    """One session's voice towards the user; a notifier that fails never breaks a request."""

    def __init__(self, session_id: str, notifier: Notifier | None, history_limit: int) -> None:
        self.session_id = session_id
        self.notifier: Notifier = notifier or NullNotifier()
        self._history: deque[HistoryEntry] = deque(maxlen=history_limit)

    @property
    def attached(self) -> bool:
        """True when a live conversation (a real notifier) is attached."""
        return not isinstance(self.notifier, NullNotifier)

    def history(self) -> list[HistoryEntry]:
        """This session's command results and confirmation outcomes, oldest first."""
        return list(self._history)

    def remember(self, result: CommandResult, request_id: str) -> None:
        """Add ``result`` to the history."""
        self._history.append(HistoryEntry(request_id, time.time(), result))

    async def command(self, result: CommandResult, request_id: str, message: str | Digest) -> None:
        """Remember one command's result and tell the user ``message`` about it."""
        self.remember(result, request_id)
        await self.tell(message, CommandEvent(request_id, result))

    async def tell(self, message: str | Digest, event: Event) -> None:
        """Show ``message`` (and say it, when it is a :class:`Digest`) and send ``event``
        (tagged with this session)."""
        try:
            if isinstance(message, Digest):
                await self.notifier.notify_text(message.text)
                await self.notifier.notify_speech(message.speech)
            else:
                await self.notifier.notify_text(message)
            await self.notifier.notify_event(SessionEvent(self.session_id, event))
        except Exception:
            # The user may have hung up; the result is still in the audit log and the API.
            log.warning("notifier failed for session %s", self.session_id, exc_info=True)
