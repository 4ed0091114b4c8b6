"""Rules that read one tool's output and say what matters in a sentence (pure, no I/O).

A rule gets the argv that ran and its output and returns a :class:`Gist` — the sentence to
show and the same sentence for the ear (units spelt out) — or ``None`` when it does not
recognise the output (a changed format, an error message), so the caller falls back to the
generic "done, exit 0, 12 lines".  Rules never raise on odd input: every parse is guarded.

Tools covered: ``df``, ``free``, ``uptime``, ``systemctl status``, ``docker ps``,
``journalctl``, ``ps``, ``du`` — the read-only commands the default policy allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A file system this full is named in the ``df`` digest even when it is not the root.
FULL_PERCENT = 80
#: Longest log message quoted from ``journalctl`` (characters).
QUOTE_CHARS = 60

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SPOKEN_UNITS = {"B": "bytes", "KB": "kilobytes", "MB": "megabytes", "GB": "gigabytes"}
_SPOKEN_UNITS |= {"TB": "terabytes", "PB": "petabytes"}
_SIZE = re.compile(r"^(\d+(?:[.,]\d+)?)([BKMGTP]?)(?:i?B?)?$", re.IGNORECASE)
#: File systems that hold no user data: never the subject of a disk digest.
_VIRTUAL_FS = ("tmpfs", "devtmpfs", "overlay", "shm", "udev", "none", "proc", "sysfs")


@dataclass(frozen=True, slots=True)
class Gist:
    """One tool's output in a sentence: ``text`` to read, ``speech`` to hear."""

    text: str
    speech: str


def parse_size(token: str, unit: int = 1) -> int | None:
    """Bytes in a size as tools print it ("76G", "1.6Gi", "4.0K", "24105"); bare numbers are
    multiplied by ``unit`` (``free -m`` prints MiB).  ``None`` when it is not a size."""
    match = _SIZE.match(token.strip())
    if match is None:
        return None
    number = float(match.group(1).replace(",", "."))
    suffix = match.group(2).upper()
    scale = _UNITS[suffix] if suffix else unit
    return round(number * scale)


def human(size: int) -> str:
    """A size the way a person says it: "76 GB", "1.6 GB", "836 KB", "12 B"."""
    value = float(size)
    for name in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or name == "TB":
            break
        value /= 1024
    if name == "B" or value >= 10:
        return f"{value:.0f} {name}"
    return f"{value:.1f} {name}".replace(".0 ", " ")


def spoken(text: str) -> str:
    """``text`` for a synthesiser: units and symbols as words ("26 %" → "26 percent")."""
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    text = re.sub(
        r"(\d) (B|KB|MB|GB|TB|PB)\b", lambda m: f"{m.group(1)} {_SPOKEN_UNITS[m.group(2)]}", text
    )
    return text.replace("/", " slash ").replace("  ", " ").strip()


def _gist(text: str) -> Gist:
    return Gist(text, spoken(text))


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()]


# -- df


def _df(argv: Sequence[str], output: str) -> Gist | None:
    rows = _rows(output)
    if not rows or rows[0][:1] != ["Filesystem"]:
        return None
    unit = 1 if any(a in ("-h", "-H", "--human-readable") for a in argv) else 1024
    mounts: list[tuple[str, int, int | None]] = []  # mount, percent used, bytes available
    for row in rows[1:]:
        if len(row) < 6 or not row[-2].endswith("%") or row[0] in _VIRTUAL_FS:
            continue
        try:
            percent = int(row[-2].rstrip("%"))
        except ValueError:
            continue
        mounts.append((row[-1], percent, parse_size(row[-3], unit)))
    if not mounts:
        return None
    main = next((m for m in mounts if m[0] == "/"), mounts[0])
    name = "Root filesystem" if main[0] == "/" else main[0]
    text = f"{name} {main[1]} % used"
    if main[2] is not None:
        text += f", {human(main[2])} free"
    fullest = max((m for m in mounts if m is not main), key=lambda m: m[1], default=None)
    if fullest is not None and fullest[1] >= FULL_PERCENT:
        text += f"; {fullest[0]} is {fullest[1]} % full"
    return _gist(text + ".")


# -- free


