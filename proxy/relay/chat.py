"""The ``/api/chat`` relay: browser WebSocket ⇄ upstream WebSocket, byte for byte.

One task per direction moves messages and awaits every send, so a slow reader slows the writer
instead of growing a buffer.  Everything else (tap, actions) hangs off :class:`ConversationHooks`,
whose methods must not block: the conversation never waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from proxy.config import Config
from proxy.relay import fastpath, splice, watch
from proxy.relay.admission import Admission, QueueFullError, Ticket
from proxy.relay.browser import Browser
from proxy.relay.codec import Control, Error, Kind, ProtocolError, encode, parse
from proxy.relay.notices import WAITING_REFUSAL, upstream_end
from proxy.relay.principal import ANONYMOUS_PRINCIPAL, request_principal
from proxy.relay.query import SanitisedQuery, sanitise
from proxy.relay.splice import FrameSplice
from proxy.relay.stats import Flow, LatencyHistogram, RelayTotals

log = logging.getLogger("proxy.relay.chat")

# WebSocket close codes used towards the browser.
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_GATEWAY = 1014

# What a browser may receive; 0x04 only when it asked for events (the UI validates it).
_TO_BROWSER = frozenset({Kind.HANDSHAKE, Kind.AUDIO, Kind.TEXT, Kind.PING})
_AUDIO = bytes([Kind.AUDIO])
_DATA = frozenset({aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT})


class ConversationHooks(Protocol):
    """Observers of one conversation.  Every method returns at once; none may block relaying."""

    @property
    def hears(self) -> bool:
        """Whether the messages' content matters (a speech tap listens): if not, the splice
        hands ``client_message``/``server_message`` no audio pages, and never unmasks them."""

    def client_message(self, data: bytes) -> None:
        """A browser message was forwarded upstream (raw bytes, kind byte first)."""

    def server_message(self, data: bytes) -> None:
        """An upstream message was forwarded to the browser."""

    def control(self, control: Control) -> None:
        """The browser sent one of the proxy's own control actions (EXECUTE, CONFIRM, CANCEL)."""

    async def close(self) -> None:
        """The conversation is over; release what the hooks hold."""


class NoHooks:
    """Hooks that do nothing: the plain relay."""

    hears = False

    def client_message(self, data: bytes) -> None:
        """Ignore the message."""

    def server_message(self, data: bytes) -> None:
        """Ignore the message."""

    def control(self, control: Control) -> None:
        """Ignore the action."""

    async def close(self) -> None:
        """Nothing to release."""


@dataclass
class Conversation:
    """One browser connection, from upgrade to close, and what went through it."""

    id: str
    peer: str
    query: SanitisedQuery
    principal: str = ANONYMOUS_PRINCIPAL
    started: float = field(default_factory=time.monotonic)
    upstream_url: str | None = None
    upstream: aiohttp.ClientWebSocketResponse | None = None
    to_upstream: Flow = field(default_factory=Flow)
    to_browser: Flow = field(default_factory=Flow)
    invalid_from_browser: int = 0
    discarded_before_upstream: int = 0
    dropped_from_upstream: int = 0
    handshake_after: float | None = None
    last_upstream_message: float = field(default_factory=time.monotonic)
    end_reason: str = ""
    #: Rewrites an upstream message just before it goes to the browser (the reply mixer that
    #: speaks results into the model's audio); ``None``: forwarded as received.
    reply_audio: Callable[[bytes], bytes] | None = None


HooksFactory = Callable[[Conversation, Browser], ConversationHooks]


@dataclass
class RelayState:
    """What the relay shares across conversations."""

    config: Config
    admission: Admission
    session: aiohttp.ClientSession
    hooks_factory: HooksFactory = lambda conversation, browser: NoHooks()
    connection_limit: int = 0
    #: Tasks waiting for a free upstream connection (filled by the session's trace hooks).
    waiting_for_slot: set[asyncio.Task[object] | None] = field(default_factory=set)
    conversations: dict[str, Browser] = field(default_factory=dict)
    #: The conversations themselves (their counters), and the totals of the finished ones.
    live: dict[str, Conversation] = field(default_factory=dict)
    totals: RelayTotals = field(default_factory=RelayTotals)
    all_ended: asyncio.Event = field(default_factory=asyncio.Event)
    draining: bool = False


