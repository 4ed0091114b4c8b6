"""Append-only audit log: one JSON line per guard decision, confirmation and command run.

The lines are the records of :mod:`voiceops.records.audit` (defined there once, with their
JSON); this module builds them from what happened and writes them.

Each record is written, flushed and ``fsync``'d before the flow reports the result it
describes, so a crash right after a user saw "df -h → exit 0" cannot lose the record of it.  The
blocking write runs in a worker thread (``asyncio.to_thread``) so the conversation never waits on
the disk.  Command output itself is not logged (it may contain secrets); its SHA-256 digest is,
so a copy kept elsewhere can be matched to the record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

from guard.decision import Allowed, Decision, NeedsConfirmation, Refused
from proxy.actions.events import Cancelled, Confirmed, Expired
from proxy.actions.executors.base import RunResult
from voiceops.records.audit import (
    AuditLine,
    AuditRecord,
    ConfirmationOutcome,
    ConfirmationRecord,
    DecisionRecord,
    RunRecord,
)

log = logging.getLogger("proxy.actions.audit")
#: Record fields repeated in the log (never the words heard or any command output).
_LOGGED = (
    "type", "request_id", "id", "decision", "rule", "argv", "reason", "outcome", "via",
    "action", "node", "exit_code", "timed_out", "error", "duration", "confirmed", "principal",
    "peer",
)  # fmt: skip


class AuditLog:
    """Appends JSON records to ``path`` (created with its parent directory, mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Writes from several sessions run in different worker threads; one line must never be
        # interleaved with another.
        self._lock = threading.Lock()

    async def write(
        self, record: AuditRecord, *, principal: str | None = None, peer: str | None = None
    ) -> None:
        """Append ``record`` (stamped with the time and who acted) and return once it is on
        disk."""
        line = AuditLine(time.time(), record, principal, peer).to_json()
        text = json.dumps(line, ensure_ascii=False)
        await asyncio.to_thread(self._append, text + "\n")
        fields = {k: line[k] for k in _LOGGED if k in line}
        log.info(
            "%s",
            " ".join(f"{k}={v}" for k, v in fields.items()),
            extra={"session_id": line.get("session_id"), **fields},
        )

    def _append(self, line: str) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                data = line.encode("utf-8")
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> list[AuditLine]:
        """All lines so far, oldest first (for tests and tools; blocking)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [AuditLine.from_json(json.loads(line)) for line in fh if line.strip()]


def output_digest(result: RunResult) -> str:
    """SHA-256 (hex) of the output as captured (what the user was shown, before summarising)."""
    return hashlib.sha256(result.output.encode("utf-8")).hexdigest()


def decision_record(
    *,
    session_id: str,
    request_id: str,
    step_id: str,
    words: str,
    command: str,
    decision: Decision,
) -> DecisionRecord:
    """The record of what the guard said about one extracted command (for its fleet node)."""
    match decision:
        case Allowed(approval):
            return DecisionRecord(
                session_id, request_id, step_id, words, command, "allowed", approval.rule,
                approval.argv, node=approval.node,
            )  # fmt: skip
        case NeedsConfirmation(approval, why):
            return DecisionRecord(
                session_id, request_id, step_id, words, command, "needs_confirmation",
                approval.rule, approval.argv, why, node=approval.node,
            )  # fmt: skip
        case Refused(_, reason, rule, node):
            return DecisionRecord(
                session_id, request_id, step_id, words, command, "refused", rule, reason=reason,
                node=node,
            )  # fmt: skip


def run_record(
    *,
    session_id: str,
    request_id: str,
    step_id: str,
    result: RunResult,
    confirmed: bool,
    node: str | None = None,
) -> RunRecord:
    """The record of one command run (``confirmed`` when a person approved it first) on fleet
    node ``node``."""
    return RunRecord(
        session_id=session_id,
        request_id=request_id,
        id=step_id,
        argv=result.argv,
        confirmed=confirmed,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        error=result.error,
        duration=result.duration,
        stdout_bytes=result.stdout_bytes,
        stderr_bytes=result.stderr_bytes,
        output_sha256=output_digest(result),
        node=node,
    )


def confirmation_records(
    *, session_id: str, outcome: Confirmed | Cancelled | Expired, via: str
) -> list[ConfirmationRecord]:
    """One record per step whose fate a confirmation, cancellation or expiry decides.

    A cancellation or expiry also decides the fate of each step held behind the pending one;
    their records name the pending id they waited for (``held_behind``).
    """
    steps: list[tuple[str, str | None]] = []
    kind: ConfirmationOutcome
    match outcome:
        case Confirmed(pending=entry):
            kind = "confirmed"
            steps = [(entry.step.id, None)]
        case Cancelled(fates=fates):
            kind = "cancelled"
            steps = [(fate.step.id, fate.behind) for fate in fates]
        case Expired(ids=ids, fates=fates):
            # ``ids`` also names pending steps that expired earlier (a late CONFIRM).
            kind = "expired"
            steps = [(pending_id, None) for pending_id in ids]
            steps += [(fate.step.id, fate.behind) for fate in fates if fate.behind is not None]
    return [ConfirmationRecord(session_id, step_id, kind, via, behind) for step_id, behind in steps]