def _free(argv: Sequence[str], output: str) -> Gist | None:
    flags = {"-b": 1, "-k": 1024, "-m": 1 << 20, "-g": 1 << 30, "--mega": 1 << 20}
    unit = next((flags[a] for a in argv if a in flags), 1024)
    rows = _rows(output)
    header = rows[0] if rows else []
    mem = next((r for r in rows if r[0] == "Mem:"), None)
    if mem is None or "total" not in header or len(mem) < 3:
        return None
    values = {name: parse_size(v, unit) for name, v in zip(header, mem[1:], strict=False)}
    total, used = values.get("total"), values.get("used")
    available = values.get("available") or values.get("free")
    if total is None or used is None or available is None:
        return None
    text = f"Memory: {human(used)} used of {human(total)}, {human(available)} available"
    swap = next((r for r in rows if r[0] == "Swap:"), None)
    if swap is not None and len(swap) >= 3:
        swap_used = parse_size(swap[2], unit)
        if swap_used:
            text += f"; swap {human(swap_used)} used"
    return _gist(text + ".")


# -- uptime

_UPTIME = re.compile(r"\bup\s+(?P<up>.*?),\s+(?:\d+\s+users?,\s+)?load averages?:\s*(?P<load>.*)$")


def _uptime(argv: Sequence[str], output: str) -> Gist | None:
    line = output.strip().splitlines()[0] if output.strip() else ""
    match = _UPTIME.search(line)
    if match is None:
        return None
    up = _duration(match.group("up"))
    loads = [x.strip() for x in match.group("load").replace(", ", " ").split()]
    if up is None or not loads:
        return None
    text = f"Up {up}, load {loads[0]}"
    if len(loads) == 3:
        text += f" now, {loads[2]} over 15 minutes"
    return Gist(text + ".", f"Up {up}, load {loads[0]}.")


def _duration(up: str) -> str | None:
    """``uptime``'s "3 days, 4:05" / "8 min" / "12:03" as words."""
    parts: list[str] = []
    for piece in (p.strip() for p in up.split(",")):
        if match := re.fullmatch(r"(\d+) days?", piece):
            parts.append(f"{match.group(1)} day" + ("s" if match.group(1) != "1" else ""))
        elif match := re.fullmatch(r"(\d+) min", piece):
            parts.append(f"{match.group(1)} minutes")
        elif match := re.fullmatch(r"(\d+):(\d+)", piece):
            hours, minutes = int(match.group(1)), int(match.group(2))
            parts.append(f"{hours} hour{'s' if hours != 1 else ''} {minutes} minutes")
        else:
            return None
    return " ".join(parts) if parts else None


# -- systemctl status

_UNIT_LINE = re.compile(r"^[●○×*↻]?\s*(?P<unit>\S+?)(?:\.service)?\s+-\s+")
_ACTIVE = re.compile(r"^\s*Active:\s+(?P<state>\S+(?: \([^)]*\))?)(?:.*?;\s*(?P<ago>.+ ago))?")


def _systemctl(argv: Sequence[str], output: str) -> Gist | None:
    if "status" not in argv[1:]:
        return None
    states: list[tuple[str, str, str | None]] = []
    unit: str | None = None
    for line in output.splitlines():
        if match := _UNIT_LINE.match(line):
            unit = match.group("unit")
        elif (match := _ACTIVE.match(line)) and unit is not None:
            states.append((unit, match.group("state"), match.group("ago")))
            unit = None
    if not states:
        if match := re.search(r"Unit (\S+?)(?:\.service)? could not be found", output):
            return _gist(f"There is no unit called {match.group(1)}.")
        return None
    if len(states) == 1:
        name, state, ago = states[0]
        text = f"{name} is {state}" + (f" since {ago}" if ago else "")
        return Gist(text + ".", f"{name} is {state.split(' (')[0]}.")
    bad = [n for n, s, _ in states if not s.startswith("active")]
    text = f"{len(states) - len(bad)} of {len(states)} units active"
    return _gist(text + (f"; not active: {', '.join(bad)}." if bad else "."))


# -- docker ps


