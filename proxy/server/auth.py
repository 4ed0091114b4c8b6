"""Who is asking: the login secret, signed session cookies, bearer tokens and the login throttle.

A browser logs in once on ``/login`` with the shared secret and gets a cookie
``v1.<id>.<expiry>.<signature>``: the HMAC-SHA256 (keyed from the secret) of the rest, so it
cannot be forged or stretched without the secret, and it is checked in constant time.  Each login
is its own principal (``browser-<id>``), which owns the conversations and API sessions it
starts.  Scripts send ``Authorization: Bearer SECRET`` and share the principal ``bearer``.
Without authentication (loopback only) everyone is ``anonymous``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE_NAME = "voiceops_session"
BEARER = "bearer"
_VERSION = "v1"
_KEY_LABEL = b"voiceops session cookie v1"
_MAX_COOKIE_CHARS = 256


class Authenticator:
    """Issues and checks credentials derived from one shared secret."""

    def __init__(self, secret: str, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode("utf-8")
        # A key of its own for cookies, so a cookie never reveals anything about the secret.
        self._key = hmac.new(self._secret, _KEY_LABEL, hashlib.sha256).digest()
        self._ttl = ttl
        self._clock = clock
        # Logged-out cookie ids until they would have expired anyway.
        self._revoked: dict[str, float] = {}

    @property
    def ttl(self) -> float:
        """Seconds a login lasts."""
        return self._ttl

    def secret_matches(self, offered: str) -> bool:
        """Constant-time comparison of an offered secret with the configured one."""
        return hmac.compare_digest(offered.encode("utf-8"), self._secret)

    def bearer(self, header: str | None) -> str | None:
        """The principal of an ``Authorization: Bearer SECRET`` header, if the secret is right."""
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not self.secret_matches(value.strip()):
            return None
        return BEARER

    def issue(self) -> tuple[str, str]:
        """A fresh login: ``(cookie value, principal)``."""
        ident = secrets.token_urlsafe(18)
        expiry = int(self._clock() + self._ttl)
        body = f"{_VERSION}.{ident}.{expiry}"
        return f"{body}.{self._sign(body)}", _principal(ident)

    def principal(self, cookie: str | None) -> str | None:
        """The principal of a valid, unexpired, not logged-out cookie; otherwise ``None``."""
        if cookie is None or len(cookie) > _MAX_COOKIE_CHARS:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], self._sign(body)):
            return None
        if int(parts[2]) <= self._clock() or parts[1] in self._revoked:
            return None
        return _principal(parts[1])

    def revoke(self, cookie: str | None) -> None:
        """Log a cookie out: it is refused from now on even though its signature is valid."""
        if self.principal(cookie) is None:
            return
        assert cookie is not None
        _, ident, expiry, _ = cookie.split(".")
        now = self._clock()
        self._revoked = {k: t for k, t in self._revoked.items() if t > now}
        self._revoked[ident] = float(expiry)

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()


def _principal(ident: str) -> str:
    return f"browser-{ident[:12]}"


@dataclass
class LoginThrottle:
    """At most ``attempts`` failed logins per address per ``window`` seconds.

    Bounded: the least recently seen addresses are forgotten beyond ``max_addresses``.  Behind a
    gateway every client shares the gateway's address, so the limit is then a global one.
    """

    attempts: int = 5
    window: float = 60.0
    max_addresses: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again (0 when it may now)."""
        recent = self._recent(address)
        if len(recent) < self.attempts:
            return 0.0
        return max(0.0, recent[0] + self.window - self.clock())

    def failed(self, address: str) -> None:
        """Count a failed attempt from ``address``."""
        self._recent(address).append(self.clock())
        self._failures.move_to_end(address)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float]:
        recent = self._failures.setdefault(address, deque())
        while recent and recent[0] <= self.clock() - self.window:
            recent.popleft()
        return recent
