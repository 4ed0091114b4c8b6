"""One conversation's voice: texts in, synthesised off the event loop, queued into the reply.

:meth:`Speaker.say` returns at once.  Synthesis runs in a worker thread (the synthesiser itself
is a subprocess), one text after another so they are heard in the order they were said; the
speech then waits in the :class:`~proxy.speak.mixer.ReplyMixer` until the next reply pages
carry it.  When the first sample goes out, ``on_start(seconds)`` tells the listening side that
the operator's channel may carry our echo for that long.  A failing synthesiser costs the
operator the spoken version only: the text was shown already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from proxy.speak.mixer import ReplyMixer
from proxy.speak.synth import Synthesiser

log = logging.getLogger(__name__)

#: Texts waiting to be synthesised per conversation; more are dropped (the text is on screen).
MAX_WAITING = 8


@dataclass(slots=True)
class SpeakerStats:
    """How long speech took: synthesis, and from :meth:`Speaker.say` to its first sample out."""

    synthesis_s: list[float] = field(default_factory=list)
    first_audio_s: list[float] = field(default_factory=list)
    dropped: int = 0
    failed: int = 0


class Speaker:
    """Texts in (:meth:`say`), speech out through ``mixer``; used on the event loop."""

    def __init__(
        self,
        synthesiser: Synthesiser,
        mixer: ReplyMixer,
        on_start: Callable[[float], None] | None = None,
    ) -> None:
        self._synthesiser = synthesiser
        self._mixer = mixer
        self._on_start = on_start
        self._last: asyncio.Task[None] | None = None
        self._waiting = 0
        self.stats = SpeakerStats()

    @property
    def queued_seconds(self) -> float:
        """Speech synthesised and not yet played, in seconds."""
        return self._mixer.queued_seconds

    @property
    def synthesising(self) -> bool:
        """Texts are still being synthesised (or wait for it): more speech will follow."""
        return self._waiting > 0

    def say(self, text: str) -> None:
        """Speak ``text`` after whatever is being said; returns at once."""
        if not text.strip():
            return
        if self._waiting >= MAX_WAITING:
            self.stats.dropped += 1
            return
        self._waiting += 1
        self._last = asyncio.create_task(self._speak(self._last, text, time.monotonic()))

    async def _speak(self, previous: asyncio.Task[None] | None, text: str, asked: float) -> None:
        try:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            began = time.monotonic()
            try:
                pcm = await asyncio.to_thread(self._synthesiser.synthesise, text)
            except Exception:
                self.stats.failed += 1
                log.warning("could not synthesise %r; shown as text only", text, exc_info=True)
                return
            self.stats.synthesis_s.append(time.monotonic() - began)

            def started(seconds: float) -> None:
                self.stats.first_audio_s.append(time.monotonic() - asked)
                if self._on_start is not None:
                    self._on_start(seconds)

            self._mixer.say(pcm, started)
        finally:
            self._waiting -= 1

    async def close(self) -> None:
        """Stop: pending synthesis is abandoned."""
        if self._last is not None:
            self._last.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._last
