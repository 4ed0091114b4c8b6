"""OpenClaw's exec approvals, generated from the guard policy so the two layers cannot drift.

An OpenClaw node host checks every ``system.run`` against its own exec-approvals document before
it runs anything.  We make that document from the same policy and the same trusted-PATH lookup
the guard uses: the allowlist holds exactly the absolute paths of the binaries the guard may
approve (binaries the guard found missing are left out; it refuses them anyway), under one agent
with ``security=allowlist`` and ``ask=off``; every other agent is denied.  The guard still checks
flags and arguments; OpenClaw's layer makes sure that even a caller who skips the guard (a direct
``node.invoke``) can start nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The exec-approvals agent that ``system.run`` calls from the proxy name.
AGENT_ID = "voiceops"


def exec_approvals(binaries: Mapping[str, str | None], agent_id: str = AGENT_ID) -> dict[str, Any]:
    """The exec-approvals document (OpenClaw version 1) for the guard's resolved ``binaries``."""
    paths = sorted({path for path in binaries.values() if path is not None})
    closed = {"security": "deny", "ask": "off", "askFallback": "deny", "autoAllowSkills": False}
    return {
        "version": 1,
        "defaults": closed,
        "agents": {
            agent_id: {
                **closed,
                "security": "allowlist",
                "allowlist": [{"pattern": path} for path in paths],
            }
        },
    }
