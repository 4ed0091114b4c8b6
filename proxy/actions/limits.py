"""How much running one session, one principal and everyone together may ask for.

Checked just before a command runs, after the guard and any confirmation: a refusal is the run's
result (``failed`` with the reason), so the user hears why and can try again later.  Sliding
one-minute windows per session and per principal; a cap on commands running at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 60.0
#: Keys remembered per window kind; the least recently used are forgotten beyond this.
MAX_KEYS = 10_000


@dataclass
class ExecLimiter:
    """Admits a run or says why not; call :meth:`finish` when an admitted run ends."""

    per_session: int = 10
    per_principal: int = 30
    concurrent: int = 4
    clock: Callable[[], float] = time.monotonic
    running: int = 0
    _sessions: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _principals: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def start(self, session_id: str, principal: str) -> str | None:
        """Admit one run (counted at once) or return the refusal a person reads."""
        now = self.clock()
        session = _window(self._sessions, session_id, now)
        mine = _window(self._principals, principal, now)
        if self.running >= self.concurrent:
            return f"{self.running} commands are already running on this server; try again shortly"
        if len(session) >= self.per_session:
            return f"this session ran {self.per_session} commands in the last minute; wait a moment"
        if len(mine) >= self.per_principal:
            return f"you ran {self.per_principal} commands in the last minute; wait a moment"
        session.append(now)
        mine.append(now)
        self.running += 1
        return None

    def finish(self) -> None:
        """An admitted run ended."""
        self.running = max(0, self.running - 1)


def _window(table: OrderedDict[str, deque[float]], key: str, now: float) -> deque[float]:
    times = table.setdefault(key, deque())
    table.move_to_end(key)
    while times and times[0] <= now - WINDOW_S:
        times.popleft()
    while len(table) > MAX_KEYS:
        table.popitem(last=False)
    return times
