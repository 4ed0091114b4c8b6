"""What happened in one session, and what exit code that deserves.

:class:`SessionSummary` is built by :class:`client.recorder.SessionRecorder`; times are seconds,
``wall_time`` since the client started connecting and ``audio_time`` on the audio clock (seconds
of audio sent so far, silence included).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from client.audio import SAMPLE_RATE, Pcm
from voiceops.records.base import RecordError
from voiceops.records.events import SessionEvent

#: Close codes that end a session normally: done (1000), going away (1001), no code given (1005).
NORMAL_CLOSE_CODES = frozenset({1000, 1001, 1005})

_CLOSE_NAMES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code",
    1006: "connection lost",
    1007: "invalid data",
    1008: "policy violation",
    1009: "message too big",
    1010: "extension required",
    1011: "server error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS failure",
}


class ExitCode(enum.IntEnum):
    """Exit status of ``python -m client``."""

    OK = 0
    #: The session ended abnormally: an error close code, no handshake, a timeout.
    SESSION_ERROR = 1
    #: Bad command line or input file, or a missing optional dependency.
    USAGE = 2
    #: No WebSocket: refused, unreachable, TLS failure, not a WebSocket server.
    CONNECT_FAILED = 3
    #: The server answered the upgrade with an HTTP error (e.g. 400 with a reason).
    REJECTED = 4
    #: The server answered 401 or 403.
    AUTH_FAILED = 5


def close_name(code: int) -> str:
    """A short name for a WebSocket close code."""
    return _CLOSE_NAMES.get(code, "application code" if code >= 3000 else "unknown code")


@dataclass(frozen=True, slots=True)
class TextEvent:
    """One ``0x02`` message received after the handshake (model words or a proxy line)."""

    text: str
    audio_time: float
    wall_time: float


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One ``0x04`` JSON object received from the server."""

    data: dict[str, object]
    audio_time: float
    wall_time: float

    @property
    def record(self) -> SessionEvent | None:
        """The event as the proxy's typed record (``None``: not one of the proxy's events)."""
        try:
            return SessionEvent.from_json(self.data)
        except RecordError:
            return None


@dataclass(frozen=True, slots=True)
class SentControl:
    """One control frame this client sent; ``automatic`` for ``confirm_when_asked`` replies."""

    action: str
    payload: str
    audio_time: float
    wall_time: float
    automatic: bool = False


@dataclass(frozen=True)
class SessionSummary:
    """The outcome of a session.

    ``text`` is every ``0x02`` received after the handshake joined as the UI shows it (the model's
    words and the proxy's injected lines); ``texts`` has them one by one with their times.
    ``notices`` are the ``0x02`` messages received before the handshake (queue position).
    ``handshake_latency`` is from the WebSocket upgrade to the ``0x00`` (``None``: never came).
    ``failure`` says why the client gave up (a timeout), if it did.
    """

    url: str
    connected: bool = False
    connect_seconds: float | None = None
    handshake_latency: float | None = None
    pages_sent: int = 0
    audio_seconds_sent: float = 0.0
    pages_received: int = 0
    reply_pcm: Pcm = field(default_factory=lambda: np.zeros(0, np.float32), compare=False)
    texts: tuple[TextEvent, ...] = ()
    notices: tuple[str, ...] = ()
    events: tuple[EventRecord, ...] = ()
    errors: tuple[str, ...] = ()
    controls_sent: tuple[SentControl, ...] = ()
    invalid_messages: int = 0
    close_code: int | None = None
    close_reason: str = ""
    closed_by: Literal["client", "server"] | None = None
    failure: str | None = None
    duration: float = 0.0

    @property
    def text(self) -> str:
        """All text received after the handshake, joined as the UI displays it."""
        return "".join(t.text for t in self.texts)

    @property
    def reply_seconds(self) -> float:
        """Length of the decoded reply audio."""
        return len(self.reply_pcm) / SAMPLE_RATE

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable dictionary (without the reply samples) for ``--json``."""
        return {
            "url": self.url,
            "connected": self.connected,
            "connect_seconds": self.connect_seconds,
            "handshake_latency": self.handshake_latency,
            "pages_sent": self.pages_sent,
            "audio_seconds_sent": round(self.audio_seconds_sent, 3),
            "pages_received": self.pages_received,
            "reply_seconds": round(self.reply_seconds, 3),
            "text": self.text,
            "texts": [
                {"text": t.text, "audio_time": t.audio_time, "wall_time": t.wall_time}
                for t in self.texts
            ],
            "notices": list(self.notices),
            "events": [
                {"data": e.data, "audio_time": e.audio_time, "wall_time": e.wall_time}
                for e in self.events
            ],
            "errors": list(self.errors),
            "controls_sent": [
                {
                    "action": c.action,
                    "payload": c.payload,
                    "audio_time": c.audio_time,
                    "wall_time": c.wall_time,
                    "automatic": c.automatic,
                }
                for c in self.controls_sent
            ],
            "invalid_messages": self.invalid_messages,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "closed_by": self.closed_by,
            "failure": self.failure,
            "duration": round(self.duration, 3),
            "exit_code": int(exit_code(self)),
        }


def exit_code(summary: SessionSummary) -> ExitCode:
    """``OK`` only for a session that got its handshake and ended with a normal close."""
    if summary.failure is not None or summary.handshake_latency is None:
        return ExitCode.SESSION_ERROR
    if summary.close_code is None or summary.close_code not in NORMAL_CLOSE_CODES:
        return ExitCode.SESSION_ERROR
    return ExitCode.OK
