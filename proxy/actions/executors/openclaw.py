"""Run an approved argv on an OpenClaw node: gateway ``node.invoke`` → node host ``system.run``.

Why this path and not the OpenClaw *agent*: an agent re-reads an instruction with a language
model, so what runs could differ from what the guard checked.  ``system.run`` runs one exact argv
on the named node host, and the node host checks it again against its own exec approvals
(``security=allowlist``, ``ask=off``, generated from our guard policy by
``python -m guard openclaw-approvals``): a second, independent allowlist.

The node host lives on the managed server and connects out to the gateway; "this machine" is
just a node host on the same machine.  Nothing here can hang: the gateway connect, the call and
the run itself each have a deadline, and a gateway that is down or drops the connection turns
into a result whose error starts with ``executor unavailable``.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from guard.decision import Approval
from guard.openclaw import AGENT_ID
from proxy.actions.executors.base import RunResult, capped_text
from proxy.actions.executors.gateway import (
    DeviceKey,
    GatewayClient,
    GatewayError,
    GatewayUnavailableError,
)
from proxy.actions.executors.local import DEFAULT_OUTPUT_CAP, DEFAULT_TIMEOUT

#: Where OpenClaw state lives inside the proxy's data directory (see ``devtools/openclaw``).
STATE_DIR = "openclaw"
TOKEN_FILE = "gateway.token"  # noqa: S105 - a file name, not a secret
KEY_FILE = "operator.key"
DEFAULT_GATEWAY_URL = "ws://127.0.0.1:18789"
#: Extra seconds the gateway, then we, wait beyond the run's own timeout: the node reports a
#: timed-out run itself, so our deadlines only fire when the gateway or node is gone.
MARGIN = 5.0
#: Environment for the command (the node host refuses PATH and LD_* overrides; it uses its own).
RUN_ENV = {"LANG": "C", "PAGER": "cat", "SYSTEMD_PAGER": ""}
UNAVAILABLE = "executor unavailable"


class OpenClawExecutor:
    """Runs guard approvals on the OpenClaw node ``node`` (its name or id) through a gateway.

    Same contract as :class:`~proxy.actions.executors.local.LocalExecutor`: ``timeout`` bounds
    the run (the node kills it and reports ``timedOut``), output is capped at ``output_cap`` bytes
    per stream with the same marker, and every failure is a :class:`RunResult`, never an
    exception.
    """

    def __init__(
        self,
        client: GatewayClient,
        node: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        agent_id: str = AGENT_ID,
    ) -> None:
        if timeout <= 0 or output_cap <= 0:
            raise ValueError("timeout and output_cap must be positive")
        self.client = client
        self.node = node
        self.timeout = timeout
        self.output_cap = output_cap
        self.agent_id = agent_id
        self._node_id: str | None = None

    async def run(self, approval: Approval) -> RunResult:
        """Run ``approval.argv`` on the node and return its exit code and (capped) output."""
        if not isinstance(approval, Approval):
            raise TypeError(f"OpenClawExecutor runs only guard approvals, not {type(approval)}")
        argv = approval.argv
        started = time.monotonic()

        def failed(error: str) -> RunResult:
            return RunResult(argv, None, "", "", 0, 0, time.monotonic() - started, error=error)

        try:
            node_id = await self._resolve_node()
            reply = await self.client.call(
                "node.invoke",
                {
                    "nodeId": node_id,
                    "command": "system.run",
                    "params": {
                        "command": list(argv),
                        "cwd": "/",
                        "env": RUN_ENV,
                        "timeoutMs": round(self.timeout * 1000),
                        "agentId": self.agent_id,
                    },
                    "timeoutMs": round((self.timeout + MARGIN) * 1000),
                    "idempotencyKey": str(uuid.uuid4()),
                },
                within=self.timeout + 2 * MARGIN,
            )
        except GatewayUnavailableError as exc:
            self._node_id = None
            return failed(f"{UNAVAILABLE}: {exc}")
        except TimeoutError:
            self._node_id = None
            return failed(
                f"{UNAVAILABLE}: no answer from the OpenClaw gateway within "
                f"{self.timeout + 2 * MARGIN:g} s (the command may have run)"
            )
        except GatewayError as exc:
            if exc.code != "INVALID_REQUEST":
                self._node_id = None  # the node may have reconnected or been re-paired
            return failed(self._explain(exc))
        return self._result(argv, reply.get("payload"), time.monotonic() - started)

    async def _resolve_node(self) -> str:
        if self._node_id is not None:
            return self._node_id
        listing = await self.client.call("node.list", {}, within=MARGIN)
        nodes = listing.get("nodes")
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict) or self.node not in (
                node.get("nodeId"),
                node.get("displayName"),
            ):
                continue
            if not node.get("connected"):
                raise GatewayUnavailableError(f"OpenClaw node {self.node!r} is not connected")
            if "system.run" not in (node.get("commands") or []):
                raise GatewayUnavailableError(
                    f"OpenClaw node {self.node!r} has no approved system.run "
                    f"(approval state {node.get('approvalState')!r})"
                )
            self._node_id = str(node["nodeId"])
            return self._node_id
        raise GatewayUnavailableError(f"the gateway knows no OpenClaw node {self.node!r}")

    def _explain(self, exc: GatewayError) -> str:
        node_error = exc.details.get("nodeError")
        code = node_error.get("code") if isinstance(node_error, dict) else None
        if code == "SYSTEM_RUN_DENIED":
            return f"refused by OpenClaw exec approvals on node {self.node!r}: {exc.message}"
        if code == "NOT_CONNECTED" or exc.details.get("code") == "NOT_CONNECTED":
            return f"{UNAVAILABLE}: OpenClaw node {self.node!r} is not connected"
        if exc.code == "UNAVAILABLE":  # gateway restarting, node gone mid-run, …
            return f"{UNAVAILABLE}: {exc.message}"
        return f"OpenClaw refused the run: {exc}"

    def _result(self, argv: tuple[str, ...], payload: Any, duration: float) -> RunResult:
        if not isinstance(payload, dict):
            return RunResult(
                argv, None, "", "", 0, 0, duration, error="OpenClaw sent no run result"
            )
        out = str(payload.get("stdout") or "").encode()
        err = str(payload.get("stderr") or "").encode()
        timed_out = payload.get("timedOut") is True
        code = payload.get("exitCode")
        # On a timeout the node reports a synthetic 124; like the local executor, what counts
        # is timed_out.
        exit_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        error = payload.get("error")
        return RunResult(
            argv=argv,
            exit_code=None if timed_out else exit_code,
            stdout=capped_text(out[: self.output_cap], len(out)),
            stderr=capped_text(err[: self.output_cap], len(err)),
            stdout_bytes=len(out),
            stderr_bytes=len(err),
            duration=duration,
            truncated=len(out) > self.output_cap or len(err) > self.output_cap,
            timed_out=timed_out,
            error=str(error) if error and not timed_out and exit_code is None else None,
        )


def open_executor(
    data_dir: Path, url: str, node: str, *, timeout: float = DEFAULT_TIMEOUT
) -> OpenClawExecutor:
    """The executor for a gateway at ``url`` with credentials from the data directory.

    The gateway token comes from ``OPENCLAW_GATEWAY_TOKEN`` or ``DATA/openclaw/gateway.token``
    (written by ``python -m devtools.openclaw start``); the device key is
    ``DATA/openclaw/operator.key`` (created on first use).  Raises ``ValueError`` when there is
    no token, so a misconfigured start stops with a reason.
    """
    state = data_dir / STATE_DIR
    token = os.environ.get("OPENCLAW_GATEWAY_TOKEN", "").strip()
    if not token and (state / TOKEN_FILE).is_file():
        token = (state / TOKEN_FILE).read_text().strip()
    if not token:
        raise ValueError(
            f"no OpenClaw gateway token: set OPENCLAW_GATEWAY_TOKEN or start the gateway with "
            f"python -m devtools.openclaw start --data-dir {data_dir}"
        )
    key = DeviceKey.load_or_create(state / KEY_FILE)
    return OpenClawExecutor(GatewayClient(url, token, key), node, timeout=timeout)
