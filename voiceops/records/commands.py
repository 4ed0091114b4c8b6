"""What happened to each command, as the HTTP API, ``0x04`` events and the history report it.

:class:`CommandResult` is one command's fate; :class:`ActionReport` answers one user action;
:class:`PendingCommand` is one command waiting for a person; :class:`HistoryEntry` is one line of
a session's history (``GET /api/sessions/{id}/actions``, the status page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voiceops.records.base import FLATTENED, Record, flag, optional

CommandStatus = Literal[
    "executed", "blocked", "needs_confirmation", "held", "failed", "cancelled", "expired"
]
ReportOutcome = Literal[
    "done",
    "nothing_to_run",
    "busy",
    "refused",
    "failed",
    "invalid",
    "not_pending",
    "unnamed",
    "expired",
    "cancelled",
]
UserActionName = Literal["execute", "confirm", "cancel"]


@dataclass(frozen=True, slots=True)
class CommandResult(Record):
    """What happened to one extracted command; fields that do not apply are left out."""

    id: str
    command: str
    status: CommandStatus
    argv: tuple[str, ...] | None = optional()
    reason: str | None = optional()
    rule: str | None = optional()
    exit_code: int | None = optional()
    output: str | None = optional()
    duration: float | None = optional(digits=4)
    timed_out: bool = flag()
    truncated: bool = flag()
    #: The fleet node it ran (or was to run) on; left out without a fleet.
    node: str | None = optional()
    #: What to say to confirm it aloud ("confirm restart"), when it needs confirmation.
    say: str | None = optional()


@dataclass(frozen=True, slots=True)
class ActionReport(Record):
    """The answer to one user action (the HTTP API's response body): what was said to the
    user and each command's result, in the agreed order."""

    session_id: str
    action: UserActionName
    outcome: ReportOutcome
    message: str
    request_id: str | None = None
    results: tuple[CommandResult, ...] = ()


@dataclass(frozen=True, slots=True)
class HeldCommand(Record):
    """A command waiting behind a pending one."""

    id: str
    command: str


@dataclass(frozen=True, slots=True)
class PendingCommand(Record):
    """A command awaiting confirmation, with the commands held behind it."""

    id: str
    request_id: str
    command: str
    argv: tuple[str, ...]
    #: Seconds left to confirm, when the record was made.
    expires_in: float
    held: tuple[HeldCommand, ...] = ()
    #: The fleet node it is to run on; left out without a fleet.
    node: str | None = optional()
    #: What to say to confirm it aloud ("confirm restart").
    say: str | None = optional()


@dataclass(frozen=True, slots=True)
class HistoryEntry(Record):
    """One command result in a session's history (its fields beside ``request_id``/``time``)."""

    request_id: str
    #: Wall-clock time (Unix seconds) the result was recorded.
    time: float
    result: CommandResult = field(metadata=FLATTENED)
