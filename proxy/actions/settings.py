"""The action flow's settings, and the rule that decides whether commands may run at all."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.actions.machine import DEFAULT_CONFIRM_TTL

_DEFAULT_REFUSAL = (
    "running commands is switched off: the proxy listens beyond loopback and was not started "
    "with --insecure-exec"
)


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Knobs of the action flow; start-up fills them from the command line."""

    #: May commands run at all?  Start-up computes this from the listen address (see
    #: :func:`exec_permission`); when False every request is refused with ``exec_refusal``.
    exec_allowed: bool = False
    exec_refusal: str = _DEFAULT_REFUSAL
    #: Seconds a destructive command waits for a person's confirmation.
    confirm_ttl: float = DEFAULT_CONFIRM_TTL
    #: Seconds between background sweeps of expired confirmations.
    sweep_interval: float = 5.0
    #: How many past interactions memory recalls as extraction context.
    recall_k: int = 3
    #: Result records kept per session for ``GET /api/sessions/{id}/actions``.
    history_limit: int = 200
    #: Sessions kept by the registry; idle sessions without a notifier are dropped first.
    max_sessions: int = 1000


def exec_permission(hosts: Iterable[str], *, insecure_exec: bool) -> tuple[bool, str]:
    """Whether commands may run, and why not, for a proxy listening on ``hosts``.

    Allowed when every listen host is loopback (``127.0.0.0/8``, ``::1``, ``localhost``), or when
    the operator passed ``--insecure-exec`` (the caller should log a loud warning then).
    """
    hosts = list(hosts)
    non_loopback = [host for host in hosts if not _is_loopback(host)]
    if not hosts:
        non_loopback = ["all interfaces"]
    if not non_loopback or insecure_exec:
        return True, ""
    return False, (
        f"running commands is switched off: the proxy listens on {', '.join(non_loopback)} and "
        "there is no authentication yet (listen on 127.0.0.1, or start with --insecure-exec)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
