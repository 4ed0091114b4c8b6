"""Free speech through the whole product: several requests, a negation, a plan for later,
"same as last time" and a correction, spoken by espeak-ng, heard by the proxy's recognisers
and understood by the default offline extractor (rules, then intent matching), with memory on."""

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


async def _ask(
    running: RunningProxy, words: str, results: int, speed: int = 150, voice: str = "en-us"
) -> SessionSummary:
    """One short session: the request (a pause between sentences, each its own utterance), the
    trigger, and silence until ``results`` results have come back (a command run, or a request
    that ran nothing), however loaded the machine."""
    spoken = [part for s in words.split(" ... ") for part in (say(s, voice, speed), silence(1.0))]
    pcm = concat(silence(0.5), *spoken, say("execute plan", voice, speed))
    options = SessionOptions(
        url=running.ws, pcm=concat(pcm, silence(1.0)), tail=2.0, until_results=results, events=True
    )
    summary = await run_session(options)
    assert summary.failure is None, f"{summary.failure}; heard: {_texts(summary)!r}"
    return summary


async def test_several_requests_a_negation_a_plan_and_same_as_last_time(
    proxy: Product,
) -> None:
    running, systemctl_log = proxy.proxy, proxy.systemctl_log
    first = await _ask(
        running, "check the disk space and the memory, but do not restart anything", 2
    )
    assert _executed(first) == ["df -h", "free -h"], _texts(first)
    later = await _ask(running, "we should check the memory next week", 1)
    assert _executed(later) == [] and "for later" in _texts(later), _texts(later)
    again = await _ask(running, "do the same as last time", 2)
    assert _executed(again) == ["df -h", "free -h"], _texts(again)
    assert "From memory, as last time" in _texts(again)
    assert not systemctl_log.exists(), "nothing may be restarted"


async def test_a_spoken_correction_replaces_the_request_before_it(proxy: Product) -> None:
    # "engine x" is how nginx is said (tiny.en heard "restart engine X" here).  espeak-ng says
    # the written "nginx" so that tiny.en hears "restart and connect", and the names pass
    # "restart and junex": nothing to take (bench/bench_names.py has the figures).
    said = await _ask(proxy.proxy, "restart engine x ... no, just check its status", 1)
    assert _executed(said) == ["systemctl status nginx"], _texts(said)
    ran = [line.split()[:2] for line in proxy.restarts()]
    assert ran == [["status", "nginx"]], "only the status ran: the restart was corrected away"
