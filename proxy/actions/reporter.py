"""Telling the user: ``0x02`` text and ``0x04`` events through the notifier, and the session's
result history for ``GET /api/sessions/{id}/actions``."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping

from proxy.actions.digest import Digest
from proxy.actions.ports import Notifier, NullNotifier
from proxy.actions.results import CommandResult

log = logging.getLogger(__name__)


class Reporter:
    """One session's voice towards the user; a notifier that fails never breaks a request."""

    def __init__(self, session_id: str, notifier: Notifier | None, history_limit: int) -> None:
        self.session_id = session_id
        self.notifier: Notifier = notifier or NullNotifier()
        self._history: deque[dict[str, object]] = deque(maxlen=history_limit)

    @property
    def attached(self) -> bool:
        """True when a live conversation (a real notifier) is attached."""
        return not isinstance(self.notifier, NullNotifier)

    def history(self) -> list[dict[str, object]]:
        """This session's command results and confirmation outcomes, oldest first."""
        return list(self._history)

    def remember(self, result: CommandResult, request_id: str) -> None:
        """Add ``result`` to the history."""
        self._history.append({"request_id": request_id, "time": time.time(), **result.to_dict()})

    async def command(self, result: CommandResult, request_id: str, message: str | Digest) -> None:
        """Remember one command's result and tell the user ``message`` about it."""
        self.remember(result, request_id)
        event = {"event": "command", "session_id": self.session_id, "request_id": request_id}
        await self.tell(message, event | result.to_dict())

    async def tell(self, message: str | Digest, event: Mapping[str, object]) -> None:
        """Show ``message`` (and say it, when it is a :class:`Digest`) and send ``event``
        (tagged with this session)."""
        tagged = {"type": "voiceops", "session_id": self.session_id, **event}
        try:
            if isinstance(message, Digest):
                await self.notifier.notify_text(message.text)
                await self.notifier.notify_speech(message.speech)
            else:
                await self.notifier.notify_text(message)
            await self.notifier.notify_event(tagged)
        except Exception:
            # The user may have hung up; the result is still in the audit log and the API.
            log.warning("notifier failed for session %s", self.session_id, exc_info=True)
