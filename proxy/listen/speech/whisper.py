"""faster-whisper that encodes an utterance once, optionally in a shorter window.

The decision pass (:mod:`proxy.listen.triggers`) hears the same utterance again with other
hotwords, and the second look at a missed "execute plan" scores other words for it
(:meth:`LeanWhisper.score`): the prompt or the words change, the audio does not, so the last
encoder output is reused (the encoder is deterministic) and either costs decoder steps only.

Whisper encodes every call as a 30 s window, padding short utterances: for tiny.en on one
thread that is ≈0.43 s CPU per utterance however short it is, ≈80 % of a talking session's
recognition cost (``bench/bench_speech_profile.py``).  CTranslate2 accepts a shorter window;
the encoder's cost then follows the window (≈0.015 s for 3 s).  Whisper was trained on 30 s
windows, so a short one changes what it hears; see
:class:`proxy.listen.speech.transcriber.EncoderWindow`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer

#: Floor of a token probability before its logarithm (a probability of 0 would be -inf).
_MIN_PROB = 1e-12


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

    def score(self, audio: np.ndarray, texts: Sequence[str], hotwords: str | None) -> list[float]:
        """The log-probability of each of ``texts`` as the transcript of ``audio`` (its tokens',
        without the end: CTranslate2's alignment reports no probability for that),
        under the prompt a transcription with ``hotwords`` has: the model's own judgement of
        words its greedy decoding did not choose.

        The features are cut as :meth:`transcribe` cuts them, so after a transcription of the
        same audio the encoding is reused and this costs one teacher-forced decoder pass per
        text (≈0.03 s each for tiny.en on one thread)."""
        features = self.feature_extractor(audio)
        content = min(self.feature_extractor.nb_max_frames, features.shape[-1] - 1)
        encoded = self.encode(pad_or_trim(features[:, :content]))
        tokenizer = Tokenizer(self.hf_tokenizer, self.model.is_multilingual, "transcribe", "en")
        start = self.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords)
        scores: list[float] = []
        for text in texts:
            tokens = tokenizer.encode(" " + text.strip())
            probs = self.model.align(encoded, start, [tokens], content)[0].text_token_probs
            scores.append(sum(math.log(max(_MIN_PROB, float(q))) for q in probs))
        return scores
