"""Helpers for tests that look at the machine's processes (what a run left behind)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def cmdlines() -> list[bytes]:
    """Every process's command line (NUL-separated arguments)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found.append((entry / "cmdline").read_bytes())
    return found
