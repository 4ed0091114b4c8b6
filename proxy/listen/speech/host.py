"""The speech worker process's side: load the models once, host one pipeline per session.

:func:`serve` is the child's main (started by :class:`proxy.listen.speech.worker.SpeechWorker`).
It reads :class:`~proxy.listen.speech.wire.Request` batches and answers with
:class:`~proxy.listen.speech.wire.Reply` messages; words and triggers go out at once, plain
acknowledgements are collected first, because each reply wakes a thread in the proxy.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from typing import Final

from proxy.listen.speech.events import TapEvent
from proxy.listen.speech.pipeline import SpeechPipeline
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import TapSettings
from proxy.listen.speech.wire import (
    Gap,
    LoadFailed,
    Op,
    Opening,
    Ready,
    Reply,
    Request,
    TranscriptBounds,
)
from proxy.listen.transcript import Transcript

log = logging.getLogger(__name__)

#: Requests the worker takes in one go before it sends the replies they produced: fewer, larger
#: replies mean fewer wake-ups of the proxy's reader thread.
_BATCH: Final = 64
#: Plain acknowledgements a session collects before they are sent (see :func:`serve`), and how
#: long the worker waits idle before it sends the ones it holds.
_ACK_EVERY: Final = 32
_IDLE_FLUSH_S: Final = 0.25
#: Scheduling niceness added to the worker process (lower priority than the relay).
WORKER_NICE: Final = 10
#: What a terminal's Ctrl-C or a stop of the whole process group sends; the worker ignores them.
STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM})


@dataclass(slots=True)
class _Hosted:
    """One session inside the worker: its pipeline (``None`` if it could not start)."""

    pipeline: SpeechPipeline | None
    events: list[TapEvent]
    processed: int = 0
    closed: bool = False
    settled: int = 0


def serve(settings: TapSettings, requests: Connection, replies: Connection, level: int) -> None:
    """The worker process's main: load the models, then run sessions until told to stop."""
    _ignore_stop_signals()
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)s speech-worker[{os.getpid()}] %(name)s: %(message)s",
    )
    _exit_with_parent()
    # Recognition is best effort and the relay is not: on a small machine the two share cores,
    # and the scheduler should run the proxy first.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    try:
        recognisers = Recognisers.load(settings)
    except Exception as exc:
        replies.send(LoadFailed(f"{type(exc).__name__}: {exc}"))
        return
    replies.send(Ready(recognisers.load_seconds))
    hosted: dict[int, _Hosted] = {}
    # Sessions with acknowledgements not yet sent.  Each reply wakes a thread in the proxy, so
    # plain acknowledgements are held back until a session has _ACK_EVERY of them, or the
    # worker is idle for _IDLE_FLUSH_S (the proxy's per-session bound is far larger).
    touched: dict[int, _Hosted] = {}
    while True:
        if not requests.poll(_IDLE_FLUSH_S if touched else None):
            for key, held in touched.items():
                _reply(replies, hosted, key, held)
            touched.clear()
            continue
        batch: list[Request] = [requests.recv()]
        while len(batch) < _BATCH and requests.poll():
            batch.append(requests.recv())
        for request in batch:
            key = request.key
            if request.op is Op.SHUTDOWN:
                return
            session = _handle(recognisers, hosted, request)
            if session is None:
                continue
            if session.events or session.closed or session.settled:
                # Words and triggers go out at once (a control frame may be right behind them);
                # plain acknowledgements wait for the end of the batch.
                _reply(replies, hosted, key, session)
                touched.pop(key, None)
            elif session.processed >= _ACK_EVERY:
                _reply(replies, hosted, key, session)
                touched.pop(key, None)
            else:
                touched[key] = session


def _reply(replies: Connection, hosted: dict[int, _Hosted], key: int, session: _Hosted) -> None:
    stats = session.pipeline.stats if session.pipeline is not None else None
    replies.send(
        Reply(key, session.events, session.processed, stats, session.closed, session.settled)
    )
    session.events, session.processed, session.settled = [], 0, 0
    if session.closed:
        del hosted[key]


def _handle(
    recognisers: Recognisers, hosted: dict[int, _Hosted], request: Request
) -> _Hosted | None:
    op, key, payload = request
    if isinstance(payload, Opening):
        hosted[key] = _open(payload.session_id, payload.bounds, recognisers)
        return None
    session = hosted.get(key)
    if session is None:
        return None
    pipeline = session.pipeline
    if op is Op.CLOSE:
        session.closed = True
        if pipeline is not None:
            _run(pipeline, session, pipeline.finish, "finishing")
        return session
    if op is Op.SETTLE:
        session.settled += 1
        if pipeline is not None:
            _run(pipeline, session, pipeline.settle, "settling")
        return session
    if op is Op.SPEAKING:
        if pipeline is not None:
            speaks = pipeline.proxy_speaks
            seconds = float(payload) if isinstance(payload, int | float) else 0.0
            _run(pipeline, session, lambda: speaks(seconds), "speaking")
        return None
    if op is Op.GAP:
        if pipeline is not None and isinstance(payload, Gap):
            skip, (client, server) = pipeline.skip, payload
            _run(pipeline, session, lambda: skip(client, server), "a gap")
        return session
    session.processed += 1
    if pipeline is not None:
        handle = pipeline.client if op is Op.CLIENT else pipeline.server
        data = payload if isinstance(payload, bytes) else b""
        _run(pipeline, session, lambda: handle(data), "a message")
    return session


def _open(session_id: str, bounds: TranscriptBounds, recognisers: Recognisers) -> _Hosted:
    transcript = Transcript(bounds.max_turns, bounds.max_chars, bounds.max_turn_chars)
    try:
        pipeline = SpeechPipeline(session_id, recognisers, transcript)
    except Exception:
        log.exception("session %s: tap could not start; the call goes on without it", session_id)
        return _Hosted(None, [])
    return _Hosted(pipeline, [])


def _run(
    pipeline: SpeechPipeline, session: _Hosted, step: Callable[[], Iterable[TapEvent]], what: str
) -> None:
    try:
        events: Iterable[TapEvent] = step()
    except Exception:  # one bad message must not end the tap
        log.exception("session %s: tap failed on %s", pipeline.session_id, what)
        return
    session.events.extend(events)


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Start a worker process inside this block: it ignores Ctrl-C and SIGTERM from its start.

    The worker is in the proxy's process group, so a terminal's Ctrl-C (or a stop of the whole
    group) reaches it too.  Killed by it, the worker would die before the proxy's orderly
    shutdown, which would report a crash and start a replacement; the proxy ends it with a
    SHUTDOWN request instead.  :func:`serve` ignores both signals; until then (the child's
    imports) they are blocked, a mask the child inherits from the thread that starts it.  Only
    that thread blocks them, and only meanwhile: the proxy's main thread still takes its own stop.
    """
    # Starting the resource tracker (on the first start()) would unblock both: start it first.
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _ignore_stop_signals() -> None:
    # See stop_signals_blocked: one of them that came meanwhile is pending, and discarded once
    # ignored.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _exit_with_parent() -> None:
    # Daemon processes are terminated when the proxy exits normally; this covers the proxy
    # being killed: its end closes the sentinel pipe, and the worker follows at once.
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
