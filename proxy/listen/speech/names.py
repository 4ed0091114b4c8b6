"""The names pass: a request that names nothing is heard again, told the names to expect.

tiny.en spells a service it does not expect as ordinary words ("restart engine x" → "restart.
get next").  Given the names as hotwords on every utterance it heard 73 % of them instead of
32 %, but the hotwords also changed what else it heard: "execute plan" recall fell from 100 to
89 % on the trigger bench's quick set, and 3 of 24 sentences without a name came back with one
("who is on call" → "mongo").  So the names are given to Whisper only for a second decode of
an utterance that already looks like a request needing a name, by the offline extractor's own
reading (:func:`extraction.understand.wants_name`), and only the name
is taken from that decode, spliced into the text pass where it stood (:func:`with_names`).
The encoder output is reused (:mod:`.whisper`), so the pass costs one decode.  Triggers are
matched on the text pass alone: the names pass only changes the transcript the extractor reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from extraction.soundalike import find_names, loosely_like, sound_distance
from extraction.understand import UnderstandingExtractor, wants_name
from proxy.listen.answers import typed_answer
from voiceops.words import words

#: Most words of the text pass the name may replace ("post grass q l" is four, "my seek will"
#: three); more means the second decode heard a different sentence.
MAX_REPLACED_WORDS = 4
#: A word as :func:`voiceops.words.words` reads it, found in the raw text (for splicing).
_WORD = re.compile(r"[^\W_]+(?:['’ʼ`´][^\W_]+)*")


def _closest(said: Sequence[str], forms: Sequence[str], offset: int) -> tuple[int, int]:
    """The words of ``said`` (at most :data:`MAX_REPLACED_WORDS`) that sound most like the
    name (said as one of ``forms``), which the names pass heard ``offset`` words into the same
    stretch: each word
    away from there counts as one sound apart ("can be on web 2" → "caddy, unweav2": "can",
    not the "2" at the end)."""
    windows = [
        (a, b)
        for a in range(len(said))
        for b in range(a + 1, min(len(said), a + MAX_REPLACED_WORDS) + 1)
    ]
    if not windows:
        return 0, 0

    def cost(w: tuple[int, int]) -> tuple[int, int]:
        heard = " ".join(said[w[0] : w[1]])
        return min(sound_distance(heard, f) for f in forms) + abs(w[0] - offset), w[0]

    return min(windows, key=cost)


def _counterpart(
    ops: Sequence[tuple[str, int, int, int, int]],
    said: Sequence[str],
    forms: Sequence[str],
    start: int,
    end: int,
) -> range:
    """The text-pass words (of ``said``) aligned with the name (said as one of ``forms``) at
    words ``start``..``end`` of the names pass (``ops``: the word alignment of the two)."""
    first, last = None, None
    for tag, i1, i2, j1, j2 in ops:
        if tag == "delete" or j2 <= start or j1 >= end:
            continue
        if tag == "equal" or i2 - i1 == j2 - j1:  # word for word
            a, b = i1 + max(start, j1) - j1, i1 + min(end, j2) - j1
        else:  # another number of words: the run of them that sounds most like the name
            a, b = _closest(said[i1:i2], forms, start - j1)
            a, b = a + i1, b + i1
        first = a if first is None else min(first, a)
        last = b if last is None else max(last, b)
    return range(0) if first is None or last is None else range(first, last)


def with_names(plain: str, named: str, names: Mapping[str, str]) -> str | None:
    """``plain`` (the text pass) with the words where ``named`` (the names pass) spells a name
    that ``plain`` does not replaced by that name, or ``None``.

    Only the name is taken: what else the names pass heard differently (measured: "running" as
    "login") is not.  A name the names pass spelt differently but with the same sound key
    ("mginx") is taken as the rules spell it; a merely similar one ("is the wrong service
    routing" → rabbitmq) is not.  Refused: no new name, or more than one ("check must have the
    samples" → "caddy must add some postgres": the names pass heard another sentence); a name
    where the text pass heard nothing or more than :data:`MAX_REPLACED_WORDS` words, or words
    that do not sound like any way of saying it (:func:`extraction.soundalike.loosely_like`:
    "and index" is near "engine x", not "nginx").

    >>> with_names("Restart. Get next, please.", "restart nginx please", {"nginx": "nginx"})
    'Restart. nginx, please.'
    >>> with_names("is the wrong service running", "is the wrong service running", {"cron": "cron"})
    """
    said, heard = words(plain), words(named)
    tokens = list(_WORD.finditer(plain))
    if len(tokens) != len(said):
        return None  # a spelling words() reads differently: do not guess where words are
    before = {m.name for m in find_names(plain, names) if m.spelt}
    new = [m for m in find_names(named, names) if m.distance == 0 and m.name not in before]
    if len(new) != 1:
        return None
    ops = SequenceMatcher(None, said, heard, autojunk=False).get_opcodes()
    forms = [spoken for spoken, name in names.items() if name == new[0].name]
    region = _counterpart(ops, said, forms, new[0].start, new[0].end)
    replaced = " ".join(said[region.start : region.stop])
    if not region or len(region) > MAX_REPLACED_WORDS:
        return None
    if not any(loosely_like(replaced, form) for form in forms):
        return None
    name = " ".join(heard[new[0].start : new[0].end]) if new[0].spelt else new[0].form
    at, to = tokens[region.start].start(), tokens[region.stop - 1].end()
    return plain[:at] + name + plain[to:]


@dataclass(frozen=True, slots=True)
class NamesPass:
    """The names pass of one process: ``hotwords`` for the second decode, ``reader`` to tell
    whether an utterance needs a name, ``names`` (spoken form → name) to find them."""

    hotwords: str
    reader: UnderstandingExtractor
    names: Mapping[str, str]

    def wanted(self, text: str) -> bool:
        """Whether the text pass ``text`` is worth hearing again with the names (not a reply:
        "confirm" is a request-shaped word, and needs no name)."""
        return typed_answer(text) is None and wants_name(self.reader, text)

    def transcript_text(self, text: str, again: Callable[[str], str]) -> str:
        """What goes into the transcript for an utterance heard as ``text``: the names pass
        (``again(hotwords)``) where it only adds a name, else ``text``."""
        if not text.strip() or not self.wanted(text):
            return text
        return with_names(text, again(self.hotwords), self.names) or text
