"""Run an approved argv on this machine: no shell, fixed environment, own process group.

Why each choice:

* ``create_subprocess_exec(*argv)`` — the guard approved a list of words; a shell would give
  them a second meaning (globs, ``;``, ``$()``).
* a fixed minimal environment — the proxy's own environment may hold API keys, and a pager or a
  locale can change what a command prints (``systemctl`` opens ``less`` without a terminal check
  when ``SYSTEMD_PAGER`` is unset on some versions).
* ``start_new_session`` — the command and everything it forks share one process group, so a
  timeout can kill the whole tree with one ``killpg`` even when a child ignores SIGTERM.
* output read as it streams with a cap — a command printing gigabytes must neither fill the
  proxy's memory nor block on a full pipe, so bytes past the cap are drained and only counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import time
from collections.abc import Mapping

from guard.decision import Approval
from proxy.actions.executors.base import RunResult, capped_text

#: The only PATH a command sees (the guard already resolved argv[0] to an absolute path; this
#: is for whatever the command itself runs).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TIMEOUT = 30.0
DEFAULT_OUTPUT_CAP = 100_000
_CHUNK = 64 * 1024
# After SIGKILL to the group the kernel tears the processes down at once; this bound only keeps
# a pathological case (a process stuck in uninterruptible sleep) from hanging the session.
_REAP_GRACE = 5.0


class _Capture:
    """Keeps the first ``cap`` bytes of a stream and counts the rest while draining it."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.total = 0

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(_CHUNK):
            self.total += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)

    def text(self) -> str:
        return capped_text(bytes(self.kept), self.total)


class LocalExecutor:
    """Runs approved commands as child processes of the proxy.

    ``timeout`` (seconds) bounds the whole run, output included; then the process group gets
    SIGKILL.  ``output_cap`` is the number of bytes kept per stream.  ``run_as`` names a user to
    run commands as (only possible when the proxy runs as root; its groups are dropped too).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        run_as: str | None = None,
        path: str = DEFAULT_PATH,
    ) -> None:
        if timeout <= 0 or output_cap <= 0:
            raise ValueError("timeout and output_cap must be positive")
        self.timeout = timeout
        self.output_cap = output_cap
        self.run_as = run_as
        self._env: Mapping[str, str] = {
            "PATH": path,
            "LANG": "C",
            "PAGER": "cat",
            "SYSTEMD_PAGER": "",
        }
        self._identity: dict[str, object] = {}
        if run_as is not None:
            try:
                entry = pwd.getpwnam(run_as)
            except KeyError:
                raise ValueError(f"run_as user {run_as!r} does not exist") from None
            if os.geteuid() != 0:
                raise ValueError("run_as needs the proxy to run as root")
            self._identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    async def run(self, approval: Approval) -> RunResult:
        """Run ``approval.argv`` and return its exit code and (capped) output."""
        if not isinstance(approval, Approval):
            raise TypeError(f"LocalExecutor runs only guard approvals, not {type(approval)}")
        argv = approval.argv
        started = time.monotonic()
        starting = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=dict(self._env),
                cwd="/",
                start_new_session=True,
                **self._identity,  # type: ignore[arg-type]
            )
        )
        try:
            # Shielded: cancelled mid-start, asyncio would kill the child alone and then wait
            # for its pipes, which a grandchild holds open for as long as it lives.
            proc = await asyncio.shield(starting)
        except asyncio.CancelledError:
            await _stop_once_started(starting)
            raise
        except OSError as exc:
            return RunResult(
                argv,
                None,
                "",
                "",
                0,
                0,
                time.monotonic() - started,
                error=f"could not start {argv[0]}: {exc.strerror or exc}",
            )
        out, err = _Capture(self.output_cap), _Capture(self.output_cap)
        timed_out = finished = False
        try:
            await asyncio.wait_for(
                asyncio.gather(out.drain(proc.stdout), err.drain(proc.stderr), proc.wait()),
                self.timeout,
            )
            finished = True
        except TimeoutError:
            timed_out = True
        finally:
            # Reached on timeout and on cancellation (the session closed): nothing this command
            # started may outlive it, including a grandchild still holding the output pipes.
            if not finished:
                _kill_group(proc.pid)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), _REAP_GRACE)
        return RunResult(
            argv=argv,
            exit_code=proc.returncode,
            stdout=out.text(),
            stderr=err.text(),
            stdout_bytes=out.total,
            stderr_bytes=err.total,
            duration=time.monotonic() - started,
            truncated=out.truncated or err.truncated,
            timed_out=timed_out,
        )


async def _stop_once_started(starting: asyncio.Future[asyncio.subprocess.Process]) -> None:
    # The run was cancelled while its process started: nothing it started may outlive it.
    try:
        proc = await starting
    except OSError:
        return  # it never started
    _kill_group(proc.pid)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), _REAP_GRACE)


def _kill_group(pgid: int) -> None:
    # The group id is the child's pid (start_new_session); ProcessLookupError means every
    # member is already gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
