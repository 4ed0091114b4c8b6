"""Free speech through the whole product: several requests, a negation, a plan for later and
"same as last time", spoken by espeak-ng, heard by the proxy's recognisers and
understood by the default offline extractor (rules, then intent matching), with memory on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.options import SessionOptions
from client.session import run_session
from client.summary import SessionSummary
from devtools.tinymoshi import TinyMoshiServer
from tests.product import Product, running_product
from tests.proxy.conftest import RunningProxy
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.moshi, needs_espeak]


@pytest.fixture
async def proxy(moshi_upstream: TinyMoshiServer, tmp_path: Path) -> AsyncIterator[Product]:
    """The product with memory on (its stand-in systemctl only logs its arguments)."""
    async with running_product(moshi_upstream, tmp_path, memory=True) as running:
        yield running


def _executed(summary: SessionSummary) -> list[str]:
    return [str(e.data["command"]) for e in summary.events if e.data.get("status") == "executed"]


def _texts(summary: SessionSummary) -> str:
    return "".join(t.text for t in summary.texts)


async def _ask(running: RunningProxy, words: str, speed: int = 150) -> SessionSummary:
    """One short session: the request, the trigger, and time for the result to come back."""
    pcm = concat(silence(0.5), say(words, speed=speed), silence(1.0), say("execute plan"))
    options = SessionOptions(url=running.ws, pcm=concat(pcm, silence(1.0)), tail=10.0, events=True)
    summary = await run_session(options)
    assert summary.failure is None
    return summary


async def test_several_requests_a_negation_a_plan_and_same_as_last_time(
    proxy: Product,
) -> None:
    running, systemctl_log = proxy.proxy, proxy.systemctl_log
    first = await _ask(running, "check the disk space and the memory, but do not restart anything")
    assert _executed(first) == ["df -h", "free -h"], _texts(first)
    later = await _ask(running, "we should check the memory next week")
    assert _executed(later) == [] and "for later" in _texts(later), _texts(later)
    again = await _ask(running, "do the same as last time")
    assert _executed(again) == ["df -h", "free -h"], _texts(again)
    assert "From memory, as last time" in _texts(again)
    assert not systemctl_log.exists(), "nothing may be restarted"
