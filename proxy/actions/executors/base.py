"""The one interface every executor implements, and what a run produces.

An executor receives a guard :class:`~guard.decision.Approval` — never text, never a shell
string — and runs exactly ``approval.argv``.  The local executor (``local.py``) runs it on this
machine; ``openclaw.py`` runs it with ``system.run`` on an OpenClaw node host through a gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from guard.decision import Approval


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of running one approved argv.

    ``exit_code`` is ``None`` when the process could not start (``error`` says why) or was killed
    by a signal other than the executor's own timeout kill.  ``stdout``/``stderr`` hold at most
    the executor's cap, decoded leniently; ``stdout_bytes``/``stderr_bytes`` count everything the
    process wrote, so ``truncated`` output still says how much there was (a cut stream ends with the
    :func:`truncation_marker`).
    """

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    duration: float
    truncated: bool = False
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command ran to completion with exit code 0."""
        return self.exit_code == 0 and not self.timed_out and self.error is None

    @property
    def output(self) -> str:
        """Standard output, then standard error when there was any, as a person reads them."""
        if self.stdout and self.stderr:
            sep = "" if self.stdout.endswith("\n") else "\n"
            return f"{self.stdout}{sep}{self.stderr}"
        return self.stdout or self.stderr


def truncation_marker(total: int) -> str:
    """The line appended to a stream that was cut at the cap."""
    return f"\n(truncated, {total} bytes total)"


def capped_text(kept: bytes, total: int) -> str:
    """``kept`` (the first bytes of a stream of ``total`` bytes) decoded leniently, with the
    :func:`truncation_marker` when bytes were cut; every executor reports output this way."""
    text = kept.decode("utf-8", errors="replace")
    return text + truncation_marker(total) if total > len(kept) else text


class Executor(Protocol):
    """Runs exactly what the guard approved and reports how it went."""

    async def run(self, approval: Approval) -> RunResult:
        """Run ``approval.argv``.  Raise ``TypeError`` for anything that is not an Approval;
        report every other failure (missing binary, timeout) in the :class:`RunResult`."""
        ...
