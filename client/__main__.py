"""``python -m client`` — the headless voiceops client (see ``--help``)."""

from __future__ import annotations

import sys

from client.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
