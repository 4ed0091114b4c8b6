"""``python -m proxy``: serve until SIGTERM/SIGINT, drain, exit 0 (130: Ctrl-C while starting)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Sequence

from aiohttp import web

from extraction.rules import RulesError
from guard import PolicyError
from proxy.config import Config, parse_config
from proxy.relay.chat import CLOSE_GOING_AWAY
from proxy.server.app import STATE, build_app, close_conversations
from proxy.server.connections import ConnectionLimits, guarded
from proxy.server.logs import configure_logging
from proxy.server.metrics import METRICS, serve_metrics
from proxy.server.pipeline import Services
from proxy.startup import build_services
from voiceops.records.lines import TAG

log = logging.getLogger("proxy")


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening TCP socket.  ``::`` accepts IPv4 clients too (dual-stack)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        # asyncio would set IPV6_V6ONLY, which shuts out IPv4 clients on '::'.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


async def serve(
    config: Config,
    services: Services | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run the proxy until ``stop`` is set (or SIGTERM/SIGINT), then drain and shut down.

    Draining: ``/ready`` turns 503 and new conversations are refused; connected browsers get a
    notice and up to ``config.drain_timeout`` seconds to finish before they are closed with 1001.
    """
    app = build_app(config, services)
    access_log = logging.getLogger("proxy.access") if config.access_log else None
    runner = web.AppRunner(app, handle_signals=False, access_log=access_log, shutdown_timeout=1.0)
    await runner.setup()
    metrics_runner = await _serve_metrics(app, config)
    sock = listening_socket(config.listen, config.port, config.listen_backlog)
    limits = config.security.limits
    assert runner.server is not None
    # Not a SockSite: every connection passes the per-address and header-time limits first.
    server = await asyncio.get_running_loop().create_server(
        guarded(
            runner.server, ConnectionLimits(limits.connections_per_address, limits.header_timeout)
        ),
        sock=sock,
        ssl=tls_context(config),
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = sock.getsockname()[:2]
    log.info("listening on %s port %d; upstreams: %s", host, port, ", ".join(config.upstreams))
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await _drain(app, config.drain_timeout)
        server.close()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
        log.info("stopped")


async def _serve_metrics(app: web.Application, config: Config) -> web.AppRunner | None:
    """``/metrics`` alone on ``--metrics-listen``, for a scraper on a private network."""
    if config.metrics_listen is None:
        return None
    metrics_app = web.Application()
    metrics_app[METRICS] = app[METRICS]
    metrics_app.router.add_get("/metrics", serve_metrics)
    runner = web.AppRunner(metrics_app, handle_signals=False, access_log=None)
    await runner.setup()
    host, port = config.metrics_listen
    await web.SockSite(runner, listening_socket(host, port, config.listen_backlog)).start()
    log.info("metrics on %s port %d (no authentication: keep it private)", host, port)
    return runner


def tls_context(config: Config) -> ssl.SSLContext | None:
    """HTTPS/WSS with ``--tls-cert``/``--tls-key`` (browsers need it for the microphone)."""
    cert, key = config.security.tls_cert, config.security.tls_key
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def _drain(app: web.Application, within: float) -> None:
    state = app[STATE]
    state.draining = True
    if not state.conversations:
        return
    log.info("draining %d conversation(s) for up to %g s", len(state.conversations), within)
    notice = f"{TAG} this server is restarting; the conversation ends within {within:g} s\n"
    await asyncio.gather(*(b.notice(notice) for b in list(state.conversations.values())))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.all_ended.wait(), within)
    await close_conversations(state, CLOSE_GOING_AWAY, "server shutting down")


async def _main(config: Config) -> None:
    services = await build_services(config)
    started = asyncio.Event()
    freezer = asyncio.create_task(_freeze_start_up_heap(started))
    try:
        await serve(config, services, started=started)
    finally:
        freezer.cancel()
        await asyncio.to_thread(services.close)


async def _freeze_start_up_heap(started: asyncio.Event) -> None:
    """Once listening, move every object made so far out of the cyclic GC's sight.

    Start-up leaves a large heap that lives as long as the process (libraries, models, the
    guard policy).  Every full collection walked all of it: 0.2-0.5 s with the event loop
    stopped, i.e. every conversation's audio held that long.  Frozen, a full collection sees
    only what conversations made since, and takes milliseconds."""
    await started.wait()
    gc.collect()
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m proxy`` and the ``voiceops-proxy`` script."""
    config = parse_config(argv)
    secrets = (config.security.auth_token or "", config.anthropic_api_key or "")
    configure_logging(config.log_level, config.log_format, secrets)
    # Audit log, memory and transcripts hold command output and conversation words.
    os.umask(0o077)
    try:
        if config.event_loop == "uvloop":
            import uvloop  # noqa: PLC0415 - optional: only when asked for

            uvloop.run(_main(config))
        else:
            asyncio.run(_main(config))
    except PolicyError as exc:
        log.error("cannot start: bad guard policy: %s", exc)
        return 2
    except RulesError as exc:
        log.error("cannot start: bad extraction rules: %s", exc)
        return 2
    except ssl.SSLError as exc:
        log.error("cannot start: TLS certificate or key unusable: %s", exc)
        return 2
    except ValueError as exc:  # an executor that cannot be set up (no OpenClaw token, …)
        log.error("cannot start: %s", exc)
        return 2
    except OSError as exc:
        log.error("cannot listen on [%s]:%d: %s", config.listen, config.port, exc.strerror)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before serving began (or a second one while stopping)
        log.info("interrupted: stopped")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
