"""An OpenClaw gateway and node host for tests, the demo and ``entrypoint.sh``.

``python -m devtools.openclaw start --data-dir DATA`` starts both (idempotently) and returns
when ``system.run`` works under the exec approvals generated from the guard policy; ``stop``
ends them; ``status`` says what runs.  :func:`start` / :func:`stop` do the same from Python.
"""

from devtools.openclaw.host import find_runtime
from devtools.openclaw.hosts import Hosts, OpenClawStartError, start, status, stop

__all__ = ["Hosts", "OpenClawStartError", "find_runtime", "start", "status", "stop"]
