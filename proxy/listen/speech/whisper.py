"""faster-whisper that encodes an utterance once, optionally in a shorter window.

The decision pass (:mod:`proxy.listen.triggers`) hears the same utterance again with other
hotwords: the prompt changes, the audio does not, so the last encoder output is reused (the
encoder is deterministic) and a decision pass costs a decode only.

Whisper encodes every call as a 30 s window, padding short utterances: for tiny.en on one
thread that is ≈0.43 s CPU per utterance however short it is, ≈80 % of a talking session's
recognition cost (``bench/bench_speech_profile.py``).  CTranslate2 accepts a shorter window;
the encoder's cost then follows the window (≈0.015 s for 3 s).  Whisper was trained on 30 s
windows, so a short one changes what it hears; see
:func:`proxy.listen.speech.transcriber.window_frames`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from faster_whisper import WhisperModel


class LeanWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper is untyped
    """A :class:`WhisperModel` whose encoder sees ``frames`` mel frames (``None``: all 3000)
    and whose last encoding is reused for the same features.  Callers serialise calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: int | None = None
        self._last: tuple[bytes, Any] | None = None

    def encode(self, features: Any) -> Any:
        """The padded 30 s features cut to ``frames``, encoded (or the last encoding again)."""
        if self.frames is not None and features.shape[-1] > self.frames:
            features = features[..., : self.frames]
        key = hashlib.blake2b(features.tobytes(), digest_size=16).digest()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        encoded = super().encode(features)
        self._last = (key, encoded)
        return encoded
