"""The tap: copies of relayed messages in, tap events out on the event loop.

The relay forwards each message first and then calls :meth:`Tap.offer_client` or
:meth:`Tap.offer_server` with the same bytes.  Offering never blocks and never raises: the copy
goes into a bounded queue, and when the queue is full the message is dropped and counted — the
conversation never waits for speech recognition.  A worker thread takes messages from the queue
and runs them through the session's :class:`~proxy.speech.pipeline.SpeechPipeline` (decoding,
keyphrase spotting, voice activity, Whisper, trigger matching); the events it produces are handed
to ``on_event`` on the event loop with ``loop.call_soon_threadsafe``.

Wiring (in the relay)::

    recognisers = Recognisers.load(settings)          # once per process, at start-up
    tap = Tap(session_id, on_event, loop, settings, recognisers)
    tap.start()
    ... await ws_upstream.send_bytes(data); tap.offer_client(data)
    ... await ws_client.send_bytes(data);   tap.offer_server(data)
    await tap.close()                                 # flushes the last utterance
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Final

from proxy.speech.events import AssistantSpoke, TapEvent, TriggerHeard, UserSpoke
from proxy.speech.pipeline import PipelineStats, SpeechPipeline
from proxy.speech.recognisers import Recognisers
from proxy.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.transcript import Transcript

__all__ = [
    "AssistantSpoke",
    "Recognisers",
    "Tap",
    "TapEvent",
    "TapSettings",
    "TriggerHeard",
    "UserSpoke",
]

log = logging.getLogger(__name__)

_CLIENT: Final = 0
_SERVER: Final = 1
_STOP: Final = 2

_Item = tuple[int, bytes]

_shared_lock = threading.Lock()
_shared: dict[TapSettings, Recognisers] = {}


def _shared_recognisers(settings: TapSettings) -> Recognisers:
    # A Tap made without recognisers shares one loaded set per settings value, so models still
    # load once per process (the proxy should load them itself at start-up and pass them in).
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = Recognisers.load(settings)
        return _shared[settings]


class Tap:
    """Relayed message copies in (``offer_client`` / ``offer_server``), :data:`TapEvent` out.

    ``on_event`` is called on ``loop`` (never on the worker thread).  ``dropped`` counts
    messages the full queue refused; ``transcript`` is the session's (thread-safe) transcript.
    """

    def __init__(
        self,
        session_id: str,
        on_event: Callable[[TapEvent], None],
        loop: asyncio.AbstractEventLoop,
        settings: TapSettings = DEFAULT_SETTINGS,
        recognisers: Recognisers | None = None,
    ) -> None:
        self.session_id = session_id
        self.settings = settings
        self._on_event = on_event
        self._loop = loop
        self._recognisers = recognisers
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=settings.queue_messages)
        self._transcript = Transcript(
            settings.max_turns, settings.max_chars, settings.max_turn_chars
        )
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self._pipeline: SpeechPipeline | None = None
        self._closing = False

    @property
    def dropped(self) -> int:
        """Messages dropped because the worker was behind (queue full) or the tap was closing."""
        return self._dropped

    @property
    def transcript(self) -> Transcript:
        """The session's transcript (safe to read from any thread)."""
        return self._transcript

    @property
    def stats(self) -> PipelineStats | None:
        """The worker's counters (pages, bad audio, utterances, triggers); ``None`` before start."""
        return self._pipeline.stats if self._pipeline is not None else None

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"tap-{self.session_id}", daemon=True
        )
        self._thread.start()

    def offer_client(self, data: bytes) -> None:
        """A copy of a message the client sent (after it was forwarded).  Never blocks."""
        self._offer(_CLIENT, data)

    def offer_server(self, data: bytes) -> None:
        """A copy of a message the server sent (after it was forwarded).  Never blocks."""
        self._offer(_SERVER, data)

    def _offer(self, direction: int, data: bytes) -> None:
        if self._closing:
            self._dropped += 1
            return
        try:
            self._queue.put_nowait((direction, bytes(data)))
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning(
                    "session %s: tap behind, %d messages dropped", self.session_id, self._dropped
                )

    async def close(self) -> None:
        """Stop accepting messages, let the worker finish the queue and the last utterance."""
        if self._closing:
            return
        self._closing = True
        thread = self._thread
        if thread is None:
            return
        # The stop marker must get in even when the queue is full: wait for room off the loop.
        await asyncio.to_thread(self._queue.put, (_STOP, b""))
        await asyncio.to_thread(thread.join)
        # Let the events the worker scheduled on the loop run before the caller goes on.
        await asyncio.sleep(0)

    def _run(self) -> None:
        try:
            recognisers = self._recognisers or _shared_recognisers(self.settings)
            self._pipeline = SpeechPipeline(self.session_id, recognisers, self._transcript)
        except Exception:
            log.exception(
                "session %s: tap could not start; the call goes on without it", self.session_id
            )
            self._drain()
            return
        pipeline = self._pipeline
        while True:
            direction, data = self._queue.get()
            if direction == _STOP:
                break
            try:
                handle = pipeline.client if direction == _CLIENT else pipeline.server
                events = handle(data)
            except Exception:  # one bad message must not end the tap
                log.exception("session %s: tap failed on a message", self.session_id)
                continue
            self._emit(events)
        try:
            self._emit(pipeline.finish())
        except Exception:
            log.exception("session %s: tap failed while finishing", self.session_id)

    def _drain(self) -> None:
        while self._queue.get()[0] != _STOP:
            self._dropped += 1

    def _emit(self, events: list[TapEvent]) -> None:
        for event in events:
            try:
                self._loop.call_soon_threadsafe(self._deliver, event)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return

    def _deliver(self, event: TapEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception(
                "session %s: tap event handler failed on %s", self.session_id, type(event).__name__
            )
