"""The default offline extractor: precise rules first, then meaning, read as a conversation.

Each turn is cut into clauses.  A clause that says not to ("don't restart nginx"), that is a
plan or a story ("next week", "I restarted it yesterday") or that is not shaped like a request
proposes nothing.  Otherwise the rules file is tried first (exact phrasings, spoken literal
commands); when it finds nothing, the clause — names replaced by their kind — is compared by
meaning with the intent examples (:mod:`extraction.intents`) and the nearest one close enough
is filled with the clause's names, or with the last name mentioned for "it"/"its".

Across turns: a clause opening with a correction ("no, just check its status") replaces the
request just before it; an assistant offer ("shall I restart nginx?") is taken only when the
operator's next turn says yes, and is marked as the voice model's; "same as last time" takes
the commands of the most recent recalled interaction, marked as memory's.  A request that
names a different kind of target than the intent would fill (a container, for a service
command) is asked about, never substituted.  Whatever was heard and not turned into a command
is listed in :attr:`~extraction.model.Extraction.unmatched` with the closest things that can
be done.  The guard still decides about every command.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from extraction import clauses
from extraction.intents import Intent, IntentIndex, Vectors, load_intents
from extraction.model import (
    MAX_TURN_CHARS,
    MAX_TURNS,
    Extraction,
    Origin,
    ProposedCommand,
    Recollection,
    Turn,
    Unmatched,
)
from extraction.reading import Clause, Reading, bare, propose, remember
from extraction.rules import RuleSet, RulesExtractor
from extraction.rules import accepts as says_yes
from extraction.rules import clause_commands as rule_commands
from extraction.slots import SlotFinder, Slots
from extraction.spoken import normalise, remove_phrases
from extraction.targeting import FleetNames, Targeting
from extraction.targets import either
from fleet.model import FleetSource

log = logging.getLogger(__name__)

#: Cosine similarity a clause needs with an intent's nearest example to be taken as it.
THRESHOLD = 0.62
#: Below the threshold, intents this close are offered as "did you mean".
SUGGEST_FROM = 0.35
MAX_SUGGESTIONS = 3
_TYPED_SUBCOMMANDS = frozenset(
    ("ps", "logs", "restart", "stop", "start", "status", "reload", "images", "stats")
)
_TYPED_PROGRAMS = frozenset(("docker", "systemctl", "journalctl"))
_LITERAL_TAIL = re.compile(r" (?:to|for|so that|because|please|if you want|first)(?: .*)?$")
_ACCEPT_WORDS = frozenset((
    "please", "do", "it", "go", "ahead", "thanks", "thank", "you", "then", "that", "yes", "ok",
))  # fmt: skip


class UnderstandingExtractor:
    """Offline :class:`~extraction.model.Extractor`: rules, then meaning, over the conversation.

    Construction loads the rules and intents files (a broken one raises
    :class:`~extraction.rules.RulesError` at start-up); :meth:`prepare` embeds the examples
    once (call it at start-up; the first extraction does it otherwise).  ``fleet`` gives the
    servers that can be named at each extraction; with one, every command gets its targets
    (:mod:`extraction.targets`), without one none, as before fleets.
    """

    def __init__(
        self,
        rules_path: Path | None = None,
        intents_path: Path | None = None,
        *,
        fleet: FleetSource | None = None,
    ) -> None:
        self._fleet = FleetNames(fleet)
        self._rules = RulesExtractor(rules_path)
        self.rules_path = self._rules.rules_path
        self.ruleset = self._rules.ruleset
        self.index = IntentIndex(load_intents(intents_path), _embed)
        service = self.ruleset.slots.get("service")
        self.slots = SlotFinder(service.aliases if service else {})
        self._broken: str | None = None

    def __repr__(self) -> str:
        return f"UnderstandingExtractor(rules_path={str(self.rules_path)!r})"

    def prepare(self) -> bool:
        """Embed the intent examples now (loads the sentence model on first use).

        When the model cannot be loaded this logs why and returns False, and the extractor
        carries on with the rules alone: a missing model must not stop what the rules know.
        """
        if self._broken is None:
            try:
                self.index.prepare()
            except Exception as exc:
                self._broken = f"{type(exc).__name__}: {exc}"[:300]
                log.error("intent matching off, rules only: sentence model: %s", self._broken)
        return self._broken is None

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        """Turns (both speakers, oldest first) → the operator's requested commands, in order."""
        return await asyncio.to_thread(self.extract_sync, turns, context)

    def extract_sync(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        """The same as :meth:`extract`, in the calling thread."""
        recent = [t for t in list(turns)[-MAX_TURNS:] if t.text.strip()]
        targeting = Targeting(self._fleet.now())
        read = [(t, read_clauses(self.ruleset, self.slots, t.text, targeting)) for t in recent]
        vectors = self._vectors([c for _, cs in read for c in cs])
        # The most recent remembered request that ran something ("same as last time").
        latest = max((r for r in context if r.commands), key=lambda r: r.time, default=None)
        state = Reading(recalled=latest.commands if latest else (), targeting=targeting)
        pending: list[ProposedCommand] = []
        for turn, said in read:
            if turn.speaker == "assistant":
                pending = self._offer(turn, state, vectors)
                continue
            targeting.follows = False
            answer = normalise(turn.text[:MAX_TURN_CHARS])
            answered = bool(pending)
            rest = said
            if pending and says_yes(self.ruleset, turn.text) and not clauses.declines(answer):
                state.commands.extend(pending)
                # "okay, do it": the yes itself asks for nothing more.
                rest = [c for c in said if not set(c.words.split()) <= _ACCEPT_WORDS]
            pending = []
            for n, clause in enumerate(rest):
                declined = answered and n == 0
                self._clause(clause, state, vectors, "user", correcting=not declined)
        return state.extraction(recent)

    def _vectors(self, said: list[Clause]) -> dict[str, Vectors]:
        texts = sorted(
            {s.plain for c in said if c.words and not c.ruled for s in (c.slots, c.by_sound) if s}
        )
        if not texts or not self.prepare():
            return {}
        return dict(zip(texts, self.index.vectors(texts), strict=True))

    # -- reading in context

    def _offer(
        self, turn: Turn, state: Reading, vectors: dict[str, Vectors]
    ) -> list[ProposedCommand]:
        """What the assistant just offered (its names count for a later "it")."""
        offered = clauses.proposal(normalise(turn.text[:MAX_TURN_CHARS]))
        said = read_clauses(self.ruleset, self.slots, turn.text, state.targeting)
        for clause in said:
            state.service = clause.slots.service or state.service
            state.container = clause.slots.container or state.container
        if offered is None or clauses.not_now(offered):
            return []
        # The voice model's words never move the focus; only an accepted offer runs somewhere.
        scratch = Reading(requesting=True, targeting=replace(state.targeting, follows=False))
        scratch.service, scratch.container = state.service, state.container
        offer = read_clauses(self.ruleset, self.slots, offered, scratch.targeting)
        more = self._vectors(offer)
        for clause in offer:
            self._clause(clause, scratch, {**vectors, **more}, "assistant", correcting=False)
        state.template = scratch.template or state.template
        return scratch.commands

    def _clause(
        self,
        clause: Clause,
        state: Reading,
        vectors: dict[str, Vectors],
        origin: Origin,
        *,
        correcting: bool,
    ) -> None:
        corrects = (clause.corrects or state.correcting) and correcting
        if state.place_only(clause, corrects):
            state.correcting = False
            return
        if not clause.words:
            state.requesting = state.requesting or clause.corrects
            state.correcting = clause.corrects and correcting
            return
        state.correcting = False
        state.service = clause.slots.service or state.service
        state.container = clause.slots.container or state.container
        state.targeting.heard(clause.place)
        if clause.negated or (clause.later and not clause.again):
            state.requesting = False
            why = "that says not to" if clause.negated else "that is for later, so nothing runs now"
            state.chatter.append(Unmatched(clause.words, f"I heard '{clause.words}': {why}."))
            return
        commands, taken_from = self._commands(clause, state, vectors, corrects)
        if not commands:
            return
        proposed = state.aimed(clause, [propose(c, clause, origin, taken_from) for c in commands])
        if proposed is None:
            return
        if corrects:
            state.commands = [c for c in state.commands if c not in state.last_request]
        state.commands.extend(proposed)
        state.last_request = proposed
        state.requesting = True

    def _commands(
        self, clause: Clause, state: Reading, vectors: dict[str, Vectors], corrects: bool
    ) -> tuple[list[str], Origin | None]:
        """Commands for one clause, and "memory" when they came from a recalled request."""
        if clause.ruled:
            remember(state, clause.ruled[-1], clause.slots)
            return list(clause.ruled), None
        if clause.again:
            if not state.recalled:
                self._ask(state, clause, vectors, "there is no earlier request in memory")
            return list(state.recalled), "memory"
        if not (clause.shaped or (clause.verbless and (state.requesting or corrects))):
            state.chatter.append(self._heard(state, clause, vectors, "it asks for no command"))
            return [], None
        if bare(clause) and state.template is not None:
            command, kind = state.template
            value = getattr(clause.slots, kind)
            if value:
                return [command.replace("{" + kind + "}", value)], None
        return self._by_meaning(clause, state, vectors, corrects), None

    def _by_meaning(
        self, clause: Clause, state: Reading, vectors: dict[str, Vectors], corrects: bool
    ) -> list[str]:
        """The nearest intent's command, filled; or nothing, recorded as heard with suggestions."""
        if clause.slots.plain not in vectors:
            self._ask(state, clause, vectors, "the offline meaning model is not available")
            return []
        slots = clause.slots
        ranked = _ranked(self.index, slots, vectors)
        heard = clause.by_sound
        if heard is not None and heard.plain in vectors:
            # A name heard as other words counts only where the meaning wants a service.
            again = _ranked(self.index, heard, vectors)
            if again and again[0][0] >= THRESHOLD and "service" in again[0][1].needs:
                slots, ranked = heard, again
        if not ranked or ranked[0][0] < THRESHOLD:
            self._ask(state, clause, vectors, None)
            return []
        intent = ranked[0][1]
        values = slots.values()
        if "service" in intent.needs and clause.slots.says_container:
            self._ask(state, clause, vectors, "it names a container, not a service")
            return []
        if clause.slots.pronoun or corrects or not clause.shaped:
            for kind in ("service", "container"):
                if kind in intent.needs and kind not in values and getattr(state, kind):
                    values[kind] = getattr(state, kind)
        command = intent.fill(values)
        if command is None:
            kinds = " or ".join(sorted(intent.needs - values.keys()))
            self._ask(state, clause, vectors, f"which {kinds} do you mean?")
            return []
        state.service = slots.service or state.service
        remember(state, command, slots)
        return [command]

    def _ask(
        self, state: Reading, clause: Clause, vectors: dict[str, Vectors], why: str | None
    ) -> None:
        """Record a request that was heard and not understood, to be said back."""
        state.unmatched.append(self._heard(state, clause, vectors, why))

    def _heard(
        self, state: Reading, clause: Clause, vectors: dict[str, Vectors], why: str | None
    ) -> Unmatched:
        """Words that were not turned into a command, with what they may have meant."""
        vector = vectors.get(clause.slots.plain)
        if vector is None:
            return _said_back(clause.words, why, [])
        sound = clause.by_sound.service if clause.by_sound else None
        near = clause.slots.service or sound or self.slots.sounds_like(clause.words)
        found = _suggestions(self.index.rank(vector), clause.slots, near or state.service)
        return _said_back(clause.words, why, found)


def read_clause(ruleset: RuleSet, slots: SlotFinder, words: str, targeting: Targeting) -> Clause:
    """One clause read on its own words, before any context: correction, place, negation,
    tense, the rules' commands and the slots (``targeting`` takes the place words)."""
    rest, corrects = clauses.correction(words)
    place = targeting.read(rest)
    rest = place.rest
    negation = ruleset.negation
    ruled = tuple(_ruled(ruleset, slots, rest)) if rest else ()
    found = slots.find(rest)
    return Clause(
        words=rest,
        slots=found,
        by_sound=slots.by_sound(rest) if rest and not ruled else None,
        corrects=corrects,
        negated=negation is not None and negation.search(words) is not None,
        later=clauses.not_now(rest),
        shaped=clauses.request_shaped(rest),
        verbless=bool(rest) and not clauses.has_verb(rest),
        again=clauses.asks_again(rest) and not found.values().keys() - {"lines"},
        ruled=ruled,
        place=place,
    )


def read_clauses(
    ruleset: RuleSet, slots: SlotFinder, text: str, targeting: Targeting
) -> list[Clause]:
    """Each clause of one turn's ``text``, read on its own words (:func:`read_clause`)."""
    return [read_clause(ruleset, slots, c, targeting) for c in _split(ruleset, text)]


def wants_name(extractor: UnderstandingExtractor, text: str) -> bool:
    """Whether one utterance asks for something that needs a service, container or program it
    does not spell (:attr:`~extraction.reading.Clause.wants_name`): the speech side then hears
    it again with the known names as hotwords (:mod:`proxy.listen.speech.names`).  Cheap:
    rules and slots only, no sentence model."""
    said = read_clauses(extractor.ruleset, extractor.slots, text, Targeting(None))
    return any(clause.wants_name for clause in said)


def _ranked(
    index: IntentIndex, slots: Slots, vectors: dict[str, Vectors]
) -> list[tuple[float, Intent]]:
    """Intents by closeness to the clause, leaving out those whose required words it lacks."""
    return [r for r in index.rank(vectors[slots.plain]) if r[1].applies(slots.plain)]


def _suggestions(
    ranked: list[tuple[float, Intent]], slots: Slots, service: str | None
) -> list[str]:
    """The closest intents, described with the clause's names (and the service it may mean)."""
    guess = slots.values()
    if service:
        guess.setdefault("service", service)
    top = ranked[:MAX_SUGGESTIONS]
    return [intent.described(guess) for score, intent in top if score >= SUGGEST_FROM]


def _said_back(words: str, why: str | None, suggestions: list[str]) -> Unmatched:
    """What to say back about words that ran nothing: why, and what they may have meant."""
    said = f"I heard '{words}'"
    text = f"{said}: {why}" if why else said + "."
    text = text if text.endswith(("?", ".")) else text + "."
    if suggestions:
        text += f" Did you mean: {either(suggestions)}?"
    return Unmatched(words, text, tuple(suggestions))


def _embed(texts: list[str]) -> Sequence[Any]:
    """The packaged sentence model, imported on first use (it pulls in chromadb)."""
    from extraction.embedding import embed  # noqa: PLC0415 - slow import, only when needed

    return embed(texts)


def _ruled(ruleset: RuleSet, slots: SlotFinder, words: str) -> list[str]:
    """Commands the rules file finds; a service rule never takes a clause about a container."""
    head = words.split(" ", 2)
    if head[0] in _TYPED_PROGRAMS and len(head) > 1 and head[1] in _TYPED_SUBCOMMANDS:
        words = "run " + words
    if words.startswith(("run ", "execute ", "type ")):
        words = _LITERAL_TAIL.sub("", words)
    found = rule_commands(ruleset, words)
    if slots.find(words).says_container:
        found = [c for c in found if not c.startswith("systemctl ")]
    return found


def _split(ruleset: RuleSet, text: str) -> list[str]:
    """The turn's clauses, normalised, without trigger phrases."""
    found = clauses.split(text[:MAX_TURN_CHARS], ruleset.clause_breaks)
    cleaned = (remove_phrases(c, ruleset.trigger_phrases) for c in found)
    return [c for c in cleaned if c]
