"""Waiting for the proxy's results: which ``0x04`` events are results, and when the silence
after the input may end.

The model's output is clocked by the client's input, so the client keeps sending silence after
its input; a fixed amount of it (``tail``) is a guess at how long the proxy takes to hear,
check, run and report.  On a loaded machine the guess is wrong and the result comes after the
client has hung up.  With ``until_results`` the client instead keeps talking until the proxy
has reported that many results (or a wall-clock limit runs out).  Pure: numbers in, a verdict
out; :mod:`client.session` carries it out.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from voiceops.records.events import CommandEvent, DoneEvent, RefusedEvent, SessionEvent

#: Command statuses that are not yet a result: the command still waits for a person or for
#: the one before it.
UNSETTLED_STATUSES = frozenset({"needs_confirmation", "held"})


def is_result(record: SessionEvent | None) -> bool:
    """Whether one ``0x04`` event reports a result.

    A result is one command's final fate (a ``command`` event whose status is not
    ``needs_confirmation`` or ``held``: executed, failed, blocked, cancelled, expired) or a
    request that ended without any command (a ``done`` event without results, e.g. nothing to
    run; a ``refused`` event: running commands is off).  ``None`` (not one of the proxy's
    events) is no result.
    """
    event = record.event if record is not None else None
    if isinstance(event, CommandEvent):
        return event.result.status not in UNSETTLED_STATUSES
    if isinstance(event, DoneEvent):
        return not event.results
    return isinstance(event, RefusedEvent)


class Verdict(enum.Enum):
    """What the sender does next once the input and every control frame have gone."""

    #: Send another page of silence.
    SILENCE = "silence"
    #: Enough silence: close normally.
    DONE = "done"
    #: The awaited results did not come in time: close normally and say so.
    GAVE_UP = "gave_up"


@dataclass(frozen=True, slots=True)
class TailRule:
    """When the silence after the input ends.

    ``tail`` seconds of audio after the last of: the end of the input, the last control frame,
    the last spoken reply and, with ``results`` > 0, the arrival of that many results.  Waiting
    for results (or for the asks of spoken replies) gives up ``timeout`` wall-clock seconds
    after those.
    """

    tail: float
    results: int = 0
    timeout: float = 60.0

    def verdict(
        self,
        *,
        audio_clock: float,
        quiet_from: float,
        arrived: Sequence[float],
        waited: float,
        unsaid: int = 0,
    ) -> Verdict:
        """The next move, ``audio_clock`` seconds of audio into the session.

        ``quiet_from`` is the audio time of the later of the input's end, the last control
        frame and the last spoken reply; ``arrived`` the audio times at which results came, in
        order; ``waited`` the wall-clock seconds since those went; ``unsaid`` the spoken replies
        still waiting for the proxy to ask (they hold the silence like awaited results; one
        already asked for is said within :class:`client.replies.ReplyRule`'s patience, and the
        session does not ask for a verdict meanwhile).
        """
        if unsaid or len(arrived) < self.results:
            return Verdict.GAVE_UP if waited >= self.timeout else Verdict.SILENCE
        last = arrived[self.results - 1] if self.results else quiet_from
        end = max(quiet_from, last) + self.tail
        # Audio times are sums of 80 ms pages: allow for rounding.
        return Verdict.DONE if audio_clock >= end - 1e-9 else Verdict.SILENCE

    def gave_up(self, got: int, unsaid: int = 0) -> str:
        """Why the session stopped waiting, for the summary's ``failure``."""
        missing = [f"{got} of {self.results} result(s)"] if got < self.results else []
        if unsaid:
            missing.append(f"no ask for {unsaid} spoken reply(ies)")
        return (
            f"{' and '.join(missing)} within {self.timeout:g} s "
            "after the input and the last control frame"
        )
