"""Names matched by how they sound, not only by how the recogniser spelt them (pure).

Speech recognisers spell names they do not know as ordinary words: "cron" comes back as
"Kron", "postgres" as "post grass", "redis" as "radish", "nginx" as "engine next".  A slot
filler that compares spellings misses all of them.  :func:`sound_key` reduces words to a rough
consonant skeleton (a home-made phonetic key: letters that sound alike share a symbol, vowels
inside words are dropped, spelt-out letters become their names), and :func:`find_names` looks
for known names whose key is within a small edit distance of a window of heard words.

The vocabulary is a mapping from spoken forms to the canonical name (``"engine x" → "nginx"``,
``"postgres" → "postgresql"``), so aliases the rules already know also count as sounds.
Short keys must match exactly: with three consonants or fewer, one edit turns most English
words into some name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from voiceops.words import words

#: Longest window of heard words compared with a name ("post gres q l" is four).
MAX_WINDOW_WORDS = 4

#: How letters are said when a word is a single letter ("n ginx", "x", "s s h").
_LETTER_NAMES = {
    "a": "ay", "b": "bee", "c": "see", "d": "dee", "e": "ee", "f": "ef", "g": "jee",
    "h": "aitch", "i": "eye", "j": "jay", "k": "kay", "l": "el", "m": "em", "n": "en", "o": "oh",
    "p": "pee", "q": "kyoo", "r": "ar", "s": "es", "t": "tee", "u": "you", "v": "vee",
    "w": "dubbelyou", "x": "ex", "y": "why", "z": "zee",
}  # fmt: skip
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Ordered rewrites of a lower-case word into sound symbols.  Upper-case letters are finished
# symbols; lower-case ones still wait for a rule.  Sounds a recogniser (or a speaker) easily
# swaps share a symbol: voiced/unvoiced pairs (T for t/d, P for p/b, K for k/g/c/q, F for f/v)
# the hissing sounds (S for s/z/sh/ch/soft c), so "radish" and "redis" share a key, and the
# nasals (N for m/n: tiny.en wrote "mginx").
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^x", "S"),
        (r"^(kn|gn|pn)", "N"),
        (r"^wr", "R"),
        (r"mb$", "m"),
        (r"tch|sch|ch|sh|ti(?=[ao])|si(?=[ao])", "S"),
        (r"ph", "F"),
        (r"th", "0"),
        (r"gh", ""),
        (r"ck|qu|q", "K"),
        (r"dg", "J"),
        (r"c(?=[eiy])", "S"),
        (r"g(?=[eiy])", "J"),
        (r"[cgk]", "K"),
        (r"x", "KS"),
        (r"[szj]", "S"),
        (r"[dt]", "T"),
        (r"[bp]", "P"),
        (r"[fv]", "F"),
        (r"[mn]", "N"),
    )
)
_FIRST_VOWEL = re.compile(r"^[aeiouy]")
_VOWELS_AND_GLIDES = re.compile(r"[aeiouywh]")
_DOUBLES = re.compile(r"(.)\1+")
_STOP_WORDS = frozenset(
    {
        "a", "an", "the", "is", "it", "its", "of", "on", "in", "to", "and", "or", "be", "are",
        "was", "for", "at", "by", "me", "my", "we", "us", "you", "i", "that", "this", "please",
        "can", "could", "would", "check", "restart", "start", "stop", "status", "service",
        "server", "container", "logs", "log", "running", "show", "what", "how", "with",
        "next", "last", "week", "day", "time", "today", "now", "one", "all", "about", "has",
        "have", "been", "do", "does", "did", "not", "no", "yes", "up", "down", "again",
    }
)  # fmt: skip


def _spoken_words(text: str) -> list[str]:
    """Lower-case words, with digits and single letters replaced by how they are said."""
    out: list[str] = []
    for raw in words(text):
        # "apache2" is "apache two"; letters and digits inside a word split into parts.
        for part in re.findall(r"[a-z]+|[0-9]", raw):
            if part.isdigit():
                out.append(_DIGITS[int(part)])
            else:
                out.append(_LETTER_NAMES.get(part, part) if len(part) == 1 else part)
    return out


@lru_cache(maxsize=4096)
def _word_key(word: str, first: bool) -> str:
    key = word
    for pattern, replacement in _REWRITES:
        key = pattern.sub(replacement, key)
    if first:  # only a phrase's first vowel is kept: word breaks are not heard
        key = _FIRST_VOWEL.sub("A", key)
    return _VOWELS_AND_GLIDES.sub("", key).upper()


def sound_key(text: str) -> str:
    """A rough phonetic key of ``text``: "post grass" and "postgres" both give ``PSTKRS``.

    >>> sound_key("Kron") == sound_key("cron")
    True
    """
    spoken = _spoken_words(text)
    joined = "".join(_word_key(w, i == 0) for i, w in enumerate(spoken))
    return _DOUBLES.sub(r"\1", joined)


_SILENT_E = re.compile(r"(?<=[^aeiouy])e$")
_VOWEL_GROUP = re.compile(r"[aeiou]+|(?<=.)y")


def syllables(text: str) -> int:
    """Roughly how many syllables ``text`` is said with (vowel groups; a final silent "e" does
    not count; a word without vowels, "sql", is spelt out letter by letter)."""
    count = 0
    for word in _spoken_words(text):
        vowels = len(_VOWEL_GROUP.findall(_SILENT_E.sub("", word) if len(word) > 2 else word))
        count += vowels or len(word)
    return count


#: Most syllables a heard window may differ by from a name: the consonant key drops vowels, so
#: without this "next" (one syllable) would be "memcached" (three).
MAX_SYLLABLE_GAP = 1


def _distance(a: str, b: str) -> int:
    """Edit distance where a dropped or added sound costs one and a swapped one two: recognisers
    drop and add sounds far more often than they hear one consonant class as another."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + 2 * (ca != cb))
            )
        previous = current
    return previous[-1]


