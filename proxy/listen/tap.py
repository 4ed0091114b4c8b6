"""The tap: copies of relayed messages in, tap events out on the event loop.

The relay forwards each message first and then calls :meth:`Tap.offer_client` or
:meth:`Tap.offer_server` with the same bytes.  Offering never blocks and never raises: the copy
goes to the speech worker *process* (:mod:`proxy.listen.speech.worker`), which runs the session's
:class:`~proxy.listen.speech.pipeline.SpeechPipeline` (decoding, keyphrase spotting, voice activity,
Whisper, trigger matching).  Recognition runs in another process so that it cannot hold this
process's GIL and delay the relay.  At most ``settings.queue_messages`` messages per session are
in flight (sent, not yet acknowledged by the worker); beyond that the message is dropped and
counted — the conversation never waits for speech recognition.  The worker is told how many
audio pages were dropped before the next message it gets (a GAP request), so its audio clocks
stay on the user's real audio: the proxy's own speech must be placed where it was heard, or its
echo could fire a trigger.  For the same reason a SPEAKING notice that finds the pipe full is
kept and sent, in order, before the next message.  The events the worker reports are
added to the session's transcript here and handed to ``on_event`` on the event loop with
``loop.call_soon_threadsafe``.

Wiring: start-up loads one :class:`~proxy.listen.speech.worker.SpeechWorker` per process; for each
conversation :class:`proxy.server.pipeline.ConversationPipeline` makes a ``Tap``, calls
:meth:`Tap.start`, feeds it from the relay's ``client_message`` / ``server_message`` hooks (after
each message was forwarded) and awaits :meth:`Tap.close` at the end (which flushes the last
utterance).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Final

from proxy.listen.speech.events import AssistantSpoke, TapEvent, TriggerHeard, UserSpoke
from proxy.listen.speech.pipeline import PipelineStats
from proxy.listen.speech.pool import SessionHost
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.speech.wire import Gap, Op, TranscriptBounds
from proxy.listen.speech.worker import SessionChannel, SpeechWorker
from proxy.listen.transcript import Transcript
from proxy.relay.codec import Kind

__all__ = [
    "AssistantSpoke",
    "Recognisers",
    "SpeechWorker",
    "Tap",
    "TapEvent",
    "TapSettings",
    "TriggerHeard",
    "UserSpoke",
]

log = logging.getLogger(__name__)

#: Longest wait in :meth:`Tap.close` for the worker to finish a session (a wedged worker must
#: not hold a conversation's teardown forever; a live one finishes in well under a second).
CLOSE_TIMEOUT_S: Final = 120.0
#: Longest wait for :meth:`Tap.settle` (Whisper on one utterance takes ≈0.3 s here).
SETTLE_TIMEOUT_S: Final = 10.0

_AUDIO: Final = bytes([Kind.AUDIO])


class Tap:
    """Relayed message copies in (``offer_client`` / ``offer_server``), :data:`TapEvent` out.

    ``recognisers`` hosts the session: a :class:`SpeechWorker` or a
    :class:`~proxy.listen.speech.pool.SpeechPool` (``None``: the process's shared worker for
    ``settings``).  ``on_event`` is called on ``loop``.  ``dropped`` counts
    messages refused because the worker was behind, gone, or the tap was closing;
    ``transcript`` is the session's (thread-safe) transcript, filled from the worker's events.
    """

    def __init__(
        self,
        session_id: str,
        on_event: Callable[[TapEvent], None],
        loop: asyncio.AbstractEventLoop,
        settings: TapSettings = DEFAULT_SETTINGS,
        recognisers: SessionHost | None = None,
    ) -> None:
        self.session_id = session_id
        self.settings = settings
        self._on_event = on_event
        self._loop = loop
        self._worker = recognisers
        self._transcript = Transcript(
            settings.max_turns, settings.max_chars, settings.max_turn_chars
        )
        self._limit = settings.queue_messages
        # In flight = offered - acknowledged.  Each counter has a single writer (the loop, the
        # worker's reader thread), so no lock is needed on the hot path.
        self._offered = 0
        self._acknowledged = 0
        self._dropped = 0
        self._untold = Untold()
        self._started = False
        self._channel: SessionChannel | None = None
        self._lost = False
        self._stats: PipelineStats | None = None
        self._closing = False
        self._finished: asyncio.Future[None] | None = None
        self._settling: deque[asyncio.Future[None]] = deque()

    @property
    def dropped(self) -> int:
        """Messages dropped because the worker was behind or gone, or the tap was closing."""
        return self._dropped

    @property
    def in_flight(self) -> int:
        """Messages offered to the worker and not yet acknowledged."""
        return self._offered - self._acknowledged

    @property
    def transcript(self) -> Transcript:
        """The session's transcript (safe to read from any thread)."""
        return self._transcript

    @property
    def stats(self) -> PipelineStats | None:
        """The worker's counters (pages, bad audio, utterances, triggers); ``None`` before start."""
        return self._stats

    def start(self) -> None:
        """Attach the session to the speech worker (idempotent; never blocks the loop for long)."""
        if self._started:
            return
        self._started = True
        self._stats = PipelineStats()
        if self._worker is None:
            # Loading the shared worker takes seconds: attach from a thread; offers made until
            # then are dropped and counted.
            threading.Thread(target=self._attach_shared, name="tap-attach", daemon=True).start()
            return
        self._attach(self._worker)

    def _attach_shared(self) -> None:
        try:
            worker = SpeechWorker.shared(self.settings)
        except Exception:
            log.exception(
                "session %s: tap could not start; the call goes on without it", self.session_id
            )
            self._lost = True
            return
        self._attach(worker)

    def _attach(self, worker: SessionHost) -> None:
        channel = worker.open(self.session_id, TranscriptBounds.of(self.settings), self)
        if channel is None:
            log.error(
                "session %s: no speech worker; the call goes on without speech recognition",
                self.session_id,
            )
            self._lost = True
        self._channel = channel
        if channel is not None and self._closing:  # closed while the shared worker loaded
            channel.close()

    def offer_client(self, data: bytes) -> None:
        """A copy of a message the client sent (after it was forwarded).  Never blocks."""
        self._offer(Op.CLIENT, data)

    def offer_server(self, data: bytes) -> None:
        """A copy of a message the server sent (after it was forwarded).  Never blocks."""
        self._offer(Op.SERVER, data)

    def _offer(self, op: Op, data: bytes) -> None:
        if self._closing or self._lost:
            self._dropped += 1
            return
        channel = self._channel
        if self._offered - self._acknowledged >= self._limit:
            channel = None
        audio = data[:1] == _AUDIO
        if op is Op.SERVER and audio:
            data = _AUDIO  # the pipeline only counts the model's pages (its clock): skip the copy
        if channel is not None and self._untold.tell(channel) and channel.send(op, bytes(data)):
            self._offered += 1
            return
        self._dropped += 1
        if self._dropped == 1 or self._dropped % 1000 == 0:
            log.warning(
                "session %s: speech worker not ready or behind, %d messages dropped",
                self.session_id,
                self._dropped,
            )
        if audio:
            self._untold.dropped(op)

    def speaking(self, seconds: float) -> None:
        """The proxy starts playing ``seconds`` of its own speech to the user now: the words
        heard in the user's channel meanwhile may be its echo and must not fire triggers.
        Sent in order with the audio, so the worker places it on the user's audio clock."""
        if self._closing or self._lost:
            return
        self._untold.speaking(seconds)
        if self._channel is not None:
            self._untold.tell(self._channel)

    async def settle(self, within: float = SETTLE_TIMEOUT_S) -> None:
        """Return once everything offered so far is recognised, the open utterance included.

        For an EXECUTE pressed right after speaking: the words just said must be in the
        transcript before extraction reads it.  Gives up after ``within`` seconds (logged).
        """
        channel = self._channel
        if self._closing or channel is None or self._lost:
            return
        waiter = self._loop.create_future()
        self._settling.append(waiter)
        self._untold.tell(channel)  # best effort: the cut is right even without the last gap
        if not channel.settle():
            self._settling.remove(waiter)
            return
        try:
            await asyncio.wait_for(asyncio.shield(waiter), within)
        except TimeoutError:
            log.warning(
                "session %s: speech not settled within %.0f s; extracting without it",
                self.session_id,
                within,
            )

    async def close(self) -> None:
        """Stop accepting messages; wait until the worker finished the session's last utterance.

        Every event of the session has been delivered to ``on_event`` when this returns.
        """
        if self._closing:
            return
        self._closing = True
        channel = self._channel
        if channel is None or self._lost:
            return
        self._finished = self._loop.create_future()
        # The end marker must get in even when the pipe is full: wait for room off the loop.
        if not channel.close() and not await asyncio.to_thread(channel.close_waiting):
            return  # the worker died meanwhile
        try:
            await asyncio.wait_for(asyncio.shield(self._finished), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.error(
                "session %s: speech worker did not finish the session within %.0f s",
                self.session_id,
                CLOSE_TIMEOUT_S,
            )
        # Let events scheduled together with the end run before the caller goes on.
        await asyncio.sleep(0)

    # -- called on the worker's reader thread (proxy.listen.speech.worker.SessionSink) -----------

    def worker_replied(
        self,
        events: list[TapEvent],
        processed: int,
        stats: PipelineStats | None,
        closed: bool,
        settled: int,
    ) -> None:
        """Acknowledged messages and their events, from the worker (reader thread)."""
        self._acknowledged += processed
        if stats is not None:
            self._stats = stats
        for event in events:
            # The worker kept its own copy for the triggers; this one serves the proxy (the
            # API, the action flow).  Added before the event is delivered, as it was heard.
            if isinstance(event, UserSpoke | AssistantSpoke):
                self._transcript.add(event.turn)
        if events:
            self._schedule(self._deliver_all, events)
        if settled:
            self._schedule(self._resolve_settled, settled)
        if closed:
            self._schedule(self._resolve_finished)

    def worker_lost(self) -> None:
        """The worker process died: degrade to no speech, release a waiting :meth:`close`."""
        self._lost = True
        self._schedule(self._resolve_finished)
        self._schedule(self._resolve_settled, len(self._settling))

    def _schedule(self, callback: Callable[..., None], *args: object) -> None:
        # A closed loop raises RuntimeError: nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    def _resolve_settled(self, count: int) -> None:
        for _ in range(min(count, len(self._settling))):
            waiter = self._settling.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _resolve_finished(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    def _deliver_all(self, events: list[TapEvent]) -> None:
        for event in events:
            try:
                self._on_event(event)
            except Exception:
                log.exception(
                    "session %s: tap event handler failed on %s",
                    self.session_id,
                    type(event).__name__,
                )


class Untold:
    """What a session's worker has not been told yet, in order: audio pages the tap dropped
    (merged into one :class:`Gap` while nothing else comes between) and the proxy's speech
    (seconds) that found the pipe full.  :meth:`tell` sends it all before the next message."""

    def __init__(self) -> None:
        self._items: deque[Gap | float] = deque()

    def dropped(self, op: Op) -> None:
        """An audio page from the client (``Op.CLIENT``) or the server was dropped."""
        client, server = (1, 0) if op is Op.CLIENT else (0, 1)
        last = self._items[-1] if self._items else None
        if isinstance(last, Gap):
            self._items[-1] = Gap(last.client_pages + client, last.server_pages + server)
        else:
            self._items.append(Gap(client, server))

    def speaking(self, seconds: float) -> None:
        """The proxy starts ``seconds`` of its own speech now."""
        self._items.append(seconds)

    def tell(self, channel: SessionChannel) -> bool:
        """Send what is held, in order; ``False`` if some could not be sent (kept for later)."""
        while self._items:
            item = self._items[0]
            if not (channel.gap(*item) if isinstance(item, Gap) else channel.speaking(item)):
                return False
            self._items.popleft()
        return True
