"""When to say the next spoken reply (``--reply``): after the proxy has asked, and has finished
speaking.

A spoken answer at a fixed point of the input is said too early when a busy proxy asks late:
the proxy then hears it over its own voice, takes it for the echo of its question and fires no
trigger.  So the client holds each reply back until the proxy has asked for one (a ``command``
event asking to confirm, or an ``unnamed`` event: "Not run: say …") and its ``speaking`` events
say that everything it had to say has been played, plus a gap longer than the proxy's echo
tail.  Pure: audio times in, a yes or no out; :mod:`client.session` streams the reply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from client.asking import ask_in_event
from voiceops.records.events import SessionEvent, SpeakingEvent, UnnamedEvent

#: Seconds of audio between the end of the proxy's speech and a reply: more than the proxy's
#: default echo tail (0.6 s), which makes words said in it count as the echo of its speech.
QUIET_GAP_S = 1.2
#: Seconds of audio after the ask when the reply is said anyway: the proxy has no voice, or a
#: text of its was dropped and no ``speaking`` event will say that it has finished.
PATIENCE_S = 30.0
#: Longest piece of speech believed from one ``speaking`` event (a bound on network input).
MAX_SPEECH_S = 120.0


def asks_for_reply(record: SessionEvent | None) -> bool:
    """Whether one ``0x04`` event asks for a spoken answer: a command waiting to be confirmed,
    or a confirmation that named no action (the proxy says what to say instead)."""
    if ask_in_event(record) is not None:
        return True
    return record is not None and isinstance(record.event, UnnamedEvent)


@dataclass(frozen=True, slots=True)
class Speech:
    """A ``speaking`` event as heard: at ``at`` (audio clock) the proxy had ``seconds`` of
    speech queued, and ``more`` texts behind them."""

    at: float
    seconds: float
    more: bool

    @classmethod
    def heard(cls, at: float, event: SpeakingEvent) -> Speech:
        """The event received at audio time ``at``, its length bounded."""
        seconds = MAX_SPEECH_S if math.isnan(event.seconds) else event.seconds
        return cls(at, min(max(seconds, 0.0), MAX_SPEECH_S), event.more)


@dataclass(frozen=True, slots=True)
class ReplyRule:
    """When reply number ``said`` (0-based) is due.

    Reply *n* answers the *n*-th ask.  It waits for that ask and for the end of the previous
    reply; from the later of the two (``since``) it waits for a ``speaking`` event (the ask's
    own words), and then until the last one has no ``more`` behind it and all their speech plus
    ``gap`` has gone by.  ``patience`` seconds of audio after ``since`` it is said anyway.
    """

    gap: float = QUIET_GAP_S
    patience: float = PATIENCE_S

    def due(
        self,
        *,
        audio_clock: float,
        asks: Sequence[float],
        said: int,
        said_until: float,
        speech: Sequence[Speech],
    ) -> bool:
        """Whether to start reply ``said`` now, ``audio_clock`` seconds into the session.

        ``asks`` are the audio times of the asks, in order; ``said_until`` is where the
        previous reply ended (0 before the first); ``speech`` the ``speaking`` events so far.
        """
        if len(asks) <= said:
            return False
        since = max(asks[said], said_until)
        # Audio times are sums of 80 ms pages: allow for rounding.
        if audio_clock >= since + self.patience - 1e-9:
            return True
        spoken = [s for s in speech if s.at >= since]
        if not spoken or spoken[-1].more:
            return False
        end = max(s.at + s.seconds for s in spoken)
        return audio_clock >= end + self.gap - 1e-9
