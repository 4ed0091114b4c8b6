"""The web UI, served from the proxy's own origin.

The PersonaPlex bundle loads its assets from origin-absolute ``/assets/...`` and opens its socket
on the page's own host, so it must come from the root of the proxy's origin.  Either the files
are streamed from the upstream's HTTP server (default) or read from ``--ui-dir``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

# Hop-by-hop headers (RFC 9110 §7.6.1) and ones aiohttp recomputes for the streamed body.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
_CHUNK = 64 * 1024


def http_base(upstream_ws_url: str) -> str:
    """``ws://host:port/api/chat`` → ``http://host:port``."""
    parts = urlsplit(upstream_ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "", "", ""))


async def from_upstream(
    request: web.Request, session: aiohttp.ClientSession, base: str
) -> web.StreamResponse:
    """Stream ``request.path_qs`` from the upstream's HTTP server, status and body as they are."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
    try:
        async with session.request(
            request.method, base + request.path_qs, headers=headers, allow_redirects=False
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _NOT_FORWARDED:
                    response.headers.add(name, value)
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return web.Response(
            status=502, text=f"the voice server's web UI is unreachable ({type(exc).__name__})\n"
        )


async def from_directory(request: web.Request, root: Path) -> web.StreamResponse:
    """Serve a file under ``root``; ``/`` is ``index.html``.  Nothing outside ``root`` is served."""
    relative = request.match_info.get("tail", "").lstrip("/") or "index.html"
    if not await asyncio.to_thread(_inside, root, root / relative):
        raise web.HTTPNotFound(text=f"/{relative} is not part of the web UI\n")
    return web.FileResponse(root / relative)


def _inside(root: Path, target: Path) -> bool:
    """True when ``target`` is a regular file under ``root`` after resolving links and ``..``."""
    resolved = target.resolve()
    return resolved.is_relative_to(root.resolve()) and resolved.is_file()
