"""Start and stop an OpenClaw gateway plus one node host, ready for ``system.run``.

``start`` is idempotent and returns only when the pair is usable: the gateway answers ``health``
over its WebSocket, the node host is connected, its command surface (``system.run`` …) is
approved, and its exec approvals are the document generated from our guard policy (read back
and compared).  Pairing the node's device happens by itself on loopback; its command surface is
approved here with ``node.pair.approve``, as an operator would with ``openclaw nodes approve``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.openclaw.host import (
    NODE_COMMANDS,
    alive,
    find_runtime,
    gateway_token,
    read_state,
    spawn,
    state_root,
    stop_tree,
    write_gateway_config,
    write_node_config,
    write_state,
)
from fleet import load_fleet
from guard import DEFAULT_TRUSTED_PATH, Guard, load_policy
from guard.openclaw import exec_approvals
from proxy.actions.executors.gateway import (
    DeviceKey,
    GatewayClient,
    GatewayError,
    GatewayUnavailableError,
)
from proxy.actions.executors.openclaw import KEY_FILE
from voiceops.errors import VoiceOpsError

DEFAULT_PORT = 18789
DEFAULT_NODE = "local"
#: The gateway takes 5–15 s to start on two busy cores; the node host a few more.
START_TIMEOUT = 120.0
_POLL = 0.25


class OpenClawStartError(VoiceOpsError, RuntimeError):
    """The gateway or node host did not become ready; the message says which and where to look."""


@dataclass(frozen=True, slots=True)
class Hosts:
    """A running gateway (``url``) with the node host ``node`` enrolled."""

    data_dir: Path
    url: str
    port: int
    node: str
    node_id: str


def _client(data_dir: Path, url: str) -> GatewayClient:
    key = DeviceKey.load_or_create(state_root(data_dir) / KEY_FILE)
    return GatewayClient(url, gateway_token(data_dir), key)


def approvals_for(
    policy: Path | None, trusted_path: str, node: str | None = None, fleet: Path | None = None
) -> dict[str, Any]:
    """The exec-approvals document for this guard policy, as ``python -m guard`` makes it: for
    ``node``, narrowed by its own and its groups' (from ``fleet``) ``[targets]`` sections."""
    groups = load_fleet(fleet).groups if fleet is not None else {}
    guard = Guard(load_policy(policy), trusted_path=trusted_path, groups=groups)
    return exec_approvals(guard.binaries_for(node))


def start(
    data_dir: Path,
    *,
    port: int = DEFAULT_PORT,
    node: str = DEFAULT_NODE,
    policy: Path | None = None,
    trusted_path: str = DEFAULT_TRUSTED_PATH,
    timeout: float = START_TIMEOUT,
    fleet: Path | None = None,
) -> Hosts:
    """Start (or reuse) the gateway and node host of ``data_dir`` and wait until both are ready.

    Called again with another ``node`` it adds a node host to the same gateway (loopback, its
    own device key and state); with ``fleet`` its approvals follow its own ``[targets]``."""
    runtime = find_runtime()
    if runtime is None:
        raise OpenClawStartError("OpenClaw is not installed: run ./run.sh install-openclaw")
    root = state_root(data_dir)
    state = read_state(data_dir)
    gateway = state.get("gateway") or {}
    if not (isinstance(gateway.get("pid"), int) and alive(gateway["pid"])):
        write_gateway_config(root / "gateway", port, gateway_token(data_dir))
        pid = spawn(runtime, root / "gateway", ["gateway", "run", "--port", str(port)])
        gateway = {"pid": pid, "port": port}
        # Node hosts still running keep their pids: they reconnect to the new gateway by
        # themselves (a second one would be a duplicate of the same device).
        state["gateway"] = gateway
        write_state(data_dir, state)
    port = int(gateway["port"])
    url = f"ws://127.0.0.1:{port}"
    nodes: dict[str, int] = state.setdefault("nodes", {})
    if not alive(nodes.get(node, -1)):
        home = root / f"node-{node}"
        write_node_config(home)
        nodes[node] = spawn(
            runtime,
            home,
            [
                *("node", "run", "--host", "127.0.0.1", "--port", str(port)),
                *("--display-name", node, "--commands", NODE_COMMANDS),
            ],
            {"OPENCLAW_GATEWAY_TOKEN": gateway_token(data_dir)},
        )
        write_state(data_dir, state)
    document = approvals_for(policy, trusted_path, node, fleet)
    node_id = asyncio.run(_enroll(data_dir, url, node, document, time.monotonic() + timeout))
    return Hosts(data_dir.resolve(), url, port, node, node_id)


