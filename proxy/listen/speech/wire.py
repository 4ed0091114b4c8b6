"""The speech worker's wire format: typed messages between the proxy and the worker process.

Both directions are :mod:`multiprocessing` connections (pickles in length-prefixed frames).  The
proxy writes requests itself, with one non-blocking ``os.write`` per frame (see
:func:`frame`), so the frame layout here must stay the one
:meth:`multiprocessing.connection.Connection.recv_bytes` reads: a 4-byte big-endian signed length,
then the body.  A test round-trips frames through a real pipe and ``Connection.recv``.
"""

from __future__ import annotations

import enum
import pickle
import select
import struct
from dataclasses import dataclass
from typing import Final, NamedTuple

from proxy.listen.speech.events import TapEvent
from proxy.listen.speech.pipeline import PipelineStats
from proxy.listen.speech.settings import TapSettings

#: Largest frame a non-blocking pipe write takes whole or not at all (POSIX PIPE_BUF on Linux).
ATOMIC_BYTES: Final = select.PIPE_BUF


class Op(enum.IntEnum):
    """What a request asks of the worker."""

    #: Start hosting a session (payload: :class:`Opening`).
    OPEN = 0
    #: A browser → upstream message to hear (payload: the raw bytes).
    CLIENT = 1
    #: An upstream → browser message to hear (payload: the raw bytes).
    SERVER = 2
    #: The session ended: flush its last utterance, then forget it.
    CLOSE = 3
    #: Stop the worker process.
    SHUTDOWN = 4
    #: Cut the open utterance and transcribe it now (EXECUTE was pressed).
    SETTLE = 5
    #: The proxy starts speaking for ``payload`` seconds (echo safety).
    SPEAKING = 6
    #: The tap dropped audio pages here (payload: :class:`Gap`).
    GAP = 7


@dataclass(frozen=True, slots=True)
class TranscriptBounds:
    """The bounds of a session's transcript (the worker keeps its own copy for triggers)."""

    max_turns: int
    max_chars: int
    max_turn_chars: int

    @classmethod
    def of(cls, settings: TapSettings) -> TranscriptBounds:
        """The bounds ``settings`` ask for."""
        return cls(settings.max_turns, settings.max_chars, settings.max_turn_chars)


class Opening(NamedTuple):
    """The payload of an OPEN request."""

    session_id: str
    bounds: TranscriptBounds


class Gap(NamedTuple):
    """The payload of a GAP request: audio pages the tap dropped since the last message sent."""

    client_pages: int
    server_pages: int


class Request(NamedTuple):
    """Proxy → worker: ``op`` for the session ``key`` (payload depends on ``op``)."""

    op: Op
    key: int
    payload: object = None


class Reply(NamedTuple):
    """Worker → proxy: what the session ``key`` produced since its last reply."""

    key: int
    events: list[TapEvent]
    #: CLIENT/SERVER messages done (the proxy's in-flight bound counts them down).
    processed: int
    stats: PipelineStats | None
    #: The session is finished; nothing more comes for ``key``.
    closed: bool
    #: SETTLE requests answered, in order.
    settled: int


class Ready(NamedTuple):
    """Worker → proxy, first message: the models are loaded."""

    load_seconds: float


class LoadFailed(NamedTuple):
    """Worker → proxy, first and last message: the models could not be loaded."""

    error: str


def frame(request: Request) -> bytes:
    """``request`` as one frame, exactly as a :mod:`multiprocessing` connection would send it."""
    body = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
    return struct.pack("!i", len(body)) + body
