"""Client audio in (one Ogg/Opus page per message), 16 kHz mono float32 chunks out, with the
audio clock.

The clock counts samples received, never wall time: a stalled worker or a slow network cannot
stretch or shrink the timestamps of what the user said.  Pages the tap had to drop (an
overloaded worker) move it on by as much audio as they held (:meth:`PageDecoder.skip`), so the
clock still matches the user's real audio after a gap.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr
import sphn

from voiceops.errors import VoiceOpsError

#: Rate of the protocol's audio.
WIRE_RATE = 24_000
#: Rate the recognisers expect.
ASR_RATE = 16_000
#: Audio in one page of the PersonaPlex web UI (two 20 ms Opus frames): the length assumed for
#: pages dropped before any page was decoded.
UI_PAGE_SAMPLES = 960

Pcm = npt.NDArray[np.float32]

_OGG_MAGIC = b"OggS"


class BadAudioError(VoiceOpsError, ValueError):
    """A payload that is not a decodable Ogg/Opus page; the decoder has been reset."""


class PageDecoder:
    """Ogg/Opus pages in, 16 kHz float32 PCM out; ``seconds`` is the audio clock.

    Decoding uses sphn at 24 kHz, then a streaming soxr resampler (chunk-safe, unlike
    ``sphn.resample``).  A bad page raises :class:`BadAudioError` and resets the Ogg reader — sphn's
    reader keeps buffered garbage forever otherwise — and decoding goes on with the next page
    (sphn decodes mid-stream pages without the header pages).
    """

    def __init__(self) -> None:
        self._reader = sphn.OpusStreamReader(WIRE_RATE)
        self._resampler = soxr.ResampleStream(WIRE_RATE, ASR_RATE, 1, dtype="float32")
        self._wire_samples = 0
        self._page_samples = UI_PAGE_SAMPLES

    @property
    def seconds(self) -> float:
        """Audio received so far, in seconds (the session's user-side clock)."""
        return self._wire_samples / WIRE_RATE

    def skip(self, pages: int) -> float:
        """``pages`` pages never arrived: move the clock on by as long as the last page heard
        (a client's pages are all alike); returns the seconds skipped."""
        samples = max(0, pages) * self._page_samples
        self._wire_samples += samples
        return samples / WIRE_RATE

    def push(self, page: bytes) -> Pcm:
        """Decode one message's page(s); may return an empty array (header pages)."""
        if not page.startswith(_OGG_MAGIC):
            raise BadAudioError("payload does not start with an Ogg page")
        try:
            pcm = np.asarray(self._reader.append_bytes(page), dtype=np.float32)
        except Exception as exc:  # sphn raises ValueError today; any failure means "bad page"
            self._reader = sphn.OpusStreamReader(WIRE_RATE)
            raise BadAudioError(f"undecodable Ogg/Opus page: {exc}") from None
        if pcm.size == 0:
            return pcm
        self._wire_samples += pcm.size
        self._page_samples = pcm.size
        return np.asarray(self._resampler.resample_chunk(pcm), dtype=np.float32)

    def finish(self) -> Pcm:
        """Flush the resampler's tail at the end of the stream."""
        empty = np.zeros(0, dtype=np.float32)
        return np.asarray(self._resampler.resample_chunk(empty, last=True), dtype=np.float32)
