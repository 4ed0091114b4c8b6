"""The client reads what the real proxy sends: every ``0x04`` event parses as the proxy's typed
record, and ``--confirm-when-asked`` answers the proxy's question from events and from text.

The product runs in front of the tiny moshi upstream without its speech tap or voice (control
frames only), so no speech recognition is needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from client.audio import SAMPLE_RATE
from client.options import SessionOptions, execute_step
from client.session import run_session
from client.summary import SessionSummary
from devtools.tinymoshi import TinyMoshiServer
from tests.product import Product, running_product
from voiceops.records.events import CommandEvent, DoneEvent, SessionEvent

pytestmark = [pytest.mark.moshi]


@pytest.fixture
async def product(moshi_upstream: TinyMoshiServer, tmp_path: Path) -> AsyncIterator[Product]:
    async with running_product(moshi_upstream, tmp_path, tap=False, speak_results=False) as p:
        yield p


async def _restart_nginx(product: Product, *, events: bool) -> SessionSummary:
    return await run_session(
        SessionOptions(
            url=product.proxy.ws,
            pcm=np.zeros(SAMPLE_RATE, np.float32),
            speed=4.0,
            tail=4.0,
            steps=(execute_step("restart nginx"),),
            confirm_when_asked=True,
            events=events,
            idle_timeout=60.0,
        )
    )


async def test_every_event_is_a_typed_record_and_the_ask_is_answered(product: Product) -> None:
    summary = await _restart_nginx(product, events=True)
    records = [e.record for e in summary.events]
    assert summary.events and None not in records, [e.data for e in summary.events]
    typed = [r for r in records if isinstance(r, SessionEvent)]
    # What the client parsed is exactly what the proxy sent.
    assert [r.to_json() for r in typed] == [e.data for e in summary.events]
    asked = [
        r.event.result.id
        for r in typed
        if isinstance(r.event, CommandEvent) and r.event.asks_confirmation
    ]
    [automatic] = [c for c in summary.controls_sent if c.automatic]
    assert asked and automatic.payload == asked[0]
    assert product.restarts() == ["restart nginx --no-pager"]
    fates = [
        (r.event.result.id, r.event.result.status)
        for r in typed
        if isinstance(r.event, CommandEvent)
    ]
    assert fates == [(asked[0], "needs_confirmation"), (asked[0], "executed")]
    assert any(isinstance(r.event, DoneEvent) for r in typed)  # the request's closing tally


async def test_without_events_the_proxy_line_is_answered_with_its_id(product: Product) -> None:
    summary = await _restart_nginx(product, events=False)
    assert not summary.events
    [automatic] = [c for c in summary.controls_sent if c.automatic]
    assert automatic.payload  # the id the line named, not "the newest"
    assert product.restarts() == ["restart nginx --no-pager"]
    assert f"(id {automatic.payload})" in summary.text
