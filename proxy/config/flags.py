"""The environment-aware flag helpers behind :func:`proxy.config.build_parser`.

Every flag has an environment variable: ``VOICEOPS_`` + the flag name in capitals
(``--confirm-ttl`` → ``VOICEOPS_CONFIRM_TTL``); a flag given on the command line wins.  Each stage
adds its own flags through :func:`add_flag` (security, executors).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

ENV_PREFIX = "VOICEOPS_"
T = TypeVar("T")


def upstream_url(value: str) -> str:
    """Normalise an upstream given as ``ws://host:port`` (adds ``/api/chat``) and check it."""
    parts = urlsplit(value)
    if parts.scheme not in {"ws", "wss"} or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"upstream {value!r} must look like ws://HOST:PORT or wss://HOST:PORT/api/chat"
        )
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"upstream {value!r} must not carry a query")
    path = parts.path if parts.path not in {"", "/"} else "/api/chat"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def check(text: str) -> T:
        value = kind(text)
        if not value > 0:  # type: ignore[operator]
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value

    check.__name__ = kind.__name__
    return check


def env_name(flag: str) -> str:
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def add_flag(
    parser: argparse._ActionsContainer, flag: str, help_text: str, **kwargs: object
) -> None:
    """Add a flag whose default comes from its environment variable, and say so in --help."""
    env = env_name(flag)
    default = kwargs.pop("default", None)
    # A repeatable flag's environment variable is read in parse_config: argparse would append
    # command-line values to it instead of replacing it.
    if env in os.environ and kwargs.get("action") != "append":
        default = os.environ[env]
    shown = "" if default in (None, [], False) else f" (default: {default})"
    parser.add_argument(flag, help=f"{help_text}{shown} [env {env}]", default=default, **kwargs)  # type: ignore[arg-type]


def host_port(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` as a pair (an argparse ``type``)."""
    host, _, port = value.strip().rpartition(":")
    if not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} must look like 127.0.0.1:9100 or [::1]:9100")
    return host.strip("[]"), int(port)


def env_list(flag: str) -> list[str]:
    """A repeatable flag's environment variable: comma-separated values."""
    return [v.strip() for v in os.environ.get(env_name(flag), "").split(",") if v.strip()]


def flag_true(value: object) -> bool:
    """A store_true flag, or its environment variable spelled 1/true/yes."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
