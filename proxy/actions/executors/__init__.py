"""Executors: run an approved argv somewhere and report the result.

``LocalExecutor`` (this machine) is the embedded default; other backends implement
:class:`Executor` from ``proxy.actions.executors.base``.
"""

from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RunResult"]
