"""Prometheus metrics: what the proxy is doing, for ``GET /metrics``.

Two kinds of figure, so that relaying a page costs no more than it did:

* **Read at scrape time** from state the proxy keeps anyway (:class:`_LiveCollector`):
  conversations live and waiting, upstreams, messages and bytes relayed per direction and kind,
  the relay's per-page latency histogram, tap drops and recogniser load.
* **Counted where they happen**, all off the audio path: triggers (by action and source),
  extractions, guard decisions, executions, authentication failures.  Extractor, guard and
  executor are wrapped (:meth:`Metrics.instrument`), so the action flow needs no metrics code.

Each application gets its own :class:`CollectorRegistry` (tests build many apps in one process).
Buckets are chosen for audio: 50 µs … 1 s per relayed page, 10 ms … 60 s for extraction and runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from extraction.model import Extraction, Extractor, Recollection, Turn
from guard.decision import Allowed, Approval, Decision, NeedsConfirmation
from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.ports import CommandChecker
from proxy.relay.codec import Kind

if TYPE_CHECKING:
    from proxy.relay.chat import RelayState
    from proxy.server.pipeline import Services

#: Seconds: extraction and command runs.
ACTION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_ACTIONS = frozenset({"execute", "confirm", "cancel"})
_KIND_NAMES = {int(k): k.name.lower() for k in Kind}


class Metrics:
    """The proxy's metric registry and the counters the pipeline increments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.triggers = Counter(
            "voiceops_triggers",
            "Actions requested, by action (execute/confirm/cancel) and source (voice/control/api)",
            ["action", "source"],
            registry=r,
        )
        self.extractions = Counter(
            "voiceops_extractions",
            "Extractions by backend and outcome (commands / nothing / error)",
            ["backend", "outcome"],
            registry=r,
        )
        self.extraction_seconds = Histogram(
            "voiceops_extraction_seconds",
            "Time to extract commands from a request",
            ["backend"],
            buckets=ACTION_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "voiceops_guard_decisions",
            "Guard decisions by decision (allowed/needs_confirmation/refused) and policy rule",
            ["decision", "rule"],
            registry=r,
        )
        self.executions = Counter(
            "voiceops_executions",
            "Commands run, by executor and exit status (exit code, 'timeout' or 'error')",
            ["executor", "status"],
            registry=r,
        )
        self.execution_seconds = Histogram(
            "voiceops_execution_seconds",
            "Wall time of one command run",
            ["executor"],
            buckets=ACTION_BUCKETS,
            registry=r,
        )
        self.auth_failures = Counter(
            "voiceops_auth_failures",
            "Requests refused by the front door, by reason (credentials/login/host/origin)",
            ["reason"],
            registry=r,
        )
        self._live = _LiveCollector()
        r.register(self._live)

    def count_trigger(self, action: object, source: str) -> None:
        """Count one user action (``Execute``/``Confirm``/``Cancel``) from ``source``."""
        name = type(action).__name__.lower()
        if name in _ACTIONS:
            self.triggers.labels(name, source).inc()

    def watch_relay(self, state: RelayState) -> None:
        """Read conversations, upstreams and relay counters from ``state`` at every scrape."""
        self._live.relay = state

    def watch_services(self, services: Services) -> None:
        """Read tap and recogniser figures from ``services`` at every scrape."""
        self._live.services = services

    def extractor(self, extractor: Extractor, backend: str) -> Extractor:
        """A counting version of ``extractor`` (called ``backend`` in the metrics)."""
        return _CountingExtractor(extractor, backend, self)

    def guard(self, guard: CommandChecker) -> CommandChecker:
        """A counting version of the guard."""
        return _CountingGuard(guard, self)

    def executor(self, executor: Executor, name: str) -> Executor:
        """A counting version of ``executor`` (called ``name`` in the metrics)."""
        return _CountingExecutor(executor, name, self)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


METRICS = web.AppKey("voiceops_metrics", Metrics)


async def serve_metrics(request: web.Request) -> web.Response:
    """``GET /metrics`` (behind the front door like the API)."""
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def count_auth_failure(app: web.Application, reason: str) -> None:
    """Count a refusal by the front door (no-op for an app without metrics)."""
    metrics = app.get(METRICS)
    if metrics is not None:
        metrics.auth_failures.labels(reason).inc()


@dataclass(slots=True)
class _CountingExtractor:
    inner: Extractor
    backend: str
    metrics: Metrics

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        began = time.perf_counter()
        outcome = "error"
        try:
            result = await self.inner.extract(turns, context)
            outcome = "commands" if result.commands else "nothing"
            return result
        finally:
            self.metrics.extractions.labels(self.backend, outcome).inc()
            self.metrics.extraction_seconds.labels(self.backend).observe(
                time.perf_counter() - began
            )


