"""Voice-activity detection: 16 kHz PCM chunks in, finished utterances out (pure).

:class:`Segmenter` turns voiced/unvoiced frames into utterances; :class:`EnergyVad` decides by
level, :class:`proxy.listen.speech.silero.SileroVad` (the default) by a neural model.
For the energy VAD, each ``vad_frame_s`` frame's level (dBFS) is compared with
``max(vad_min_db, noise floor + vad_margin_db)``.  The noise floor follows quiet frames
quickly downwards and slowly upwards, so steady background noise stops counting as speech
within a few seconds.  An utterance opens
after ``vad_start_s`` of voiced frames (with ``vad_preroll_s`` of audio before it, so the first
syllable is not cut) and closes after ``vad_hangover_s`` of unvoiced frames, or when it reaches
``vad_max_utterance_s``.  Audio that never arrived (:meth:`Segmenter.skip`) ends the open
utterance where the audio stopped and moves the clock on.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from proxy.listen.speech.audio import ASR_RATE, Pcm
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings

#: Floor used for digital silence so log10 stays finite.
_SILENT_DB = -120.0
#: How fast the noise floor rises per frame (dB); it falls at once to a quieter frame.
_FLOOR_RISE_DB = 0.1


@dataclass(frozen=True, slots=True)
class Utterance:
    """A stretch of speech: 16 kHz PCM and its ``start``/``end`` on the audio clock (seconds)."""

    pcm: Pcm
    start: float
    end: float


def level_db(frame: Pcm) -> float:
    """RMS level of a frame in dBFS."""
    if frame.size == 0:
        return _SILENT_DB
    rms = math.sqrt(float(np.mean(np.square(frame, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 1e-6 else _SILENT_DB


class Segmenter:
    """Voiced/unvoiced frames in, :class:`Utterance` objects out: the start, hangover, pre-roll
    and length rules shared by every voice-activity detector.

    A detector subclass cuts the audio into frames of ``frame`` samples and says for each one
    whether it is speech (:meth:`_voiced`).
    """

    def __init__(self, settings: TapSettings, frame: int) -> None:
        self.s = settings
        frame_s = frame / ASR_RATE
        self._frame = frame
        self._start_frames = max(1, math.ceil(settings.vad_start_s / frame_s))
        self._hang_frames = max(1, math.ceil(settings.vad_hangover_s / frame_s))
        self._preroll_frames = max(0, math.ceil(settings.vad_preroll_s / frame_s))
        # Rounded down: no utterance is longer than the limit, whatever the frame length.
        self._max_frames = max(1, math.floor(settings.vad_max_utterance_s / frame_s + 1e-9))
        self._min_frames = max(1, math.ceil(settings.vad_min_utterance_s / frame_s))
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_seen = 0
        self._history: deque[Pcm] = deque(maxlen=self._preroll_frames + self._start_frames)
        self._voiced_run = 0
        self._quiet_run = 0
        self._speech: list[Pcm] | None = None
        self._speech_start = 0
        self._skipped_s = 0.0  # audio that never arrived, on the clock but not in the frames

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._speech is not None

    @property
    def seconds(self) -> float:
        """Audio consumed so far (whole frames and skipped audio), in seconds."""
        return self._skipped_s + self._frames_seen * self._frame / ASR_RATE

    def push(self, pcm: Pcm) -> list[Utterance]:
        """Feed audio; returns the utterances that ended inside it."""
        self._pending = np.concatenate([self._pending, pcm.astype(np.float32, copy=False)])
        n = self._frame
        whole = (self._pending.size // n) * n
        frames = [self._pending[i : i + n] for i in range(0, whole, n)]
        self._pending = self._pending[whole:]
        done: list[Utterance] = []
        for frame, voiced in zip(frames, self._voiced(frames), strict=True):
            utt = self._frame_in(frame, voiced)
            if utt is not None:
                done.append(utt)
        return done

    def flush(self) -> Utterance | None:
        """End of stream: close the open utterance, if long enough."""
        return self._close(trailing_quiet=0)

    def skip(self, seconds: float) -> Utterance | None:
        """``seconds`` of audio never arrived: the open utterance ends where the audio stopped
        (if long enough, it is returned), and the clock moves on by ``seconds``.

        Gluing the words on both sides of a gap into one utterance would give the recogniser
        speech that was never said.
        """
        cut = self._close(trailing_quiet=self._quiet_run)
        self._history.clear()
        self._skipped_s += max(0.0, seconds)
        return cut

    def _voiced(self, frames: list[Pcm]) -> list[bool]:
        """Whether each frame (in order, continuing the stream) is speech."""
        raise NotImplementedError

    def _frame_in(self, frame: Pcm, voiced: bool) -> Utterance | None:
        self._frames_seen += 1
        if self._speech is None:
            self._history.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._start_frames:
                self._speech = list(self._history)
                self._speech_start = self._frames_seen - len(self._speech)
                self._history.clear()
                self._quiet_run = 0
            return None
        self._speech.append(frame)
        self._quiet_run = 0 if voiced else self._quiet_run + 1
        if self._quiet_run >= self._hang_frames:
            return self._close(trailing_quiet=self._quiet_run)
        if len(self._speech) >= self._max_frames:
            return self._close(trailing_quiet=self._quiet_run)
        return None

    def _close(self, trailing_quiet: int) -> Utterance | None:
        speech, self._speech = self._speech, None
        self._voiced_run = 0
        self._quiet_run = 0
        if speech is None or len(speech) - trailing_quiet < self._min_frames:
            return None
        sec = self._frame / ASR_RATE
        start = self._skipped_s + self._speech_start * sec
        # End at the last voiced frame; the hangover's quiet tail is kept in the audio only.
        end = self._skipped_s + (self._speech_start + len(speech) - trailing_quiet) * sec
        return Utterance(np.concatenate(speech), max(0.0, start), end)


class EnergyVad(Segmenter):
    """16 kHz PCM chunks in (any size), :class:`Utterance` objects out when each one ends;
    a frame is speech when it is loud enough above the tracked noise floor."""

    def __init__(self, settings: TapSettings = DEFAULT_SETTINGS) -> None:
        super().__init__(settings, max(1, round(settings.vad_frame_s * ASR_RATE)))
        self._floor = settings.vad_min_db - settings.vad_margin_db

    def _voiced(self, frames: list[Pcm]) -> list[bool]:
        out = []
        for frame in frames:
            db = level_db(frame)
            out.append(db >= max(self.s.vad_min_db, self._floor + self.s.vad_margin_db))
            # The floor follows the quietest recent frames: down at once, up slowly, so steady
            # noise is learnt within seconds while the pauses between words keep it low.
            self._floor = db if db < self._floor else self._floor + _FLOOR_RISE_DB
        return out
