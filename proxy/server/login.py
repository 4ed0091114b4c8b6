"""``GET/POST /login`` and ``POST /logout``: our own small page, no external assets.

The cookie is ``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (other sites'
requests never carry it) and ``Secure`` when the page came over HTTPS — directly with
``--tls-cert`` or through a gateway that says so in ``X-Forwarded-Proto``.  Failed logins are
throttled per client address (429 with ``Retry-After``).
"""

from __future__ import annotations

import html
import logging
import math
from urllib.parse import parse_qs

from aiohttp import hdrs, web

from proxy.server.auth import COOKIE_NAME
from proxy.server.guards import GATE, principal_of
from proxy.server.metrics import count_auth_failure

log = logging.getLogger("proxy.server.login")

MAX_LOGIN_BODY = 4096
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voiceops — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:24em;margin:4em auto;padding:0 1em}}
input,button{{font:inherit;padding:.4em;width:100%;box-sizing:border-box;margin:.3em 0}}
.msg{{color:#a00}}</style></head><body>
<h1>voiceops</h1><p class="msg">{message}</p>
<form method="post" action="/login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<button type="submit">Log in</button></form></body></html>
"""


def add_routes(app: web.Application) -> None:
    """Mount ``/login`` and ``/logout``."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


def _page(message: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=_PAGE.format(message=html.escape(message)),
        content_type="text/html",
        headers=_PAGE_HEADERS,
    )


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={hdrs.LOCATION: location})


def is_https(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS (here, or at the gateway in front)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


async def login_page(request: web.Request) -> web.Response:
    """The login form (or a note that no login is needed)."""
    gate = request.app[GATE]
    if gate.auth is None:
        return _page("Authentication is off on this loopback proxy; open / directly.")
    if principal_of(request, gate) is not None:
        return _page("You are logged in. Open / to talk.")
    return _page("")


async def login(request: web.Request) -> web.StreamResponse:
    """Check the form's token; on success set the session cookie and go to the UI."""
    gate = request.app[GATE]
    if gate.auth is None:
        return _see_other("/")
    address = str(request.remote)
    wait = gate.throttle.retry_after(address)
    if wait > 0:
        log.warning("login from %s throttled for %.0f s", address, wait)
        count_auth_failure(request.app, "login_throttled")
        response = _page(f"Too many failed attempts; try again in {math.ceil(wait)} s.", 429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    if request.content_type != "application/x-www-form-urlencoded":
        return _page("Send the login form.", 415)
    raw = await request.content.read(MAX_LOGIN_BODY + 1)
    if len(raw) > MAX_LOGIN_BODY:
        return _page("The form is too large.", 413)
    offered = parse_qs(raw.decode("utf-8", "replace")).get("token", [""])[0]
    if not gate.auth.secret_matches(offered):
        gate.throttle.failed(address)
        count_auth_failure(request.app, "login")
        log.warning("failed login from %s", address)
        return _page("Wrong token.", 401)
    cookie, principal = gate.auth.issue()
    log.info("login from %s: %s", address, principal)
    response = _see_other("/")
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=int(gate.auth.ttl),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """Forget this browser's login (the cookie is refused from now on) and show the form."""
    gate = request.app[GATE]
    if gate.auth is not None:
        gate.auth.revoke(request.cookies.get(COOKIE_NAME))
    response = _see_other("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    return response
