"""Memory against real ChromaDB: embedded (PersistentClient) and a real `chroma run` server."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from devtools.tinymoshi import free_port
from extraction.memory import InteractionRecord, Memory

CHROMA = Path(sys.executable).parent / "chroma"
ROOT = Path(__file__).resolve().parents[2]


class ChromaServer:
    """A `chroma run` process on a free loopback port with its data in a temp folder."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (path / "chroma.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(CHROMA),
                "run",
                "--path",
                str(path / "db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chroma run did not answer its heartbeat within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma"))
    yield server
    server.stop()


Opener = Callable[[], Memory]


@pytest.fixture(params=["embedded", "server"])
def open_memory(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens (and reopens) one memory: under tmp_path, or a fresh collection on the server."""
    if request.param == "embedded":
        return lambda: Memory.open(tmp_path)
    server: ChromaServer = request.getfixturevalue("chroma_server")
    collection = f"test-{uuid.uuid4().hex[:12]}"
    return lambda: Memory.open(url=server.url, collection=collection)


def record(request: str, commands: tuple[str, ...], output: str = "ok") -> InteractionRecord:
    return InteractionRecord(
        request=request,
        commands=commands,
        decisions=tuple("allowed" for _ in commands),
        exit_codes=tuple(0 for _ in commands),
        output=output,
        session_id="session-1",
        time=1_700_000_000.0,
    )


PAST = [
    record("please check the disk space on the server", ("df -h",), "/dev/sda1 40G 12G 28G 30% /"),
    record("could you restart the nginx service", ("systemctl restart nginx",), ""),
    record("show me which docker containers are running", ("docker ps",), "CONTAINER ID  web"),
]


def test_store_reopen_and_recall_by_meaning(open_memory: Opener) -> None:
    memory = open_memory()
    assert memory.available and memory.error is None
    ids = [memory.store(r) for r in PAST]
    assert all(i is not None for i in ids)

    reopened = open_memory()
    # None of these queries shares its key words with the stored request.
    found = reopened.recall("how full is the hard drive", k=2)
    assert found[0].request == PAST[0].request
    assert found[0].commands == ("df -h",)
    assert found[0].id == ids[0] and found[0].session_id == "session-1"
    assert "df -h: allowed, exit 0" in found[0].summary and "28G" in found[0].summary
    assert reopened.recall("bounce the web server", k=1)[0].commands == ("systemctl restart nginx",)
    assert reopened.recall("list my containers", k=1)[0].commands == ("docker ps",)
    assert len(reopened.recall("anything", k=50)) == 3  # k is clamped, never an error


def test_long_output_is_truncated_and_empty_query_recalls_nothing(open_memory: Opener) -> None:
    memory = open_memory()
    assert memory.store(record("show the kernel log", ("dmesg",), "x" * 50_000)) is not None
    found = memory.recall("kernel messages", k=1)
    assert found and len(found[0].summary) < 1000
    assert memory.recall("   ") == []


def test_concurrent_stores_get_distinct_ids(open_memory: Opener) -> None:
    memory = open_memory()
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(
            pool.map(lambda i: memory.store(record(f"request {i}", (f"echo {i}",))), range(12))
        )
    assert None not in ids
    assert len(set(ids)) == 12
    assert all(uuid.UUID(str(i)).version == 4 for i in ids)
    assert len(memory.recall("request", k=20)) == 12


def test_broken_data_dir_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file, not a folder")
    memory = Memory.open(not_a_dir)
    refused = memory.error
    assert refused, "not available yet"
    assert memory.store(PAST[0]) is None
    assert memory.recall("disk") == []
    assert any(
        r.levelno == logging.ERROR and "memory unavailable" in r.getMessage()
        for r in caplog.records
    )


def test_corrupt_database_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "chroma.sqlite3").write_bytes(b"this is not a sqlite database" * 100)
    memory = Memory.open(tmp_path)
    # Either opening or using it fails; both are logged, neither raises.
    assert memory.store(PAST[0]) is None
    assert memory.recall("disk") == []
    assert any(r.levelno == logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "not a url", "http://127.0.0.1:9"])
def test_unusable_server_url_is_logged_not_raised(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    memory = Memory.open(url=url)
    refused = memory.error
    assert refused, "not available yet"
    assert memory.store(PAST[0]) is None and memory.recall("disk") == []
    assert "memory unavailable" in caplog.text


def test_server_going_away_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = ChromaServer(tmp_path)
    try:
        memory = Memory.open(url=server.url)
        assert memory.store(PAST[0]) is not None
    finally:
        server.stop()
    assert memory.store(PAST[1]) is None
    assert memory.recall("disk") == []
    assert "memory store failed" in caplog.text and "memory recall failed" in caplog.text


def test_memory_survives_a_process_restart_offline(tmp_path: Path) -> None:
    """Another process (offline, as in production) stores; this one reopens and recalls."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from extraction.memory import InteractionRecord, Memory
        m = Memory.open(Path({str(tmp_path)!r}))
        print(m.store(InteractionRecord("please check the disk space", ("df -h",), ("allowed",),
                                        (0,), "28G free", "s-restart", 1.0)))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    stored_id = done.stdout.strip().splitlines()[-1]
    found = Memory.open(tmp_path).recall("is the drive running out of room", k=1)
    assert found and found[0].id == stored_id and found[0].session_id == "s-restart"


def test_server_down_at_start_is_reconnected_on_a_later_use(tmp_path: Path) -> None:
    port = free_port()
    memory = Memory.open(url=f"http://127.0.0.1:{port}", collection="reconnect", retry_after=0.2)
    refused = memory.error
    assert refused, "not available yet"
    assert memory.store(record("check the disk space", ("df -h",))) is None
    server = ChromaServer(tmp_path, port=port)
    try:
        time.sleep(0.3)
        assert memory.store(record("check the disk space", ("df -h",))) is not None
        assert memory.available and memory.error is None
        assert memory.recall("how full are the disks", 1)[0].commands == ("df -h",)
    finally:
        server.stop()


def test_old_records_are_forgotten_after_the_retention_period(tmp_path: Path) -> None:
    now = time.time()
    memory = Memory.open(tmp_path)
    memory.store(replace(PAST[0], time=now - 40 * 86400))
    memory.store(replace(PAST[1], time=now - 3600))
    kept = Memory.open(tmp_path, retention=30 * 86400)  # forgets on opening
    assert [r.commands for r in kept.recall("anything", k=10)] == [PAST[1].commands]
    assert kept.forget_old(now=now + 40 * 86400) == 1
    assert kept.recall("anything", k=10) == []


def test_embedded_memory_is_owner_only(tmp_path: Path) -> None:
    memory = Memory.open(tmp_path)
    memory.store(PAST[0])
    assert stat.S_IMODE((tmp_path / "memory").stat().st_mode) == 0o700
