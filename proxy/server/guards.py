"""The front door: every request's ``Host``, ``Origin`` and credentials, before any handler runs.

Order matters and each step answers with a status and a reason:

1. ``Host`` must be an allowed name (403): DNS rebinding cannot aim a page at a loopback proxy.
2. ``Origin``, on every WebSocket upgrade and every request that can change state, must be the
   proxy's own origin or an allowed one (403): another site's page cannot drive the proxy with
   the operator's browser (cross-site WebSocket hijacking, CSRF).  A request without ``Origin``
   is not from a browser page and goes on to step 3.
3. With authentication on, a valid cookie or bearer token (401 otherwise).  The principal is
   stored on the request (:data:`proxy.relay.chat.PRINCIPAL_KEY`) for ownership checks.

``/health`` and ``/ready`` skip all three (probes use whatever host name the platform likes, and
both answers reveal nothing internal); ``/login`` and ``/logout`` skip only step 3.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from proxy.relay.principal import ANONYMOUS_PRINCIPAL, PRINCIPAL_KEY
from proxy.server.auth import COOKIE_NAME, Authenticator, LoginThrottle
from proxy.server.metrics import count_auth_failure
from voiceops.records.api import ApiError

log = logging.getLogger("proxy.server.guards")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROBES = frozenset({"/health", "/ready"})
LOGIN_PATHS = frozenset({"/login", "/logout"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Gate:
    """What the front door checks against; ``auth`` None means authentication is off."""

    auth: Authenticator | None
    hosts: frozenset[str] | None
    origins: frozenset[str] = frozenset()
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


GATE = web.AppKey("voiceops_gate", Gate)


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, lower case, without port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(origin: str, hosts: list[str]) -> bool:
    """True when ``origin`` names one of ``hosts`` (``Host``/``X-Forwarded-Host`` values)."""
    parts = urlsplit(origin)
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or parts.path not in {"", "/"}:
        return False
    netloc = parts.netloc.lower()
    bare = netloc.removesuffix(f":{_DEFAULT_PORTS[parts.scheme]}")
    return any(h.strip().lower() in {netloc, bare} for h in hosts if h.strip())


def origin_allowed(origin: str, hosts: list[str], allowed: frozenset[str]) -> bool:
    """The proxy's own origin, or one listed with ``--allowed-origin``; never ``null``."""
    return origin.rstrip("/").lower() in allowed or same_origin(origin, hosts)


def _refuse(status: int, reason: str, request: web.Request) -> web.Response:
    log.warning("refused %s %s from %s: %s", request.method, request.path, request.remote, reason)
    return web.json_response(ApiError(reason).to_json(), status=status)


def _needs_origin_check(request: web.Request) -> bool:
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
    return upgrade or request.method not in _SAFE_METHODS


def principal_of(request: web.Request, gate: Gate) -> str | None:
    """Who sent ``request``: ``anonymous`` with authentication off, else cookie or bearer."""
    if gate.auth is None:
        return ANONYMOUS_PRINCIPAL
    return gate.auth.bearer(request.headers.get(hdrs.AUTHORIZATION)) or gate.auth.principal(
        request.cookies.get(COOKIE_NAME)
    )


def _unauthenticated(request: web.Request) -> web.Response:
    log.info("unauthenticated %s %s from %s", request.method, request.path, request.remote)
    headers = {"WWW-Authenticate": 'Bearer realm="voiceops"', "Cache-Control": "no-store"}
    reason = "authentication required: log in at /login or send 'Authorization: Bearer TOKEN'"
    if request.method == "GET" and "text/html" in request.headers.get(hdrs.ACCEPT, ""):
        page = (
            '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; '
            f'url=/login"><title>Log in</title><p>{reason}. <a href="/login">Log in</a>.</p>'
        )
        return web.Response(status=401, text=page, content_type="text/html", headers=headers)
    return web.Response(
        status=401,
        text=json.dumps(ApiError(reason).to_json()),
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host, Origin, then credentials; see the module docstring."""
    if request.path in PROBES:
        return await handler(request)
    gate = request.app[GATE]
    host = request.headers.get(hdrs.HOST, "")
    if gate.hosts is not None and host_name(host) not in gate.hosts:
        count_auth_failure(request.app, "host")
        return _refuse(403, f"Host {host!r} is not allowed here (see --allowed-host)", request)
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and _needs_origin_check(request):
        hosts = [host, *request.headers.getall("X-Forwarded-Host", [])]
        if not origin_allowed(origin, hosts, gate.origins):
            count_auth_failure(request.app, "origin")
            return _refuse(
                403,
                f"Origin {origin!r} is not this proxy's origin (see --allowed-origin)",
                request,
            )
    if request.path in LOGIN_PATHS:
        return await handler(request)
    principal = principal_of(request, gate)
    if principal is None:
        count_auth_failure(request.app, "credentials")
        return _unauthenticated(request)
    request[PRINCIPAL_KEY] = principal
    return await handler(request)