async def _enroll(
    data_dir: Path, url: str, node: str, document: dict[str, Any], deadline: float
) -> str:
    client = _client(data_dir, url)
    try:
        await _until(deadline, lambda: _healthy(client), f"the gateway at {url} did not answer")
        node_id = await _until(
            deadline, lambda: _approved(client, node), f"node host {node!r} did not enrol"
        )
        current = await client.call("exec.approvals.node.get", {"nodeId": node_id}, within=10)
        await client.call(
            "exec.approvals.node.set",
            {"nodeId": node_id, "file": document, "baseHash": current.get("hash")},
            within=10,
        )
        got = await client.call("exec.approvals.node.get", {"nodeId": node_id}, within=10)
        if _allowlist(got.get("file")) != _allowlist(document):
            raise OpenClawStartError(f"node {node!r} did not keep the generated exec approvals")
        return str(node_id)
    finally:
        await client.close()


def _allowlist(document: object) -> list[str]:
    agents = document.get("agents") if isinstance(document, dict) else None
    entries: list[str] = []
    for agent in (agents or {}).values() if isinstance(agents, dict) else []:
        entries += [
            str(e.get("pattern")) for e in agent.get("allowlist", []) if isinstance(e, dict)
        ]
    return sorted(entries)


async def _until(deadline: float, probe: Any, failure: str) -> Any:
    last = ""
    while time.monotonic() < deadline:
        try:
            result = await probe()
        except (GatewayUnavailableError, GatewayError, TimeoutError) as exc:
            last = f": {exc}"
            result = None
        if result is not None:
            return result
        await asyncio.sleep(_POLL)
    raise OpenClawStartError(f"{failure} in time{last} (logs: */process.log in the data dir)")


async def _healthy(client: GatewayClient) -> bool | None:
    await client.call("health", {}, within=5)
    return True


async def _approved(client: GatewayClient, node: str) -> str | None:
    listing = await client.call("node.list", {}, within=5)
    for entry in listing.get("nodes") or []:
        if entry.get("displayName") != node or not entry.get("connected"):
            continue
        if entry.get("approvalState") == "approved" and "system.run" in entry.get("commands", []):
            return str(entry["nodeId"])
        request = entry.get("pendingRequestId")
        if request:
            await client.call("node.pair.approve", {"requestId": request}, within=10)
    return None


def stop(data_dir: Path) -> list[str]:
    """Stop the node hosts, then the gateway, of ``data_dir``; returns what was stopped."""
    state = read_state(data_dir)
    stopped = []
    for name, pid in (state.get("nodes") or {}).items():
        if isinstance(pid, int) and alive(pid):
            stop_tree(pid)
            stopped.append(f"node host {name} (pid {pid})")
    gateway = state.get("gateway") or {}
    if isinstance(gateway.get("pid"), int) and alive(gateway["pid"]):
        stop_tree(gateway["pid"])
        stopped.append(f"gateway (pid {gateway['pid']})")
    if state:
        write_state(data_dir, {})
    return stopped


def status(data_dir: Path) -> dict[str, Any]:
    """Which of the recorded processes still run."""
    state = read_state(data_dir)
    gateway = state.get("gateway") or {}
    return {
        "gateway": {**gateway, "running": alive(gateway.get("pid", -1))},
        "nodes": {
            n: {"pid": p, "running": alive(p)} for n, p in (state.get("nodes") or {}).items()
        },
    }
