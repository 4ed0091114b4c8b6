"""``python -m devtools.tinymoshi [--data-dir D] [--port P] [--host H]``: build and serve."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from devtools.tinymoshi.build import build_tiny_model, default_data_dir
from devtools.tinymoshi.runner import TinyMoshiServer


def main(argv: list[str] | None = None) -> None:
    """Build the tiny model if needed and run the upstream in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.tinymoshi",
        description="Serve the real moshi /api/chat on tiny random weights (CPU, offline).",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help=f"default {default_data_dir()}")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    model = build_tiny_model(args.data_dir)
    stop = threading.Event()
    # SIGTERM ends the foreground run like Ctrl-C does, so the server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with TinyMoshiServer(model, port=args.port, host=args.host) as server:
        print(f"tiny moshi upstream: {server.url}  (pid {server.pid}, log {server.log_path})")
        print("Ctrl-C to stop", flush=True)
        try:
            while not stop.is_set() and server.running:
                stop.wait(0.5)
        except KeyboardInterrupt:
            pass
        if not server.running and not stop.is_set():
            print(f"the server exited; log tail:\n{server.log_tail()}")
    print("stopped")


if __name__ == "__main__":
    main()
