"""The proxy's settings: one frozen :class:`Config` from CLI flags and environment variables.

Every flag has an environment variable (``VOICEOPS_`` + the flag name in capitals, see
:mod:`proxy.config.flags`) so a container can be configured without a command line; a flag given
on the command line wins.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from extraction.anthropic_backend import DEFAULT_MODEL
from extraction.memory import DEFAULT_DATA_DIR
from guard import DEFAULT_TRUSTED_PATH
from proxy.actions.executors.flags import Placement, add_executor_flags, placement
from proxy.actions.machine import DEFAULT_CONFIRM_TTL
from proxy.config.flags import (
    add_flag,
    env_list,
    flag_true,
    host_port,
    positive,
    upstream_url,
)
from proxy.listen.speech.settings import DEFAULT_SETTINGS, VAD_KINDS
from proxy.listen.speech.transcriber import FRAMES_PER_S, FULL_WINDOW
from proxy.relay.codec import DEFAULT_MAX_MESSAGE_BYTES
from proxy.relay.query import DEFAULT_TEXT_PROMPT, DEFAULT_VOICE, DEFAULT_VOICES, QueryPolicy
from proxy.security import SecurityError, SecuritySettings, add_flags, from_args


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the proxy needs to know at start-up."""

    listen: str = "::"
    port: int = 8080
    upstreams: tuple[str, ...] = ("ws://127.0.0.1:8998/api/chat",)
    ui_dir: Path | None = None
    max_waiting: int = 8
    #: Most open connections to the upstreams (conversations and UI fetches together);
    #: 0 means the pool plus the waiting line plus :data:`UI_FETCH_CONNECTIONS`.
    upstream_connections: int = 0
    #: Connections the kernel holds for accept(); a burst of browsers beyond it is dropped.
    listen_backlog: int = 1024
    #: "uvloop" or "asyncio": uvloop cut the relay's added latency ≈40 % (bench_capacity.py).
    event_loop: str = "uvloop"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ping_interval: float = 20.0
    keepalive_after: float = 3.0
    connect_timeout: float = 10.0
    handshake_timeout: float = 120.0
    drain_timeout: float = 10.0
    query_policy: QueryPolicy = field(default_factory=QueryPolicy)
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    access_log: bool = False
    metrics_listen: tuple[str, int] | None = None  # None: /metrics on the main port
    # The pipeline behind the relay.
    data_dir: Path = DEFAULT_DATA_DIR
    policy: Path | None = None
    trusted_path: str = DEFAULT_TRUSTED_PATH
    rules: Path | None = None
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_model: str = DEFAULT_MODEL
    anthropic_base_url: str | None = None
    memory: bool = True
    memory_url: str | None = None
    memory_retention_days: float = 30.0
    insecure_exec: bool = False
    confirm_ttl: float = DEFAULT_CONFIRM_TTL
    exec_timeout: float = 30.0
    run_as: str | None = None
    placement: Placement = field(default_factory=Placement)
    tap: bool = True
    #: Speech worker processes; 0 means one per core.
    speech_workers: int = 0
    whisper_model: str | None = None
    #: Whisper's encoder window for long utterances; 0 keeps its full 30 s.
    whisper_window: float = DEFAULT_SETTINGS.whisper_window_s or 0.0
    vad: str = DEFAULT_SETTINGS.vad
    speak_results: bool = True
    security: SecuritySettings = field(default_factory=SecuritySettings)


