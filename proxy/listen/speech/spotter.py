"""Keyphrase spotting: 16 kHz PCM chunks in, keyphrase hits out, streaming and cheap.

pocketsphinx's keyphrase search listens for the trigger phrases only (RTF ≈0.02 here).  It
is blind to small words ("execute the plan" sounds like "execute plan" to it), so the tap uses
its hits as evidence next to the Whisper text, not as the only word (see ``proxy.listen.triggers``).
One :class:`KeyphraseSpotter` per session: a pocketsphinx decoder holds per-stream state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from proxy.listen.speech.audio import ASR_RATE, Pcm


@dataclass(frozen=True, slots=True)
class KeyphraseHit:
    """A keyphrase heard at ``at`` seconds of audio (when the decoder noticed it)."""

    phrase: str
    at: float


class KeyphraseSpotter:
    """16 kHz float32 PCM in (any chunk size), :class:`KeyphraseHit` objects out."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self._samples = 0
        self._decoder.start_utt()

    def push(self, pcm: Pcm) -> list[KeyphraseHit]:
        """Feed audio; returns the keyphrases detected in it."""
        if pcm.size == 0:
            return []
        self._samples += pcm.size
        raw = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        self._decoder.process_raw(raw, False, False)
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return []
        # Restart the search so one spoken phrase is reported once, not on every later chunk.
        self._decoder.end_utt()
        self._decoder.start_utt()
        at = self._samples / ASR_RATE
        return [KeyphraseHit(str(hyp.hypstr).strip(), at)]

    def skip(self, seconds: float) -> None:
        """``seconds`` of audio never arrived: move the clock on, and start the search afresh
        (a phrase must not be pieced together across the gap)."""
        self._samples += round(max(0.0, seconds) * ASR_RATE)
        self._decoder.end_utt()
        self._decoder.start_utt()

    def close(self) -> None:
        """End the decoder's utterance (the spotter is not used afterwards)."""
        self._decoder.end_utt()
