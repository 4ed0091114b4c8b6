"""Utterance transcription: one utterance's 16 kHz PCM in, its text out.

:class:`WhisperTranscriber` (faster-whisper, tiny.en by default) is the recogniser for the
user's words; :class:`SphinxTranscriber` (pocketsphinx general model) is only a fallback when
no Whisper model is installed — its words are poor.  Both are shared by all sessions and
serialise calls with a lock: the model is loaded once per process, and one call already uses
every CPU thread the recogniser is given, so calls in parallel would compete for the same cores
rather than finish sooner.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from proxy.listen.speech.audio import Pcm


@dataclass(frozen=True, slots=True)
class Heard:
    """What a recogniser heard in one utterance: the words, and how sure it was of them
    (``logprob``: the mean log-probability per token, 0.0 certain; 0.0 when unknown)."""

    text: str
    logprob: float = 0.0


class Transcriber(Protocol):
    """16 kHz mono float32 PCM of one utterance in, recognised text out (thread-safe)."""

    name: str
    #: True when the text is good enough to decide triggers on by itself.
    reliable: bool

    def transcribe(self, pcm: Pcm) -> str:
        """The words in ``pcm`` ("" when none)."""
        ...

    def hear(self, pcm: Pcm, hotwords: str | None = None) -> Heard:
        """The words in ``pcm`` and the recogniser's confidence; ``hotwords`` replaces the
        configured ones for this call (a decision pass listening for other words)."""
        ...


class WhisperTranscriber:
    """faster-whisper ``WhisperModel`` wrapper: utterance PCM in, text out."""

    reliable = True

    def __init__(self, model: Any, name: str, beam_size: int = 1, hotwords: str | None = None):
        self.name = name
        self._model = model
        self._beam_size = beam_size
        self._hotwords = hotwords
        self._lock = threading.Lock()

    def transcribe(self, pcm: Pcm) -> str:
        """Decode one utterance (greedy by default, no timestamps, no previous-text context)."""
        return self.hear(pcm).text

    def hear(self, pcm: Pcm, hotwords: str | None = None) -> Heard:
        """Decode one utterance; ``logprob`` is the lowest segment's mean token log-probability."""
        audio = np.ascontiguousarray(pcm, dtype=np.float32)
        with self._lock:
            segments, _info = self._model.transcribe(
                audio,
                language="en",
                beam_size=self._beam_size,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                hotwords=hotwords or self._hotwords,
            )
            # The segments are a lazy generator: decoding happens here, inside the lock.
            done = list(segments)
        text = " ".join(s.text.strip() for s in done).strip()
        return Heard(text, min((float(s.avg_logprob) for s in done), default=0.0))


class SphinxTranscriber:
    """pocketsphinx general-model decoding of an utterance (fallback; poor words)."""

    name = "pocketsphinx-en-us"
    reliable = False

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self._lock = threading.Lock()

    def transcribe(self, pcm: Pcm) -> str:
        """Decode one utterance with the general language model."""
        return self.hear(pcm).text

    def hear(self, pcm: Pcm, hotwords: str | None = None) -> Heard:
        """Decode one utterance (no hotwords, no confidence: the fallback cannot do either)."""
        raw = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(raw, False, True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return Heard("" if hyp is None else str(hyp.hypstr).strip())