#: Keys shorter than this match by spelling only: "du" and "two" would share one.
MIN_SOUND_KEY = 3


def allowed_distance(key: str) -> int:
    """Edits a heard key may differ by from a name's key of this length (0 up to 3 symbols)."""
    return 0 if len(key) <= 3 else 1 if len(key) <= 6 else 2


def loosely_like(heard: str, form: str) -> bool:
    """Whether ``heard`` could be the name ``form`` misheard, by a looser measure than
    :func:`match_name` (three quarters of the name's sound key may differ; "get next" → nginx,
    "wrong" → cron, "q mail" → kubelet, not "the samples" → postgres).  For checking a
    name a recogniser was *told* to expect against what it heard without being told, never for
    finding names in words."""
    return sound_distance(heard, form) <= max(2, len(sound_key(form)) * 3 // 4)


def sound_distance(heard: str, form: str) -> int:
    """How far apart the sound keys of ``heard`` and ``form`` are (0: they sound alike)."""
    return _distance(sound_key(heard), sound_key(form))


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A known name found in heard words.

    ``name`` is the canonical name; ``heard`` the words it was heard as; ``form`` the spoken
    form of the vocabulary it matched; ``distance`` the key distance (0 with ``spelt`` True:
    the same words; 0 otherwise: the same sound); ``start``/``end`` index the heard words.
    """

    name: str
    heard: str
    form: str
    distance: int
    spelt: bool
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Form:
    spoken: str
    name: str
    key: str
    syllables: int


def _forms(vocabulary: Mapping[str, str]) -> tuple[_Form, ...]:
    forms = []
    for spoken, name in vocabulary.items():
        said = " ".join(words(spoken))
        if said:
            forms.append(_Form(said, name, sound_key(said), syllables(said)))
    return tuple(forms)


def match_name(heard: str, vocabulary: Mapping[str, str]) -> NameMatch | None:
    """The name ``heard`` (all of it) sounds like, or ``None``; same spelling wins, then the
    smallest key distance, then the longer form."""
    said = " ".join(words(heard))
    if not said:
        return None
    count = len(said.split())
    best: tuple[tuple[int, int, int], NameMatch] | None = None
    key, said_syllables = sound_key(said), syllables(said)
    for form in _forms(vocabulary):
        if form.spoken == said:
            return NameMatch(form.name, heard, form.spoken, 0, True, 0, count)
        limit = min(allowed_distance(form.key), allowed_distance(key))
        distance = _distance(key, form.key)
        gap = abs(form.syllables - said_syllables)
        if len(form.key) < MIN_SOUND_KEY or distance > limit or gap > MAX_SYLLABLE_GAP:
            continue
        rank = (distance, -len(form.key), len(form.spoken))
        if best is None or rank < best[0]:
            best = (rank, NameMatch(form.name, heard, form.spoken, distance, False, 0, count))
    return None if best is None else best[1]


def find_names(text: str, vocabulary: Mapping[str, str]) -> list[NameMatch]:
    """Known names in ``text``, left to right, not overlapping; longer windows first.

    A window never starts or ends with a common word ("the", "is", "restart"), so sentences
    around a name do not blur into it.
    """
    heard = words(text)
    found: list[NameMatch] = []
    i = 0
    while i < len(heard):
        hit: NameMatch | None = None
        for size in range(min(MAX_WINDOW_WORDS, len(heard) - i), 0, -1):
            window = heard[i : i + size]
            if window[0] in _STOP_WORDS or window[-1] in _STOP_WORDS:
                continue
            m = match_name(" ".join(window), vocabulary)
            if m is not None and (
                hit is None or (m.spelt, -m.distance) > (hit.spelt, -hit.distance)
            ):
                hit = NameMatch(m.name, m.heard, m.form, m.distance, m.spelt, i, i + size)
        if hit is None:
            i += 1
            continue
        found.append(hit)
        i = hit.end
    return found
