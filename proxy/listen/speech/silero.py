"""Silero voice-activity detection: the neural VAD whose ONNX model ships inside faster-whisper.

A frame (32 ms at 16 kHz) is speech when Silero's speech probability reaches
``vad_silero_threshold`` (or, right after a speech frame, that threshold minus
:data:`HYSTERESIS`, so a soft syllable does not end the run).  Start, hangover, pre-roll and length
rules are the energy VAD's (:class:`proxy.listen.speech.vad.Segmenter`).  The default VAD:
measured against the energy VAD by ``bench/bench_vad.py`` (segmentation) and
``bench/bench_vad_triggers.py`` (triggers end to end).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from proxy.listen.speech.audio import Pcm
from proxy.listen.speech.settings import DEFAULT_SETTINGS, TapSettings
from proxy.listen.speech.vad import Segmenter

#: Samples per Silero frame at 16 kHz, and the samples of the previous frame it also sees.
FRAME = 512
CONTEXT = 64
#: How far below the start threshold the probability may fall while an utterance is open.
HYSTERESIS = 0.15
_STATE_SHAPE = (1, 1, 128)


def silero_model_path() -> Path | None:
    """The Silero ONNX model inside the installed faster-whisper package, if any."""
    try:
        import faster_whisper  # noqa: PLC0415
    except ImportError:
        return None
    found = sorted((Path(faster_whisper.__file__).parent / "assets").glob("silero_vad*.onnx"))
    return found[-1] if found else None


class SileroModel:
    """One ONNX session for the process (loaded once, ≈1 MB); streams keep their own state."""

    def __init__(self, path: Path) -> None:
        import onnxruntime  # noqa: PLC0415 - only the Silero VAD needs it

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session: Any = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self._lock = threading.Lock()

    def probabilities(
        self, rows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Speech probability per row (context + frame), and the state after the last row."""
        with self._lock:
            probs, h, c = self._session.run(None, {"input": rows, "h": h, "c": c})
        return np.asarray(probs).reshape(-1), h, c


class SileroVad(Segmenter):
    """16 kHz PCM chunks in (any size), :class:`Utterance` objects out, Silero deciding speech."""

    def __init__(self, model: SileroModel, settings: TapSettings = DEFAULT_SETTINGS) -> None:
        super().__init__(settings, FRAME)
        self._model = model
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._last = False

    def _voiced(self, frames: list[Pcm]) -> list[bool]:
        if not frames:
            return []
        rows = []
        for frame in frames:
            rows.append(np.concatenate([self._context, frame]))
            self._context = frame[-CONTEXT:]
        probs, self._h, self._c = self._model.probabilities(
            np.stack(rows).astype(np.float32), self._h, self._c
        )
        threshold = self.s.vad_silero_threshold
        out = []
        for p in probs:
            # A frame just below the threshold right after speech is still speech: soft syllables.
            self._last = bool(p >= threshold or (self._last and p >= threshold - HYSTERESIS))
            out.append(self._last)
        return out
