"""Speech mixed into the model's reply audio, page for page (pure: bytes and PCM, no I/O).

Towards the browser every upstream ``0x01`` message is one ``append_pcm`` worth of Ogg pages
(sphn: 80 ms as two 40 ms pages).  While nothing is queued :meth:`ReplyMixer.process` returns
the message object it was given — one attribute test, no decoding.  While speech is queued it
decodes the message, ducks the model under the speech, encodes the mix with its own
``sphn.OpusStreamWriter`` and puts the new Opus packets into the *upstream's* page headers
(:mod:`proxy.speak.ogg`): the browser's demuxer sees the same stream serial, page sequence,
granule positions and page count, so the unmodified UI just plays it.  A message whose layout it
does not expect (another frame size, a broken page) is forwarded untouched and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import sphn

from proxy.relay.codec import Kind
from proxy.speak import ogg

log = logging.getLogger(__name__)

Pcm = npt.NDArray[np.float32]

#: Rate of the protocol's audio.
RATE = 24_000
#: Gain of the model's voice under our speech (−12 dB): still there, clearly behind.
DEFAULT_DUCK = 0.25
#: Samples over which the model's gain slides down and back up (20 ms): no clicks.
RAMP_SAMPLES = 480

_AUDIO = bytes([Kind.AUDIO])


class ReplyMixer:
    """Upstream reply messages in (``process``), the same messages out, with queued speech
    (``say``) mixed in.  One per conversation; used on the event loop only."""

    def __init__(self, duck: float = DEFAULT_DUCK) -> None:
        self._duck = duck
        self._speech: Pcm = np.zeros(0, dtype=np.float32)
        self._level = 1.0  # the model's gain at the end of the last mixed page
        self._reader: sphn.OpusStreamReader | None = None
        self._writer: sphn.OpusStreamWriter | None = None
        self._active = False
        self._played = 0  # speech samples mixed so far
        self._starts: list[tuple[int, float, Callable[[float], None]]] = []
        #: Messages forwarded untouched because their layout was not the expected one.
        self.passed_unmixed = 0
        #: Messages that carried our speech.
        self.mixed = 0

    @property
    def queued_seconds(self) -> float:
        """Speech still to be played, in seconds."""
        return self._speech.size / RATE

    def say(self, pcm: Pcm, on_start: Callable[[float], None] | None = None) -> float:
        """Queue ``pcm`` (24 kHz mono float32) after what is already queued; returns the seconds
        until it will have been played (at the upstream's pace).  ``on_start(seconds)`` is
        called when its first sample goes out, with its length."""
        if on_start is not None:
            start = self._played + self._speech.size
            self._starts.append((start, pcm.size / RATE, on_start))
        self._speech = np.concatenate([self._speech, np.asarray(pcm, dtype=np.float32)])
        self._active = True
        return self.queued_seconds

    def process(self, data: bytes) -> bytes:
        """One upstream message (kind byte first) → the message to forward."""
        if not self._active or data[:1] != _AUDIO:
            return data
        try:
            pages = ogg.parse(data[1:])
        except ogg.OggError:
            self.passed_unmixed += 1
            return data
        audio = [p for p in pages if not p.is_header]
        lengths = [sum(ogg.samples(packet) for packet in p.packets) for p in audio]
        total = sum(lengths)
        if not total:
            return data
        mixed = self._mix(data[1:], total)
        packets = self._encode(mixed)
        if [sum(ogg.samples(p) for p in page) for page in packets] != lengths:
            # Another frame layout than ours: leave the model's page alone.
            self.passed_unmixed += 1
            if self.passed_unmixed == 1:
                log.warning("reply pages of %s samples cannot carry speech; forwarded", lengths)
            return data
        self.mixed += 1
        swapped = iter(packets)
        out = [_AUDIO]
        out += [ogg.build(p if p.is_header else p.with_packets(next(swapped))) for p in pages]
        if not self._speech.size and self._level >= 1.0:
            self._end()
        return b"".join(out)

    def _mix(self, payload: bytes, total: int) -> Pcm:
        if self._reader is None:
            # Opus decodes a page without the stream's header pages (measured: full 80 ms).
            self._reader = sphn.OpusStreamReader(RATE)
            self._writer = sphn.OpusStreamWriter(RATE)
        model = np.asarray(self._reader.append_bytes(payload), dtype=np.float32)
        if model.size != total:
            model = np.resize(model, total) if model.size else np.zeros(total, np.float32)
        speech, self._speech = self._speech[:total], self._speech[total:]
        spoken = speech.size
        self._played += spoken
        while self._starts and self._starts[0][0] < self._played:
            _, seconds, on_start = self._starts.pop(0)
            on_start(seconds)
        step = (1.0 - self._duck) / RAMP_SAMPLES
        down = np.maximum(self._duck, self._level - step * np.arange(1, spoken + 1))
        start = float(down[-1]) if spoken else self._level
        up = np.minimum(1.0, start + step * np.arange(1, total - spoken + 1))
        gain = np.concatenate([down, up]).astype(np.float32)
        self._level = float(gain[-1])
        mix = model * gain
        mix[:spoken] += speech
        clipped: Pcm = np.clip(mix, -1.0, 1.0).astype(np.float32)
        return clipped

    def _encode(self, pcm: Pcm) -> list[tuple[bytes, ...]]:
        assert self._writer is not None
        pages = ogg.parse(self._writer.append_pcm(pcm))
        return [p.packets for p in pages if not p.is_header]

    def _end(self) -> None:
        """The speech and the ramp back are over: back to the zero-cost path."""
        self._active = False
        self._reader = self._writer = None


def pages_of(messages: Sequence[bytes]) -> list[ogg.Page]:
    """Every page of a list of ``0x01`` messages (tests and the bench compare streams)."""
    return [page for m in messages if m[:1] == _AUDIO for page in ogg.parse(m[1:])]
