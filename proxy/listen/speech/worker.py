"""The speech worker process: every session's :class:`SpeechPipeline` runs outside the proxy.

Decoding, keyphrase spotting, the VAD and Whisper hold the GIL for milliseconds per page; in a
thread of the proxy they delayed the relay's event loop (paced p99 0.47 → 6.2 ms).  So the models
load once, in one long-lived child process (start method ``spawn``: the proxy has threads and an
event loop, a plain fork of it is unsafe), and that process hosts one pipeline per session.

Wire (all local, pickled by :mod:`multiprocessing`; the messages are in
:mod:`proxy.listen.speech.wire`, the worker's side in :mod:`proxy.listen.speech.host`)::

    proxy ── requests: one-way Pipe ──▶ worker     Request(op, key, payload)
    proxy ◀── replies:  one-way Pipe ─── worker     Ready | LoadFailed, then Reply(key, events, …)

Requests are written straight from the event loop thread with a non-blocking ``os.write`` of one
framed pickle (no feeder thread to wake and hand the GIL to in the middle of a relay step).
Frames up to ``PIPE_BUF`` bytes are written whole or not at all; a full pipe means the worker is
behind, and the message is dropped and counted like any other overflow.

Sessions are multiplexed by an integer ``key`` the proxy hands out.  ``processed`` acknowledges
messages, so the proxy can bound what each session has in flight
(:class:`proxy.listen.tap.Tap` drops and counts beyond ``queue_messages``).  One reader thread
in the proxy receives the replies and passes them to each session's :class:`SessionSink` (which
moves them onto its event loop).

Lifetime: the child ignores SIGINT and SIGTERM (a terminal's Ctrl-C reaches its whole process
group): the proxy stops it with a SHUTDOWN request in its own orderly shutdown
(:meth:`SpeechWorker.close`, at the latest at exit) and waits for it.  It also exits by itself
when the proxy dies.  If it crashes, the proxy logs it loudly, the sessions it hosted go on
without speech, and a new worker is started for the sessions that come after (never once
:meth:`SpeechWorker.close` was called).
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import fcntl
import itertools
import logging
import multiprocessing
import os
import select
import threading
import time
import weakref
from collections import deque
from multiprocessing.process import BaseProcess
from typing import Final, Protocol

from proxy.listen.speech.events import TapEvent
from proxy.listen.speech.host import serve, stop_signals_blocked
from proxy.listen.speech.pipeline import PipelineStats
from proxy.listen.speech.recognisers import RecogniserError
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.speech.wire import (
    ATOMIC_BYTES,
    Gap,
    LoadFailed,
    Op,
    Opening,
    Ready,
    Reply,
    Request,
    TranscriptBounds,
    frame,
)

log = logging.getLogger(__name__)

#: A worker that crashes this often within :data:`_RESTART_WINDOW_S` is not restarted again.
_MAX_RESTARTS: Final = 3
_RESTART_WINDOW_S: Final = 60.0
#: How long :meth:`SpeechWorker.close` lets the worker finish before terminating it.
_SHUTDOWN_GRACE_S: Final = 5.0

#: Linux's fcntl to resize a pipe, and the size asked for the request pipe.
_F_SETPIPE_SZ: Final = 1031
_PIPE_BYTES: Final = 1 << 20


class SessionSink(Protocol):
    """The proxy side of one session; both methods are called on the worker's reader thread."""

    def worker_replied(
        self,
        events: list[TapEvent],
        processed: int,
        stats: PipelineStats | None,
        closed: bool,
        settled: int,
    ) -> None:
        """``processed`` more messages are done; ``events`` came of them; ``closed``: finished;
        ``settled``: how many SETTLE requests were answered (in order)."""

    def worker_lost(self) -> None:
        """The worker process is gone; nothing more will come for this session."""


