"""The second look at a missed "execute plan" (pure, no audio).

Said fast in room noise, tiny.en's greedy decoding sometimes writes "Okay, so that's the cute
plan".  When the text may have missed the phrase (:func:`wants_second_look`), the recogniser
scores, on the same encoding and prompt, the text with its last words replaced by the phrase
(:func:`second_look_texts`); the phrase fires when one of those reads at least as likely as the
text it wrote, and that text reads likelier than with a sound-alike in place of the phrase
("exit plan": a second look took "and let plan" for "execute plan").  Why:
:mod:`proxy.listen.triggers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from proxy.listen.readings import Rescore
from proxy.listen.trigger_phrases import TriggerPhrase
from voiceops.words import contains_words, words


def wants_second_look(
    p: TriggerPhrase, said: Sequence[str], heard: Iterable[Sequence[str]]
) -> bool:
    """True when the text pass may have missed ``p`` and the recogniser should judge again.

    The text (words ``said``) does not hold the phrase where it would fire but ends on the
    phrase's last word ("That's a good plan"), or the spotter ``heard`` the phrase.  Never when
    the text holds the phrase's first word or a longer word starting with it ("we execute the
    plan", "the execution plan"): the text heard that word clearly, so a second look that drops
    the word after it would only put words in the speaker's mouth.
    """
    if not p.second_look or any(contains_words(said, s, p.max_words_after) for s in p.spellings):
        return False
    first, last = words(p.phrase)[0], words(p.phrase)[-1]
    if any(w.startswith(first) for w in said):
        return False
    return said[-1:] == (last,) or words(p.phrase) in {tuple(h) for h in heard}


def second_look_texts(p: TriggerPhrase, text: str) -> list[str]:
    """The text pass's ``text``, then ``text`` with its last 1…``p.second_look`` words replaced
    by the phrase ("Okay, so that's the cute plan" → …, "Okay, so execute plan")."""
    tokens = text.split()
    end = "." if text.rstrip().endswith(".") else ""
    texts = [text]
    for k in range(1, min(p.second_look, len(tokens)) + 1):
        kept = tokens[: len(tokens) - k]
        phrase = p.phrase if kept or not text[:1].isupper() else p.phrase.capitalize()
        texts.append(" ".join([*kept, phrase]) + end)
    return texts


def heard_on_second_look(p: TriggerPhrase, text: str, rescore: Rescore | None) -> str | None:
    """The likeliest text ending in the phrase, by the recogniser's own scores, when it is
    more likely than the text it wrote by at least ``second_look_gain`` (else ``None``).  The
    matcher still reads it against the phrase's rivals (:mod:`proxy.listen.triggers`)."""
    if rescore is None:
        return None
    texts = second_look_texts(p, text)
    scores = rescore(texts)
    if not len(scores) == len(texts) > 1:
        return None
    best, looked = max(zip(scores[1:], texts[1:], strict=True))
    return looked if best >= scores[0] + p.second_look_gain else None
