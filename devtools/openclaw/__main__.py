"""``python -m devtools.openclaw start|run|stop|status --data-dir DATA``.

``start`` prints one JSON line (gateway URL, node name and id) and exits 0 once the gateway and
node host are ready, 1 with the reason otherwise; they keep running in the background.  ``run``
does the same and then stays in the foreground for a supervisor (``entrypoint.sh``): SIGTERM or
SIGINT stops both and exits 0; if either dies, the other is stopped and it exits 1.  The proxy
then runs with ``--executor openclaw --exec-gateway URL --exec-node NAME --data-dir DATA``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from devtools.openclaw.hosts import (
    DEFAULT_NODE,
    DEFAULT_PORT,
    OpenClawStartError,
    start,
    status,
    stop,
)
from extraction.memory import DEFAULT_DATA_DIR
from guard import DEFAULT_TRUSTED_PATH


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m devtools.openclaw", description=__doc__)
    parser.add_argument("action", choices=("start", "run", "stop", "status"))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gateway port")
    parser.add_argument("--node", default=DEFAULT_NODE, help="node host display name")
    parser.add_argument("--policy", type=Path, help="guard policy the approvals come from")
    parser.add_argument("--fleet", type=Path, help="fleet file: the node's [targets] apply")
    parser.add_argument("--trusted-path", default=DEFAULT_TRUSTED_PATH)
    args = parser.parse_args(argv)
    if args.action == "stop":
        for line in stop(args.data_dir) or ["nothing was running"]:
            print(f"stopped {line}" if line != "nothing was running" else line)
        return 0
    if args.action == "status":
        print(json.dumps(status(args.data_dir)))
        return 0
    try:
        hosts = start(
            args.data_dir,
            port=args.port,
            node=args.node,
            policy=args.policy,
            trusted_path=args.trusted_path,
            fleet=args.fleet,
        )
    except OpenClawStartError as exc:
        print(f"openclaw: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"url": hosts.url, "node": hosts.node, "node_id": hosts.node_id}), flush=True)
    return _supervise(args.data_dir) if args.action == "run" else 0


def _supervise(data_dir: Path) -> int:
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.wait(1.0):
        current = status(data_dir)
        running = [
            current["gateway"]["running"],
            *(n["running"] for n in current["nodes"].values()),
        ]
        if not all(running):
            print(f"openclaw: a process died: {json.dumps(current)}", file=sys.stderr)
            stop(data_dir)
            return 1
    stop(data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
