"""Security settings: authentication, allowed hosts and origins, TLS and the limits on clients.

Kept apart from :mod:`proxy.config` so the rules that decide who may talk to the proxy read in
one place.  Authentication is on by default whenever the proxy listens beyond loopback (and can
be switched on for loopback by giving a token); a proxy that would be exposed without a secret
refuses to start.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from voiceops.errors import VoiceOpsError

AuthMode = Literal["auto", "on", "off"]
#: Shortest secret accepted: guessing must be hopeless even without the login throttle.
MIN_TOKEN_CHARS = 16
#: Host names a loopback proxy answers to by default (DNS rebinding gets anything else refused).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_TOKEN_HOWTO = (
    "set VOICEOPS_AUTH_TOKEN, or --auth-token-file FILE (one line), to a secret of at least "
    f"{MIN_TOKEN_CHARS} characters, e.g. the output of "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
)


class SecurityError(VoiceOpsError, ValueError):
    """The security settings cannot be used as given (the message says how to fix them)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _unspecified(host: str) -> bool:
    """True for an address that binds every interface (``::``, ``0.0.0.0``, empty)."""
    try:
        return not host or ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one client, principal or session may ask of the proxy."""

    connections_per_address: int = 64
    header_timeout: float = 10.0
    conversation_seconds: float = 4 * 3600.0
    exec_per_session_per_minute: int = 10
    exec_per_principal_per_minute: int = 30
    concurrent_exec: int = 4


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Who may talk to the proxy, from where, and how much."""

    auth: AuthMode = "auto"
    auth_token: str | None = field(default=None, repr=False)
    cookie_ttl: float = 12 * 3600.0
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    limits: Limits = field(default_factory=Limits)

    def auth_enabled(self, listen: str) -> bool:
        """On when forced, when a token is given, or when listening beyond loopback."""
        if self.auth == "off":
            return False
        return self.auth == "on" or self.auth_token is not None or not is_loopback(listen)

    def host_allowlist(self, listen: str) -> frozenset[str] | None:
        """Host names accepted in ``Host``; ``None`` accepts any.

        Default: the loopback names (and the listen address when it is one host), which stops
        DNS rebinding against an unauthenticated proxy.  With authentication on and no
        ``--allowed-host`` any name is accepted: behind a gateway the public name is not known
        here, and a rebound page cannot present the cookie (bound to the real name) or the token.
        """
        if "*" in self.allowed_hosts:
            return None
        if self.allowed_hosts:
            return frozenset(h.lower().strip("[]") for h in self.allowed_hosts)
        if self.auth_enabled(listen):
            return None
        extra = set() if _unspecified(listen) else {listen.lower().strip("[]")}
        return LOOPBACK_HOSTS | extra

    def check(self, listen: str) -> None:
        """Refuse settings that would expose the proxy without a usable secret."""
        token = self.auth_token
        if token is not None and len(token) < MIN_TOKEN_CHARS:
            raise SecurityError(f"the authentication token is too short; {_TOKEN_HOWTO}")
        if self.auth_enabled(listen) and token is None:
            where = "beyond loopback" if not is_loopback(listen) else "with --auth on"
            raise SecurityError(
                f"the proxy listens on {listen or 'all interfaces'} {where}, so authentication "
                f"is on and needs a secret: {_TOKEN_HOWTO} (or listen on 127.0.0.1)"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SecurityError("--tls-cert and --tls-key go together")


def add_flags(parser: argparse.ArgumentParser, put: Callable[..., None]) -> None:
    """Add the security flags through ``put(group, flag, help, **kwargs)`` (env-aware)."""
    d, lim = SecuritySettings(), Limits()
    g = parser.add_argument_group("security")
    put(
        g,
        "--auth",
        "authentication: auto (on beyond loopback), on or off",
        default=d.auth,
        choices=["auto", "on", "off"],
    )
    put(g, "--auth-token", "the login secret (prefer the env var or --auth-token-file)")
    put(g, "--auth-token-file", "file whose first line is the login secret", type=Path)
    put(g, "--cookie-ttl", "seconds a login lasts", type=float, default=d.cookie_ttl)
    put(
        g,
        "--allowed-host",
        "Host name accepted (repeat; '*' any); default: loopback names, "
        "or any name when authentication is on",
        action="append",
    )
    put(
        g,
        "--allowed-origin",
        "extra Origin allowed for WebSocket and API calls, e.g. https://ops.example.com (repeat)",
        action="append",
    )
    put(g, "--tls-cert", "serve HTTPS/WSS with this certificate (PEM)", type=Path)
    put(g, "--tls-key", "private key of --tls-cert (PEM)", type=Path)
    put(
        g,
        "--max-connections-per-address",
        "open connections one client address may hold",
        type=int,
        default=lim.connections_per_address,
    )
    put(
        g,
        "--header-timeout",
        "seconds a client has to send its request headers",
        type=float,
        default=lim.header_timeout,
    )
    put(
        g,
        "--max-conversation-seconds",
        "longest conversation before it is closed",
        type=float,
        default=lim.conversation_seconds,
    )
    put(
        g,
        "--exec-per-session",
        "command runs per session per minute",
        type=int,
        default=lim.exec_per_session_per_minute,
    )
    put(
        g,
        "--exec-per-principal",
        "command runs per logged-in principal per minute",
        type=int,
        default=lim.exec_per_principal_per_minute,
    )
    put(
        g,
        "--max-concurrent-exec",
        "commands running at once, all clients together",
        type=int,
        default=lim.concurrent_exec,
    )


def from_args(ns: argparse.Namespace, env_list: Callable[[str], list[str]]) -> SecuritySettings:
    """Build the settings from parsed flags; ``env_list(flag)`` reads a repeatable flag's env."""
    token: str | None = ns.auth_token or None
    if ns.auth_token_file:
        try:
            lines = Path(ns.auth_token_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SecurityError(f"cannot read --auth-token-file: {exc.strerror}") from None
        token = lines[0].strip() if lines and lines[0].strip() else None
        if token is None:
            raise SecurityError(f"--auth-token-file {ns.auth_token_file} is empty")
    numbers = {
        "connections_per_address": int(ns.max_connections_per_address),
        "header_timeout": float(ns.header_timeout),
        "conversation_seconds": float(ns.max_conversation_seconds),
        "exec_per_session_per_minute": int(ns.exec_per_session),
        "exec_per_principal_per_minute": int(ns.exec_per_principal),
        "concurrent_exec": int(ns.max_concurrent_exec),
    }
    bad = [name for name, value in numbers.items() if value <= 0]
    if bad or float(ns.cookie_ttl) <= 0:
        raise SecurityError(f"must be greater than 0: {', '.join(bad) or 'cookie_ttl'}")
    return SecuritySettings(
        auth=ns.auth,
        auth_token=token,
        cookie_ttl=float(ns.cookie_ttl),
        allowed_hosts=tuple(ns.allowed_host or env_list("--allowed-host")),
        allowed_origins=tuple(
            o.rstrip("/") for o in ns.allowed_origin or env_list("--allowed-origin")
        ),
        tls_cert=Path(ns.tls_cert) if ns.tls_cert else None,
        tls_key=Path(ns.tls_key) if ns.tls_key else None,
        limits=Limits(**numbers),  # type: ignore[arg-type]
    )
