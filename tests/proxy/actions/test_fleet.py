"""A fleet of real OpenClaw node hosts: commands run on the nodes they name, each checked
against that node's policy, each result labelled with its node.

Two node hosts, ``web-1`` and ``web-2``, join the session's gateway (loopback, distinct names,
each with its own state directory and device key, as two machines would).  The flow runs with a
scripted extractor (the words → targets part is the extractor's own tests): what is under test
is everything after it — per-node guard, one confirmation for both, the fleet executor, the
results, the audit and ``/api/nodes``.  The last test kills ``web-2`` in the middle of a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from devtools.openclaw import Hosts, start
from devtools.openclaw.host import read_state, stop_tree
from extraction.model import Extraction, ProposedCommand, Recollection, Turn
from fleet import Fleet
from guard import Guard, parse_policy
from proxy.actions.audit import AuditLog
from proxy.actions.executors.fleet import FleetExecutor, NodeDirectory
from proxy.actions.executors.openclaw import OpenClawExecutor, open_executor
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings
from proxy.security import SecuritySettings
from proxy.server.pipeline import Services
from tests.proxy.actions.test_executor_local import TEST_POLICY, approve, ran_log
from tests.proxy.actions.test_flow import RecordingNotifier
from tests.proxy.conftest import fast_config, running_proxy
from voiceops.records.api import NodeGroup, NodeList
from voiceops.records.audit import RunRecord

FLEET_FILE = """
nodes = ["web-1", "web-2", "db-1"]
[groups]
web = ["web-1", "web-2"]
"""
TOKEN = "fleet-test-token-0123456789"
FLEET = Fleet(("web-1", "web-2", "db-1"), {"web": ("web-1", "web-2")})
#: blurt is allowed on web-1 and never on web-2; whereami never on the web group's db-1 twin.
FLEET_POLICY = (
    TEST_POLICY
    + """
[targets."web-2"]
forbid = { blurt = "web-2 is the canary: no bulk output there" }
[targets."db-1"]
forbid = { "systemctl restart" = "db-1 is the primary database; restart it by hand" }
"""
)


@dataclass
class Fleet2:
    hosts: Hosts
    guard: Guard
    bin_dir: Path


@pytest.fixture(scope="module")
def fleet_hosts(openclaw_hosts: Hosts, openclaw_bin: Path) -> Iterator[Fleet2]:
    """web-1 and web-2 on the session's gateway, approvals from their own policy."""
    data_dir = openclaw_hosts.data_dir
    (data_dir / "fleet-policy.toml").write_text(FLEET_POLICY)
    (data_dir / "fleet.toml").write_text(FLEET_FILE)
    trusted = f"{openclaw_bin}:/usr/bin:/bin"
    for node in ("web-1", "web-2"):
        start(
            data_dir,
            port=openclaw_hosts.port,
            node=node,
            policy=data_dir / "fleet-policy.toml",
            trusted_path=trusted,
            fleet=data_dir / "fleet.toml",
        )
    guard = Guard(parse_policy(FLEET_POLICY, "fleet policy"), trusted, FLEET.groups)
    yield Fleet2(openclaw_hosts, guard, openclaw_bin)


class Scripted:
    """An extractor that proposes exactly these commands (targets already resolved)."""

    def __init__(self) -> None:
        self.commands: tuple[ProposedCommand, ...] = ()

    async def extract(
        self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
    ) -> Extraction:
        return Extraction(self.commands)


@dataclass
class Rig:
    extractor: Scripted
    registry: FlowRegistry
    notifier: RecordingNotifier
    audit: AuditLog
    directory: NodeDirectory

    def propose(self, *commands: tuple[str, tuple[str, ...]]) -> None:
        self.extractor.commands = tuple(
            ProposedCommand(text, text, targets=targets) for text, targets in commands
        )


@pytest.fixture
async def rig(fleet_hosts: Fleet2, tmp_path: Path) -> AsyncIterator[Rig]:
    hosts = fleet_hosts.hosts
    default = open_executor(hosts.data_dir, hosts.url, hosts.node, timeout=20.0)
    directory = NodeDirectory(default.client, FLEET)
    extractor = Scripted()
    audit = AuditLog(tmp_path / "audit.jsonl")
    registry = FlowRegistry(
        extractor=extractor,
        guard=fleet_hosts.guard,
        executor=FleetExecutor(directory, default, timeout=20.0, output_cap=default.output_cap),
        settings=FlowSettings(exec_allowed=True),
        audit=audit,
    )
    notifier = RecordingNotifier()
    registry.open("s1", notifier=notifier)
    try:
        yield Rig(extractor, registry, notifier, audit, directory)
    finally:
        await default.client.close()


