"""Forced readings: is a phrase likelier than the words it sounds like (pure, no audio).

The text pass and the decision pass are decodes: each writes one guess, and both wrote
"confirm" for espeak's "conform" said at other pitches (``bench/bench_short_replay.py``).  A
forced reading asks the recogniser instead how likely a whole text is for the utterance,
unprompted (:meth:`proxy.listen.speech.transcriber.WhisperTranscriber.score`): the text as the
text pass wrote it ("Yes, confirm restart.") must beat the same text with the phrase's word
replaced by each rival ("Yes, conform restart.", "Yes, concern restart."…).  Scoring the whole
text keeps the words around the phrase in the reading: scored alone, "Confirm." was judged
against audio that went on ("confirm, please") and lost to nothing in particular.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

#: Texts in, the log-probability of each as one utterance's words out (empty: the recogniser
#: cannot tell).  Used for the second look at "execute plan" and for the readings here.
Rescore = Callable[[Sequence[str]], Sequence[float]]


def rival_texts(text: str, spellings: Sequence[str], rivals: Sequence[str]) -> tuple[str, ...]:
    """``text``, then ``text`` with its first word spelt as one of ``spellings`` replaced by
    each rival, capitalised as that word was ("Confirm restart." → "Conform restart.").
    Only ``text`` when no word of it is one of the spellings."""
    found = _spelled(spellings).search(text)
    if found is None:
        return (text,)
    upper = found.group(0)[:1].isupper()
    return (
        text,
        *(
            text[: found.start()] + (r.capitalize() if upper else r) + text[found.end() :]
            for r in rivals
        ),
    )


def reads_likeliest(
    text: str, spellings: Sequence[str], rivals: Sequence[str], read: Rescore | None, margin: float
) -> bool:
    """True when ``text`` reads at least ``margin`` (log-probability) likelier than every text
    that puts a rival in place of the phrase; false when nothing can read the utterance (a
    phrase that needs it does not fire)."""
    texts = rival_texts(text, spellings, rivals)
    if len(texts) == 1:
        return not rivals
    scores = read_all(read, texts)
    return scores is not None and scores[0] - max(scores[1:]) >= margin


def read_all(read: Rescore | None, texts: Sequence[str]) -> list[float] | None:
    """The reading of each of ``texts`` (``None``: nothing can read the utterance, or it did
    not read them all)."""
    scores = list(read(texts)) if read is not None else []
    return scores if len(scores) == len(texts) else None


def slot_texts(
    text: str, spellings: Sequence[str], slot: int, fillers: Sequence[str]
) -> tuple[str, ...]:
    """``text``, then ``text`` with the ``slot`` words right after its first word spelt as one
    of ``spellings`` replaced by each filler ("Confirm, list heart." → "Confirm, restart.").
    Only ``text`` when it has no such words."""
    found = _spelled(spellings).search(text)
    more = max(0, slot - 1)
    words_after = re.compile(rf"\W*([\w']+(?:\W+[\w']+){{{more}}})")
    after = words_after.match(text, found.end()) if found is not None and slot > 0 else None
    if after is None:
        return (text,)
    start, end = after.span(1)
    return (text, *(text[:start] + filler + text[end:] for filler in fillers))


def _spelled(spellings: Sequence[str]) -> re.Pattern[str]:
    """The phrase as whole words in any of its spellings, longest first, any case, its words
    apart by anything that is not a letter or digit ("Execute, plan." holds "execute plan")."""
    alternatives = "|".join(
        r"[\W_]+".join(re.escape(w) for w in s.split())
        for s in sorted(spellings, key=len, reverse=True)
    )
    return re.compile(rf"\b({alternatives})\b", re.IGNORECASE)
