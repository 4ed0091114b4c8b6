"""What the relay does with one audio page, on the splice and on the pumps alike.

The pumps in :mod:`proxy.relay.chat` handle every message the WebSocket library reads; the
splice (:mod:`proxy.relay.splice`) handles audio frames without it.  Both count, time, tap and
rewrite a page with what is here, so the two paths cannot drift apart; the splice's forwarders
do it inline (one audio page per 80 ms per direction and conversation: every call counts), and
hand the tap no page at all when no speech tap listens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from proxy.relay.codec import Kind
from proxy.relay.frames import rekeyed, server_frame, unmasked
from proxy.relay.notices import from_model
from proxy.relay.splice import Forward, FrameSplice
from proxy.relay.stats import Flow, LatencyHistogram

if TYPE_CHECKING:
    from proxy.relay.browser import Browser
    from proxy.relay.chat import Conversation, ConversationHooks

#: After-send bookkeeping of one message: ``(message, perf_counter when it was received)``.
Relayed = Callable[[bytes, float], None]
_KEYS = 1024  # masking keys drawn from the OS at a time
_AUDIO = int(Kind.AUDIO)  # a plain int: an enum member costs a lookup and an __index__ per page


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
    # Without a speech tap nobody reads the audio: the splice then never unmasks a page.
    from_browser.forward = _to_upstream(
        from_upstream,
        lambda: upstream.closed,
        (conv.to_upstream, latency[0]),
        hooks.client_message if hooks.hears else None,
    )
    from_upstream.forward = _to_browser(
        from_browser,
        lambda: browser.ws.closed,
        conv,
        (conv.to_browser, latency[1]),
        hooks.server_message if hooks.hears else None,
    )


def _to_upstream(
    to: FrameSplice,
    closed: Callable[[], bool],
    counts: tuple[Flow, LatencyHistogram],
    tap: Callable[[bytes], None] | None,
) -> Forward:
    """Browser audio → upstream: re-masked under a key of ours (RFC 6455 wants the client's own
    unpredictable key on every frame), written whole."""
    transport, salts = to.transport, MaskingKeys()
    flow, latency = counts

    def forward(frame: bytes, start: int) -> bool:
        if closed() or transport.is_closing():
            return False
        began = time.perf_counter()
        transport.write(rekeyed(frame, start, salts.next()))
        latency.observe(time.perf_counter() - began)
        flow.count_kind(_AUDIO, len(frame) - start)
        if tap is not None:
            tap(unmasked(frame, start))
        return True

    return forward


def _to_browser(
    to: FrameSplice,
    closed: Callable[[], bool],
    conv: Conversation,
    counts: tuple[Flow, LatencyHistogram],
    tap: Callable[[bytes], None] | None,
) -> Forward:
    """Upstream audio → browser: the frame as it came, or a new one when the reply mixer changed
    the page (speaking a result)."""
    transport = to.transport
    flow, latency = counts

    def forward(frame: bytes, start: int) -> bool:
        if closed() or transport.is_closing():
            return False
        began = time.perf_counter()
        conv.last_upstream_message = time.monotonic()  # the upstream is alive: no keepalive
        rewrite = conv.reply_audio
        if rewrite is None:
            transport.write(frame)
            payload = frame[start:] if tap is not None else b""
            size = len(frame) - start
        else:
            # Audio is never text: ``for_browser``'s bracket rule has nothing to do here.
            page = frame[start:]
            payload = rewrite(page)
            transport.write(frame if payload is page else server_frame(payload))
            size = len(payload)
        latency.observe(time.perf_counter() - began)
        flow.count_kind(_AUDIO, size)
        if tap is not None:
            tap(payload)
        return True

    return forward
