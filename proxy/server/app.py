"""The aiohttp application: routes, shared state, start-up and shutdown.

Routes: ``/health`` (liveness), ``/ready`` (readiness), ``/login``/``/logout``, ``/api/chat``
(the relay) and, for every other GET, the web UI.  Every request first passes the front door
(:mod:`proxy.server.guards`: Host, Origin, credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from proxy.config import UI_FETCH_CONNECTIONS, Config
from proxy.relay import chat as relay
from proxy.relay import splice, ui
from proxy.relay.admission import Admission
from proxy.relay.chat import CLOSE_GOING_AWAY, HooksFactory, RelayState
from proxy.relay.codec import Kind
from proxy.relay.frames import FrameScanner
from proxy.server import api, login, nodes, sessions, status
from proxy.server.auth import Authenticator
from proxy.server.guards import GATE, Gate, front_door
from proxy.server.metrics import METRICS, Metrics, serve_metrics
from proxy.server.pipeline import Services
from voiceops.records.api import Health, Readiness

log = logging.getLogger("proxy.server.app")

STATE = web.AppKey("relay_state", RelayState)
#: How long /ready waits for an upstream to accept a TCP connection.
READY_PROBE_TIMEOUT = 1.0
#: Seconds between the background probes of every upstream.
UPSTREAM_PROBE_INTERVAL = 10.0


def connection_limit(config: Config) -> int:
    """The upstream connection limit in force: never below the pool plus the waiting line."""
    needed = len(config.upstreams) + config.max_waiting
    return config.upstream_connections or needed + UI_FETCH_CONNECTIONS


def build_app(config: Config, services: Services | None = None) -> web.Application:
    """Make the proxy application.

    With ``services`` every conversation gets the tap and the action flow, and the HTTP API
    (``/process``, ``/execute``, ``/confirm``, ``/cancel``, ``/api/sessions``) is mounted;
    without, it is the plain relay.  Raises :class:`proxy.security.SecurityError` for settings
    that would expose the proxy without a secret.
    """
    security = config.security
    security.check(config.listen)
    app = web.Application(client_max_size=api.MAX_BODY_BYTES, middlewares=[front_door])
    token = security.auth_token if security.auth_enabled(config.listen) else None
    app[GATE] = Gate(
        auth=None if token is None else Authenticator(token, security.cookie_ttl),
        hosts=security.host_allowlist(config.listen),
        origins=frozenset(o.lower() for o in security.allowed_origins),
    )
    login.add_routes(app)
    metrics = services.metrics if services is not None else Metrics()
    app[METRICS] = metrics
    if services is not None:
        metrics.watch_services(services)
    hooks = services.hooks if services is not None else None
    app.cleanup_ctx.append(partial(_lifespan, config=config, hooks_factory=hooks))
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/api/chat", _chat)
    if config.metrics_listen is None:
        app.router.add_get("/metrics", serve_metrics)
    if services is not None:
        api.add_routes(app, services.flows, services.owners)
        sessions.add_routes(app, services.archive)
        if services.nodes is not None:
            nodes.add_routes(app, services.nodes)
    status.add_routes(app, STATE, services)
    # Last: everything else is the web UI.
    app.router.add_route("GET", "/{tail:.*}", _ui)
    return app


async def _lifespan(
    app: web.Application, *, config: Config, hooks_factory: HooksFactory | None
) -> AsyncIterator[None]:
    limit, limit_bytes = connection_limit(config), config.max_message_bytes
    waiting_for_slot: set[asyncio.Task[object] | None] = set()
    session = aiohttp.ClientSession(
        # aiohttp's default of 100 connections would silently hold the 101st conversation.
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=None, connect=config.connect_timeout),
        auto_decompress=False,
        trace_configs=[
            _slot_tracer(waiting_for_slot),
            splice.upstream_tracer(
                partial(FrameScanner, masked=False, kind=Kind.AUDIO, max_payload=limit_bytes)
            ),
        ],
    )
    state = RelayState(
        config=config,
        admission=Admission(list(config.upstreams), config.max_waiting),
        session=session,
        connection_limit=limit,
        waiting_for_slot=waiting_for_slot,
    )
    if hooks_factory is not None:
        state.hooks_factory = hooks_factory
    app[STATE] = state
    app[METRICS].watch_relay(state)
    prober = asyncio.create_task(_probe_upstreams(state))
    yield
    prober.cancel()
    await close_conversations(state, CLOSE_GOING_AWAY, "server shutting down")
    await session.close()


def _slot_tracer(waiting: set[asyncio.Task[object] | None]) -> aiohttp.TraceConfig:
    """Note which tasks wait for a free upstream connection, so a timeout can name that cause."""

    async def queued(*_: object) -> None:
        waiting.add(asyncio.current_task())

    async def dequeued(*_: object) -> None:
        waiting.discard(asyncio.current_task())

    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(queued)
    trace.on_connection_queued_end.append(dequeued)
    return trace


async def close_conversations(state: RelayState, code: int, reason: str) -> None:
    """Close every browser still connected."""
    await asyncio.gather(*(b.close(code, reason) for b in list(state.conversations.values())))


async def health(request: web.Request) -> web.Response:
    """Liveness: 200 while the process serves."""
    return web.json_response(Health().to_json())


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 when at least one upstream accepts connections and we are not draining.

    Open to anyone (probes carry no credentials), so it says how many upstreams answer and
    never which: their addresses stay internal (the log names the unreachable ones).
    """
    state = request.app[STATE]
    if state.draining:
        draining = Readiness("draining", "shutting down")
        return web.json_response(draining.to_json(), status=503)
    results = await _probe_all(state)
    for url, result in zip(state.admission.upstreams, results, strict=True):
        if result != "ok":
            log.warning("ready: upstream %s %s", url, result)
    answer = Readiness(
        "ready",
        upstreams=len(results),
        upstreams_ok=results.count("ok"),
        active=state.admission.active,
        waiting=state.admission.waiting,
    )
    if any(r == "ok" for r in results):
        return web.json_response(answer.to_json())
    unavailable = replace(answer, status="unavailable", reason="no upstream accepts connections")
    return web.json_response(unavailable.to_json(), status=503)


