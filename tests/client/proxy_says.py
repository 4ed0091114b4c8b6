"""What the proxy says when a command needs confirmation, built by the proxy's own code.

The client tests' stand-in servers send these, so the client is tested against the proxy's real
wording and records, not against a copy of them.
"""

from __future__ import annotations

from proxy.actions.digest import needs_confirmation
from voiceops.records import lines
from voiceops.records.commands import CommandResult
from voiceops.records.events import CommandEvent, SessionEvent

ARGV = ("/usr/bin/systemctl", "restart", "nginx", "--no-pager")
WHY = "restarts a service"


def asking_text(pending_id: str | None) -> str:
    """The ``0x02`` message asking for ``pending_id`` to be confirmed."""
    return lines.line(needs_confirmation(" ".join(ARGV), WHY, "restart", 120.0, pending_id).text)


def asking_event(pending_id: str) -> dict[str, object]:
    """The ``0x04`` event asking for ``pending_id`` to be confirmed, as JSON."""
    result = CommandResult(
        pending_id,
        "restart nginx",
        "needs_confirmation",
        ARGV,
        reason=WHY,
        rule="commands.systemctl.restart",
    )
    return SessionEvent("ws-1", CommandEvent("r1", result)).to_json()
