"""What the operator reads and hears about an outcome: one line of text, one short sentence.

The unmodified UI shows each ``0x02`` message inline in its transcript, so a raw ``df -h``
table arrives as a run-on paragraph; and a voice product should *say* the outcome.  Each outcome
therefore becomes a :class:`Digest`: ``text`` (one line, at most :data:`MAX_TEXT` characters,
the ``0x02`` message) and ``speech`` (the same news for the synthesiser: no flags, units as
words, a few seconds long).  The full output stays in the API and the ``0x04`` events.

Pure: strings and :class:`~proxy.actions.executors.base.RunResult` in, digests out.  Tool output
is read by :mod:`proxy.actions.digest_rules`; anything no rule knows gets "done, exit 0, 12 lines".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.actions.digest_rules import gist, spoken
from proxy.actions.executors.base import RunResult
from voiceops.phrases import CANCEL, confirming
from voiceops.records.lines import asking

#: Longest ``0x02`` digest line (characters): readable at a glance in the UI's transcript.
MAX_TEXT = 120
#: Longest command shown at the head of a digest line.
MAX_COMMAND = 40
#: Longest line of raw output quoted in a digest (a one-line result, an error message).
MAX_QUOTE = 70
#: Words of a command spoken aloud (flags are never spoken).
SPOKEN_COMMAND_WORDS = 3


@dataclass(frozen=True, slots=True)
class Digest:
    """An outcome for people: ``text`` for the transcript (``0x02``), ``speech`` for the ear."""

    text: str
    speech: str


def executed(display: str, run: RunResult, timeout: float | None = None) -> Digest:
    """A command that ran (or tried to): its gist when a rule knows the tool, else a count.

    ``display`` is the approved argv as a person reads it; ``timeout`` is the executor's limit,
    named when the run timed out.
    """
    head = _command(display)
    said = spoken_command(display)
    if run.error is not None:
        why = _quote(run.error)
        return Digest(line(f"{head}: could not run: {why}"), f"{said} could not run.")
    if run.timed_out:
        limit = f" after {timeout:g} s" if timeout else ""
        return Digest(
            line(f"{head}: timed out{limit} and was stopped."),
            spoken(f"{said} timed out{limit.replace(' s', ' seconds')} and was stopped."),
        )
    code = run.exit_code
    if code is None or code < 0:
        signal = f"signal {-code}" if code is not None else "a signal"
        return Digest(line(f"{head}: killed by {signal}."), f"{said} was killed.")
    found = gist(run.argv, run.output)
    if found is not None:
        prefix = "" if code == 0 else f"exit {code}; "
        return Digest(line(f"{head}: {prefix}{found.text}"), found.speech)
    lines = [out for out in run.output.strip("\n").splitlines() if out.strip()]
    if code != 0:
        detail = f": {_quote(lines[-1])}" if lines else "."
        return Digest(
            line(f"{head}: failed, exit {code}{detail}"), f"{said} failed with exit code {code}."
        )
    if len(lines) == 1 and len(lines[0].strip()) <= MAX_QUOTE:
        return Digest(line(f"{head}: {lines[0].strip()}"), f"{said} done.")
    count = f"{len(lines)} line" + ("" if len(lines) == 1 else "s")
    return Digest(line(f"{head}: done, exit 0, {count}."), f"{said} done, {count}.")


def needs_confirmation(
    display: str,
    why: str,
    say: str,
    ttl: float,
    step_id: str | None = None,
    *,
    nodes: Sequence[str] = (),
) -> Digest:
    """A command that waits for a person: what it is, where (every node in ``nodes`` this one
    confirmation covers), why, and the exact words to say ("confirm restart": ``say`` names
    the action)."""
    where = f" on {_and(nodes)}" if nodes else ""
    text = (
        f"{_command(display)}{where} {asking(step_id)}: {_plain(why)}. "
        f"Say “{confirming(say)}” or “{CANCEL}” within {ttl:g} s."
    )
    speech = f"{spoken_command(display)}{where}? Say {confirming(say)}, or {CANCEL}."
    return Digest(text, speech)


def unnamed(display: str, say: str, step_id: str, named: str | None) -> Digest:
    """A confirmation that named no action, or not the waiting one's: nothing ran; the words
    that run the waiting command."""
    heard = f"; “{confirming(named)}” names nothing waiting" if named else ""
    text = f"Not run: say “{confirming(say)}” to run {_command(display)} ({step_id}){heard}."
    speech = f"Say {confirming(say)} to run {spoken_command(display)}."
    return Digest(line(text), speech)


def _and(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def refused(command: str, reason: str) -> Digest:
    """A command the guard refused, and why in plain words."""
    why = _plain(reason)
    return Digest(
        line(f"Refused {_command(command)}: {why}."), f"Refused {spoken_command(command)}."
    )


def spoken_command(display: str) -> str:
    """A command as said aloud: the binary's name and first words; flags and paths are not said."""
    binary, *rest = display.split() or ["the command"]
    kept = [binary.rsplit("/", 1)[-1], *(w for w in rest if w[0] not in "-/" and "/" not in w)]
    return " ".join(kept[:SPOKEN_COMMAND_WORDS])


def _command(display: str) -> str:
    return display if len(display) <= MAX_COMMAND else display[: MAX_COMMAND - 1] + "…"


def _plain(reason: str) -> str:
    """A guard reason without its parenthesised detail (rule lists, code points)."""
    plain = re.sub(r"\s*\([^()]*\)", "", reason).strip().rstrip(".")
    return plain or reason.strip().rstrip(".")


def _quote(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= MAX_QUOTE else line[: MAX_QUOTE - 1].rstrip() + "…"


def line(text: str) -> str:
    """One line of at most :data:`MAX_TEXT` characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"
