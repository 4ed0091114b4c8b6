"""Executors: run an approved argv somewhere and report the result.

``LocalExecutor`` (this machine) is the embedded default; ``OpenClawExecutor`` runs the same
approvals on an OpenClaw node host (``--executor openclaw``).  Both implement :class:`Executor`
from ``proxy.actions.executors.base``.
"""

from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.executors.local import LocalExecutor
from proxy.actions.executors.openclaw import OpenClawExecutor

__all__ = ["Executor", "LocalExecutor", "OpenClawExecutor", "RunResult"]