def home_of(output: str | None) -> str:
    """The node host a run happened in: its HOME (from the ``whereami`` stand-in's env)."""
    for line in (output or "").splitlines():
        if line.startswith("HOME="):
            return line.rsplit("/", 1)[-1]
    return ""


async def test_the_directory_lists_configured_and_connected_nodes(rig: Rig) -> None:
    listing = await rig.directory.listing(fresh=True)
    nodes = {node.name: node for node in listing.nodes}
    assert listing.error is None
    assert nodes["web-1"].connected and nodes["web-2"].connected
    assert nodes["web-1"].groups == ("web",) and nodes["web-1"].can_run
    # In the fleet file, never connected: listed, marked.
    assert not nodes["db-1"].connected and nodes["db-1"].configured
    # The session's own node host is connected too, though the fleet file does not name it.
    assert nodes["local"].connected and not nodes["local"].configured
    assert "local" in rig.directory.fleet().nodes


async def test_a_request_naming_one_node_runs_only_there(rig: Rig) -> None:
    rig.propose(("whereami", ("web-2",)))
    report = await rig.registry.open("s1").execute("where am I on web-2")
    (result,) = report.results
    assert result.status == "executed" and result.node == "web-2"
    assert home_of(result.output) == "node-web-2"
    assert rig.notifier.texts[-2].startswith("web-2: whereami")


async def test_both_runs_on_each_node_and_labels_each_result(rig: Rig) -> None:
    rig.propose(("whereami", ("web-1", "web-2")))
    report = await rig.registry.open("s1").execute("where am I on both")
    assert [(r.node, r.status) for r in report.results] == [
        ("web-1", "executed"),
        ("web-2", "executed"),
    ]
    assert [home_of(r.output) for r in report.results] == ["node-web-1", "node-web-2"]
    lines = [t for t in rig.notifier.texts if t.startswith(("web-1:", "web-2:"))]
    assert [line.split(":")[0] for line in lines] == ["web-1", "web-2"]
    runs = [r.record for r in rig.audit.read() if isinstance(r.record, RunRecord)]
    assert [r.node for r in runs] == ["web-1", "web-2"]


async def test_per_node_policy_refuses_on_one_and_runs_on_the_other(rig: Rig) -> None:
    rig.propose(("blurt 10", ("web-1", "web-2")))
    report = await rig.registry.open("s1").execute("blurt ten bytes on both")
    web1, web2 = report.results
    assert (web1.node, web1.status, web1.output) == ("web-1", "executed", "x" * 10)
    assert (web2.node, web2.status) == ("web-2", "blocked")
    assert web2.rule == "targets.web-2.forbid.blurt"
    assert web2.reason == "not on web-2: web-2 is the canary: no bulk output there"
    assert any(t.startswith("web-2: Refused blurt 10: not on web-2") for t in rig.notifier.texts)
    lines = [line.to_json() for line in rig.audit.read()]
    decisions = {r["node"]: r for r in lines if r["type"] == "decision"}
    assert decisions["web-2"]["decision"] == "refused"
    assert decisions["web-2"]["rule"] == "targets.web-2.forbid.blurt"
    assert decisions["web-1"]["decision"] == "allowed"


async def test_web_2s_own_approvals_refuse_blurt_even_without_the_guard(
    fleet_hosts: Fleet2,
) -> None:
    # The guard without the node (no [targets]) approves blurt; web-2's node host, whose exec
    # approvals came from its own policy, refuses it anyway.
    hosts = fleet_hosts.hosts
    unplaced = approve(fleet_hosts.guard, "blurt 10")
    web2 = OpenClawExecutor(open_executor(hosts.data_dir, hosts.url, "web-2").client, "web-2")
    try:
        result = await web2.run(unplaced)
    finally:
        await web2.client.close()
    assert result.error is not None
    assert result.error.startswith("refused by OpenClaw exec approvals on node 'web-2'")


