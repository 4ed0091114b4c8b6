"""The ``python -m proxy`` flags that choose the executor and say how to reach it."""

from __future__ import annotations

from collections.abc import Callable


def add_executor_flags(add: Callable[..., None], executor: str, node: str, gateway: str) -> None:
    """Add ``--executor``, ``--exec-node`` and ``--exec-gateway`` through ``add`` (which gives
    each its ``VOICEOPS_*`` environment variable), with these defaults."""
    add(
        "--executor",
        "where approved commands run: 'local' (this machine) or 'openclaw' (system.run on an "
        "OpenClaw node host through the gateway)",
        choices=("local", "openclaw"),
        default=executor,
    )
    add("--exec-node", "OpenClaw node (name or id) commands run on", default=node)
    add(
        "--exec-gateway",
        "OpenClaw gateway WebSocket URL; token from OPENCLAW_GATEWAY_TOKEN or "
        "DATA/openclaw/gateway.token",
        default=gateway,
    )
