"""The HTTP API's other bodies: health, readiness, errors, sessions and their transcripts.

Answers about commands (:class:`~voiceops.records.commands.ActionReport` …) live in
:mod:`voiceops.records.commands`, shared with the ``0x04`` events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voiceops.records.base import Record, optional, rounded
from voiceops.records.commands import HistoryEntry, PendingCommand


@dataclass(frozen=True, slots=True)
class ApiError(Record):
    """Every refusal's body: what is wrong, for a person."""

    error: str


@dataclass(frozen=True, slots=True)
class Health(Record):
    """``GET /health``: the process serves."""

    status: Literal["ok"] = "ok"


@dataclass(frozen=True, slots=True)
class Readiness(Record):
    """``GET /ready``: how many upstreams accept connections (never which), and the lines."""

    status: Literal["ready", "unavailable", "draining"]
    reason: str | None = optional()
    upstreams: int | None = optional()
    upstreams_ok: int | None = optional()
    active: int | None = optional()
    waiting: int | None = optional()


@dataclass(frozen=True, slots=True)
class SessionListing(Record):
    """One conversation in ``GET /api/sessions``."""

    id: str
    started: float = field(metadata=rounded(3))
    ended: float | None = field(default=None, metadata=rounded(3))
    #: How many turns its transcript holds.
    turns: int = 0


@dataclass(frozen=True, slots=True)
class SessionList(Record):
    """``GET /api/sessions``: the caller's conversations, oldest first."""

    sessions: tuple[SessionListing, ...]


@dataclass(frozen=True, slots=True)
class TranscriptTurn(Record):
    """One turn of a transcript; ``seq`` numbers turns across the whole conversation."""

    seq: int
    speaker: Literal["user", "assistant"]
    text: str
    start: float = field(metadata=rounded(3))
    end: float = field(metadata=rounded(3))


@dataclass(frozen=True, slots=True)
class SessionTranscript(Record):
    """``GET /api/sessions/{id}/transcript``: the kept turns, how many were dropped for space,
    and the ``seq`` the next turn will get."""

    id: str
    started: float = field(metadata=rounded(3))
    ended: float | None = field(default=None, metadata=rounded(3))
    turns: tuple[TranscriptTurn, ...] = ()
    dropped: int = 0
    next: int = 0


@dataclass(frozen=True, slots=True)
class SessionActions(Record):
    """``GET /api/sessions/{id}/actions``: the machine's state, what waits for confirmation and
    the results so far."""

    session_id: str
    state: str
    pending: tuple[PendingCommand, ...]
    actions: tuple[HistoryEntry, ...]


@dataclass(frozen=True, slots=True)
class NodeState(Record):
    """One fleet node as the proxy knows it: from the fleet file, the gateway, or both."""

    name: str
    connected: bool
    #: Named in the fleet file (else only reported by the gateway).
    configured: bool
    groups: tuple[str, ...] = ()
    #: ``system.run`` approved on the node (OpenClaw pairing); a node without it cannot run.
    can_run: bool = False
    #: Wall-clock seconds the gateway last saw it (``None``: never).
    last_seen: float | None = None


@dataclass(frozen=True, slots=True)
class NodeGroup(Record):
    """A group of the fleet file and its nodes."""

    name: str
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeList(Record):
    """``GET /api/nodes``: every node of the fleet file and every node the gateway reported,
    connected or not; ``error`` says why the gateway could not be asked."""

    nodes: tuple[NodeState, ...]
    groups: tuple[NodeGroup, ...] = ()
    default: str | None = optional()
    error: str | None = optional()
