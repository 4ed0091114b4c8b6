"""Utterance transcription: one utterance's 16 kHz PCM in, its text out.

:class:`WhisperTranscriber` (faster-whisper, tiny.en by default) is the recogniser for the
user's words; :class:`SphinxTranscriber` (pocketsphinx general model) is only a fallback when
no Whisper model is installed — its words are poor.  Both are shared by all sessions and
serialise calls with a lock: the model is loaded once per process, and one call already uses
every CPU thread the recogniser is given, so calls in parallel would compete for the same cores
rather than finish sooner.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from proxy.listen.speech.audio import ASR_RATE, Pcm

#: Mel frames per second of audio (10 ms hop), and Whisper's full window in frames.
FRAMES_PER_S = 100
FULL_WINDOW = 3000
#: Frames of padding always kept after the utterance: Whisper must hear that it ended.
TAIL_FRAMES = 100
#: Longest word sequence whose immediate repetition is folded.
_MAX_REPEAT = 4
_NORMAL = re.compile(r"[^a-z0-9']+")


@dataclass(frozen=True, slots=True)
class EncoderWindow:
    """How much audio Whisper's encoder sees per utterance (see :mod:`proxy.listen.speech.whisper`).

    Utterances shorter than ``full_below_s`` — replies, "execute plan" said alone, every
    decision pass — keep Whisper's full 30 s window and are heard exactly as before (a short
    window made tiny.en loop and hear "cancel" as "Console" there).  Longer ones are encoded
    in ``min_s`` seconds, or the utterance and :data:`TAIL_FRAMES` when that is longer.
    """

    min_s: float
    full_below_s: float

    def frames(self, samples: int, rate: int) -> int | None:
        """Encoder frames for an utterance of ``samples`` (``None``: the full window)."""
        if samples < self.full_below_s * rate:
            return None
        frames = max(round(self.min_s * FRAMES_PER_S), samples * FRAMES_PER_S // rate + TAIL_FRAMES)
        frames += frames % 2  # the encoder's convolution halves the frames
        return frames if frames < FULL_WINDOW else None


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

    def hear(self, pcm: Pcm, hotwords: str | None = None, *, once: bool = False) -> Heard:
        """The words in ``pcm`` and the recogniser's confidence; ``hotwords`` replaces the
        configured ones for this call (a decision pass listening for other words); ``once``:
        one greedy decode, never decoded again at a higher temperature when unsure."""
        ...

    def score(self, pcm: Pcm, texts: Sequence[str], *, prompt: bool = True) -> list[float]:
        """The log-probability of each of ``texts`` as the words in ``pcm``, under the
        configured hotwords or none (``prompt=False``) (empty: this recogniser cannot judge
        words it did not choose)."""
        ...


class WhisperTranscriber:
    """faster-whisper ``WhisperModel`` wrapper: utterance PCM in, text out.

    With a ``window`` the model must be a :class:`~proxy.listen.speech.whisper.LeanWhisper`:
    longer utterances are encoded in a shorter window than 30 s (:class:`EncoderWindow`).
    """

    reliable = True

    def __init__(
        self,
        model: Any,
        name: str,
        beam_size: int = 1,
        hotwords: str | None = None,
        window: EncoderWindow | None = None,
    ):
        self.name = name
        self._model = model
        self._beam_size = beam_size
        self._hotwords = hotwords
        self._window = window
        self._lock = threading.Lock()

    def transcribe(self, pcm: Pcm) -> str:
        """Decode one utterance (greedy by default, no timestamps, no previous-text context)."""
        return self.hear(pcm).text

    def hear(self, pcm: Pcm, hotwords: str | None = None, *, once: bool = False) -> Heard:
        """Decode one utterance; ``logprob`` is the lowest segment's mean token log-probability.

        Unsure of its words, faster-whisper decodes again at higher temperatures (up to six
        decodes, sampled).  ``once`` keeps the first: measured, a names pass that fell back
        cost 4.0 CPU-s instead of 0.08 (``bench/bench_names.py``)."""
        audio = np.ascontiguousarray(pcm, dtype=np.float32)
        with self._lock:
            frames = self._cut(audio)
            segments, _info = self._model.transcribe(
                audio,
                language="en",
                beam_size=self._beam_size,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                hotwords=hotwords or self._hotwords,
                **({"temperature": 0.0} if once else {}),
            )
            # The segments are a lazy generator: decoding happens here, inside the lock.
            done = list(segments)
        text = " ".join(s.text.strip() for s in done).strip()
        if frames is not None:
            text = collapse_repeats(text)
        return Heard(text, min((float(s.avg_logprob) for s in done), default=0.0))

    def score(self, pcm: Pcm, texts: Sequence[str], *, prompt: bool = True) -> list[float]:
        """Teacher-forced log-probabilities of ``texts`` for one utterance, under the prompt
        its transcription had, or none (``prompt=False``: a reading no hotword biases)
        (:meth:`~proxy.listen.speech.whisper.LeanWhisper.score`)."""
        audio = np.ascontiguousarray(pcm, dtype=np.float32)
        with self._lock:
            self._cut(audio)
            return list(self._model.score(audio, texts, self._hotwords if prompt else None))

    def _cut(self, audio: Pcm) -> int | None:
        """Set the model's encoder window for ``audio`` (under the lock); the frames it encodes
        (``None``: Whisper's full window)."""
        if self._window is None:
            return None
        frames = self._window.frames(audio.size, ASR_RATE)
        self._model.frames = frames
        return frames


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

    def hear(self, pcm: Pcm, hotwords: str | None = None, *, once: bool = False) -> Heard:
        """Decode one utterance (no hotwords, no confidence: the fallback cannot do either)."""
        raw = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(raw, False, True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return Heard("" if hyp is None else str(hyp.hypstr).strip())

    def score(self, pcm: Pcm, texts: Sequence[str], *, prompt: bool = True) -> list[float]:
        """Nothing: the fallback's decoder cannot score words it did not choose."""
        return []


def collapse_repeats(text: str) -> str:
    """``text`` with immediately repeated word sequences said once ("confirm confirm" →
    "confirm"): in a short window Whisper may loop on its last words (measured: "confirm" →
    "confirm confirm confirm confirm"), since it was trained on 30 s windows."""
    tokens = text.split()
    keys = [_NORMAL.sub("", t.lower()) for t in tokens]
    out: list[int] = []
    for i in range(len(tokens)):
        out.append(i)
        for n in range(1, _MAX_REPEAT + 1):
            if len(out) >= 2 * n and [keys[j] for j in out[-n:]] == [
                keys[j] for j in out[-2 * n : -n]
            ]:
                del out[-n:]
                break
    return " ".join(tokens[i] for i in out)
