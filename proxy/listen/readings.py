"""Forced readings: is a phrase the likeliest of the words it sounds like (pure, no audio).

The text pass and the decision pass are decodes: each writes one guess, and both wrote
"confirm" for espeak's "conform" said at other pitches (``bench/bench_short_replay.py``).  A
forced reading asks the recogniser instead how likely each candidate is as the whole
utterance, unprompted (:meth:`proxy.listen.speech.transcriber.WhisperTranscriber.score`), so
"confirm" must beat "conform", "can form", "concern"… on the same audio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: Texts in, the log-probability of each as one utterance's words out (empty: the recogniser
#: cannot tell).  Used for the second look at "execute plan" and for the readings here.
Rescore = Callable[[Sequence[str]], Sequence[float]]


def readings(phrase: str, rivals: Sequence[str]) -> tuple[str, ...]:
    """The texts to score: the phrase and each rival as Whisper writes a short reply
    ("Confirm.", "confirm", "Confirm"); the likeliest spelling of each counts."""
    return tuple(
        form for w in (phrase, *rivals) for form in (f"{w.capitalize()}.", w, w.capitalize())
    )


def reads_likeliest(
    phrase: str, rivals: Sequence[str], read: Rescore | None, margin: float
) -> bool:
    """True when ``phrase`` reads at least ``margin`` (log-probability) likelier than every
    rival; false when nothing can read the utterance (a phrase that needs it does not fire)."""
    if not rivals:
        return True
    texts = readings(phrase, rivals)
    scores = list(read(texts)) if read is not None else []
    if len(scores) != len(texts):
        return False
    best: dict[str, float] = {}
    for text, score in zip(texts, scores, strict=True):
        word = text.rstrip(".").lower()
        best[word] = max(score, best.get(word, score))
    return best[phrase] - max(best[r] for r in rivals) >= margin
