"""Start-up: turn a :class:`Config` into the running pipeline, loudly and once.

Everything slow or fallible happens here, before the proxy listens: the guard policy is parsed
(a bad file stops the start with file and line), the extractor is chosen, memory is opened and
the speech models are loaded.  Each step logs what it chose and how long it took.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from extraction import make_extractor
from extraction.understand import UnderstandingExtractor
from extraction.vocabulary import fleet_words
from fleet import Fleet, load_fleet
from guard import Guard, PolicyError, load_policy
from proxy.actions.audit import AuditLog
from proxy.actions.executors.base import Executor
from proxy.actions.executors.fleet import FleetExecutor, NodeDirectory
from proxy.actions.executors.local import LocalExecutor
from proxy.actions.executors.openclaw import open_executor
from proxy.actions.limits import ExecLimiter
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings, exec_permission
from proxy.config import Config
from proxy.listen.speech.pool import SpeechPool
from proxy.listen.speech.settings import TapSettings
from proxy.listen.trigger_phrases import DEFAULT_PHRASES, naming_actions
from proxy.server.metrics import Metrics
from proxy.server.pipeline import Services
from proxy.speak.synth import EspeakSynthesiser, Synthesiser

if TYPE_CHECKING:
    from extraction.memory import Memory

log = logging.getLogger("proxy.startup")
T = TypeVar("T")

AUDIT_FILE = "audit.jsonl"


def _timed(what: str, make: Callable[[], T]) -> T:
    began = time.perf_counter()
    log.info("%s …", what)
    value = make()
    log.info("%s: done in %.2f s", what, time.perf_counter() - began)
    return value


def private_dir(path: Path) -> None:
    """Make ``path`` owner-only, with everything already in it (audit, memory, transcripts).

    Files made later are private too: :func:`proxy.__main__.main` sets the umask to 077.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            target = os.path.join(root, name)
            if not os.path.islink(target):  # a link's target may not be ours to change
                os.chmod(target, stat.S_IMODE(os.lstat(target).st_mode) & 0o700)


def exec_settings(config: Config) -> FlowSettings:
    """Whether commands may run (authentication on, loopback, or --insecure-exec) and timers."""
    authenticated = config.security.auth_enabled(config.listen)
    allowed, refusal = exec_permission(
        [config.listen], insecure_exec=config.insecure_exec or authenticated
    )
    if config.insecure_exec and not authenticated:
        log.warning(
            "--insecure-exec: commands run for ANY client that reaches [%s]:%d — "
            "authentication is off; use this only on a trusted network",
            config.listen,
            config.port,
        )
    elif not allowed:
        log.warning("%s", refusal)
    # The refusal text is only ever shown when commands are not allowed.
    return FlowSettings(exec_allowed=allowed, exec_refusal=refusal, confirm_ttl=config.confirm_ttl)


def make_executor(config: Config, fleet: Fleet | None = None) -> Executor:
    """The executor ``--executor`` names, running each approval on its node when there is a
    ``fleet``; raises ``ValueError`` when it cannot be set up."""
    where = config.placement
    if where.executor == "openclaw":
        if config.run_as is not None:
            raise ValueError(
                "--run-as applies to the local executor; OpenClaw runs as its node host"
            )
        log.info("executor: OpenClaw node %r via %s", where.node, where.gateway)
        executor = open_executor(
            config.data_dir, where.gateway, where.node, timeout=config.exec_timeout
        )
        if fleet is None:
            return executor
        log.info("fleet: %s, groups %s", ", ".join(fleet.nodes), ", ".join(fleet.groups))
        directory = NodeDirectory(executor.client, fleet)
        return FleetExecutor(
            directory, executor, timeout=executor.timeout, output_cap=executor.output_cap
        )
    if fleet is not None:
        raise ValueError("--fleet runs commands on OpenClaw nodes: add --executor openclaw")
    return LocalExecutor(timeout=config.exec_timeout, run_as=config.run_as)


def load_guard(config: Config) -> tuple[Guard, Fleet | None]:
    """The guard, with the fleet's groups for its ``[targets]`` sections; raises
    :class:`~guard.policy.PolicyError` or :class:`~fleet.FleetError` with file and line."""
    policy = load_policy(config.policy)
    fleet = load_fleet(config.placement.fleet) if config.placement.fleet is not None else None
    unknown = [name for name in policy.targets if fleet is None or not fleet.knows(name)]
    if unknown:
        raise PolicyError(
            policy.source,
            None,
            f"[targets.{unknown[0]}] names no node or group of the fleet "
            f"({'--fleet ' + str(config.placement.fleet) if fleet else 'no --fleet given'})",
        )
    groups = fleet.groups if fleet is not None else {}
    return Guard(policy, trusted_path=config.trusted_path, groups=groups), fleet


