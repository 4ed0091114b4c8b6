"""Query sanitising for ``/api/chat``: what reaches the upstream, and what is refused.

PersonaPlex trusts its query: ``voice_prompt`` is joined to a directory and loaded with
``torch.load`` (path traversal, pickle), an empty ``text_prompt`` crashes the handler, and ``seed``
crashes it too.  :func:`sanitise` lets through only parameters the web UI sends, with checked
values, and fills in a default prompt.  It is pure: a mapping in, a result or a
:class:`ProtocolError` out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.relay.codec import ProtocolError
from voiceops.phrases import EXECUTE_PLAN

#: The 18 voices PersonaPlex ships.
DEFAULT_VOICES: tuple[str, ...] = tuple(
    [f"NATF{i}.pt" for i in range(4)]
    + [f"NATM{i}.pt" for i in range(4)]
    + [f"VARF{i}.pt" for i in range(5)]
    + [f"VARM{i}.pt" for i in range(5)]
)
DEFAULT_VOICE = "NATF0.pt"
DEFAULT_TEXT_PROMPT = (
    "You are a calm, precise assistant helping an operator look after a Linux server. "
    f"Agree on concrete commands with the operator before they say {EXECUTE_PLAN}."
)
#: Longest value accepted for any parameter except the text prompt.
MAX_VALUE_CHARS = 64
#: Longest text prompt accepted.
MAX_TEXT_PROMPT_CHARS = 4000
#: Query parameter a client sets to receive the proxy's 0x04 JSON events; never forwarded.
EVENTS_PARAM = "events"

_NUMBER = re.compile(r"-?(?:\d{1,9}(?:\.\d{1,9})?|\.\d{1,9})")
_INTEGER = re.compile(r"-?\d{1,12}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9._@+-]{1,64}")

# Parameter → the shape its value must have.  Everything else the UI might send is dropped.
_NUMERIC = {
    "text_temperature": _NUMBER,
    "audio_temperature": _NUMBER,
    "pad_mult": _NUMBER,
    "repetition_penalty": _NUMBER,
    "text_topk": _INTEGER,
    "audio_topk": _INTEGER,
    "text_seed": _INTEGER,
    "audio_seed": _INTEGER,
    "repetition_penalty_context": _INTEGER,
}
_IDENTIFIERS = {"worker_auth_id", "email"}
_KNOWN = {"text_prompt", "voice_prompt", *_NUMERIC, *_IDENTIFIERS}


@dataclass(frozen=True, slots=True)
class QueryPolicy:
    """What the sanitiser accepts.  Built once from the proxy's configuration."""

    voices: frozenset[str] = frozenset(DEFAULT_VOICES)
    default_voice: str = DEFAULT_VOICE
    default_text_prompt: str = DEFAULT_TEXT_PROMPT


@dataclass(frozen=True, slots=True)
class SanitisedQuery:
    """The parameters to forward (in the client's order), what was dropped, and our own flags."""

    params: tuple[tuple[str, str], ...]
    dropped: tuple[str, ...]
    wants_events: bool


def sanitise(items: Iterable[tuple[str, str]], policy: QueryPolicy) -> SanitisedQuery:
    """Check a client's query parameters and return what may go upstream.

    Raises :class:`ProtocolError` for a value that is refused outright (unknown voice, over-long or
    malformed value, repeated parameter); silently dropped parameters are listed in ``dropped``.
    """
    seen: set[str] = set()
    params: list[tuple[str, str]] = []
    dropped: list[str] = []
    wants_events = False
    for name, value in items:
        if name in seen:
            raise ProtocolError(f"query parameter {_shown(name)} is given more than once")
        seen.add(name)
        if name == EVENTS_PARAM:
            wants_events = value in {"1", "true", "yes"}
        elif name in _KNOWN:
            checked = _checked(name, value, policy)
            if checked:
                params.append((name, checked))
        else:
            dropped.append(_shown(name))
    names = {name for name, _ in params}
    if "text_prompt" not in names:
        params.append(("text_prompt", policy.default_text_prompt))
    if "voice_prompt" not in names:
        params.append(("voice_prompt", policy.default_voice))
    return SanitisedQuery(tuple(params), tuple(dropped), wants_events)


def _checked(name: str, value: str, policy: QueryPolicy) -> str:
    """The value to forward for a known parameter ("" to leave it out), or a ProtocolError."""
    if name == "text_prompt":
        if len(value) > MAX_TEXT_PROMPT_CHARS:
            raise ProtocolError(
                f"text_prompt is {len(value)} characters; the limit is {MAX_TEXT_PROMPT_CHARS}"
            )
        return value if value.strip() else ""
    if name == "voice_prompt":
        return _voice(value, policy)
    if name in _NUMERIC:
        if not _NUMERIC[name].fullmatch(value):
            raise ProtocolError(f"{name} must be a number, got {_shown(value)}")
        return value
    if not _IDENTIFIER.fullmatch(value):
        raise ProtocolError(f"{name} has characters or a length that are not allowed")
    return value


def _voice(value: str, policy: QueryPolicy) -> str:
    if value in policy.voices:
        return value
    known = ", ".join(sorted(policy.voices))
    raise ProtocolError(f"voice_prompt {_shown(value)} is not one of the known voices: {known}")


def _shown(value: str) -> str:
    """A value safe and short enough to echo back in an error message or a log line."""
    cleaned = "".join(c if c.isprintable() else "?" for c in value[:MAX_VALUE_CHARS])
    return repr(cleaned + ("…" if len(value) > MAX_VALUE_CHARS else ""))
