"""Append-only audit log: one JSON line per guard decision, confirmation and command run.

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

log = logging.getLogger("proxy.actions.audit")
#: Record fields repeated in the log (never the words heard or any command output).
_LOGGED = (
    "type", "request_id", "id", "decision", "rule", "argv", "reason", "outcome", "via",
    "action", "exit_code", "timed_out", "error", "duration", "confirmed", "principal", "peer",
)  # fmt: skip


class AuditLog:
    """Appends JSON records to ``path`` (created with its parent directory, mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Writes from several sessions run in different worker threads; one line must never be
        # interleaved with another.
        self._lock = threading.Lock()

    async def write(self, record: dict[str, object]) -> None:
        """Append ``record`` (plus a ``time`` field) and return once it is on disk."""
        line = json.dumps({"time": time.time(), **record}, ensure_ascii=False, default=str)
        await asyncio.to_thread(self._append, line + "\n")
        fields = {k: record[k] for k in _LOGGED if k in record}
        log.info(
            "%s",
            " ".join(f"{k}={v}" for k, v in fields.items()),
            extra={"session_id": record.get("session_id"), **fields},
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

    def read(self) -> list[dict[str, object]]:
        """All records so far, oldest first (for tests and tools; blocking)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


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
) -> dict[str, object]:
    """The record of what the guard said about one extracted command."""
    record: dict[str, object] = {
        "type": "decision",
        "session_id": session_id,
        "request_id": request_id,
        "id": step_id,
        "words": words,
        "command": command,
    }
    match decision:
        case Allowed(approval):
            record |= {"decision": "allowed", "rule": approval.rule, "argv": list(approval.argv)}
        case NeedsConfirmation(approval, why):
            record |= {
                "decision": "needs_confirmation",
                "rule": approval.rule,
                "argv": list(approval.argv),
                "reason": why,
            }
        case Refused(_, reason, rule):
            record |= {"decision": "refused", "rule": rule, "reason": reason}
    return record


def run_record(
    *, session_id: str, request_id: str, step_id: str, result: RunResult, confirmed: bool
) -> dict[str, object]:
    """The record of one command run (``confirmed`` when a person approved it first)."""
    return {
        "type": "run",
        "session_id": session_id,
        "request_id": request_id,
        "id": step_id,
        "argv": list(result.argv),
        "confirmed": confirmed,
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "error": result.error,
        "duration": round(result.duration, 6),
        "stdout_bytes": result.stdout_bytes,
        "stderr_bytes": result.stderr_bytes,
        "output_sha256": output_digest(result),
    }


def confirmation_records(
    *, session_id: str, outcome: Confirmed | Cancelled | Expired, via: str
) -> list[dict[str, object]]:
    """One record per step whose fate a confirmation, cancellation or expiry decides.

    A cancellation or expiry also decides the fate of each step held behind the pending one;
    their records name the pending id they waited for (``held_behind``).
    """
    steps: list[tuple[str, str | None]] = []
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
    records = []
    for step_id, behind in steps:
        record: dict[str, object] = {
            "type": "confirmation",
            "session_id": session_id,
            "id": step_id,
            "outcome": kind,
            "via": via,
        }
        if behind is not None:
            record["held_behind"] = behind
        records.append(record)
    return records
