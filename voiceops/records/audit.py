"""The lines of the append-only audit log (``data/audit.jsonl``), one JSON object each.

Each line is an :class:`AuditLine`: ``{"time": …, "type": KIND, …the record's fields,
"principal"?, "peer"?}``.  The kinds:

``decision``      what the guard said about one extracted command (and the words it came from);
``run``           one command run: exit status, sizes and the SHA-256 of its output (never the
                  output itself, which may hold secrets);
``confirmation``  a pending command confirmed, cancelled or expired (``held_behind`` for a
                  command dropped with the one it waited for);
``request``       a request refused before anything was extracted (execution switched off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

from voiceops.records.base import Kinded, Record, RecordError, optional, rounded
from voiceops.records.commands import UserActionName

DecisionName = Literal["allowed", "needs_confirmation", "refused"]
ConfirmationOutcome = Literal["confirmed", "cancelled", "expired"]


class AuditRecord(Kinded):
    """Base of the audit records; ``kind`` is the line's ``type``."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class DecisionRecord(AuditRecord):
    """The guard's decision about one extracted command (``argv`` unless refused)."""

    kind: ClassVar[str] = "decision"
    session_id: str
    request_id: str
    id: str
    words: str
    command: str
    decision: DecisionName
    rule: str
    argv: tuple[str, ...] | None = optional()
    reason: str | None = optional()
    #: The fleet node it was checked for (its own policy applied); left out without a fleet.
    node: str | None = optional()


@dataclass(frozen=True, slots=True)
class RunRecord(AuditRecord):
    """One command run; ``confirmed`` when a person approved it first."""

    kind: ClassVar[str] = "run"
    session_id: str
    request_id: str
    id: str
    argv: tuple[str, ...]
    confirmed: bool
    exit_code: int | None
    timed_out: bool
    error: str | None
    duration: float = field(metadata=rounded(6))
    stdout_bytes: int
    stderr_bytes: int
    output_sha256: str
    #: The fleet node it ran on; left out without a fleet.
    node: str | None = optional()


@dataclass(frozen=True, slots=True)
class ConfirmationRecord(AuditRecord):
    """A pending command's fate decided by a person or the clock (``via``: who decided)."""

    kind: ClassVar[str] = "confirmation"
    session_id: str
    id: str
    outcome: ConfirmationOutcome
    via: str
    held_behind: str | None = optional()


@dataclass(frozen=True, slots=True)
class RequestRecord(AuditRecord):
    """A user action refused before anything was extracted."""

    kind: ClassVar[str] = "request"
    session_id: str
    outcome: Literal["refused"]
    action: UserActionName
    via: str
    reason: str


@dataclass(frozen=True, slots=True)
class AuditLine(Record):
    """One line of the log: when, the record, and who acted (when the session knows it)."""

    time: float
    record: AuditRecord
    principal: str | None = None
    peer: str | None = None

    def to_json(self) -> dict[str, object]:
        """``{"time", "type", …the record's fields, "principal"?, "peer"?}``."""
        actor = {"principal": self.principal, "peer": self.peer}
        line: dict[str, object] = {"time": self.time, "type": self.record.kind}
        line |= self.record.to_json()
        return line | {key: value for key, value in actor.items() if value is not None}

    @classmethod
    def from_json(cls, data: object) -> Self:
        """The line ``data`` holds; :class:`RecordError` for an unknown ``type`` or a bad field."""
        if not isinstance(data, dict):
            raise RecordError("an audit line must be a JSON object")
        kind = AuditRecord.named(data.get("type"))
        when, principal, peer = data.get("time"), data.get("principal"), data.get("peer")
        if not isinstance(when, int | float) or isinstance(when, bool):
            raise RecordError('"time" must be a number')
        if not all(isinstance(v, str | None) for v in (principal, peer)):
            raise RecordError('"principal" and "peer" must be strings')
        return cls(float(when), kind.from_json(data), principal, peer)
