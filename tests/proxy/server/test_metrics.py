"""``/metrics`` after real conversations: the figures an operator graphs move as they should."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools.tinymoshi import TinyMoshiServer, free_port
from proxy.config import Config
from proxy.startup import build_services
from tests.proxy.conftest import RunningProxy, fast_config, running_proxy
from tests.proxy.upstream_double import UpstreamDouble
from tests.voices import silence

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition as ``{(name, sorted labels): value}``."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    async with http.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(await response.text())


@pytest.fixture
async def pipeline_proxy(
    moshi_upstream: TinyMoshiServer, tmp_path: Path
) -> AsyncIterator[RunningProxy]:
    config = Config(
        listen="127.0.0.1",
        upstreams=(moshi_upstream.url,),
        data_dir=tmp_path / "data",
        memory=False,
        tap=False,
        speak_results=False,
    )
    async with running_proxy(config, await build_services(config)) as proxy:
        yield proxy


@pytest.mark.moshi
async def test_a_conversation_with_a_command_moves_every_pipeline_metric(
    pipeline_proxy: RunningProxy, http: aiohttp.ClientSession
) -> None:
    url = pipeline_proxy.http + "/metrics"
    before = await scrape(http, url)
    assert value(before, "voiceops_conversations_active") == 0
    options = SessionOptions(
        url=pipeline_proxy.ws,
        pcm=silence(1.0),
        speed=4.0,
        tail=3.0,
        steps=(execute_step("check the disk space"), execute_step("please reboot the machine")),
        events=True,
    )
    summary = await run_session(options)
    assert summary.failure is None
    after = await scrape(http, url)
    upstream = pipeline_proxy.config.upstreams[0]

    assert value(after, "voiceops_conversations_active") == 0
    assert value(after, "voiceops_upstream_conversations_total", upstream=upstream) == 1
    assert value(after, "voiceops_upstream_up", upstream=upstream) == 1
    pages_up = value(after, "voiceops_relay_messages_total", direction="to_upstream", kind="audio")
    pages_down = value(after, "voiceops_relay_messages_total", direction="to_browser", kind="audio")
    assert pages_up >= 10 and pages_down >= 1
    assert value(after, "voiceops_relay_bytes_total", direction="to_upstream", kind="audio") > 0
    held = value(after, "voiceops_relay_latency_seconds_count", direction="to_upstream")
    assert held == pages_up, "every forwarded page is timed"
    assert (
        value(after, "voiceops_relay_latency_seconds_bucket", direction="to_upstream", le="+Inf")
        == held
    )
    assert value(after, "voiceops_triggers_total", action="execute", source="control") == 2
    assert value(after, "voiceops_extractions_total", backend="rules", outcome="commands") >= 1
    allowed = sum(
        v
        for (name, labels), v in after.items()
        if name == "voiceops_guard_decisions_total" and ("decision", "allowed") in labels
    )
    assert allowed >= 1
    assert value(after, "voiceops_executions_total", executor="local", status="0") >= 1
    assert value(after, "voiceops_execution_seconds_count", executor="local") >= 1


async def test_metrics_need_credentials_unless_on_their_own_private_port(
    upstream: UpstreamDouble, http: aiohttp.ClientSession
) -> None:
    token = "metrics-test-token-0123456789"
    exposed = fast_config(upstream.url)
    exposed = replace(exposed, security=replace(exposed.security, auth_token=token))
    async with running_proxy(exposed) as proxy:
        async with http.get(proxy.http + "/metrics") as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(proxy.http + "/metrics", headers=headers) as response:
            assert response.status == 200
        samples = await scrape_with(http, proxy.http + "/metrics", headers)
        assert value(samples, "voiceops_auth_failures_total", reason="credentials") == 1

    port = free_port("127.0.0.1")
    private = replace(exposed, metrics_listen=("127.0.0.1", port))
    async with running_proxy(private) as proxy:
        samples = await scrape(http, f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "voiceops_conversations_active") == 0
        async with http.get(proxy.http + "/metrics", headers=headers) as response:
            assert response.status == 404, "with --metrics-listen, /metrics leaves the main port"


async def scrape_with(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Samples:
    async with http.get(url, headers=headers) as response:
        return parse(await response.text())