async def test_one_confirmation_names_and_covers_every_node(rig: Rig, fleet_hosts: Fleet2) -> None:
    before = len(ran_log(fleet_hosts.bin_dir))
    rig.propose(("systemctl restart nginx", ("web-1", "web-2", "db-1")))
    flow = rig.registry.open("s1")
    asked = await flow.execute("restart nginx everywhere")
    statuses = [(r.node, r.status) for r in asked.results]
    assert statuses == [("web-1", "needs_confirmation"), ("web-2", "held"), ("db-1", "blocked")]
    question = next(t for t in rig.notifier.texts if "needs confirmation" in t)
    assert "systemctl restart nginx on web-1 and web-2 needs confirmation" in question
    assert any("on web-1 and web-2? Say confirm" in said for said in rig.notifier.spoken)
    assert len(ran_log(fleet_hosts.bin_dir)) == before  # nothing ran yet
    done = await flow.confirm()
    assert [(r.node, r.status) for r in done.results] == [
        ("web-1", "executed"),
        ("web-2", "executed"),
    ]
    assert ran_log(fleet_hosts.bin_dir)[before:] == ["restart nginx"] * 2
    runs = [r.record for r in rig.audit.read() if isinstance(r.record, RunRecord)]
    assert [(r.node, r.confirmed) for r in runs] == [("web-1", True), ("web-2", True)]


async def test_a_configured_node_that_is_not_connected_fails_alone(rig: Rig) -> None:
    rig.propose(("whereami", ("db-1", "web-1")))
    report = await rig.registry.open("s1").execute("where am I on db-1 and web-1")
    db1, web1 = report.results
    assert (db1.node, db1.status, db1.reason) == ("db-1", "failed", "db-1 is not connected")
    assert (web1.node, web1.status) == ("web-1", "executed")
    assert any(
        t.startswith("db-1: whereami: could not run: db-1 is not connected")
        for t in rig.notifier.texts
    )


async def test_api_nodes_needs_credentials_and_lists_every_node(rig: Rig) -> None:
    services = Services(flows=rig.registry, nodes=rig.directory)
    config = fast_config("ws://127.0.0.1:9/api/chat", security=SecuritySettings(auth_token=TOKEN))
    async with running_proxy(config, services) as running, aiohttp.ClientSession() as http:
        async with http.get(running.http + "/api/nodes") as anonymous:
            assert anonymous.status == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(running.http + "/api/nodes", headers=bearer) as reply:
            assert reply.status == 200
            body = await reply.json()
        async with http.get(running.http + "/status", headers=bearer) as page:
            html = await page.text()
    nodes = NodeList.from_json(body)
    states = {node.name: node.connected for node in nodes.nodes}
    assert states["web-1"] is states["web-2"] is True and states["db-1"] is False
    assert nodes.groups == (NodeGroup("web", ("web-1", "web-2")),)
    assert "<h2>Servers</h2>" in html and "<td>db-1</td><td class=down>disconnected</td>" in html


async def test_a_node_killed_mid_request_fails_alone_and_is_remembered(
    rig: Rig, fleet_hosts: Fleet2
) -> None:
    bin_dir = fleet_hosts.bin_dir
    (bin_dir / "child.pid").unlink(missing_ok=True)
    rig.propose(("stall", ("web-2",)), ("whereami", ("web-1",)))
    request = asyncio.create_task(rig.registry.open("s1").execute("stall on web-2, then web-1"))
    try:
        while not (bin_dir / "child.pid").exists():
            await asyncio.sleep(0.05)
        node_pid = read_state(fleet_hosts.hosts.data_dir)["nodes"]["web-2"]
        await asyncio.to_thread(stop_tree, node_pid, 2.0)
        report = await asyncio.wait_for(request, 15)
    finally:
        for leftover in ("child.pid", "grandchild.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((bin_dir / leftover).read_text()), signal.SIGKILL)
    stalled, after = report.results
    assert (stalled.node, stalled.status) == ("web-2", "failed")
    assert stalled.reason is not None and stalled.reason.startswith("web-2 is not connected")
    assert (after.node, after.status) == ("web-1", "executed")
    listing = await rig.directory.listing(fresh=True)
    gone = listing.get("web-2")
    assert gone is not None and not gone.connected  # marked, not forgotten
