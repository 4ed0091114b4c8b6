"""Run the real ``moshi.server`` on a :class:`~devtools.tinymoshi.build.TinyModel` as a subprocess.

The server serves one conversation at a time (it holds a lock for the whole socket), so whoever
shares a running server must close each WebSocket before the next one can get its handshake.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devtools.tinymoshi.build import TinyModel
from devtools.tinymoshi.launch import PARENT_PID_ENV
from voiceops.errors import VoiceOpsError

#: Start-up is ≈3 s here; the margin covers a loaded 2-core machine.
DEFAULT_START_TIMEOUT = 120.0
#: aiohttp's shutdown on SIGTERM closes open sockets first; past this the process is killed.
DEFAULT_STOP_GRACE = 5.0
_POLL_INTERVAL = 0.05
_STDERR_TAIL_BYTES = 4000


class UpstreamStartError(VoiceOpsError, RuntimeError):
    """The server died or did not accept connections in time; the message has its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free on ``host`` (IPv4 or IPv6) right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env() -> dict[str, str]:
    """This process's environment plus what the tiny server needs to start fast and offline."""
    env = dict(os.environ)
    env.update(
        # Never reach for the hub: every file is given on the command line.
        HF_HUB_OFFLINE="1",
        # torch.compile of the tiny model costs ≈25 s at start-up and gains nothing here.
        NO_TORCH_COMPILE="1",
        # One thread: the machine is shared, and the tiny matrices gain nothing from more.
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    env[PARENT_PID_ENV] = str(os.getpid())
    # The launcher is part of this project, so the project root must be importable.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class TinyMoshiServer:
    """The tiny upstream on a loopback port; a context manager, or :meth:`start`/:meth:`stop`.

    ``url`` is the ``/api/chat`` WebSocket address, ``base_url`` the HTTP origin.  Output of the
    server goes to ``log_path`` in the model's data directory.
    """

    def __init__(self, model: TinyModel, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.model = model
        self.host = host
        self._requested_port = port
        self.port: int = port if port is not None else 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path: Path = model.data_dir / "logs" / "server.log"

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/api/chat``."""
        return f"ws://{self.host}:{self.port}/api/chat"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id; :class:`RuntimeError` if it was not started."""
        if self._process is None:
            raise RuntimeError("the tiny moshi server is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`stop`, while the process lives."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The argv that starts the server."""
        return [
            sys.executable,
            "-m",
            "devtools.tinymoshi.launch",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--device",
            "cpu",
            # Without it the server downloads the moshi web UI bundle.
            "--static",
            "none",
            *self.model.server_args(),
        ]

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> Self:
        """Start the server and wait until its port accepts connections.

        Raises :class:`UpstreamStartError` with the tail of the server log if the process exits
        or the port stays closed for ``timeout`` seconds.
        """
        if self._process is not None:
            raise RuntimeError("the tiny moshi server is already started")
        self.port = self._requested_port if self._requested_port is not None else free_port()
        # One log per port so two servers on the same model do not interleave their output.
        self.log_path = self.model.data_dir / "logs" / f"server-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe: nobody reads the output while tests run, and a full pipe would
        # block the server mid-conversation.
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=server_env(),
            cwd=self.model.data_dir,
            # Own process group: a Ctrl-C in the terminal reaches the server through stop(),
            # not twice.
            start_new_session=True,
        )
        try:
            self._wait_accepting(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_accepting(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise UpstreamStartError(
                    f"tiny moshi server exited with code {code} before accepting connections; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1.0),
            ):
                return
            if time.monotonic() > deadline:
                raise UpstreamStartError(
                    f"tiny moshi server did not accept connections on {self.host}:{self.port} "
                    f"within {timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)

    def log_tail(self, max_bytes: int = _STDERR_TAIL_BYTES) -> str:
        """The last ``max_bytes`` of the server's output."""
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-max_bytes:].decode("utf-8", "replace")

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> int | None:
        """SIGTERM the server, SIGKILL it after ``grace`` seconds; returns its exit code.

        Idempotent: stopping a stopped server does nothing and returns None.
        """
        process, self._process = self._process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    process.wait()
            code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self) -> Self:
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self._process is not None else "stopped"
        return f"<TinyMoshiServer {self.url} {state}>"
