"""Who is on the other end of a request, as the front door (``proxy.server.guards``) decided.

Kept in the relay package so the relay and the server share one name for it without the relay
depending on the server.
"""

from __future__ import annotations

from aiohttp import web

#: Request key under which the front door stores who is asking.
PRINCIPAL_KEY = web.RequestKey("voiceops_principal", str)
#: Everyone, when authentication is off (loopback only).
ANONYMOUS_PRINCIPAL = "anonymous"


def request_principal(request: web.Request) -> str:
    """Who sent ``request`` (``anonymous`` when the front door recorded nobody)."""
    value = request.get(PRINCIPAL_KEY)
    return value if isinstance(value, str) else ANONYMOUS_PRINCIPAL
