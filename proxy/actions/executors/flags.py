"""The ``python -m proxy`` flags that choose where approved commands run and how to get there."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proxy.actions.executors.openclaw import DEFAULT_GATEWAY_URL


@dataclass(frozen=True, slots=True)
class Placement:
    """Where commands run: ``executor`` ``local`` or ``openclaw`` (on ``node`` through
    ``gateway``), and with a ``fleet`` file on the nodes each command names."""

    executor: str = "local"
    node: str = "local"
    gateway: str = DEFAULT_GATEWAY_URL
    fleet: Path | None = None


def add_executor_flags(add: Callable[..., None], default: Placement) -> None:
    """Add ``--executor``, ``--exec-node``, ``--exec-gateway`` and ``--fleet`` through ``add``
    (which gives each its ``VOICEOPS_*`` environment variable), with these defaults."""
    add(
        "--executor",
        "where approved commands run: 'local' (this machine) or 'openclaw' (system.run on an "
        "OpenClaw node host through the gateway)",
        choices=("local", "openclaw"),
        default=default.executor,
    )
    add("--exec-node", "OpenClaw node (name or id) commands run on", default=default.node)
    add(
        "--exec-gateway",
        "OpenClaw gateway WebSocket URL; token from OPENCLAW_GATEWAY_TOKEN or "
        "DATA/openclaw/gateway.token",
        default=default.gateway,
    )
    add(
        "--fleet",
        "fleet TOML (nodes, groups, spoken aliases): commands run on the OpenClaw nodes they "
        "name (needs --executor openclaw)",
        type=Path,
    )


def placement(ns: argparse.Namespace) -> Placement:
    """The parsed flags as a :class:`Placement`."""
    fleet = Path(ns.fleet) if ns.fleet else None
    return Placement(str(ns.executor), str(ns.exec_node), str(ns.exec_gateway), fleet)
