"""The OpenClaw processes: where the runtime is installed, their files, start and stop.

``run.sh`` installs Node 24 (npm package ``node``) and the pinned ``openclaw`` (versions in
``run.sh``) under ``.tools/``
in the repository (or ``$VOICEOPS_OPENCLAW_TOOLS``).  Everything a gateway or node host writes
goes under ``DATA/openclaw/``: one state directory each (so the node host has its own device key,
as a second machine would), their config, logs, the shared gateway token (0600) and
``state.json`` with the process ids ``stop`` needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.actions.executors.openclaw import STATE_DIR, TOKEN_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Commands the node host advertises: running, resolving and the approvals it is given.
NODE_COMMANDS = "system.run,system.which,system.execApprovals.get,system.execApprovals.set"
#: Offline and quiet: no mDNS, no update checks, no telemetry, no chat channels, no cron.
OFFLINE_ENV = {
    "OPENCLAW_DISABLE_BONJOUR": "1",
    "OPENCLAW_NO_AUTO_UPDATE": "1",
    "DO_NOT_TRACK": "1",
    "OPENCLAW_SKIP_CHANNELS": "1",
    "OPENCLAW_SKIP_CRON": "1",
}
STOP_GRACE = 10.0


@dataclass(frozen=True, slots=True)
class Runtime:
    """The Node 24 binary and the ``openclaw`` entry script."""

    node: Path
    openclaw: Path

    def argv(self, *args: str) -> list[str]:
        """``openclaw ARGS`` run by our Node 24 (the machine's own node may be older)."""
        return [str(self.node), str(self.openclaw), *args]


def tools_dir() -> Path:
    """Where ``run.sh`` installs Node 24 and OpenClaw."""
    return Path(os.environ.get("VOICEOPS_OPENCLAW_TOOLS") or REPO_ROOT / ".tools")


def find_runtime() -> Runtime | None:
    """The installed runtime, or None when ``run.sh`` has not installed it."""
    tools = tools_dir()
    node = tools / "node24" / "node_modules" / "node" / "bin" / "node"
    script = tools / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"
    return Runtime(node, script) if node.is_file() and script.is_file() else None


def state_root(data_dir: Path) -> Path:
    """``DATA/openclaw``: every OpenClaw file of this data directory."""
    return data_dir.resolve() / STATE_DIR


def gateway_token(data_dir: Path) -> str:
    """The shared gateway token, created (0600) on first use."""
    path = state_root(data_dir) / TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def openclaw_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an OpenClaw process whose state, config and home are ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **OFFLINE_ENV,
        "HOME": str(home),
        "OPENCLAW_HOME": str(home),
        "OPENCLAW_STATE_DIR": str(home / "state"),
        "OPENCLAW_CONFIG_PATH": str(home / "openclaw.json"),
        **(extra or {}),
    }


def spawn(
    runtime: Runtime, home: Path, args: list[str], extra_env: dict[str, str] | None = None
) -> int:
    """Start ``openclaw ARGS`` in its own session with its state in ``home``; returns the pid."""
    env = openclaw_env(home, extra_env)
    with (home / "process.log").open("ab") as log:
        proc = subprocess.Popen(
            runtime.argv(*args),
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def write_gateway_config(home: Path, port: int, token: str) -> None:
    """Local mode, loopback only, token auth, logs inside ``home`` (not ``/tmp/openclaw``)."""
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "gateway": {
            "mode": "local",
            "bind": "loopback",
            "port": port,
            "auth": {"mode": "token", "token": token},
        },
        "logging": {"file": str(home / "gateway.jsonl")},
        "update": {"checkOnStart": False},
    }
    path = home / "openclaw.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=2)


def write_node_config(home: Path) -> None:
    """A node host that neither updates itself nor proxies a browser."""
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "nodeHost": {"autoUpdate": {"enabled": False}, "browserProxy": {"enabled": False}},
        "update": {"checkOnStart": False},
    }
    (home / "openclaw.json").write_text(json.dumps(config, indent=2))


def read_state(data_dir: Path) -> dict[str, Any]:
    """``state.json`` (empty when nothing was started)."""
    path = state_root(data_dir) / "state.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace ``state.json`` atomically."""
    path = state_root(data_dir) / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (and is not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, by parent pid."""
    # The gateway starts helpers in sessions of their own (its spawn broker), so killing its
    # process group is not enough: collect the whole tree by parent pid first.
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_tree(pid: int, grace: float = STOP_GRACE) -> None:
    """SIGTERM ``pid`` and every process below it, then SIGKILL what is left after ``grace``."""
    tree = [pid, *descendants(pid)]
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(m) for m in tree):
        time.sleep(0.1)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)
    for member in tree:  # reap our own children so no zombie remains
        with contextlib.suppress(ChildProcessError, OSError):
            reap_by = time.monotonic() + 2.0
            while os.waitpid(member, os.WNOHANG) == (0, 0) and time.monotonic() < reap_by:
                time.sleep(0.05)
