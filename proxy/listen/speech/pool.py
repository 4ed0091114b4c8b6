"""A pool of speech worker processes, so recognition for many sessions uses every core.

One :class:`~proxy.listen.speech.worker.SpeechWorker` runs every session it hosts on one core;
with Whisper at a real-time factor of ≈0.1 per talking session that is a handful of talkers
before the tap drops audio.  The pool starts ``size`` workers (default: one per core) and gives
each new session to the worker hosting the fewest; a session stays on its worker until it ends.
Each worker restarts itself when it dies, so the pool never shrinks for long.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.speech.wire import TranscriptBounds
from proxy.listen.speech.worker import SessionChannel, SessionSink, SpeechWorker


class SessionHost(Protocol):
    """Where a tap attaches its session: one worker or a pool of them."""

    def open(
        self, session_id: str, bounds: TranscriptBounds, sink: SessionSink
    ) -> SessionChannel | None:
        """Attach a session (non-blocking); ``None`` when nothing can take it."""

    def close(self) -> None:
        """Stop the worker process(es) and wait for them (the proxy's shutdown)."""


def default_size() -> int:
    """One worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


class SpeechPool:
    """``size`` speech workers; a new session goes to the one hosting the fewest sessions."""

    def __init__(self, settings: TapSettings = DEFAULT_SETTINGS, size: int = 0) -> None:
        """Start the workers without waiting for their models (see :meth:`load`)."""
        self.workers = tuple(SpeechWorker(settings) for _ in range(size or default_size()))

    @classmethod
    def load(cls, settings: TapSettings = DEFAULT_SETTINGS, size: int = 0) -> SpeechPool:
        """Start the workers (their models load in parallel) and wait for all of them.

        Raises :class:`~proxy.listen.speech.recognisers.RecogniserError` if any cannot load
        its models.
        """
        pool = cls(settings, size)
        try:
            for worker in pool.workers:
                worker.wait_ready()
        except BaseException:
            pool.close()
            raise
        return pool

    @classmethod
    def shared(cls, settings: TapSettings = DEFAULT_SETTINGS, size: int = 0) -> SpeechPool:
        """The process's pool for ``settings`` and ``size`` (started and loaded on first use)."""
        key = (settings, size or default_size())
        with _shared_lock:
            pool = _shared.get(key)
            if pool is None or not all(worker.running for worker in pool.workers):
                pool = _shared[key] = cls(settings, key[1])
        for worker in pool.workers:
            worker.wait_ready()
        return pool

    @property
    def load_seconds(self) -> float:
        """How long the slowest worker took to load its models."""
        return max(worker.load_seconds for worker in self.workers)

    @property
    def pids(self) -> list[int | None]:
        """The workers' process ids."""
        return [worker.pid for worker in self.workers]

    def open(
        self, session_id: str, bounds: TranscriptBounds, sink: SessionSink
    ) -> SessionChannel | None:
        """Attach a session to the least busy running worker; ``None`` when none runs."""
        for worker in sorted(self.workers, key=lambda w: w.hosting):
            channel = worker.open(session_id, bounds, sink)
            if channel is not None:
                return channel
        return None

    def close(self) -> None:
        """Stop every worker."""
        for worker in self.workers:
            worker.close()


_shared_lock = threading.Lock()
_shared: dict[tuple[TapSettings, int], SpeechPool] = {}
