"""Read a fleet from TOML, checking every key, and say where a bad file is wrong.

The file::

    default = "web-1"                      # optional: where a request runs when it names none
    nodes = ["web-1", "web-2", "db-1"]     # nodes expected even before they connect
    [groups]
    web = ["web-1", "web-2"]
    [aliases]
    "database box" = "db-1"
    "web servers" = "web"

Unknown keys are errors (a misspelt ``[group]`` must not silently mean "no groups").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet.model import Fleet, FleetError
from guard.loader import locate

MAX_FLEET_FILE_BYTES = 100_000
_KEYS = frozenset({"default", "nodes", "groups", "aliases"})
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def load_fleet(path: Path) -> Fleet:
    """Read and check the fleet file at ``path``.

    Raises :class:`FleetError` naming the file, the line (when it can be found) and what is
    wrong, so a misconfiguration shows at start-up rather than as a wrong server later.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetError(f"cannot read the fleet file: {exc.strerror or exc}", str(path)) from exc
    if len(raw) > MAX_FLEET_FILE_BYTES:
        raise FleetError(f"larger than {MAX_FLEET_FILE_BYTES} bytes", str(path))
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise FleetError("not UTF-8 text", str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.search(str(exc))
        line = int(found.group(1)) if found else None
        raise FleetError(f"not valid TOML: {exc}", str(path), line) from exc
    return _read(data, text, str(path))


def _read(data: dict[str, Any], text: str, source: str) -> Fleet:
    """Build the fleet from parsed TOML, locating each problem in ``text``."""

    def fail(message: str, *keypath: str) -> FleetError:
        return FleetError(message, source, locate(text, keypath) if keypath else None)

    for key in data:
        if key not in _KEYS:
            raise fail(f"unknown key {key!r} (known: {', '.join(sorted(_KEYS))})", key)
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise fail("default must be a node or group name", "default")
    nodes = _names(data.get("nodes", []), fail, "nodes")
    groups_table = data.get("groups", {})
    if not isinstance(groups_table, dict):
        raise fail("groups must be a table: name = [nodes]", "groups")
    groups = {name: _names(members, fail, "groups", name) for name, members in groups_table.items()}
    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise fail('aliases must be a table: "spoken words" = "node or group"', "aliases")
    try:
        return Fleet(nodes, groups, aliases, default)
    except FleetError as exc:
        # The message quotes the offending name; its first mention after the top is the line.
        name = re.search(r"'([^']*)'", exc.message)
        line = _first_line(text, name.group(1)) if name else None
        raise FleetError(exc.message, source, line) from exc


def _names(value: object, fail: Callable[..., FleetError], *keypath: str) -> tuple[str, ...]:
    """A list of strings at ``keypath``, or the error saying it is not one."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail(f"{'.'.join(keypath)} must be a list of names", *keypath)
    return tuple(value)


def _first_line(text: str, word: str) -> int | None:
    """The 1-based line where ``word`` first appears quoted or as a key, ignoring comments."""
    pattern = re.compile(rf"(?:[\"']{re.escape(word)}[\"']|^\s*{re.escape(word)}\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line.split("#", 1)[0]):
            return number
    return None
