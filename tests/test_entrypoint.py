"""``entrypoint.sh`` run for real with the tiny moshi upstream: start, supervise, drain, stop.

Short back-off, drain and grace values come from the environment so the tests stay quick; the
speech tap and memory are off (the lean-runtime test covers them).  Each test starts its own
entrypoint because each ends it differently.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.footprint import children
from devtools.openclaw import find_runtime
from devtools.tinymoshi import TinyModel, free_port
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.moshi
DRAIN_S = 2
GRACE_S = 8


class Entrypoint:
    """One running ``entrypoint.sh`` with its log, ports and helpers to poke at it."""

    def __init__(self, model: TinyModel, tmp: Path, **extra_env: str) -> None:
        self.port = free_port("::")
        self.log = tmp / "entrypoint.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "VOICEOPS_PYTHON": sys.executable,
            "VOICEOPS_UPSTREAM_MODE": "tiny",
            "VOICEOPS_TINYMOSHI_DIR": str(model.data_dir),
            "VOICEOPS_PORT": str(self.port),
            "VOICEOPS_UPSTREAM_PORT": str(free_port()),
            "VOICEOPS_DATA_DIR": str(tmp / "data"),
            "VOICEOPS_NO_TAP": "1",
            "VOICEOPS_NO_MEMORY": "1",
            # Listening on '::' is exposed: the proxy refuses to start without a login secret.
            "VOICEOPS_AUTH_TOKEN": "entrypoint-test-secret-0123456789",
            "VOICEOPS_AUDIT_TO_STDOUT": "1",
            "VOICEOPS_DRAIN_TIMEOUT": str(DRAIN_S),
            "VOICEOPS_STOP_GRACE": str(GRACE_S),
            "VOICEOPS_BACKOFF_MIN": "1",
            "VOICEOPS_READY_TIMEOUT": "120",
            **extra_env,
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(REPO_ROOT / "entrypoint.sh")], stdout=out, stderr=subprocess.STDOUT, env=env
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, pattern: str, timeout: float = 150.0, after: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.text(), after)
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line like {pattern!r}; log:\n{self.text()[-3000:]}")

    def pid_of(self, name: str) -> int:
        found = re.findall(rf"start {name}(?: \(\w+\))? pid (\d+)", self.text())
        return int(found[-1])

    def status(self, path: str, host: str = "127.0.0.1") -> int:
        url = f"http://{host}:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def entrypoint(tiny_model: TinyModel, tmp_path: Path) -> Iterator[Entrypoint]:
    started = Entrypoint(tiny_model, tmp_path)
    try:
        started.wait_for_line(r"ready: proxy /ready 200")
        yield started
    finally:
        started.stop()


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_ready_on_ipv4_and_ipv6_and_a_killed_upstream_is_restarted(entrypoint: Entrypoint) -> None:
    assert entrypoint.status("/ready") == 200
    assert entrypoint.status("/health", "[::1]") == 200  # the public port is dual-stack
    first = entrypoint.pid_of("upstream")
    mark = len(entrypoint.text())
    os.kill(first, signal.SIGKILL)
    entrypoint.wait_for_line(r"exit upstream pid \d+ code 137 \(crashed\).*restart in 1s", 30)
    entrypoint.wait_for_line(r"start upstream \(tiny\) pid \d+", 30, after=mark)
    assert entrypoint.pid_of("upstream") != first
    deadline = time.monotonic() + 90
    while entrypoint.status("/ready") != 200:
        assert time.monotonic() < deadline, entrypoint.text()[-3000:]
        time.sleep(0.5)
    assert entrypoint.proc.poll() is None


def test_a_dead_proxy_stops_the_container_with_a_non_zero_code(entrypoint: Entrypoint) -> None:
    os.kill(entrypoint.pid_of("proxy"), signal.SIGKILL)
    assert entrypoint.proc.wait(DRAIN_S + 2 * GRACE_S + 10) == 137
    entrypoint.wait_for_line(r"exit proxy pid \d+ code 137 \(died unexpectedly\)")
    entrypoint.wait_for_line(r"exit entrypoint code 137")


def test_sigterm_drains_stops_every_child_and_exits_0(entrypoint: Entrypoint) -> None:
    family = descendants(entrypoint.proc.pid)
    assert len(family) >= 4  # proxy, tiny upstream runner, moshi server, audit copy
    began = time.monotonic()
    entrypoint.proc.send_signal(signal.SIGTERM)
    assert entrypoint.proc.wait(DRAIN_S + 2 * GRACE_S + 10) == 0
    took = time.monotonic() - began
    assert not [pid for pid in family if alive(pid)]
    assert took < DRAIN_S + 2 * GRACE_S, f"stopping took {took:.1f} s"
    entrypoint.wait_for_line(r"received SIGTERM")
    entrypoint.wait_for_line(r"exit proxy pid \d+ code 0 \(stopped by entrypoint\)")
    entrypoint.wait_for_line(r"exit entrypoint code 0")


def test_the_openclaw_executor_starts_its_gateway_first_and_runs_commands_on_its_node(
    tiny_model: TinyModel, tmp_path: Path
) -> None:
    if find_runtime() is None:
        pytest.skip("OpenClaw is not installed (./run.sh openclaw puts it in .tools/)")
    gateway = f"ws://127.0.0.1:{free_port()}"
    started = Entrypoint(
        tiny_model, tmp_path, VOICEOPS_EXECUTOR="openclaw", VOICEOPS_EXEC_GATEWAY=gateway
    )
    try:
        started.wait_for_line(r"ready: proxy /ready 200", timeout=240)
        gateway_ready = started.wait_for_line(r"ready: executor gateway .*")
        assert started.text().index(gateway_ready.group(0)) < started.text().index("start proxy")
        request = urllib.request.Request(
            f"http://127.0.0.1:{started.port}/execute",
            data=json.dumps({"transcript": ["check the disk space"]}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Bearer entrypoint-test-secret-0123456789",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = reply.read().decode()
        assert "Filesystem" in body, body  # df's header, from the node host's run
        gateway_pid = started.pid_of("executor gateway")
    finally:
        started.stop()
    assert started.proc.returncode == 0, started.text()[-3000:]
    assert not alive(gateway_pid)


def test_shellcheck_is_clean() -> None:
    scripts = ["entrypoint.sh", "run.sh", ".ci/run"]
    done = subprocess.run(
        ["shellcheck", *scripts], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