@dataclass(slots=True)
class _CountingGuard:
    inner: CommandChecker
    metrics: Metrics

    def check(self, text: str, node: str | None = None) -> Decision:
        decision = self.inner.check(text, node)
        match decision:
            case Allowed(approval):
                labels = ("allowed", approval.rule)
            case NeedsConfirmation(approval, _):
                labels = ("needs_confirmation", approval.rule)
            case _:
                labels = ("refused", decision.rule)
        self.metrics.decisions.labels(*labels).inc()
        return decision


@dataclass(slots=True)
class _CountingExecutor:
    inner: Executor
    name: str
    metrics: Metrics

    async def run(self, approval: Approval) -> RunResult:
        result = await self.inner.run(approval)
        if result.timed_out:
            status = "timeout"
        elif result.exit_code is None:
            status = "error"
        else:
            status = str(result.exit_code)
        self.metrics.executions.labels(self.name, status).inc()
        self.metrics.execution_seconds.labels(self.name).observe(result.duration)
        return result


class _LiveCollector(Collector):
    """Figures read from the running proxy at scrape time."""

    def __init__(self) -> None:
        self.relay: RelayState | None = None
        self.services: Services | None = None

    def collect(self) -> Iterable[Metric]:
        if self.relay is not None:
            yield from _relay_metrics(self.relay)
        if self.services is not None:
            yield from _listen_metrics(self.services)


def _relay_metrics(state: RelayState) -> Iterable[Metric]:
    admission = state.admission
    yield _gauge("voiceops_conversations_active", "Conversations relaying now", admission.active)
    yield _gauge(
        "voiceops_conversations_waiting", "Browsers waiting for a free upstream", admission.waiting
    )
    up = GaugeMetricFamily(
        "voiceops_upstream_up",
        "1 when the upstream accepted a TCP connection at the last probe",
        labels=["upstream"],
    )
    busy = GaugeMetricFamily(
        "voiceops_upstream_busy", "1 while the upstream holds a conversation", labels=["upstream"]
    )
    served = CounterMetricFamily(
        "voiceops_upstream_conversations",
        "Conversations handed to each upstream",
        labels=["upstream"],
    )
    totals = state.totals
    for url in admission.upstreams:
        up.add_metric([url], 1.0 if totals.upstream_up.get(url, False) else 0.0)
        busy.add_metric([url], 1.0 if admission.is_busy(url) else 0.0)
        served.add_metric([url], totals.served.get(url, 0))
    yield from (up, busy, served)
    messages = CounterMetricFamily(
        "voiceops_relay_messages",
        "Messages relayed, by direction and kind",
        labels=["direction", "kind"],
    )
    size = CounterMetricFamily(
        "voiceops_relay_bytes", "Bytes relayed, by direction and kind", labels=["direction", "kind"]
    )
    for direction, flows in (
        ("to_upstream", [totals.to_upstream, *(c.to_upstream for c in state.live.values())]),
        ("to_browser", [totals.to_browser, *(c.to_browser for c in state.live.values())]),
    ):
        for kind, name in _KIND_NAMES.items():
            count = sum(f.kind_messages[kind] for f in flows)
            if count:
                messages.add_metric([direction, name], count)
                size.add_metric([direction, name], sum(f.kind_bytes[kind] for f in flows))
    yield from (messages, size)
    latency = HistogramMetricFamily(
        "voiceops_relay_latency_seconds",
        "Time the proxy holds one relayed message (receipt to send complete), by direction",
        labels=["direction"],
    )
    for direction, hist in (
        ("to_upstream", totals.latency_to_upstream),
        ("to_browser", totals.latency_to_browser),
    ):
        latency.add_metric([direction], hist.cumulative(), hist.total)
    yield latency


def _listen_metrics(services: Services) -> Iterable[Metric]:
    live = list(services.live.values())
    dropped = services.finished_drops + sum(p.tap_dropped for p in live)
    yield _counter("voiceops_tap_dropped", "Tap copies dropped (speech worker behind)", dropped)
    yield _gauge(
        "voiceops_tap_queue_depth",
        "Messages offered to the speech worker and not yet processed, all sessions",
        sum(p.tap_in_flight for p in live),
    )
    audio = sum(p.heard_seconds for p in live) + services.finished_heard
    busy = sum(p.recognising_seconds for p in live) + services.finished_recognising
    yield _counter(
        "voiceops_speech_audio_seconds", "Seconds of audio the recogniser took in", audio
    )
    yield _counter(
        "voiceops_speech_busy_seconds", "Seconds the recogniser spent on that audio", busy
    )
    yield _gauge(
        "voiceops_speech_real_time_factor",
        "Recogniser busy time per second of audio, since start (below 1: keeps up)",
        busy / audio if audio else 0.0,
    )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)