async def chat(request: web.Request, state: RelayState) -> web.StreamResponse:
    """``GET /api/chat``: check the query, queue for an upstream, relay until either side ends."""
    if state.draining:
        return web.Response(status=503, text="this proxy is shutting down; try again shortly\n")
    try:
        query = sanitise(request.query.items(), state.config.query_policy)
    except ProtocolError as exc:
        log.info("refused /api/chat from %s: %s", request.remote, exc.reason)
        return web.Response(status=400, text=exc.reason + "\n")
    ws = web.WebSocketResponse(
        max_msg_size=state.config.max_message_bytes,
        heartbeat=state.config.ping_interval,
        compress=False,
    )
    # Before the 101: the splice must see the browser's frames from the first byte.
    from_browser = splice.browser_side(request, ws, state.config.max_message_bytes, Kind.AUDIO)
    await ws.prepare(request)
    peer, principal = str(request.remote), request_principal(request)
    conv = Conversation(id=uuid.uuid4().hex, peer=peer, query=query, principal=principal)
    browser = Browser(ws, query.wants_events, from_browser)
    try:
        ticket = state.admission.enqueue()
    except QueueFullError as exc:
        log.warning("conversation %s from %s refused: %s", conv.id, conv.peer, exc)
        await browser.close(CLOSE_TRY_AGAIN_LATER, f"server busy: {exc}")
        return ws
    if query.dropped:
        log.info("conversation %s: dropped query parameters %s", conv.id, ", ".join(query.dropped))
    log.info(
        "conversation %s started from %s (%s)",
        conv.id,
        conv.peer,
        conv.principal,
        extra={"session_id": conv.id, "event": "start", "peer": conv.peer},
    )
    state.conversations[conv.id] = browser
    state.live[conv.id] = conv
    state.all_ended.clear()
    hooks = state.hooks_factory(conv, browser)
    try:
        await _run(state, conv, browser, ticket, hooks)
    except Exception:
        log.exception("conversation %s failed", conv.id)
        conv.end_reason = conv.end_reason or "internal error"
        await browser.close(CLOSE_INTERNAL_ERROR, "internal proxy error")
    finally:
        # Closed before the ticket frees the upstream: the next conversation must not overlap.
        if conv.upstream is not None:
            await conv.upstream.close()
        ticket.release()
        del state.conversations[conv.id]
        _fold(state.totals, state.live.pop(conv.id))
        if not state.conversations:
            state.all_ended.set()
        await hooks.close()
        _log_end(conv, ws)
    return ws