class _Generation:
    """One worker process, its two pipes and the sessions it hosts."""

    def __init__(self, settings: TapSettings, number: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.number = number
        request_reader, self.requests = ctx.Pipe(duplex=False)
        self.replies, reply_writer = ctx.Pipe(duplex=False)
        self.process: BaseProcess = ctx.Process(
            target=serve,
            args=(
                settings,
                request_reader,
                reply_writer,
                logging.getLogger("proxy").getEffectiveLevel(),
            ),
            name=f"speech-worker-{number}",
            daemon=True,
        )
        with stop_signals_blocked():
            self.process.start()
        # Only the child may hold these ends: then its death reads as EOF (replies) and EPIPE
        # (requests) here.
        reply_writer.close()
        request_reader.close()
        os.set_blocking(self.requests.fileno(), False)
        with contextlib.suppress(OSError):  # room for bursts; the default 64 KiB also works
            fcntl.fcntl(self.requests.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        self.sessions: dict[int, SessionSink] = {}
        self.alive = True
        self.ready = threading.Event()
        self.load_seconds = 0.0
        self.error: str | None = None

    def write(self, request: Request, *, wait: bool = False) -> _Sent:
        """One framed request into the pipe, whole or not at all; never blocks unless ``wait``."""
        data = frame(request)
        if len(data) > ATOMIC_BYTES:
            return _Sent.FULL  # could be written in pieces and interleave: treated as overflow
        while self.alive:
            try:
                os.write(self.requests.fileno(), data)
            except BlockingIOError:
                if not wait:
                    return _Sent.FULL
                select.select([], [self.requests.fileno()], [], 1.0)
            except (OSError, ValueError):  # EPIPE: the worker is gone; closed: so are we
                return _Sent.GONE
            else:
                return _Sent.OK
        return _Sent.GONE


class _Sent(enum.Enum):
    OK = "ok"
    FULL = "full"
    GONE = "gone"


class SessionChannel:
    """Requests of one session to the worker; every method is non-blocking and never raises."""

    def __init__(self, generation: _Generation, key: int) -> None:
        self._generation = generation
        self._key = key

    def send(self, op: Op, data: bytes) -> bool:
        """Queue a CLIENT or SERVER message; ``False`` when the worker is gone."""
        return self._put(Request(op, self._key, data))

    def settle(self) -> bool:
        """Ask for the open utterance to be cut and transcribed now; ``False`` if not sent."""
        return self._put(Request(Op.SETTLE, self._key))

    def speaking(self, seconds: float) -> bool:
        """The proxy starts ``seconds`` of its own speech now (echo safety); ``False``: not sent."""
        return self._put(Request(Op.SPEAKING, self._key, seconds))

    def gap(self, client_pages: int, server_pages: int) -> bool:
        """Audio pages were dropped here (the clocks must move on); ``False``: not sent."""
        return self._put(Request(Op.GAP, self._key, Gap(client_pages, server_pages)))

    def close(self) -> bool:
        """Ask for the session's end (flush the last utterance); ``False`` if not sent now."""
        return self._put(Request(Op.CLOSE, self._key))

    def close_waiting(self) -> bool:
        """:meth:`close`, waiting (blocking) for room in the pipe; ``False`` if the worker died."""
        return self._generation.write(Request(Op.CLOSE, self._key), wait=True) is _Sent.OK

    def _put(self, request: Request) -> bool:
        return self._generation.write(request) is _Sent.OK


class SpeechWorker:
    """Handle to the speech worker process (models loaded there once, one pipeline per session).

    :meth:`load` starts it and waits until its models are loaded (raises
    :class:`RecogniserError` if they cannot be); :meth:`shared` keeps one per settings value for
    the process.  :meth:`open` attaches a session; :meth:`close` stops the worker.
    """

    def __init__(self, settings: TapSettings = DEFAULT_SETTINGS) -> None:
        """Start the worker process without waiting for its models (see :meth:`wait_ready`)."""
        self.settings = settings
        self._lock = threading.Lock()
        self._keys = itertools.count()
        self._closed = False
        self._restarts: deque[float] = deque(maxlen=_MAX_RESTARTS)
        self._numbers = itertools.count(1)
        self._current: _Generation | None = _Generation(settings, next(self._numbers))
        self._first = self._current
        self._reader = threading.Thread(target=self._supervise, name="speech-replies", daemon=True)
        self._reader.start()
        _live.add(self)

    @classmethod
    def load(cls, settings: TapSettings = DEFAULT_SETTINGS) -> SpeechWorker:
        """Start a worker and wait for its models; raises :class:`RecogniserError` on failure."""
        worker = cls(settings)
        try:
            worker.wait_ready()
        except BaseException:
            worker.close()
            raise
        return worker

    @classmethod
    def shared(cls, settings: TapSettings = DEFAULT_SETTINGS) -> SpeechWorker:
        """The process's worker for ``settings`` (started and loaded on first use)."""
        with _shared_lock:
            worker = _shared.get(settings)
            if worker is None or not worker.running:
                worker = _shared[settings] = cls(settings)
        worker.wait_ready()
        return worker

    def wait_ready(self) -> None:
        """Block until the first worker loaded its models; :class:`RecogniserError` if it failed."""
        gen = self._first
        gen.ready.wait()
        if gen.error is not None:
            raise RecogniserError(gen.error)

    @property
    def load_seconds(self) -> float:
        """How long the worker took to load its models."""
        return self._first.load_seconds

    @property
    def pid(self) -> int | None:
        """The current worker process's id (``None`` when there is none)."""
        with self._lock:
            gen = self._current
        return gen.process.pid if gen is not None and gen.alive else None

    @property
    def hosting(self) -> int:
        """How many sessions are attached now (the pool gives new ones to the least busy)."""
        with self._lock:
            gen = self._current
            return len(gen.sessions) if gen is not None else 0

    @property
    def running(self) -> bool:
        """Whether a worker process is up (or starting) to take new sessions."""
        with self._lock:
            return not self._closed and self._current is not None and self._current.alive

    def open(
        self, session_id: str, bounds: TranscriptBounds, sink: SessionSink
    ) -> SessionChannel | None:
        """Attach a session (non-blocking); ``None`` when no worker can take it."""
        with self._lock:
            gen = self._current
            if self._closed or gen is None or not gen.alive:
                return None
            key = next(self._keys)
            gen.sessions[key] = sink
            channel = SessionChannel(gen, key)
            if not channel._put(Request(Op.OPEN, key, Opening(session_id, bounds))):
                del gen.sessions[key]
                return None
        return channel

    def close(self) -> None:
        """Stop the worker (its sessions are told it is gone) and wait for it to exit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            gen = self._current
        if gen is not None:
            gen.write(Request(Op.SHUTDOWN, -1))  # a full pipe: the kill below will do
            gen.process.join(_SHUTDOWN_GRACE_S)
            if gen.process.is_alive():
                gen.process.kill()
                gen.process.join()
        if self._reader is not threading.current_thread():
            self._reader.join()

    # -- the reader thread -------------------------------------------------------------------

    def _supervise(self) -> None:
        gen = self._current
        while gen is not None:
            self._read(gen)
            gen = self._replace(gen)

    def _read(self, gen: _Generation) -> None:
        try:
            first: Ready | LoadFailed = gen.replies.recv()
            if isinstance(first, LoadFailed):
                gen.error = first.error
                log.error("speech worker could not load its models: %s", gen.error)
                return
            gen.load_seconds = first.load_seconds
            gen.ready.set()
            while True:
                reply: Reply = gen.replies.recv()
                key, events, processed, stats, closed, settled = reply
                sink = gen.sessions.get(key)
                if sink is None:
                    continue
                if closed:
                    with self._lock:
                        gen.sessions.pop(key, None)
                try:
                    sink.worker_replied(events, processed, stats, closed, settled)
                except Exception:
                    log.exception("speech worker reply handling failed")
        except (EOFError, OSError):
            pass
        finally:
            self._lost(gen)

    def _lost(self, gen: _Generation) -> None:
        with self._lock:
            gen.alive = False
            sinks = list(gen.sessions.values())
            gen.sessions.clear()
            closed = self._closed
        if gen.error is None and not gen.ready.is_set():
            gen.error = "the speech worker exited while loading its models"
        gen.ready.set()
        gen.process.join(_SHUTDOWN_GRACE_S)
        gen.replies.close()
        # The request pipe is left to the garbage collector: closing it here could free its fd
        # number for reuse while a loop thread is about to write to it.
        if not closed:
            log.error(
                "SPEECH WORKER %d (pid %s) DIED (exit code %s): %d live session(s) go on without "
                "speech recognition",
                gen.number,
                gen.process.pid,
                gen.process.exitcode,
                len(sinks),
            )
        for sink in sinks:
            try:
                sink.worker_lost()
            except Exception:
                log.exception("speech worker loss handling failed")

    def _replace(self, dead: _Generation) -> _Generation | None:
        with self._lock:
            if self._closed or dead.error is not None:  # stopped on purpose, or cannot load
                self._current = None
                return None
            now = time.monotonic()
            if len(self._restarts) == _MAX_RESTARTS and now - self._restarts[0] < _RESTART_WINDOW_S:
                log.critical(
                    "speech worker crashed %d times within %.0f s: not restarting; calls go on "
                    "without speech recognition",
                    _MAX_RESTARTS + 1,
                    _RESTART_WINDOW_S,
                )
                self._current = None
                return None
            self._restarts.append(now)
            gen = self._current = _Generation(self.settings, next(self._numbers))
        log.warning("speech worker %d started to replace the dead one", gen.number)
        return gen


_shared_lock = threading.Lock()
_shared: dict[TapSettings, SpeechWorker] = {}
_live: weakref.WeakSet[SpeechWorker] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Registered after multiprocessing's own exit hook, so it runs first: workers are stopped
    # in order (and not reported as crashed) before multiprocessing terminates daemon children.
    for worker in list(_live):
        worker.close()


# -- the worker process ---------------------------------------------------------------------------