def _docker(argv: Sequence[str], output: str) -> Gist | None:
    if tuple(argv[1:2]) != ("ps",):
        return None
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("CONTAINER ID"):
        return None
    containers = lines[1:]
    if not containers:
        return _gist("No containers running.")
    names = [line.split()[-1] for line in containers]
    up = sum(1 for line in containers if " Up " in f" {line} ")
    unhealthy = sum(1 for line in containers if "(unhealthy)" in line)
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    noun = "container" if len(containers) == 1 else "containers"
    text = f"{len(containers)} {noun}, {up} up: {shown}"
    if unhealthy:
        text += f"; {unhealthy} unhealthy"
    return _gist(text + ".")


# -- journalctl

_ERRORS = re.compile(r"\b(error|failed|failure|fatal|panic|denied|critical)\b", re.IGNORECASE)


def _journalctl(argv: Sequence[str], output: str) -> Gist | None:
    lines = [line for line in output.splitlines() if line.strip()]
    if any(line.strip() == "-- No entries --" for line in lines):
        return _gist("No log entries.")
    entries = [line for line in lines if not line.startswith("-- ")]
    if not entries:
        return None
    errors = sum(1 for line in entries if _ERRORS.search(line))
    last = entries[-1]
    message = last.split(": ", 1)[1] if ": " in last else last
    if len(message) > QUOTE_CHARS:
        message = message[: QUOTE_CHARS - 1].rstrip() + "…"
    noun = "line" if len(entries) == 1 else "lines"
    news = f"{len(entries)} log {noun}, " + (f"{errors} with errors" if errors else "no errors")
    return Gist(f"{news}; last: {message}", f"{news}.")


# -- ps


def _ps(argv: Sequence[str], output: str) -> Gist | None:
    rows = _rows(output)
    if not rows or "PID" not in rows[0]:
        return None
    header, procs = rows[0], rows[1:]
    text = f"{len(procs)} process" + ("" if len(procs) == 1 else "es")
    if "%CPU" in header and "COMMAND" in header and procs:
        cpu, cmd = header.index("%CPU"), header.index("COMMAND")
        try:
            top = max(procs, key=lambda r: float(r[cpu]))
            name = top[cmd].rsplit("/", 1)[-1].strip("[]")
            text += f"; busiest {name} at {float(top[cpu]):g} % CPU"
        except (ValueError, IndexError):
            pass
    return _gist(text + ".")


# -- du


def _du(argv: Sequence[str], output: str) -> Gist | None:
    unit = 1 if any(a in ("-h", "--human-readable") for a in argv) else 1024
    entries: list[tuple[int, str]] = []
    for line in output.splitlines():
        size, _, path = line.partition("\t")
        parsed = parse_size(size, unit)
        if parsed is None or not path:
            continue
        entries.append((parsed, path.strip()))
    if not entries:
        return None
    if len(entries) == 1:
        only, path = entries[0]
        return Gist(f"{path} uses {human(only)}.", spoken(f"{_leaf(path)} uses {human(only)}."))
    *parts, (total, root) = entries
    biggest = max(parts)
    news = f"uses {human(total)}; largest: "
    return Gist(
        f"{root} {news}{biggest[1]} with {human(biggest[0])}.",
        spoken(f"{_leaf(root)} {news}{_leaf(biggest[1])} with {human(biggest[0])}."),
    )


def _leaf(path: str) -> str:
    """A path as said aloud: its last part ("/var/log" → "log"; "/" → "root")."""
    return path.rstrip("/").rsplit("/", 1)[-1] or "root"


Rule = Callable[[Sequence[str], str], "Gist | None"]

#: Rules by the binary's short name.
RULES: dict[str, Rule] = {
    "df": _df,
    "free": _free,
    "uptime": _uptime,
    "systemctl": _systemctl,
    "docker": _docker,
    "journalctl": _journalctl,
    "ps": _ps,
    "du": _du,
}


def gist(argv: Sequence[str], output: str) -> Gist | None:
    """What the output of ``argv`` says in a sentence, or ``None`` when no rule knows it."""
    if not argv:
        return None
    rule = RULES.get(argv[0].rsplit("/", 1)[-1])
    if rule is None:
        return None
    try:
        return rule(argv, output)
    except (ValueError, IndexError):
        # A format this rule did not expect: the generic digest says it instead.
        return None
