"""The proxy's own ``0x02`` lines, as far as a client reads them.

Every line the proxy puts into the conversation (:func:`line`) starts with :data:`TAG`; model
text can never contain a square bracket (:mod:`proxy.relay.notices` makes them round), so a
message that starts with the tag is the proxy speaking.  A line that asks for a confirmation says
:func:`asking` — ``needs confirmation (id r1.2)`` — and :func:`read_asking` finds that again:
the one rule a client without ``0x04`` events uses to answer CONFIRM.
"""

from __future__ import annotations

import re

#: The start of every line the proxy shows in the conversation.
TAG = "[voiceops]"
_ASKS = "needs confirmation"
_ASKING = re.compile(
    rf"{re.escape(_ASKS)}(?: \(id (?P<id>[A-Za-z0-9][A-Za-z0-9._:-]{{0,63}})\))?:", re.ASCII
)


def line(text: str) -> str:
    """``text`` as the proxy's ``0x02`` message: tagged, on a line of its own in the UI."""
    return f"\n{TAG} {text.rstrip()}\n"


def asking(step_id: str | None) -> str:
    """The words that ask for ``step_id`` to be confirmed, e.g. ``needs confirmation (id r1.2)``."""
    return f"{_ASKS} (id {step_id})" if step_id else _ASKS


def read_asking(message: str) -> tuple[bool, str | None]:
    """Whether one whole ``0x02`` message is a proxy line asking for a confirmation, and of
    which step (``None``: it did not say; confirm the newest)."""
    line = message.strip()
    if not line.startswith(TAG):
        return False, None
    found = _ASKING.search(line)
    return (True, found.group("id")) if found else (False, None)
