"""Free speech through the whole product: several requests, a negation, a plan for later and
"same as last time", spoken by espeak-ng, heard by the proxy's recognisers and
understood by the default offline extractor (rules, then intent matching), with memory on."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.options import SessionOptions
from client.session import run_session
from client.summary import SessionSummary
from devtools.tinymoshi import TinyMoshiServer
from proxy.config import Config
from proxy.startup import build_services
from tests.proxy.conftest import RunningProxy, running_proxy
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.moshi, needs_espeak]


@pytest.fixture
async def proxy(
    moshi_upstream: TinyMoshiServer, tmp_path: Path
) -> AsyncIterator[tuple[RunningProxy, Path]]:
    """The proxy with memory, and a stand-in systemctl that only logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    stand_in = bin_dir / "systemctl"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "stand-in systemctl $*"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config = Config(
        listen="127.0.0.1",
        upstreams=(moshi_upstream.url,),
        data_dir=tmp_path / "data",
        trusted_path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        memory=True,
    )
    services = await build_services(config)
    async with running_proxy(config, services) as running:
        yield running, log


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
    proxy: tuple[RunningProxy, Path],
) -> None:
    running, systemctl_log = proxy
    first = await _ask(running, "check the disk space and the memory, but do not restart anything")
    assert _executed(first) == ["df -h", "free -h"], _texts(first)
    later = await _ask(running, "we should check the memory next week")
    assert _executed(later) == [] and "for later" in _texts(later), _texts(later)
    again = await _ask(running, "do the same as last time")
    assert _executed(again) == ["df -h", "free -h"], _texts(again)
    assert "From memory, as last time" in _texts(again)
    assert not systemctl_log.exists(), "nothing may be restarted"