async def _probe_all(state: RelayState) -> list[str]:
    """Probe every upstream once and remember which answered (for ``/metrics``); one result per
    entry of the pool.

    A URL listed several times (one entry per conversation it may serve) is probed once: a
    pool of 200 entries for one server would otherwise open 200 connections at once every
    :data:`UPSTREAM_PROBE_INTERVAL`, a burst both here and at the voice server."""
    distinct = list(dict.fromkeys(state.admission.upstreams))
    answers = dict(zip(distinct, await asyncio.gather(*map(_probe, distinct)), strict=True))
    results = [answers[url] for url in state.admission.upstreams]
    for url, result in zip(state.admission.upstreams, results, strict=True):
        state.totals.upstream_up[url] = result == "ok"
    return results


async def _probe_upstreams(state: RelayState) -> None:
    """Keep the upstreams' up/down state fresh for metrics and the status page."""
    while True:
        await _probe_all(state)
        await asyncio.sleep(UPSTREAM_PROBE_INTERVAL)


async def _probe(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        async with asyncio.timeout(READY_PROBE_TIMEOUT):
            _, writer = await asyncio.open_connection(parts.hostname, port)
    except (OSError, TimeoutError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "timeout"
        return f"unreachable: {why}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "ok"


async def _chat(request: web.Request) -> web.StreamResponse:
    return await relay.chat(request, request.app[STATE])


async def _ui(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if state.config.ui_dir is not None:
        return await ui.from_directory(request, state.config.ui_dir)
    return await ui.from_upstream(request, state.session, ui.http_base(state.config.upstreams[0]))
