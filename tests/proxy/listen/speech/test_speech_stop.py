"""Ctrl-C or SIGTERM to a terminal's whole process group stops the proxy and its speech workers
cleanly: no worker "died", none restarted, no traceback or leaked semaphore, nothing left running.

A terminal delivers Ctrl-C to every process of the foreground group, and the speech workers are
in the proxy's group.  A conversation is open when the signal comes, so the proxy drains for a
moment: long enough to notice workers that the signal killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from devtools.tinymoshi import free_port
from proxy.listen.speech.settings import TapSettings
from proxy.listen.speech.worker import SpeechWorker
from proxy.relay.codec import Kind
from tests.proxy.upstream_double import UpstreamDouble
from tests.voices import needs_espeak

pytestmark = [pytest.mark.speech, needs_espeak]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
#: Generous on a loaded machine; a clean stop takes about the drain time (1 s).
STOP_WITHIN_S = 30.0
#: What a clean stop never prints.
UNCLEAN = ("DIED", "replace the dead one", "Traceback", "leaked semaphore")


def group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that still run (zombies are finished)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


class ProxyGroup:
    """``python -m proxy`` with 2 speech workers in its own process group (a terminal's job)."""

    def __init__(self, upstream: UpstreamDouble, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / "proxy.log"
        argv = [
            *(sys.executable, "-m", "proxy", "--listen", "127.0.0.1", "--port", str(self.port)),
            *("--upstream", upstream.url, "--no-memory", "--speech-workers", "2"),
            *("--vad", "energy", "--drain-timeout", "1", "--data-dir", str(tmp_path)),
        ]
        with self.log.open("w") as out:
            # Its own group: the signal reaches every process in it and none of this test's.
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, line: str) -> None:
        deadline = time.monotonic() + 120
        while line not in self.text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` to the whole group; the proxy's exit code once it and its group are gone."""
        os.killpg(self.proc.pid, sig)
        code = self.proc.wait(STOP_WITHIN_S)
        # The proxy waited for its workers; the resource tracker may take a moment after it.
        deadline = time.monotonic() + 5
        while group_members(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_members(self.proc.pid) == [], self.text()
        return code


@contextmanager
def proxy_group(upstream: UpstreamDouble, tmp_path: Path) -> Iterator[ProxyGroup]:
    """A :class:`ProxyGroup`, killed with its whole group if a test leaves it running."""
    group = ProxyGroup(upstream, tmp_path)
    try:
        yield group
    finally:
        if group.proc.poll() is None:
            os.killpg(group.proc.pid, signal.SIGKILL)
            group.proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_to_the_process_group_stops_proxy_and_workers_cleanly(
    upstream: UpstreamDouble, tmp_path: Path, sig: signal.Signals
) -> None:
    with proxy_group(upstream, tmp_path) as proxy:
        await asyncio.to_thread(proxy.wait_for, "listening on")
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"ws://127.0.0.1:{proxy.port}/api/chat")
            handshake = await ws.receive(timeout=10)
            assert handshake.data[0] == Kind.HANDSHAKE
            code = await asyncio.to_thread(proxy.stop, sig)
            await ws.close()
    text = proxy.text()
    assert code == 0, text
    assert "speech worker pids" in text and "draining 1 conversation" in text, text
    assert [bad for bad in UNCLEAN if bad in text] == [], text


async def test_ctrl_c_while_the_speech_models_load_stops_with_130(
    upstream: UpstreamDouble, tmp_path: Path
) -> None:
    with proxy_group(upstream, tmp_path) as proxy:
        await asyncio.to_thread(proxy.wait_for, "loading speech recognisers")
        code = await asyncio.to_thread(proxy.stop, signal.SIGINT)
    text = proxy.text()
    assert code == 130 and "interrupted: stopped" in text, text
    assert [bad for bad in UNCLEAN if bad in text] == [], text


def test_a_stop_signal_while_a_worker_starts_is_ignored_and_it_loads() -> None:
    # Right after start() the worker is still importing, before it can ignore anything itself.
    worker = SpeechWorker(TapSettings(vad="energy"))
    try:
        pid = worker.pid
        assert pid is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            os.kill(pid, sig)
        worker.wait_ready()
        assert worker.running and worker.pid == pid
    finally:
        worker.close()


def test_a_speech_worker_leaves_nothing_in_the_temporary_directory(tmp_path: Path) -> None:
    # A worker process ends as multiprocessing ends it, with os._exit: no finaliser runs.  Each
    # one used to leave a keyphrase directory in /tmp (271 of them on this machine in a day).
    code = (
        "import os\n"
        "from proxy.listen.speech.recognisers import Recognisers\n"
        "recs = Recognisers.load()\n"
        "recs.spotter().close()\n"
        "os._exit(0)\n"
    )
    env = {**ENV, "TMPDIR": str(tmp_path), "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # (onnxruntime keeps one ".ses" file there, the same one for every process.)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("voiceops-")] == []
