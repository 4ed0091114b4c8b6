"""What the relay does with one audio page, on the splice and on the pumps alike.

The pumps in :mod:`proxy.relay.chat` handle every message the WebSocket library reads; the
splice (:mod:`proxy.relay.splice`) handles audio frames without it.  Both count, time, tap and
rewrite a page through the functions here, so the two paths cannot drift apart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from proxy.relay.frames import Spliceable, remasked, server_frame
from proxy.relay.notices import from_model
from proxy.relay.splice import Forward, FrameSplice
from proxy.relay.stats import Flow, LatencyHistogram

if TYPE_CHECKING:
    from proxy.relay.browser import Browser
    from proxy.relay.chat import Conversation, ConversationHooks

#: After-send bookkeeping of one message: ``(message, perf_counter when it was received)``.
Relayed = Callable[[bytes, float], None]
_KEYS = 1024  # masking keys drawn from the OS at a time


def relayed(flow: Flow, tap: Callable[[bytes], None], latency: LatencyHistogram) -> Relayed:
    """Count, time and tap (``hooks.client_message`` or ``server_message``) a relayed message."""

    def done(data: bytes, began: float) -> None:
        latency.observe(time.perf_counter() - began)
        flow.count(data)
        tap(data)

    return done


def for_browser(conv: Conversation, data: bytes) -> bytes:
    """An upstream message as the browser gets it."""
    data = from_model(data)  # the model cannot imitate our [voiceops] notices
    return data if conv.reply_audio is None else conv.reply_audio(data)


class MaskingKeys:
    """Masking keys for client frames, from the OS's random source, fetched in batches."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def next(self) -> bytes:
        """A fresh unpredictable 4-byte key (RFC 6455, section 5.3)."""
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4 * _KEYS), 0
        self._at += 4
        return self._pool[self._at - 4 : self._at]


def join(
    conv: Conversation,
    browser: Browser,
    hooks: ConversationHooks,
    sides: tuple[FrameSplice, FrameSplice],
    latency: tuple[LatencyHistogram, LatencyHistogram],
) -> None:
    """Start splicing audio both ways between the browser's and the upstream's sockets."""
    from_browser, from_upstream = sides
    upstream = conv.upstream
    assert upstream is not None
    from_browser.partner, from_upstream.partner = from_upstream, from_browser
    from_browser.forward = _to_upstream(
        from_upstream,
        lambda: upstream.closed,
        relayed(conv.to_upstream, hooks.client_message, latency[0]),
    )
    from_upstream.forward = _to_browser(
        from_browser,
        lambda: browser.ws.closed,
        lambda data: _spoken(conv, data),
        relayed(conv.to_browser, hooks.server_message, latency[1]),
    )


def _spoken(conv: Conversation, data: bytes) -> bytes:
    conv.last_upstream_message = time.monotonic()  # the upstream is alive: no keepalive needed
    return for_browser(conv, data)


def _to_upstream(to: FrameSplice, closed: Callable[[], bool], relayed: Relayed) -> Forward:
    """Browser audio → upstream: re-masked under a key of ours (RFC 6455 wants the client's own
    unpredictable key on every frame), written whole."""
    transport, keys = to.transport, MaskingKeys()

    def forward(frame: Spliceable) -> bool:
        if closed() or transport.is_closing():
            return False
        began = time.perf_counter()
        payload, masked = remasked(frame, keys.next())
        transport.write(masked)
        relayed(payload, began)
        return True

    return forward


def _to_browser(
    to: FrameSplice,
    closed: Callable[[], bool],
    rewrite: Callable[[bytes], bytes],
    relayed: Relayed,
) -> Forward:
    """Upstream audio → browser: the frame as it came, or a new one when ``rewrite`` changed it
    (the reply mixer speaking)."""
    transport = to.transport

    def forward(frame: Spliceable) -> bool:
        if closed() or transport.is_closing():
            return False
        began = time.perf_counter()
        payload = frame.payload()
        data = rewrite(payload)
        transport.write(frame.frame if data is payload else server_frame(data))
        relayed(data, began)
        return True

    return forward
