"""The proxy's own words in the conversation, and model text that could pass for them.

Our notices reach the UI as ``0x02`` text, the same kind as the model's words, tagged
:data:`TAG` (``[voiceops]``).  So that the model (or whoever steers it) cannot print a fake
``[voiceops] … needs confirmation``, every square bracket and bracket look-alike in upstream text
becomes a round one: model text can never contain ``[``, whichever way the tokens are split.
"""

from __future__ import annotations

import aiohttp

from proxy.relay.codec import Kind
from voiceops.records.lines import TAG

WAITING_REFUSAL = f"{TAG} refused: still waiting for a voice server; act once it answers\n"
_OPENING = "[［⁅〚⟦【〔〖〘﹝"
_CLOSING = "]］⁆〛⟧】〕〗〙﹞"
_DEFANG = str.maketrans({**dict.fromkeys(_OPENING, "("), **dict.fromkeys(_CLOSING, ")")})


def busy_notice(position: int) -> str:
    """Where a queued browser stands in line."""
    return f"{TAG} all voice servers are busy; you are number {position} in line\n"


def from_model(data: bytes) -> bytes:
    """An upstream message with any text's brackets made round (other kinds unchanged)."""
    if not data or data[0] != Kind.TEXT:
        return data
    text = data[1:].decode("utf-8", errors="replace")
    if not any(ch in _OPENING or ch in _CLOSING for ch in text):
        return data
    return bytes([Kind.TEXT]) + text.translate(_DEFANG).encode("utf-8")


def upstream_end(upstream: aiohttp.ClientWebSocketResponse | None) -> str:
    """Why the voice server ended the conversation, as the browser is told."""
    code = upstream.close_code if upstream is not None else None
    exc = upstream.exception() if upstream is not None else None
    detail = f"code {code}" if code is not None else "connection lost"
    if exc is not None:
        detail += f", {exc}"
    return f"voice server ended the conversation ({detail})"