async def _run(
    state: RelayState,
    conv: Conversation,
    browser: Browser,
    ticket: Ticket,
    hooks: ConversationHooks,
) -> None:
    cfg, totals = state.config, state.totals
    from_browser = asyncio.create_task(
        _pump_browser(conv, browser, hooks, cfg.max_message_bytes, totals)
    )
    try:
        if not await watch.wait_for_upstream(
            conv, browser, ticket, from_browser, cfg.keepalive_after
        ):
            conv.end_reason = "browser left while waiting"
            return
        assert ticket.upstream is not None
        conv.upstream_url = ticket.upstream
        served = totals.served
        served[ticket.upstream] = served.get(ticket.upstream, 0) + 1
        upstream_sides: list[FrameSplice] = []
        splice.expect_upstream(upstream_sides.append)
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                conv.upstream = await state.session.ws_connect(
                    ticket.upstream + "?" + urlencode(conv.query.params),
                    max_msg_size=cfg.max_message_bytes,
                    heartbeat=cfg.ping_interval,
                    autoping=True,
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            tell = "voice server unreachable; try again shortly"
            if asyncio.current_task() in state.waiting_for_slot:
                state.waiting_for_slot.discard(asyncio.current_task())
                why = (
                    f"all {state.connection_limit} upstream connections are in use "
                    "(raise --upstream-connections)"
                )
                tell = "proxy connection limit reached; try again shortly"
            conv.end_reason = f"upstream unreachable: {why}"
            log.warning("conversation %s: cannot reach %s: %s", conv.id, ticket.upstream, why)
            await browser.close(CLOSE_BAD_GATEWAY, tell)
            return
        finally:
            splice.expect_upstream(None)
        upstream_side = upstream_sides[0] if upstream_sides else None
        if browser.splice is not None and upstream_side is not None:
            fastpath.join(
                conv,
                browser,
                hooks,
                (browser.splice, upstream_side),
                (totals.latency_to_upstream, totals.latency_to_browser),
            )
        conv.last_upstream_message = time.monotonic()
        from_upstream = asyncio.create_task(
            _pump_upstream(conv, browser, hooks, totals.latency_to_browser, upstream_side)
        )
        watchdog = asyncio.create_task(watch.watch_upstream(conv, browser, cfg))
        try:
            done, _ = await asyncio.wait(
                {from_browser, from_upstream, watchdog}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (from_upstream, watchdog):
                task.cancel()
        if from_browser in done or browser.ws.closed:
            conv.end_reason = conv.end_reason or "browser closed"
        else:
            conv.end_reason = conv.end_reason or upstream_end(conv.upstream)
            await browser.close(CLOSE_BAD_GATEWAY, conv.end_reason)
    finally:
        from_browser.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await from_browser


async def _pump_browser(
    conv: Conversation,
    browser: Browser,
    hooks: ConversationHooks,
    max_bytes: int,
    totals: RelayTotals,
) -> None:
    """Browser → upstream.  Ends when the browser closes."""
    relayed = fastpath.relayed(conv.to_upstream, hooks.client_message, totals.latency_to_upstream)
    async for msg in browser.ws:
        began = time.perf_counter()
        _delivered(browser.splice, msg)
        if msg.type is not aiohttp.WSMsgType.BINARY:
            conv.invalid_from_browser += 1
            await browser.send(encode(Error("only binary messages are accepted")))
            continue
        data: bytes = msg.data
        # Audio pages (one per 80 ms, the hot path) are forwarded unparsed: any payload is a
        # valid page and the socket already bounded its size.
        if data[:1] != _AUDIO:
            try:
                message = parse(data, max_bytes)
            except ProtocolError as exc:
                conv.invalid_from_browser += 1
                if conv.invalid_from_browser == 1:
                    log.info(
                        "conversation %s: invalid message from browser: %s", conv.id, exc.reason
                    )
                await browser.send(encode(Error(exc.reason)))
                continue
            if isinstance(message, Control) and message.action.is_extension:
                if conv.upstream is None:
                    # Someone still in line has no conversation to act in yet.
                    log.info(
                        "conversation %s: %s refused while waiting", conv.id, message.action.name
                    )
                    await browser.notice(WAITING_REFUSAL)
                else:
                    hooks.control(message)
                continue
        upstream = conv.upstream
        if upstream is None:
            # Nothing is connected yet; the upstream would throw these away before its
            # handshake anyway.
            conv.discarded_before_upstream += 1
            continue
        try:
            await upstream.send_bytes(data)
        except (ConnectionError, RuntimeError):
            return
        relayed(data, began)


async def _pump_upstream(
    conv: Conversation,
    browser: Browser,
    hooks: ConversationHooks,
    latency: LatencyHistogram,
    side: FrameSplice | None,
) -> None:
    """Upstream → browser.  Ends when the upstream closes."""
    assert conv.upstream is not None
    allowed = _TO_BROWSER | ({Kind.METADATA} if browser.wants_events else set())
    relayed = fastpath.relayed(conv.to_browser, hooks.server_message, latency)
    async for msg in conv.upstream:
        began = time.perf_counter()
        _delivered(side, msg)
        conv.last_upstream_message = time.monotonic()
        if msg.type is not aiohttp.WSMsgType.BINARY or not msg.data or msg.data[0] not in allowed:
            conv.dropped_from_upstream += 1
            continue
        data: bytes = msg.data
        if data[0] == Kind.HANDSHAKE and conv.handshake_after is None:
            conv.handshake_after = time.monotonic() - conv.started
            log.info("conversation %s: upstream ready after %.2f s", conv.id, conv.handshake_after)
        data = fastpath.for_browser(conv, data)
        if not await browser.send(data):
            return
        relayed(data, began)


def _delivered(side: FrameSplice | None, msg: aiohttp.WSMessage) -> None:
    """A message the splice passed to aiohttp is out of its hands.  Counted as soon as it is
    read: the pump sends it without yielding unless that socket is full, and then the splice
    holds the other side's reading, so no spliced frame can overtake it."""
    if side is not None and msg.type in _DATA:
        side.delivered()


def _fold(totals: RelayTotals, conv: Conversation) -> None:
    totals.to_upstream.add(conv.to_upstream)
    totals.to_browser.add(conv.to_browser)


def _log_end(conv: Conversation, ws: web.WebSocketResponse) -> None:
    log.info(
        "conversation %s ended after %.1f s: %s; browser→upstream %s, upstream→browser %s; "
        "browser close %s, upstream close %s; invalid %d, discarded %d, dropped %d",
        conv.id,
        time.monotonic() - conv.started,
        conv.end_reason or "closed",
        conv.to_upstream,
        conv.to_browser,
        ws.close_code,
        conv.upstream.close_code if conv.upstream is not None else None,
        conv.invalid_from_browser,
        conv.discarded_before_upstream,
        conv.dropped_from_upstream,
        extra={
            "session_id": conv.id,
            "event": "end",
            "seconds": round(time.monotonic() - conv.started, 3),
            "reason": conv.end_reason or "closed",
            "bytes_to_upstream": conv.to_upstream.size,
            "bytes_to_browser": conv.to_browser.size,
        },
    )
