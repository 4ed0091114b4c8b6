"""The servers an operator can name: node hosts, their groups and spoken aliases.

:class:`~fleet.model.Fleet` is the shared vocabulary of the proxy (which node runs a command)
and the extractors (which node a sentence names); :func:`~fleet.config.load_fleet` reads it
from a small TOML file.
"""

from __future__ import annotations

from fleet.config import load_fleet
from fleet.model import ALL, Fleet, FleetError, FleetSource

__all__ = ["ALL", "Fleet", "FleetError", "FleetSource", "load_fleet"]
