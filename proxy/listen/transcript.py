"""The session transcript: turns in (user turns from the recogniser, assistant turns from 0x02
text), ordered bounded turns out.

Thread-safety: one :class:`Transcript` is written by the tap's worker thread and read on the
event loop (the HTTP API, the action flow).  Every method takes an internal lock and returns
immutable snapshots (tuples of frozen :class:`~extraction.model.Turn`), so readers never see a
half-updated list and never hold the lock while they work.

Order: turns are kept in the order they *ended* (a turn is added when it is complete), which for
a conversation is the order its parts were finished.  Each added turn gets a sequence number;
:meth:`Transcript.mark` / :meth:`Transcript.since` use it to hand out "the turns after the last
execution" even after old turns were dropped to stay within the bounds.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from extraction.model import MAX_TURN_CHARS, MAX_TURNS, Speaker, Turn
from voiceops.records.api import SessionTranscript, TranscriptTurn

#: Default total characters of turn text kept per session (oldest turns dropped first).
DEFAULT_MAX_CHARS = 20_000


class Transcript:
    """Ordered, bounded turns of one session; the worker adds, anyone reads (thread-safe)."""

    def __init__(
        self,
        max_turns: int = MAX_TURNS,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_turn_chars: int = MAX_TURN_CHARS,
    ) -> None:
        if max_turns < 1 or max_chars < 1 or max_turn_chars < 1:
            raise ValueError("transcript limits must be positive")
        self.max_turns = max_turns
        self.max_chars = max_chars
        self.max_turn_chars = max_turn_chars
        self._lock = threading.Lock()
        self._turns: deque[tuple[int, Turn]] = deque()
        self._chars = 0
        self._next_seq = 0
        self._dropped = 0

    def add(self, turn: Turn) -> int | None:
        """Append a finished turn; returns its sequence number (``None`` for empty text)."""
        text = " ".join(turn.text.split())
        if not text:
            return None
        if len(text) > self.max_turn_chars:
            # Keep the end: the words just before a trigger matter most.
            text = text[-self.max_turn_chars :]
        turn = Turn(turn.speaker, text, turn.start, turn.end)
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            self._turns.append((seq, turn))
            self._chars += len(text)
            while len(self._turns) > self.max_turns or (
                self._chars > self.max_chars and len(self._turns) > 1
            ):
                _, old = self._turns.popleft()
                self._chars -= len(old.text)
                self._dropped += 1
            return seq

    def turns(self) -> tuple[Turn, ...]:
        """All kept turns, oldest first."""
        with self._lock:
            return tuple(t for _, t in self._turns)

    def mark(self) -> int:
        """A mark for "now": :meth:`since` with it returns only turns added afterwards."""
        with self._lock:
            return self._next_seq

    def since(self, mark: int) -> tuple[Turn, ...]:
        """Kept turns added at or after ``mark`` (from :meth:`mark`), oldest first."""
        with self._lock:
            return tuple(t for seq, t in self._turns if seq >= mark)

    @property
    def dropped(self) -> int:
        """Turns dropped to stay within the bounds."""
        with self._lock:
            return self._dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)

    def to_record(self, session_id: str, started: float, ended: float | None) -> SessionTranscript:
        """The kept turns as ``GET /api/sessions/{id}/transcript`` answers, for a session that
        ``started`` (and ``ended``) at these wall-clock times."""
        with self._lock:
            turns = tuple(
                TranscriptTurn(seq, t.speaker, t.text, t.start, t.end) for seq, t in self._turns
            )
            return SessionTranscript(
                session_id, started, ended, turns, self._dropped, self._next_seq
            )


@dataclass(slots=True)
class _OpenTurn:
    pieces: list[str]
    start: float
    last: float


class AssistantAssembler:
    """0x02 text pieces in (with the server audio clock), finished assistant turns out.

    A turn closes when no piece arrived for ``gap_s`` seconds of server audio, or when
    :meth:`flush` is called (a user turn is about to be added, or the session ends).  Pieces are
    joined as-is: PersonaPlex pieces already carry their leading spaces.
    """

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self._open: _OpenTurn | None = None

    def piece(self, text: str, at: float) -> Turn | None:
        """Add a piece heard at server time ``at``; returns the turn a long gap closed, if any."""
        closed = self.tick(at)
        if self._open is None:
            self._open = _OpenTurn([text], at, at)
        else:
            self._open.pieces.append(text)
            self._open.last = at
        return closed

    def tick(self, now: float) -> Turn | None:
        """Advance the server clock; returns the open turn if the silence gap closed it."""
        if self._open is not None and now - self._open.last >= self.gap_s:
            return self.flush()
        return None

    def flush(self) -> Turn | None:
        """Close the open turn now (``None`` when there is none or it holds only spaces)."""
        open_turn, self._open = self._open, None
        if open_turn is None:
            return None
        text = "".join(open_turn.pieces).strip()
        if not text:
            return None
        speaker: Speaker = "assistant"
        return Turn(speaker, text, open_turn.start, open_turn.last)