async def build_services(config: Config) -> Services:
    """Load every part of the pipeline (in worker threads where it is slow)."""
    private_dir(config.data_dir)
    guard, fleet = load_guard(config)
    missing = sorted(name for name, path in guard.binaries.items() if path is None)
    if missing:
        log.info("guard: not installed here, will be refused: %s", ", ".join(missing))
    executor = make_executor(config, fleet)
    # The extractor reads the live fleet (the file's nodes plus those connected) per request.
    nodes = executor.directory if isinstance(executor, FleetExecutor) else None
    extractor = make_extractor(
        config.anthropic_api_key,
        config.anthropic_model,
        config.anthropic_base_url,
        config.rules,
        fleet=None if nodes is None else nodes.fleet,
    )
    if isinstance(extractor, UnderstandingExtractor):
        # The offline extractor embeds its example phrasings once, now rather than in a call.
        await asyncio.to_thread(_timed, "embedding the intent examples", extractor.prepare)
    memory: Memory | None = None
    if config.memory:
        from extraction.memory import Memory  # noqa: PLC0415 - chromadb only when memory is on

        memory = await asyncio.to_thread(
            _timed,
            "opening memory",
            lambda: Memory.open(
                config.data_dir,
                url=config.memory_url,
                retention=config.memory_retention_days * 86400.0,
            ),
        )
        if memory.available:
            # The embedding model loads on first use (seconds): pay that now, not in a call.
            await asyncio.to_thread(
                _timed, "loading the embedding model", lambda: memory.recall("disk", 1)
            )
        else:
            log.warning("memory unavailable, requests go on without it: %s", memory.error)
    recognisers: SpeechPool | None = None
    # The fleet file's names are Whisper hotwords: "web two" is otherwise heard as "webmaster".
    # A spoken confirmation names one of the policy's actions ("confirm restart").
    tap_settings = TapSettings(
        whisper_model=config.whisper_model,
        whisper_window_s=config.whisper_window or None,
        vad=config.vad,
        fleet_names=fleet_words(fleet),
        phrases=naming_actions(DEFAULT_PHRASES, guard.policy.confirm_words()),
    )
    if config.tap:
        # Worker processes (one per core by default) load the models in parallel, once per
        # process and settings.
        recognisers = await asyncio.to_thread(
            _timed,
            "loading speech recognisers (worker processes)",
            lambda: SpeechPool.shared(tap_settings, config.speech_workers),
        )
        log.info(
            "speech worker pids %s: models loaded in %.2f s",
            ", ".join(str(pid) for pid in recognisers.pids),
            recognisers.load_seconds,
        )
    limits = config.security.limits
    metrics = Metrics()
    flows = FlowRegistry(
        extractor=metrics.extractor(
            extractor, "anthropic" if config.anthropic_api_key else "rules"
        ),
        guard=metrics.guard(guard),
        executor=metrics.executor(executor, config.placement.executor),
        settings=exec_settings(config),
        audit=AuditLog(config.data_dir / AUDIT_FILE),
        memory=memory,
        limiter=ExecLimiter(
            per_session=limits.exec_per_session_per_minute,
            per_principal=limits.exec_per_principal_per_minute,
            concurrent=limits.concurrent_exec,
        ),
    )
    log.info("audit log: %s", config.data_dir / AUDIT_FILE)
    return Services(
        flows=flows,
        recognisers=recognisers,
        tap_settings=tap_settings,
        synthesiser=synthesiser(config),
        metrics=metrics,
        policy=guard.policy,
        nodes=nodes,
    )


def synthesiser(config: Config) -> Synthesiser | None:
    """The voice that speaks results into the reply audio, or ``None`` (text only)."""
    if not config.speak_results:
        log.info("results are shown as text only (--no-speak-results)")
        return None
    if not EspeakSynthesiser.available():
        log.warning("espeak-ng is not installed: results are shown as text only")
        return None
    log.info("results are spoken into the reply audio (espeak-ng)")
    return EspeakSynthesiser()
