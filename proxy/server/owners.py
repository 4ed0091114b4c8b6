"""Which principal owns which session: a client sees and acts only on its own sessions.

A conversation is owned by the principal that opened its WebSocket; an API session by the
principal whose request created it.  Someone else's session answers exactly like one that does
not exist (404), so ids cannot be probed.  Bounded: the oldest entries go first, and a session
whose entry went is owned by nobody (refused to all), never by the wrong principal.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from aiohttp import web

DEFAULT_MAX_SESSIONS = 20_000


@dataclass
class Owners:
    """Session id → owning principal."""

    max_sessions: int = DEFAULT_MAX_SESSIONS
    _owner: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def claim(self, session_id: str, principal: str) -> bool:
        """Make ``principal`` the owner of a new id; False if someone else already owns it."""
        current = self._owner.get(session_id)
        if current is not None:
            return current == principal
        self._owner[session_id] = principal
        while len(self._owner) > self.max_sessions:
            self._owner.popitem(last=False)
        return True

    def owns(self, session_id: str, principal: str) -> bool:
        """True when ``principal`` owns ``session_id``."""
        return self._owner.get(session_id) == principal


OWNERS = web.AppKey("voiceops_owners", Owners)


def new_api_session_id() -> str:
    """An API session id nobody can guess (the old ``api-1``, ``api-2`` … could be)."""
    return "api-" + secrets.token_urlsafe(18)
