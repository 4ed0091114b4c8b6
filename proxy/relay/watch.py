"""Keeping the browser company while the upstream is not talking: in line, or silent.

The UI closes a socket that hears nothing for 10 s, so a browser waiting for a voice server
gets its place in line or a ping, and a conversation whose upstream is quiet gets pings too;
the conversation ends when the upstream never becomes ready or runs over the time limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from proxy.config import Config
from proxy.relay.admission import Ticket
from proxy.relay.browser import Browser
from proxy.relay.codec import Ping, encode
from proxy.relay.notices import busy_notice

if TYPE_CHECKING:
    from proxy.relay.chat import Conversation

log = logging.getLogger("proxy.relay.chat")


async def wait_for_upstream(
    conv: Conversation,
    browser: Browser,
    ticket: Ticket,
    from_browser: asyncio.Task[None],
    keepalive: float,
) -> bool:
    """Keep a queued browser informed until it is admitted; False if it leaves first."""
    shown = 0
    while ticket.upstream is None:
        if ticket.position != shown:
            shown = ticket.position
            await browser.notice(busy_notice(shown))
        else:
            await browser.send(encode(Ping()))
        waiter = asyncio.create_task(ticket.wait(keepalive))
        await asyncio.wait({waiter, from_browser}, return_when=asyncio.FIRST_COMPLETED)
        if from_browser.done():
            waiter.cancel()
            return False
    if shown:
        log.info("conversation %s admitted after waiting in line", conv.id)
    return True


async def watch_upstream(conv: Conversation, browser: Browser, cfg: Config) -> None:
    """Ping the browser while the upstream is silent; end on no handshake or over the time limit.

    Sleeps until the next moment something can be due, not on a fixed tick: while the upstream
    talks that is every ``keepalive_after`` seconds per conversation, at a time set by its own
    last message, so hundreds of conversations do not all wake together."""
    handshake_deadline = time.monotonic() + cfg.handshake_timeout
    longest = cfg.security.limits.conversation_seconds
    while True:
        now = time.monotonic()
        if conv.handshake_after is None and now >= handshake_deadline:
            conv.end_reason = f"voice server not ready after {cfg.handshake_timeout:g} s"
            return
        if now - conv.started >= longest:
            conv.end_reason = f"conversation reached the {longest:g} s limit"
            log.warning("conversation %s: %s", conv.id, conv.end_reason)
            return
        quiet_until = conv.last_upstream_message + cfg.keepalive_after
        if now >= quiet_until:
            await browser.send(encode(Ping()))
            quiet_until = now + cfg.keepalive_after
        due = min(quiet_until, conv.started + longest)
        if conv.handshake_after is None:
            due = min(due, handshake_deadline)
        await asyncio.sleep(due - now)