#: Whisper's own encoder window (s): the longest a shorter window may be.
WHISPER_FULL_WINDOW_S = FULL_WINDOW / FRAMES_PER_S
#: Head-room for web UI fetches in the default :attr:`Config.upstream_connections`.
UI_FETCH_CONNECTIONS = 32
EVENT_LOOPS = ("uvloop", "asyncio")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m proxy`` command line."""
    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m proxy",
        description=(
            "Voice-ops WebSocket sidecar for PersonaPlex: relays /api/chat between the unmodified "
            "web UI and one or more PersonaPlex/moshi servers."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Every flag can also be set by the environment variable shown beside it.\n"
            "Extraction uses Anthropic when ANTHROPIC_API_KEY is set (model ANTHROPIC_MODEL, "
            "endpoint ANTHROPIC_BASE_URL),\notherwise the offline rules."
        ),
    )
    add_flag(p, "--listen", "address to listen on; '::' is dual-stack (IPv4 too)", default=d.listen)
    add_flag(p, "--port", "TCP port", type=int, default=d.port)
    add_flag(
        p,
        "--upstream",
        "PersonaPlex/moshi server, ws://HOST:PORT[/api/chat]; repeat for a pool, each serves "
        "one conversation at a time (env: comma-separated)",
        action="append",
        type=upstream_url,
        default=None,
    )
    add_flag(
        p, "--ui-dir", "serve the web UI from this directory instead of the upstream", type=Path
    )
    add_flag(
        p,
        "--max-waiting",
        "clients allowed to wait for a free upstream",
        type=int,
        default=d.max_waiting,
    )
    add_flag(
        p,
        "--upstream-connections",
        "most open connections to the upstreams, conversations and UI fetches together; at "
        f"least upstreams + max-waiting (default 0: that plus {UI_FETCH_CONNECTIONS})",
        type=int,
        default=d.upstream_connections,
    )
    add_flag(
        p,
        "--listen-backlog",
        "connections the kernel queues before the proxy accepts them",
        type=positive(int),
        default=d.listen_backlog,
    )
    add_flag(
        p, "--event-loop", "uvloop (faster) or asyncio", choices=EVENT_LOOPS, default=d.event_loop
    )
    add_flag(
        p,
        "--max-message-bytes",
        "largest WebSocket message accepted either way",
        type=positive(int),
        default=d.max_message_bytes,
    )
    add_flag(
        p,
        "--ping-interval",
        "WebSocket ping interval, seconds",
        type=positive(float),
        default=d.ping_interval,
    )
    add_flag(
        p,
        "--keepalive-after",
        "send the browser a 0x06 keepalive after the upstream is silent this many seconds",
        type=positive(float),
        default=d.keepalive_after,
    )
    add_flag(
        p,
        "--connect-timeout",
        "upstream connect timeout, s",
        type=positive(float),
        default=d.connect_timeout,
    )
    add_flag(
        p,
        "--handshake-timeout",
        "give up when the upstream has not sent its handshake after this many seconds",
        type=positive(float),
        default=d.handshake_timeout,
    )
    add_flag(
        p,
        "--drain-timeout",
        "on SIGTERM, seconds to let conversations finish before closing them",
        type=float,
        default=d.drain_timeout,
    )
    add_flag(
        p,
        "--voices",
        "comma-separated voice_prompt names allowed",
        default=",".join(DEFAULT_VOICES),
    )
    add_flag(
        p, "--default-voice", "voice_prompt used when the client sends none", default=DEFAULT_VOICE
    )
    add_flag(
        p,
        "--default-text-prompt",
        "text_prompt used when the client sends none or an empty one",
        default=DEFAULT_TEXT_PROMPT,
    )
    add_flag(p, "--log-level", "DEBUG, INFO, WARNING or ERROR", default=d.log_level)
    add_flag(p, "--log-format", "text or json", default=d.log_format, choices=["text", "json"])
    add_flag(
        p, "--access-log", "log every HTTP request (method, path, status)", action="store_true"
    )
    add_flag(
        p,
        "--metrics-listen",
        "HOST:PORT serving /metrics without authentication (keep it private); "
        "default: /metrics on the main port, behind authentication",
        type=host_port,
    )
    _pipeline_flags(p.add_argument_group("voice ops pipeline"), d)
    add_flags(p, add_flag)
    return p


def _pipeline_flags(g: argparse._ArgumentGroup, d: Config) -> None:
    add = partial(add_flag, g)
    add(
        "--data-dir",
        "audit log, memory and tiny-model cache live here",
        type=Path,
        default=d.data_dir,
    )
    add("--policy", "guard policy TOML replacing the shipped default", type=Path)
    add("--trusted-path", "where the guard looks up binaries (never $PATH)", default=d.trusted_path)
    add("--rules", "offline extractor rules TOML replacing the shipped default", type=Path)
    add("--memory-url", "shared ChromaDB server http://HOST:PORT instead of the embedded one")
    add("--no-memory", "do not remember or recall past requests", action="store_true")
    add(
        "--memory-retention-days",
        "forget remembered requests (commands, output digests, words) older than this",
        type=positive(float),
        default=d.memory_retention_days,
    )
    add(
        "--insecure-exec",
        "allow running commands with --auth off although the proxy listens beyond loopback "
        "(logs a warning)",
        action="store_true",
    )
    add(
        "--confirm-ttl",
        "seconds a destructive command waits for confirm",
        type=positive(float),
        default=d.confirm_ttl,
    )
    add(
        "--exec-timeout",
        "seconds before a command's process group is killed",
        type=positive(float),
        default=d.exec_timeout,
    )
    add("--run-as", "run commands as this user (when the proxy runs as root)")
    add_executor_flags(add, d.placement)
    add(
        "--no-tap",
        "do not recognise speech (control frames and the API still work)",
        action="store_true",
    )
    add(
        "--speech-workers",
        "speech recognition processes, sessions spread over them (default 0: one per core)",
        type=int,
        default=d.speech_workers,
    )
    add(
        "--whisper-model", "CTranslate2 Whisper model directory or name (default: packaged tiny.en)"
    )
    add(
        "--whisper-window",
        f"seconds of audio Whisper encodes for an utterance of "
        f"{DEFAULT_SETTINGS.whisper_full_window_below_s:g} s or more (0: Whisper's full "
        f"{WHISPER_FULL_WINDOW_S:g} s; shorter costs less CPU per talking session; see the "
        "README's capacity section)",
        type=float,
        default=d.whisper_window,
    )
    add(
        "--vad",
        "voice-activity detector that cuts the operator's speech into utterances: 'energy' "
        "(level above the noise floor) or 'silero' (the neural VAD shipped with faster-whisper)",
        choices=VAD_KINDS,
        default=d.vad,
    )
    add(
        "--no-speak-results",
        "do not speak results into the reply audio (they are still shown as text)",
        action="store_true",
    )


def parse_config(argv: Sequence[str] | None = None) -> Config:
    """Parse the command line (and environment) into a :class:`Config`; exits 2 on bad input."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    from_env = env_list("--upstream")
    try:
        upstreams = tuple(upstream_url(u) for u in (ns.upstream or from_env or Config().upstreams))
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    voices = frozenset(v.strip() for v in str(ns.voices).split(",") if v.strip())
    if ns.default_voice not in voices:
        parser.error(f"--default-voice {ns.default_voice!r} is not in --voices")
    if int(ns.max_waiting) < 0:
        parser.error("--max-waiting must be 0 or more")
    connections = int(ns.upstream_connections)
    if int(ns.speech_workers) < 0:
        parser.error("--speech-workers must be 0 (one per core) or more")
    if not 0 <= float(ns.whisper_window) <= WHISPER_FULL_WINDOW_S:
        parser.error(
            f"--whisper-window must be 0 (Whisper's {WHISPER_FULL_WINDOW_S:g} s) or a number of "
            f"seconds up to {WHISPER_FULL_WINDOW_S:g}"
        )
    if ns.vad not in VAD_KINDS:  # argparse checks choices on the command line, not the env
        parser.error(f"--vad {ns.vad!r} is not one of {', '.join(VAD_KINDS)}")
    if connections < 0:
        parser.error("--upstream-connections must be 0 (automatic) or more")
    if connections and connections < len(upstreams) + int(ns.max_waiting):
        parser.error(
            f"--upstream-connections {connections} is below the {len(upstreams)} upstream(s) "
            f"plus --max-waiting {ns.max_waiting}: conversations would wait for a connection"
        )
    level = str(ns.log_level).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        parser.error(f"--log-level {ns.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    try:
        security = from_args(ns, env_list)
        security.check(str(ns.listen))
    except SecurityError as exc:
        parser.error(str(exc))
    ui_dir = Path(ns.ui_dir) if ns.ui_dir else None
    if ui_dir is not None and not (ui_dir / "index.html").is_file():
        parser.error(f"--ui-dir {ui_dir} has no index.html")
    return Config(
        listen=str(ns.listen),
        port=int(ns.port),
        upstreams=upstreams,
        ui_dir=ui_dir,
        max_waiting=int(ns.max_waiting),
        upstream_connections=connections,
        listen_backlog=int(ns.listen_backlog),
        event_loop=str(ns.event_loop),
        max_message_bytes=int(ns.max_message_bytes),
        ping_interval=float(ns.ping_interval),
        keepalive_after=float(ns.keepalive_after),
        connect_timeout=float(ns.connect_timeout),
        handshake_timeout=float(ns.handshake_timeout),
        drain_timeout=float(ns.drain_timeout),
        query_policy=QueryPolicy(
            voices=voices,
            default_voice=str(ns.default_voice),
            default_text_prompt=str(ns.default_text_prompt),
        ),
        log_level=level,
        log_format=str(ns.log_format),
        access_log=flag_true(ns.access_log),
        metrics_listen=ns.metrics_listen or None,
        data_dir=Path(ns.data_dir),
        policy=Path(ns.policy) if ns.policy else None,
        trusted_path=str(ns.trusted_path),
        rules=Path(ns.rules) if ns.rules else None,
        anthropic_api_key=os.environ.get("ANTHROPIC_API_KEY") or None,
        anthropic_model=os.environ.get("ANTHROPIC_MODEL") or DEFAULT_MODEL,
        anthropic_base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
        memory=not flag_true(ns.no_memory),
        memory_url=ns.memory_url or None,
        memory_retention_days=float(ns.memory_retention_days),
        insecure_exec=flag_true(ns.insecure_exec),
        confirm_ttl=float(ns.confirm_ttl),
        exec_timeout=float(ns.exec_timeout),
        run_as=ns.run_as or None,
        placement=placement(ns),
        tap=not flag_true(ns.no_tap),
        speech_workers=int(ns.speech_workers),
        whisper_model=ns.whisper_model or None,
        whisper_window=float(ns.whisper_window),
        vad=str(ns.vad),
        speak_results=not flag_true(ns.no_speak_results),
        security=security,
    )
