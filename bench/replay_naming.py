"""The short replay judged by the shipped rule: a confirmation names its action ("confirm
restart"), and "execute plan" reads likelier than its sound-alikes.

Recordings made before that rule hold the forced reading of each word alone ("Confirm." against
"Conform."), not of the text as written against the same text with a rival in place of "confirm"
("Confirm restart." against "Conform restart."), which is what the shipped rule reads. So the
stored recordings give the shipped rule an *upper bound*: an utterance may be a false confirm
when the text pass (short enough for an answer: ``TriggerPhrase.fits``) holds "confirm" and words
after it, which the forced reading may take for any action, and the decision pass also holds
"confirm". Each such utterance is then *heard again* with the shipped code (its stream
regenerated from its seed, the same VAD cuts, text pass, decision pass and the new forced
reading) and judged by the shipped rule: the exact count. A "confirm" naming no action runs
nothing and answers with what to say (a hint); hints are counted with the reading that was
recorded (the old rule's), as that rule decided them.  Utterances that may fire EXECUTE
(:func:`possible_execute`) are heard again the same way.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.bench_triggers import Costs, Heard, StreamSpec, fired, hear, long_script
from client.audio import encode_pages
from proxy.listen.answers import named_object, object_slot
from proxy.listen.readings import rival_texts
from proxy.listen.speech.audio import PageDecoder
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.trigger_phrases import DEFAULT_PHRASES
from proxy.relay.codec import Action
from voiceops.words import contains_words, words

CONFIRM = next(p for p in DEFAULT_PHRASES if p.action is Action.CONFIRM)
EXECUTE = next(p for p in DEFAULT_PHRASES if p.action is Action.EXECUTE)

_RECS: Recognisers | None = None


def heard_of(h: dict[str, Any]) -> Heard:
    """A stored utterance.  Readings recorded the old way (each word alone, several spellings)
    are put where the matcher now looks for them: the text with each rival in place of
    "confirm" scores as that rival's best spelling did, so a rule judged on them decides as the
    rule of the time did.  Readings recorded the new way are kept as they are."""
    scores: dict[str, float] = h.get("scores") or {}
    # The old way read the rivals the decision pass lists ("confer" was read only later).
    rivals = CONFIRM.decision_rivals
    texts = rival_texts(h["text"], CONFIRM.written, rivals)
    said = (CONFIRM.phrase, *rivals)
    # Old readings are of single words only; a new record also reads whole texts.
    if len(texts) > 1 and all(form.rstrip(".").lower() in said for form in scores):
        best: dict[str, float] = {}
        for form, score in scores.items():
            word = form.rstrip(".").lower()
            best[word] = max(score, best.get(word, score))
        scores = (
            dict(zip(texts, (best[w] for w in said), strict=True)) if set(said) <= set(best) else {}
        )
    return Heard(
        h["text"],
        tuple(h["spotted"]),
        h["end"],
        h["logprob"],
        h["rechecked"],
        h.get("rescored"),
        scores,
    )


def possible_confirm(h: Heard) -> str | None:
    """The words after "confirm" when the recorded passes could confirm an action with them
    (the upper bound: a short text pass holding "confirm" and words after it, which the forced
    reading may take for any action; a decision pass holding "confirm"; no reading, no
    confidence floor, no company rule), else ``None``."""
    said = words(h.text)
    slot = object_slot(said, CONFIRM)
    if not slot or not CONFIRM.fits(said):
        return None
    # The decision pass as recorded, whatever its hotwords were then (a changed list of rivals
    # is heard again below with the shipped code).
    recorded = [
        t
        for hotwords, t in (h.rechecked or {}).items()
        if hotwords.endswith(".") and hotwords != CONFIRM.object_hotwords
    ]
    again = words(recorded[0]) if recorded else ()
    return " ".join(slot) if any(contains_words(again, s) for s in CONFIRM.spellings) else None


def possible_execute(h: Heard) -> bool:
    """The text pass ends on "plan" or holds a word starting with "execut": where the text
    pass or the second look may fire EXECUTE.  Such utterances recorded before "execute plan"
    was read against its rivals are heard again with the shipped code and judged by the rule
    before (``unread_execute``) and the shipped one, on the same hearing."""
    said, first = words(h.text), words(EXECUTE.phrase)[0]
    return said[-1:] == words(EXECUTE.phrase)[-1:] or any(w.startswith(first[:-1]) for w in said)


def hint(h: Heard) -> bool:
    """A "confirm" naming no action, heard twice (old reading): the flow answers what to say."""
    again = words(h.recheck(CONFIRM.decision_hotwords))
    return Action.CONFIRM in fired("unnamed", [h]) and named_object(again, CONFIRM) is None


def runs(h: Heard) -> str | None:
    """The action word a shipped-rule confirmation names in ``h`` (``None``: it runs nothing)."""
    for m in h.matches(DEFAULT_PHRASES):
        if m.action is Action.CONFIRM and m.named is not None:
            return m.named
    return None


def utterance_key(spec: dict[str, Any], end: float) -> str:
    """An utterance's name: its stream's spec and its end on the stream's clock."""
    return f"{json.dumps(spec, sort_keys=True)}@{end!r}"


def rereads_of(store: Path) -> Path:
    """Where the utterances heard again for ``store`` go: beside it, ``…_again.jsonl.gz``."""
    return store.with_name(store.name.removesuffix(".jsonl.gz") + "_again.jsonl.gz")


def _init() -> None:
    global _RECS  # noqa: PLW0603 - one set of models per worker process
    _RECS = Recognisers.load(DEFAULT_SETTINGS)


def reread(job: tuple[dict[str, Any], list[str], list[float]]) -> list[dict[str, Any]]:
    """A recorded stream's utterances ending at ``ends`` heard again with the shipped code (the
    stream is regenerated from its seed with the categories recorded, so the VAD cuts it the
    same way); the other utterances are cut but not heard."""
    assert _RECS is not None, "call _init first"
    spec, categories, ends = job
    audio, _, _ = long_script(StreamSpec(**spec), tuple(categories))
    decoder, vad, costs = PageDecoder(), _RECS.vad(), Costs()
    found: list[dict[str, Any]] = []
    cuts = [u for page in encode_pages(audio) for u in vad.push(decoder.push(page))]
    last = vad.flush()
    for u in [*cuts, *([] if last is None else [last])]:
        if any(abs(u.end - e) < 1e-6 for e in ends):
            found.append(
                {"spec": spec, "end": u.end, "heard": asdict(hear(_RECS, u.pcm, u.end, (), costs))}
            )
    return found


def reread_all(
    wanted: list[tuple[dict[str, Any], list[str], list[float]]],
    have: list[dict[str, Any]],
    store: Path,
    workers: int,
) -> None:
    """Hear again the utterances of ``wanted`` not among those heard again already (``have``,
    read from ``store``), appending each stream's to ``store`` as it ends."""
    done = {utterance_key(r["spec"], r["end"]) for r in have}
    todo = [
        (spec, cats, [e for e in ends if utterance_key(spec, e) not in done])
        for spec, cats, ends in wanted
    ]
    todo = [t for t in todo if t[2]]
    print(f"hearing again {sum(len(t[2]) for t in todo)} utterances of {len(todo)} streams")
    if not todo:
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init) as pool:
        for n, got in enumerate(pool.map(reread, todo), 1):
            with gzip.open(store, "at") as f:
                for r in got:
                    f.write(json.dumps(r) + "\n")
            print(f"  heard again {n}/{len(todo)}: {[r['heard']['text'] for r in got]}", flush=True)
