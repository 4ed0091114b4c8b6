"""Run each approval on the fleet node it was approved for, and know which nodes are there.

:class:`NodeDirectory` asks the OpenClaw gateway which node hosts it knows (``node.list``) and
remembers every node it has seen, together with the nodes the fleet file names: a node that
disconnects is marked disconnected, never forgotten, so ``/api/nodes`` and a command for it
both say so.  :class:`FleetExecutor` runs an approval on ``approval.node`` (sealed by the guard,
so it cannot be pointed elsewhere) with one :class:`OpenClawExecutor` per node over one gateway
connection; an approval without a node runs on the executor configured without a fleet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fleet.model import NAME, Fleet
from guard.decision import Approval
from proxy.actions.executors.base import Executor, RunResult
from proxy.actions.executors.gateway import GatewayClient, GatewayError, GatewayUnavailableError
from proxy.actions.executors.openclaw import MARGIN, OpenClawExecutor
from voiceops.records.api import NodeState

#: Seconds a node listing is reused before the gateway is asked again.
LISTING_AGE = 2.0
#: Seconds between the background listings that keep the extractor's fleet current.
WATCH_INTERVAL = 5.0
#: Most nodes remembered (configured ones always are); a gateway cannot grow this without bound.
MAX_NODES = 256


@dataclass(frozen=True, slots=True)
class NodeListing:
    """The nodes at one moment; ``error`` says why the gateway could not be asked."""

    nodes: tuple[NodeState, ...]
    error: str | None = None

    def get(self, name: str) -> NodeState | None:
        """The node called ``name``, if known."""
        return next((node for node in self.nodes if node.name == name), None)


class NodeDirectory:
    """The fleet file's nodes plus every node the gateway has reported, with their state."""

    def __init__(
        self,
        client: GatewayClient,
        fleet: Fleet,
        *,
        max_age: float = LISTING_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.configured = fleet
        self._max_age = max_age
        self._clock = clock
        self._seen: dict[str, NodeState] = {}
        self._asked_at = float("-inf")
        self._error: str | None = None
        self._lock = asyncio.Lock()
        self._fleet = fleet

    def fleet(self) -> Fleet:
        """The live fleet (an extractor's ``FleetSource``): configured nodes first, then the
        others the gateway has reported.  The same object while the names stay the same."""
        return self._fleet

    async def watch(self, interval: float = WATCH_INTERVAL) -> None:
        """Ask the gateway every ``interval`` seconds until cancelled, so that a node that
        connects can be named before anything else asked about it."""
        while True:
            await self.listing()
            await asyncio.sleep(interval)

    async def listing(self, *, fresh: bool = False) -> NodeListing:
        """Every known node; asks the gateway when the last answer is older than ``max_age``
        (or ``fresh``).  A gateway that cannot be asked marks every node disconnected."""
        async with self._lock:
            if fresh or self._clock() - self._asked_at >= self._max_age:
                await self._ask()
        return self._snapshot()

    async def _ask(self) -> None:
        try:
            reply = await self.client.call("node.list", {}, within=MARGIN)
        except (GatewayUnavailableError, GatewayError, TimeoutError) as exc:
            self._error = f"cannot ask the OpenClaw gateway: {exc or 'no answer'}"
            self._seen = {n: replace(s, connected=False) for n, s in self._seen.items()}
            return
        self._asked_at = self._clock()
        self._error = None
        reported = {}
        entries = reply.get("nodes")
        for entry in entries if isinstance(entries, list) else []:
            state = self._read(entry)
            if state is not None and (state.name not in reported or state.connected):
                reported[state.name] = state  # a re-paired node may be listed twice
        for name, old in self._seen.items():
            reported.setdefault(name, replace(old, connected=False))
        keep = [n for n in reported if n in self.configured.nodes or reported[n].connected]
        keep += [n for n in reported if n not in keep]
        self._seen = {n: reported[n] for n in keep[:MAX_NODES]}
        extra = [n for n in self._seen if n not in self.configured.nodes]
        if extra != list(self._fleet.nodes[len(self.configured.nodes) :]):
            self._fleet = self.configured.with_nodes(extra)

    def _read(self, entry: Any) -> NodeState | None:
        if not isinstance(entry, dict):
            return None
        name = entry.get("displayName")
        if not isinstance(name, str) or not NAME.fullmatch(name) or name in self.configured.groups:
            return None  # not a name an operator could say or a policy could name
        seen = entry.get("lastSeenAtMs")
        commands = entry.get("commands")
        return NodeState(
            name=name,
            connected=entry.get("connected") is True,
            configured=name in self.configured.nodes,
            groups=self._groups_of(name),
            can_run=isinstance(commands, list) and "system.run" in commands,
            last_seen=seen / 1000 if isinstance(seen, int | float) else None,
        )

    def _groups_of(self, name: str) -> tuple[str, ...]:
        return tuple(g for g, members in self.configured.groups.items() if name in members)

    def _snapshot(self) -> NodeListing:
        nodes = [
            self._seen.get(name) or NodeState(name, False, True, self._groups_of(name))
            for name in self.configured.nodes
        ]
        nodes += [state for name, state in self._seen.items() if name not in self.configured.nodes]
        return NodeListing(tuple(nodes), self._error)


class FleetExecutor:
    """Runs an approval on its node through the gateway; without a node, on ``default``."""

    def __init__(
        self, directory: NodeDirectory, default: Executor, *, timeout: float, output_cap: int
    ) -> None:
        self.directory = directory
        self.default = default
        self.timeout = timeout
        self.output_cap = output_cap
        self._nodes: dict[str, OpenClawExecutor] = {}

    async def run(self, approval: Approval) -> RunResult:
        """Run ``approval.argv`` where the guard approved it; a node that is not connected
        fails at once, naming the node."""
        if not isinstance(approval, Approval):
            raise TypeError(f"FleetExecutor runs only guard approvals, not {type(approval)}")
        node = approval.node
        if node is None:
            return await self.default.run(approval)
        known = (await self.directory.listing()).get(node)
        if known is not None and not known.connected:
            return _failed(approval, f"{node} is not connected")
        executor = self._nodes.get(node)
        if executor is None:
            executor = OpenClawExecutor(
                self.directory.client, node, timeout=self.timeout, output_cap=self.output_cap
            )
            self._nodes[node] = executor
        result = await executor.run(approval)
        if result.error is not None and not result.ok:
            # The node may have gone in the middle of the run: say so by its name.
            now = (await self.directory.listing(fresh=True)).get(node)
            if now is None or not now.connected:
                return replace(result, error=f"{node} is not connected ({result.error})")
        return result


def _failed(approval: Approval, error: str) -> RunResult:
    return RunResult(approval.argv, None, "", "", 0, 0, 0.0, error=error)
