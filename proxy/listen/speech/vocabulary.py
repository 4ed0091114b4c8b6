"""The names the operator may say: what the recogniser is told to expect.

tiny.en spells a name it does not expect as ordinary words ("is the Kron service running").
Names given to it as hotwords (faster-whisper puts them in the decoding prompt) come back
spelt as the rules and the policy spell them.  :func:`known_names` is the one place that says
which names those are; the sound-alike matcher (:mod:`extraction.soundalike`) takes the same
mapping to find names that were still heard as other words.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from extraction.rules import RulesError, load_rules
from guard.loader import load_policy
from guard.policy import PolicyError

log = logging.getLogger(__name__)

#: Names shorter than this stay out of the prompt: "ps", "df", "ls" would pull ordinary short
#: words ("yes", "the") towards them.
MIN_PROMPT_NAME = 4
#: Most names put in the prompt (the prompt shares Whisper's 448-token context with the text).
MAX_PROMPT_NAMES = 40


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names the operator may say.

    ``names`` maps every spoken form to its name ("engine x" → "nginx", "postgres" →
    "postgresql", "journalctl" → "journalctl"), for :func:`extraction.soundalike.find_names`;
    ``services`` is the part the rules fill into a service slot (no program names such as
    "who" or "free", which are ordinary words outside a command).
    ``prompt`` lists one written form per service and policy command, as Whisper should spell
    it (one word, the shortest the rules know: "postgres", "grafana", "nginx").
    """

    names: Mapping[str, str]
    services: Mapping[str, str]
    prompt: tuple[str, ...]

    @property
    def prompted(self) -> dict[str, str]:
        """Spoken form → name for the names in :attr:`prompt` only: the names a names pass can
        bring (not "who" or "free", which it is never told and are ordinary words)."""
        chosen = {self.names.get(p, p) for p in self.prompt}
        return {spoken: name for spoken, name in self.names.items() if name in chosen}


def _written_form(name: str, names: Mapping[str, str]) -> str:
    one_word = [s for s in names if names[s] == name and s.isalnum()]
    return min(one_word, key=lambda s: (len(s), s)) if one_word else name


@lru_cache(maxsize=1)
def known_names() -> Vocabulary:
    """Every service the rules fill in and every program the rules or the shipped policy can run.

    Read once from ``extraction/rules.toml`` and ``guard/default_policy.toml``; a file that
    cannot be read leaves its names out (logged) rather than stopping the speech worker.
    The literal-command programs ("free", "date", "head") are matched but not prompted: most
    are ordinary words.
    """
    names: dict[str, str] = {}
    services: dict[str, str] = {}
    prompted: set[str] = set()
    try:
        rules = load_rules()
    except RulesError as exc:
        log.warning("no names from the rules: %s", exc)
    else:
        for slot in rules.slots.values():
            services.update(slot.aliases)
            prompted.update(slot.aliases.values())
        names.update(services)
        names.update({p: p for p in rules.literal_programs})
    try:
        policy = load_policy()
    except (PolicyError, OSError) as exc:
        log.warning("no names from the policy: %s", exc)
    else:
        names.update({c: c for c in policy.commands})
        prompted.update(policy.commands)
    written = {_written_form(n, names) for n in prompted}
    prompt = tuple(sorted(w for w in written if len(w) >= MIN_PROMPT_NAME))[:MAX_PROMPT_NAMES]
    return Vocabulary(names, services, prompt)


def hotwords(trigger_phrases: Iterable[str], servers: Iterable[str] = ()) -> str:
    """The text pass's hotwords: the trigger phrases, then the fleet's server names ("web-1",
    "database box": no English words, so tiny.en writes "webmaster" without them)."""
    return ", ".join([*trigger_phrases, *servers])


def names_hotwords(vocabulary: Vocabulary, servers: Iterable[str] = ()) -> str:
    """The names pass's hotwords (:mod:`proxy.listen.speech.names`): the servers, then the
    service and program names to expect, ending with a full stop (tiny.en otherwise took a
    list for words already said: see
    :attr:`proxy.listen.trigger_phrases.TriggerPhrase.decision_hotwords`; here it kept "on web
    too" that it heard as "un-wem2" after a bare list)."""
    return ", ".join([*servers, *vocabulary.prompt]) + "."
