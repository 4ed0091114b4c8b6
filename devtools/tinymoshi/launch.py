"""Run ``moshi.server`` on a CPU-only torch: ``python -m devtools.tinymoshi.launch <server args>``.

The server's warm-up ends with ``torch.cuda.synchronize()``, which raises on a CPU build of
torch even with ``--device cpu``.  Nothing needs synchronising on CPU, so it becomes a no-op;
that is the only patch.  (moshi 0.2.13's server does not probe the network for a LAN address,
unlike PersonaPlex's, so with ``--host 127.0.0.1`` nothing else fails offline.)

``moshi.server`` runs ``main()`` when imported, so it is executed here with :mod:`runpy` in this
dedicated process, never imported into a test process.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading

#: Set by the runner to its own pid: the server ends itself when that process is gone.
PARENT_PID_ENV = "VOICEOPS_TINYMOSHI_PARENT"


def _no_cuda_sync(device: object = None) -> None:
    """Stand-in for ``torch.cuda.synchronize`` when no CUDA device exists."""


def _watch_parent(parent: int) -> None:
    # A test run killed by `timeout` or SIGKILL never reaches its fixture teardown; without
    # this the server (≈430 MB) would linger on the shared machine.  SIGTERM lets aiohttp
    # shut down as it does on stop().
    while os.getppid() == parent:
        threading.Event().wait(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    """Patch what a CPU build lacks, then run the server with this process's arguments."""
    parent = os.environ.get(PARENT_PID_ENV)
    if parent is not None and parent.isdigit():
        threading.Thread(target=_watch_parent, args=(int(parent),), daemon=True).start()
    # Imported here, not at the top: the runner imports this module for its constant.
    import torch  # noqa: PLC0415

    if not torch.cuda.is_available():
        torch.cuda.synchronize = _no_cuda_sync
    sys.argv[0] = "moshi.server"
    runpy.run_module("moshi.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
