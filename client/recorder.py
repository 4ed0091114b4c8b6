"""The pure core of a session: parsed messages in, display text, replies and a summary out.

:class:`SessionRecorder` awaits nothing and owns no socket.  The adapter
(:mod:`client.session`) tells it what was sent and received, with the monotonic time, and
writes whatever it returns: text for the person watching and, with ``confirm_when_asked``,
control frames to send back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from client.asking import ConfirmationAsk, ask_in_event, ask_in_text
from client.audio import SAMPLE_RATE, OpusDecoder, Pcm
from client.replies import Speech, asks_for_reply
from client.results import is_result
from client.summary import EventRecord, SentControl, SessionSummary, TextEvent, close_name
from proxy.relay.codec import (
    Action,
    Audio,
    Control,
    Error,
    Handshake,
    Message,
    Metadata,
    Ping,
    Text,
)
from voiceops.records.events import SpeakingEvent


@dataclass(frozen=True, slots=True)
class Reaction:
    """What to do about one input: ``output`` to show, ``send`` to send (automatic confirms)."""

    output: str = ""
    send: tuple[Control, ...] = field(default=())


class SessionRecorder:
    """Accumulates one session and formats it for a terminal.

    Output rules: ``0x02`` pieces after the handshake are shown as they come, joined on one line
    (as the PersonaPlex UI does); everything else (queue notices, events, errors, status) goes on
    a line of its own in brackets.  ``0x04`` events are always recorded but only shown when
    ``show_events``.  With ``confirm_when_asked`` a CONFIRM is returned once per asked request:
    from events when ``use_events`` (the client asked for them), otherwise from text.
    """

    def __init__(
        self,
        url: str,
        *,
        started: float,
        show_events: bool = False,
        confirm_when_asked: bool = False,
        use_events: bool = False,
    ) -> None:
        self._url = url
        self._started = started
        self._show_events = show_events
        self._confirm_when_asked = confirm_when_asked
        self._use_events = use_events
        self._mid_line = False
        self._decoder = OpusDecoder()
        self._reply: list[Pcm] = []
        self._texts: list[TextEvent] = []
        self._notices: list[str] = []
        self._events: list[EventRecord] = []
        self._result_times: list[float] = []
        self._ask_times: list[float] = []
        self._speech: list[Speech] = []
        self._errors: list[str] = []
        self._controls: list[SentControl] = []
        self._confirmed: set[str | None] = set()
        self._samples_sent = 0
        self._pages_sent = 0
        self._pages_received = 0
        self._invalid = 0
        self._opened: float | None = None
        self._handshake: float | None = None
        self._close: tuple[int, str, Literal["client", "server"]] | None = None
        self._failure: str | None = None
        self._ended: float | None = None

    # -- clocks ------------------------------------------------------------------------------

    @property
    def audio_clock(self) -> float:
        """Seconds of audio sent so far (the clock ``--at`` and the text timestamps use)."""
        return self._samples_sent / SAMPLE_RATE

    @property
    def result_times(self) -> tuple[float, ...]:
        """Audio times at which the proxy's results came (:func:`client.results.is_result`)."""
        return tuple(self._result_times)

    @property
    def ask_times(self) -> tuple[float, ...]:
        """Audio times at which the proxy asked for a spoken answer
        (:func:`client.replies.asks_for_reply`)."""
        return tuple(self._ask_times)

    @property
    def speech(self) -> tuple[Speech, ...]:
        """The proxy's ``speaking`` events, as heard."""
        return tuple(self._speech)

    @property
    def handshaken(self) -> bool:
        """True once the ``0x00`` handshake has arrived."""
        return self._handshake is not None

    def _wall(self, now: float) -> float:
        return round(now - self._started, 4)

    # -- formatting --------------------------------------------------------------------------

    def _line(self, text: str) -> str:
        """``text`` on a line of its own, ending the current line of model words if needed."""
        prefix = "\n" if self._mid_line else ""
        self._mid_line = False
        return f"{prefix}{text}\n"

    def _words(self, text: str) -> str:
        if text:
            self._mid_line = not text.endswith("\n")
        return text

    # -- what the adapter reports --------------------------------------------------------------

    def opened(self, now: float) -> None:
        """The WebSocket upgrade succeeded."""
        self._opened = now

    def sent_audio(self, page: bytes, samples: int) -> None:
        """One audio message (``page`` may be empty if the encoder buffered) of ``samples``."""
        self._samples_sent += samples
        if page:
            self._pages_sent += 1

    def sent_control(self, message: Control, now: float, *, automatic: bool = False) -> str:
        """A control frame went out."""
        if message.action is Action.EXECUTE:
            # A new request may be asked about without an id again.
            self._confirmed.discard(None)
        payload = message.payload.decode("utf-8", errors="replace")
        self._controls.append(
            SentControl(
                message.action.name,
                payload,
                round(self.audio_clock, 4),
                self._wall(now),
                automatic,
            )
        )
        how = "auto-sent" if automatic else "sent"
        return self._line(f"[{how} {message.action.name}{' ' + payload if payload else ''}]")

    def received(self, message: Message, now: float) -> Reaction:
        """A parsed message arrived from the server."""
        match message:
            case Handshake():
                if self._handshake is not None:
                    return Reaction()
                self._handshake = now
                latency = now - (self._opened if self._opened is not None else self._started)
                return Reaction(self._line(f"[connected: handshake after {latency:.2f} s]"))
            case Audio(page):
                self._pages_received += 1
                pcm = self._decoder.decode(page)
                if len(pcm):
                    self._reply.append(pcm)
                return Reaction()
            case Text(text):
                return self._text(text, now)
            case Metadata(data):
                return self._event(data, now)
            case Error(text):
                self._errors.append(text)
                return Reaction(self._line(f"[error from server] {text}"))
            case Ping() | Control():
                return Reaction()

    def received_invalid(self, reason: str) -> str:
        """A message that does not parse arrived; it is counted and shown, never fatal."""
        self._invalid += 1
        return self._line(f"[invalid message from server: {reason}]")

    def _text(self, text: str, now: float) -> Reaction:
        if self._handshake is None:
            # Before the handshake only the proxy speaks: queue position and such.
            self._notices.append(text)
            return Reaction(self._line(f"[notice] {text.strip()}"))
        self._texts.append(TextEvent(text, round(self.audio_clock, 4), self._wall(now)))
        output = self._words(text)
        ask = ask_in_text(text) if not self._use_events else None
        return Reaction(output, self._confirm(ask))

    def _event(self, data: dict[str, object], now: float) -> Reaction:
        event = EventRecord(data, round(self.audio_clock, 4), self._wall(now))
        self._events.append(event)
        record = event.record
        if is_result(record):
            self._result_times.append(event.audio_time)
        if asks_for_reply(record):
            self._ask_times.append(event.audio_time)
        if record is not None and isinstance(record.event, SpeakingEvent):
            self._speech.append(Speech.heard(event.audio_time, record.event))
        output = ""
        if self._show_events:
            output = self._line(f"[event] {json.dumps(data, ensure_ascii=False)}")
        ask = ask_in_event(record) if self._use_events else None
        return Reaction(output, self._confirm(ask))

    def _confirm(self, ask: ConfirmationAsk | None) -> tuple[Control, ...]:
        if ask is None or not self._confirm_when_asked or ask.pending_id in self._confirmed:
            return ()
        self._confirmed.add(ask.pending_id)
        payload = ask.pending_id.encode("utf-8") if ask.pending_id else b""
        return (Control(Action.CONFIRM, payload),)

    def saying(self, number: int, total: int) -> str:
        """Spoken reply ``number`` of ``total`` starts (``--reply``)."""
        return self._line(f"[saying reply {number} of {total}]")

    def failed(self, reason: str) -> str:
        """The client gives up (a timeout); the session counts as failed."""
        self._failure = reason
        return self._line(f"[gave up: {reason}]")

    def closed(self, code: int, reason: str, by: Literal["client", "server"], now: float) -> str:
        """The connection closed with ``code`` and ``reason`` (1006: lost without a close)."""
        self._close = (code, reason, by)
        self._ended = now
        detail = f": {reason}" if reason else ""
        return self._line(f"[closed by {by}: {code} {close_name(code)}{detail}]")

    def summary(self, now: float) -> SessionSummary:
        """The session so far as a :class:`SessionSummary`."""
        code, reason, by = self._close if self._close else (None, "", None)
        ended = self._ended if self._ended is not None else now
        reply = np.concatenate(self._reply) if self._reply else np.zeros(0, np.float32)
        return SessionSummary(
            url=self._url,
            connected=self._opened is not None,
            connect_seconds=(
                None if self._opened is None else round(self._opened - self._started, 4)
            ),
            handshake_latency=(
                None
                if self._handshake is None or self._opened is None
                else round(self._handshake - self._opened, 4)
            ),
            pages_sent=self._pages_sent,
            audio_seconds_sent=self.audio_clock,
            pages_received=self._pages_received,
            reply_pcm=reply,
            texts=tuple(self._texts),
            notices=tuple(self._notices),
            events=tuple(self._events),
            errors=tuple(self._errors),
            controls_sent=tuple(self._controls),
            invalid_messages=self._invalid,
            close_code=code,
            close_reason=reason,
            closed_by=by,
            failure=self._failure,
            duration=round(ended - self._started, 4),
        )
