"""Executors: run an approved argv somewhere and report the result.

``LocalExecutor`` (this machine) is the embedded default; other backends implement
:class:`Executor` from ``proxy.executors.base``.
"""

from proxy.executors.base import Executor, RunResult
from proxy.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RunResult"]
