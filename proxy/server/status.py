"""``GET /status``: one page an operator can watch, served by the proxy itself.

Server-rendered HTML (it reads fine with JavaScript off); a small script of ours
(``/status.js``, no external assets, allowed by a strict Content-Security-Policy) swaps in a
fresh rendering every two seconds and sends the confirm / cancel buttons to the API.  Behind the
front door like every other route.

What a viewer sees follows session ownership (:mod:`proxy.server.owners`): counts of every
conversation and the upstreams' state, but transcripts, pending confirmations and results only
of the sessions the viewer owns.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from aiohttp import web

from guard.policy import Policy
from proxy.actions.executors.fleet import NodeListing
from proxy.relay.chat import RelayState
from proxy.relay.principal import request_principal
from proxy.server import nodes as servers
from proxy.server.pipeline import Services
from voiceops.records.commands import HistoryEntry, PendingCommand

_HERE = Path(__file__).resolve().parent
_SCRIPT = (_HERE / "status.js").read_text(encoding="utf-8")
_STYLE = (_HERE / "status.css").read_text(encoding="utf-8")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
#: Results shown per session (the newest); the full list is in ``/api/sessions/{id}/actions``.
RECENT_RESULTS = 10


def add_routes(
    app: web.Application, state_key: web.AppKey[RelayState], services: Services | None
) -> None:
    """Mount ``/status``, its fragment (for refreshes), script and style."""

    async def body_for(request: web.Request) -> str:
        directory = services.nodes if services is not None else None
        listing = await directory.listing() if directory is not None else None
        return render(request.app[state_key], services, request_principal(request), listing)

    async def page(request: web.Request) -> web.Response:
        body = await body_for(request)
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>voiceops status</title>"
            '<link rel="stylesheet" href="/status.css"><script src="/status.js" defer></script>'
            f'</head><body><main id="status">{body}</main></body></html>'
        )
        return web.Response(text=html, content_type="text/html", headers=_SECURITY_HEADERS)

    async def fragment(request: web.Request) -> web.Response:
        body = await body_for(request)
        return web.Response(text=body, content_type="text/html", headers=_SECURITY_HEADERS)

    async def script(request: web.Request) -> web.Response:
        return web.Response(
            text=_SCRIPT, content_type="application/javascript", headers=_SECURITY_HEADERS
        )

    async def style(request: web.Request) -> web.Response:
        return web.Response(text=_STYLE, content_type="text/css", headers=_SECURITY_HEADERS)

    app.router.add_get("/status", page)
    app.router.add_get("/status/fragment", fragment)
    app.router.add_get("/status.js", script)
    app.router.add_get("/status.css", style)


def render(
    state: RelayState,
    services: Services | None,
    principal: str,
    nodes: NodeListing | None = None,
) -> str:
    """The page's body for ``principal`` (HTML; every value escaped), with the fleet's
    ``nodes`` when there is a fleet."""
    now = time.monotonic()
    parts = [
        f"<h1>voiceops status</h1><p class=when>as of {escape(time.strftime('%H:%M:%S'))}</p>",
        _upstreams(state),
        *([] if nodes is None else [servers.render(nodes)]),
        _conversations(state, now),
    ]
    if services is not None:
        parts.append(_sessions(services, principal))
        if services.policy is not None:
            parts.append(_policy(services.policy))
    return "".join(parts)


def _upstreams(state: RelayState) -> str:
    rows = []
    for n, url in enumerate(state.admission.upstreams, 1):
        up = state.totals.upstream_up.get(url)
        health = "unknown" if up is None else ("up" if up else "down")
        busy = "in a conversation" if state.admission.is_busy(url) else "free"
        served = state.totals.served.get(url, 0)
        rows.append(
            f"<tr><td>#{n}</td><td class={health}>{health}</td><td>{busy}</td>"
            f"<td>{served}</td></tr>"
        )
    return (
        "<section><h2>Voice servers</h2><table><tr><th>upstream</th><th>state</th>"
        f"<th>now</th><th>conversations served</th></tr>{''.join(rows)}</table></section>"
    )


def _conversations(state: RelayState, now: float) -> str:
    live = sorted(state.live.values(), key=lambda c: c.started)
    talking = [c for c in live if c.upstream_url is not None]
    waiting = [c for c in live if c.upstream_url is None]
    items = [
        f"<li>{escape(c.id[:8])} — {'talking' if c.upstream_url else 'waiting'} for "
        f"{_duration(now - c.started)}</li>"
        for c in live
    ]
    return (
        f"<section><h2>Conversations: {len(talking)} live, {len(waiting)} waiting</h2>"
        f"<ul>{''.join(items) or '<li>none</li>'}</ul></section>"
    )


def _sessions(services: Services, principal: str) -> str:
    blocks = []
    for record in reversed(services.archive.all()):
        if record.principal != principal:
            continue
        flow = services.flows.get(record.id)
        state = "ended" if record.ended is not None else "live"
        turns = "".join(
            f"<li class={escape(t.speaker)}><b>{escape(t.speaker)}</b> {escape(t.text)}</li>"
            for t in record.transcript.turns()
        )
        pending = "" if flow is None else _pending(record.id, flow.pending())
        results = "" if flow is None else _results(flow.history()[-RECENT_RESULTS:])
        blocks.append(
            f'<article class=session data-session="{escape(record.id)}">'
            f"<h3>Conversation {escape(record.id[:8])} ({state})</h3>"
            f"<h4>Transcript</h4><ol class=transcript>{turns or '<li>nothing heard yet</li>'}</ol>"
            f"{pending}{results}</article>"
        )
    return f"<section><h2>Your conversations</h2>{''.join(blocks) or '<p>none</p>'}</section>"


def _pending(session_id: str, pending: list[PendingCommand]) -> str:
    if not pending:
        return ""
    rows = []
    for entry in pending:
        data = f'data-session="{escape(session_id)}" data-id="{escape(entry.id)}"'
        rows.append(
            f"<li><code>{escape(entry.command)}</code>{_on(entry.node)} (expires in "
            f"{entry.expires_in} s) <button class=confirm {data}>Confirm</button> "
            f"<button class=cancel {data}>Cancel</button></li>"
        )
    return f"<h4>Waiting for confirmation</h4><ul class=pending>{''.join(rows)}</ul>"


def _results(history: list[HistoryEntry]) -> str:
    if not history:
        return ""
    items = []
    for entry in reversed(history):
        result = entry.result
        head = f"<code>{escape(result.command)}</code>{_on(result.node)} — {escape(result.status)}"
        if result.exit_code is not None:
            head += f", exit {result.exit_code}"
        if result.reason:
            head += f": {escape(result.reason)}"
        body = f"<pre>{escape(result.output)}</pre>" if result.output else ""
        items.append(f"<li><details><summary>{head}</summary>{body}</details></li>")
    return f"<h4>Recent results</h4><ul class=results>{''.join(items)}</ul>"


def _policy(policy: Policy) -> str:
    rows = []
    for name, rule in sorted(policy.commands.items()):
        subs = ", ".join(rule.subcommands) if rule.subcommands else ""
        confirm = [s for s, r in rule.subcommands.items() if r.destructive]
        if rule.destructive:
            confirm.append(name)
        rows.append(
            f"<tr><td><code>{escape(name)}</code></td><td>{escape(rule.about)}</td>"
            f"<td>{escape(subs)}</td><td>{escape(', '.join(confirm))}</td></tr>"
        )
    return (
        f"<section><h2>Policy ({escape(policy.source)})</h2><table><tr><th>program</th>"
        "<th>what</th><th>subcommands</th><th>needs confirmation</th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _on(node: str | None) -> str:
    """The words " on web-1" for a result or pending command that names its fleet node."""
    return f" on {escape(node)}" if node else ""


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
