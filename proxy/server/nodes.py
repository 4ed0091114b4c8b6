"""``GET /api/nodes`` and the status page's "Servers" section: the fleet and its state.

Every node of the fleet file and every node the OpenClaw gateway has reported, each marked
connected or disconnected (a node that went away stays listed), with its groups.  Behind the
front door like every other API route: node names and groups are internal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from html import escape

from aiohttp import web

from proxy.actions.executors.fleet import NodeDirectory, NodeListing
from voiceops.records.api import NodeGroup, NodeList


def add_routes(app: web.Application, directory: NodeDirectory) -> None:
    """Mount ``GET /api/nodes``, and keep the directory current while the app runs."""

    async def nodes(request: web.Request) -> web.Response:
        listing = await directory.listing()
        fleet = directory.configured
        groups = tuple(NodeGroup(name, members) for name, members in fleet.groups.items())
        reply = NodeList(listing.nodes, groups, fleet.default, listing.error)
        return web.json_response(reply.to_json())

    async def watching(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(directory.watch(), name="node-directory")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.router.add_get("/api/nodes", nodes)
    app.cleanup_ctx.append(watching)


def render(listing: NodeListing) -> str:
    """The status page's section (HTML, every value escaped)."""
    rows = []
    for node in listing.nodes:
        state = "connected" if node.connected else "disconnected"
        health = "up" if node.connected else "down"
        rows.append(
            f"<tr><td>{escape(node.name)}</td><td class={health}>{state}</td>"
            f"<td>{escape(', '.join(node.groups))}</td>"
            f"<td>{'yes' if node.configured else 'no'}</td></tr>"
        )
    error = f"<p class=notice>{escape(listing.error)}</p>" if listing.error else ""
    return (
        f"<section><h2>Servers</h2>{error}<table><tr><th>node</th><th>state</th>"
        f"<th>groups</th><th>in the fleet file</th></tr>{''.join(rows)}</table></section>"
    )
