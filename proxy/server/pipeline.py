"""Wiring of one conversation: relay hooks → tap → triggers → action flow → notices back.

:class:`Services` holds what every conversation shares (recognisers loaded once, the flow
registry, the transcript archive).  For each conversation the relay asks it for hooks
(:meth:`Services.hooks`); those hooks copy relayed messages into the session's tap, turn the
browser's control frames and the tap's trigger events into user actions, and send the flow's
results back to the browser as ``0x02`` text (and ``0x04`` events to clients that asked).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from guard.policy import Policy
from proxy.actions.controls import (
    Cancel,
    Confirm,
    Execute,
    InvalidControl,
    UserAction,
    action_from_control,
)
from proxy.actions.executors.fleet import NodeDirectory
from proxy.actions.ports import NullNotifier
from proxy.actions.registry import FlowRegistry
from proxy.actions.runner import SessionFlow
from proxy.listen.speech.events import TapEvent, TriggerHeard, UserSpoke
from proxy.listen.speech.pool import SessionHost
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.tap import Tap
from proxy.listen.transcript import Transcript
from proxy.relay.browser import Browser
from proxy.relay.chat import Conversation, ConversationHooks
from proxy.relay.codec import Action, Control, Metadata, encode
from proxy.server.metrics import Metrics
from proxy.server.owners import Owners
from proxy.server.sessions import SessionArchive, SessionRecord
from proxy.speak.mixer import ReplyMixer
from proxy.speak.speaker import Speaker
from proxy.speak.synth import Synthesiser
from voiceops.records import lines
from voiceops.records.events import SessionEvent, SpeakingEvent

log = logging.getLogger("proxy.server.pipeline")


class BrowserNotifier:
    """Flow results as the browser sees them: ``0x02`` lines, ``0x04`` to opted-in clients,
    and spoken into the reply audio when the conversation has a :class:`Speaker`."""

    def __init__(self, browser: Browser, speaker: Speaker | None = None) -> None:
        self._browser = browser
        self._speaker = speaker

    async def notify_text(self, text: str) -> None:
        """Show ``text`` in the UI transcript, on a line of its own."""
        await self._browser.notice(lines.line(text))

    async def notify_event(self, event: SessionEvent) -> None:
        """Send a structured event, only to a client that asked for events."""
        if self._browser.wants_events:
            await self._browser.send(encode(Metadata(event.to_json())))

    async def notify_speech(self, text: str) -> None:
        """Say ``text`` into the reply audio (returns at once; nothing when speaking is off)."""
        if self._speaker is not None:
            self._speaker.say(text)


@dataclass
class Services:
    """What all conversations share.  ``recognisers`` None means no speech tap (controls only);
    ``synthesiser`` None means results are not spoken."""

    flows: FlowRegistry
    recognisers: SessionHost | None = None
    tap_settings: TapSettings = DEFAULT_SETTINGS
    archive: SessionArchive = field(default_factory=SessionArchive)
    synthesiser: Synthesiser | None = None
    owners: Owners = field(default_factory=Owners)
    #: Live conversations' hooks, and what finished ones heard and dropped (for metrics).
    live: dict[str, ConversationPipeline] = field(default_factory=dict)
    finished_drops: int = 0
    finished_heard: float = 0.0
    finished_recognising: float = 0.0
    metrics: Metrics = field(default_factory=Metrics)
    #: The guard policy in force, summarised on the status page.
    policy: Policy | None = None
    #: The fleet's nodes and their state (``/api/nodes``); ``None`` without ``--fleet``.
    nodes: NodeDirectory | None = None

    def hooks(self, conv: Conversation, browser: Browser) -> ConversationHooks:
        """The hooks for one new conversation (the relay's ``hooks_factory``)."""
        self.owners.claim(conv.id, conv.principal)
        pipeline = ConversationPipeline(self, conv, browser)
        self.live[conv.id] = pipeline
        return pipeline

    def close(self) -> None:
        """Stop the speech workers and wait for them: the end of the proxy's orderly shutdown,
        after its conversations closed.  Blocks (call it off the event loop)."""
        if self.recognisers is not None:
            self.recognisers.close()

    def ended(self, pipeline: ConversationPipeline) -> None:
        """Fold a finished conversation's speech figures into the totals."""
        if self.live.pop(pipeline.session_id, None) is not None:
            self.finished_drops += pipeline.tap_dropped
            self.finished_heard += pipeline.heard_seconds
            self.finished_recognising += pipeline.recognising_seconds


class ConversationPipeline:
    """The relay hooks of one conversation: tap copies, control frames, trigger events."""

    def __init__(self, services: Services, conv: Conversation, browser: Browser) -> None:
        self._services = services
        self._conv = conv
        self._tap: Tap | None = None
        settings = services.tap_settings
        transcript = Transcript(settings.max_turns, settings.max_chars, settings.max_turn_chars)
        if services.recognisers is not None:
            loop = asyncio.get_running_loop()
            self._tap = Tap(conv.id, self._on_tap_event, loop, settings, services.recognisers)
            transcript = self._tap.transcript
            self._tap.start()
        self._controls: asyncio.Task[None] | None = None
        self._hung_up = False
        self._record = SessionRecord(conv.id, conv.peer, conv.principal, transcript)
        services.archive.add(self._record)
        self.speaker: Speaker | None = None
        if services.synthesiser is not None:
            mixer = ReplyMixer()
            conv.reply_audio = mixer.process
            self.speaker = Speaker(services.synthesiser, mixer, self._speaking)
        self._notifier = BrowserNotifier(browser, self.speaker)
        self._told: asyncio.Task[None] | None = None
        self.flow: SessionFlow = services.flows.open(
            conv.id, notifier=self._notifier, transcript=transcript.turns
        )
        self.flow.act_as(conv.principal, conv.peer)

    @property
    def session_id(self) -> str:
        """The conversation's id."""
        return self._conv.id

    @property
    def tap_dropped(self) -> int:
        """Copies the tap dropped because the speech worker was behind."""
        return 0 if self._tap is None else self._tap.dropped

    @property
    def tap_in_flight(self) -> int:
        """Copies waiting in the speech worker."""
        return 0 if self._tap is None else self._tap.in_flight

    @property
    def heard_seconds(self) -> float:
        """Seconds of the operator's audio the recogniser has taken in."""
        stats = None if self._tap is None else self._tap.stats
        return 0.0 if stats is None else stats.heard_seconds

    @property
    def recognising_seconds(self) -> float:
        """Seconds the recogniser spent on that audio."""
        stats = None if self._tap is None else self._tap.stats
        return 0.0 if stats is None else stats.busy_seconds

    @property
    def hears(self) -> bool:
        """A speech tap listens (else the relay need not hand over audio)."""
        return self._tap is not None

    def client_message(self, data: bytes) -> None:
        """Copy browser audio into the tap."""
        if self._tap is not None:
            self._tap.offer_client(data)

    def server_message(self, data: bytes) -> None:
        """Copy the model's audio and words into the tap."""
        if self._tap is not None:
            self._tap.offer_server(data)

    def control(self, control: Control) -> None:
        """EXECUTE / CONFIRM / CANCEL from the browser (malformed ones get a readable answer).

        Actions reach the flow in the order they were sent.  An EXECUTE without request text
        first waits for the tap to settle, so words said just before the press are extracted.
        """
        action = action_from_control(control)
        if action is not None:
            self._controls = asyncio.create_task(self._submit_after(self._controls, action))

    async def _submit_after(
        self, previous: asyncio.Task[None] | None, action: UserAction | InvalidControl
    ) -> None:
        if previous is not None:
            await previous
        if isinstance(action, Execute) and action.request is None and self._tap is not None:
            await self._tap.settle()
        self._services.metrics.count_trigger(action, "control")
        self.flow.submit(action, via="control")

    def _speaking(self, seconds: float) -> None:
        # Our speech starts playing: what the operator's channel carries now may be its echo.
        if self._tap is not None:
            self._tap.speaking(seconds)
        if self.speaker is not None:
            # A client answering aloud waits for the end of all of it (not only this text).
            speaking = SpeakingEvent(self.speaker.queued_seconds, self.speaker.synthesising)
            self._told = asyncio.create_task(self._tell_after(self._told, speaking))

    async def _tell_after(self, previous: asyncio.Task[None] | None, event: SpeakingEvent) -> None:
        if previous is not None:
            await previous
        try:
            await self._notifier.notify_event(SessionEvent(self._conv.id, event))
        except Exception:  # the browser may have gone; only the event is lost
            log.debug("conversation %s: speaking event not sent", self._conv.id, exc_info=True)

    def _on_tap_event(self, event: TapEvent) -> None:
        match event:
            case TriggerHeard(action=action, phrase=phrase, named=named):
                log.info(
                    "conversation %s: heard %r → %s",
                    self._conv.id,
                    phrase if named is None else f"{phrase} {named}",
                    action.name,
                    extra={"session_id": self._conv.id, "event": "trigger"},
                )
                self._submit_voice(action, named)
            case UserSpoke(turn=turn):
                log.debug(
                    "conversation %s: user said %r",
                    self._conv.id,
                    turn.text,
                    extra={"session_id": self._conv.id, "event": "utterance"},
                )

    def _submit_voice(self, action: Action, named: str | None = None) -> None:
        voice: UserAction
        if self._hung_up:
            # Heard late (the worker was behind): nobody is there to see a result or confirm.
            log.warning(
                "conversation %s: %s heard after hang-up, ignored", self._conv.id, action.name
            )
            return
        if action is Action.EXECUTE:
            # The flow reads the transcript itself: every turn since the last execution.
            voice = Execute()
        elif not self.flow.pending():
            # "confirm"/"cancel" mean something only while a command waits for them.
            return
        elif action is Action.CONFIRM:
            # Said aloud, a confirmation must name the waiting command's action.
            voice = Confirm(None, named, spoken=True)
        else:
            voice = Cancel(None)
        self._services.metrics.count_trigger(voice, "voice")
        self.flow.submit(voice, via="voice")

    async def close(self) -> None:
        """Flush the tap (its last utterance lands in the transcript) and detach from the flow."""
        self._hung_up = True
        for task in (self._controls, self._told):
            if task is not None:
                task.cancel()
        if self._tap is not None:
            await self._tap.close()
            stats = self._tap.stats
            log.info(
                "conversation %s tap: %d dropped, %s",
                self._conv.id,
                self._tap.dropped,
                stats if stats is not None else "no stats",
            )
        if self.speaker is not None:
            await self.speaker.close()
        self._record.ended = time.time()
        self.flow.notifier = NullNotifier()
        self._services.ended(self)
