"""The action flow end to end without sockets: real rules extractor, real guard (shipped policy,
a stand-in ``systemctl`` that records its argv), real subprocesses, real audit file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from extraction.memory import InteractionRecord
from extraction.model import Extraction, Recollection, Turn
from extraction.rules import RulesExtractor
from proxy.actions.audit import AuditLog
from proxy.actions.controls import Cancel, Confirm, Execute, InvalidControl
from proxy.actions.events import State
from proxy.actions.executors import LocalExecutor
from proxy.actions.registry import FlowRegistry
from proxy.actions.runner import SessionFlow
from proxy.actions.settings import FlowSettings, exec_permission
from tests.proxy.actions.test_executor_local import make_bin_dir, make_guard, ran_log
from voiceops.records.commands import ActionReport, HeldCommand
from voiceops.records.events import SessionEvent


class RecordingNotifier:
    """What the relay would send: 0x02 texts and 0x04 events, in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        #: The events as their JSON goes on the wire.
        self.events: list[dict[str, object]] = []
        self.spoken: list[str] = []

    async def notify_text(self, text: str) -> None:
        self.texts.append(text)

    async def notify_event(self, event: SessionEvent) -> None:
        self.events.append(event.to_json())

    async def notify_speech(self, text: str) -> None:
        self.spoken.append(text)


def audit_lines(env: Env) -> list[dict[str, object]]:
    """The audit log's lines as they are on disk (read back through the typed records)."""
    return [line.to_json() for line in env.audit.read()]


def state_of(flow: SessionFlow) -> State:
    # A call, so that mypy does not narrow the state across awaits.
    return flow.state


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.bin_dir = make_bin_dir(tmp_path)
        self.guard = make_guard(self.bin_dir, policy=None)  # the shipped policy
        self.audit = AuditLog(tmp_path / "audit.jsonl")
        self.clock = Clock()
        self.notifier = RecordingNotifier()
        self.turns: list[Turn] = []
        self.registry = FlowRegistry(
            extractor=RulesExtractor(),
            guard=self.guard,
            executor=LocalExecutor(),
            settings=FlowSettings(exec_allowed=True, confirm_ttl=120.0),
            audit=self.audit,
            clock=self.clock,
        )

    def flow(self, session_id: str = "ws-1") -> SessionFlow:
        return self.registry.open(session_id, notifier=self.notifier, transcript=self.say_log)

    def say_log(self) -> Sequence[Turn]:
        return self.turns

    def say(self, speaker: str, text: str) -> None:
        start = len(self.turns) * 2.0
        self.turns.append(Turn(speaker, text, start, start + 1.5))  # type: ignore[arg-type]

    def ran(self) -> list[str]:
        return ran_log(self.bin_dir)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


async def test_execute_plan_runs_what_the_conversation_agreed(env: Env) -> None:
    env.say("user", "can you check the disk space")
    env.say("assistant", "sure, I can check the disk space for you")
    env.say("user", "execute plan")
    report = await env.flow().handle(Execute(), via="voice")
    assert report.outcome == "done"
    [result] = report.results
    assert result.status == "executed" and result.exit_code == 0
    assert result.argv is not None and result.argv[0].endswith("/df")
    # The user reads a one-line digest and hears it; opted-in clients get the full output.
    shown = [t for t in env.notifier.texts if t.startswith("df -h: ")]
    assert len(shown) == 1 and "\n" not in shown[0] and "Filesystem" not in shown[0]
    assert any(s.startswith("Root filesystem ") for s in env.notifier.spoken)
    assert any(
        e.get("event") == "command"
        and e.get("status") == "executed"
        and "Filesystem" in str(e.get("output"))
        for e in env.notifier.events
    )
    json.dumps(env.notifier.events)  # every event is JSON-able


async def test_saying_execute_again_does_not_rerun_old_requests(env: Env) -> None:
    env.say("user", "check disk space")
    flow = env.flow()
    await flow.execute(via="voice")
    again = await flow.execute(via="voice")
    assert again.outcome == "nothing_to_run" and not again.results
    env.say("user", "show me the memory usage")
    third = await flow.execute(via="voice")
    assert [r.command for r in third.results] == ["free -h"]


async def test_no_command_detected_says_why(env: Env) -> None:
    report = await env.flow().execute("tell me a joke")
    assert report.outcome == "nothing_to_run"
    assert "No command to run" in env.notifier.texts[-1]
    assert state_of(env.flow()) is State.IDLE


async def test_batch_runs_allowed_parks_destructive_and_reports_refused(env: Env) -> None:
    report = await env.flow().execute("check disk space and restart nginx and run env")
    statuses = [(r.command, r.status) for r in report.results]
    assert statuses == [
        ("df -h", "executed"),
        ("systemctl restart nginx", "needs_confirmation"),
        ("env", "blocked"),
    ]
    assert report.results[2].reason is not None and "not in the policy" in report.results[2].reason
    assert env.ran() == []  # the destructive one did not run
    assert "Refused env: 'env' is not in the policy." in env.notifier.texts
    assert any("needs confirmation" in t and "r1.2" in t for t in env.notifier.texts)


async def test_confirmation_runs_exactly_the_pending_argv_once(env: Env) -> None:
    flow = env.flow()
    first = await flow.execute("restart nginx")
    pending_argv = first.results[0].argv
    assert state_of(flow) is State.AWAITING_CONFIRMATION
    # The conversation moves on; the confirmation must not re-extract anything.
    env.say("user", "actually restart apache as well")
    assert await flow.answer("I cannot confirm that") is None
    assert env.ran() == []
    confirmed = await flow.answer("Yes, confirm.", via="voice")
    assert confirmed is not None and confirmed.outcome == "done"
    [result] = confirmed.results
    assert result.argv == pending_argv
    assert env.ran() == ["restart nginx --no-pager"]
    assert env.notifier.texts[-1].startswith("systemctl restart nginx --no-pager: ")
    assert await flow.answer("confirm") is None  # nothing pending any more
    assert env.ran() == ["restart nginx --no-pager"]
    assert state_of(flow) is State.IDLE


async def test_expired_confirmation_is_not_run(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx")
    env.clock.now += 121
    report = await flow.handle(Confirm(), via="control")
    assert report.outcome == "expired"
    assert "expired" in env.notifier.texts[-1]
    assert env.ran() == []
    assert state_of(flow) is State.IDLE


async def test_background_sweep_tells_the_user_and_forgets(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx")
    env.clock.now += 60
    await env.registry.sweep()
    assert flow.pending()
    env.clock.now += 61
    await env.registry.sweep()
    assert not flow.pending()
    assert "timed out; nothing was run" in env.notifier.texts[-1]
    assert (await flow.confirm("r1.1")).outcome == "expired"
    assert env.ran() == []


async def test_two_concurrent_confirmations_run_the_command_once(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx")
    reports = await asyncio.gather(flow.confirm(), flow.confirm(), flow.confirm("r1.1"))
    assert sorted(r.outcome for r in reports).count("done") == 1
    assert env.ran() == ["restart nginx --no-pager"]


async def test_cancel_drops_the_pending_command(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx")
    cancelled = await flow.handle(Cancel("r1.1"))
    assert cancelled.outcome == "cancelled"
    assert (await flow.confirm()).outcome == "not_pending"
    assert env.ran() == []
    statuses = [item.result.status for item in flow.history()]
    assert statuses == ["needs_confirmation", "cancelled"]


async def test_a_cancel_answer_only_while_something_is_pending(env: Env) -> None:
    flow = env.flow()
    assert await flow.answer("cancel") is None
    await flow.execute("stop nginx")
    report = await flow.answer("No, cancel that.")
    assert report is not None and report.outcome == "cancelled"
    assert env.ran() == []


async def test_execute_while_busy_gets_a_busy_notice(env: Env) -> None:
    gate = asyncio.Event()

    class SlowExtractor:
        async def extract(
            self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
        ) -> Extraction:
            await gate.wait()
            return await RulesExtractor().extract(turns, context)

    env.registry.extractor = SlowExtractor()
    flow = env.flow()
    first = asyncio.create_task(flow.execute("check disk space"))
    while state_of(flow) is not State.EXTRACTING:
        await asyncio.sleep(0)
    second = await flow.execute("check disk space")
    assert second.outcome == "busy"
    assert "busy" in env.notifier.texts[-1].lower()
    gate.set()
    assert (await first).outcome == "done"
    assert state_of(flow) is State.IDLE


async def test_refused_when_exec_is_not_allowed(env: Env) -> None:
    allowed, reason = exec_permission(["0.0.0.0"], insecure_exec=False)
    assert not allowed
    env.registry.settings = replace(env.registry.settings, exec_allowed=False, exec_refusal=reason)
    flow = env.flow()
    report = await flow.execute("check disk space")
    assert report.outcome == "refused" and not report.results
    assert "0.0.0.0" in env.notifier.texts[-1] and "--insecure-exec" in env.notifier.texts[-1]
    assert (await flow.confirm()).outcome == "refused"
    assert [r["type"] for r in audit_lines(env)] == ["request", "request"]


def test_exec_permission_from_listen_addresses() -> None:
    assert exec_permission(["127.0.0.1"], insecure_exec=False) == (True, "")
    assert exec_permission(["::1", "localhost"], insecure_exec=False) == (True, "")
    assert exec_permission(["0.0.0.0"], insecure_exec=True) == (True, "")
    assert not exec_permission(["127.0.0.1", "192.168.1.5"], insecure_exec=False)[0]
    assert not exec_permission([], insecure_exec=False)[0]  # "" binds every interface


async def test_a_crashing_extractor_does_not_break_the_session(env: Env) -> None:
    class FlakyExtractor:
        calls = 0

        async def extract(
            self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
        ) -> Extraction:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("model unavailable")
            return await RulesExtractor().extract(turns, context)

    env.registry.extractor = FlakyExtractor()
    flow = env.flow()
    report = await flow.execute("check disk space")
    assert report.outcome == "failed"
    assert state_of(flow) is State.IDLE
    assert (await flow.execute("check disk space")).outcome == "done"


async def test_malformed_control_gets_a_readable_answer(env: Env) -> None:
    report = await env.flow().handle(InvalidControl("EXECUTE payload must be a JSON object"))
    assert report.outcome == "invalid"
    assert env.notifier.texts == [
        "Control message not understood: EXECUTE payload must be a JSON object"
    ]


async def test_result_is_audited_before_the_user_hears_it(env: Env) -> None:
    seen_in_audit: list[list[str]] = []

    class CheckingNotifier(RecordingNotifier):
        async def notify_text(self, text: str) -> None:
            if text.startswith("df -h: "):
                seen_in_audit.append([str(r["type"]) for r in audit_lines(env)])
            await super().notify_text(text)

    flow = env.registry.open("audited", notifier=CheckingNotifier())
    await flow.execute("check disk space")
    assert seen_in_audit == [["decision", "run"]]
    decision, run = audit_lines(env)
    assert decision["words"] == "user: check disk space" and decision["rule"] == "commands.df"
    assert run["exit_code"] == 0 and isinstance(run["output_sha256"], str)


async def test_memory_recall_feeds_extraction_and_store_failures_are_harmless(env: Env) -> None:
    seen_context: list[Sequence[Recollection]] = []
    past = Recollection("m1", "check disk space", ("df -h",), "ran", "old", 1.0, 0.1)

    class Remembering:
        async def extract(
            self, turns: Sequence[Turn], context: Sequence[Recollection] = ()
        ) -> Extraction:
            seen_context.append(context)
            return await RulesExtractor().extract(turns, context)

    class BrokenStoreMemory:
        def __init__(self) -> None:
            self.stored: list[InteractionRecord] = []

        def recall(self, text: str, k: int) -> list[Recollection]:
            return [past]

        def store(self, record: InteractionRecord) -> str | None:
            self.stored.append(record)
            raise OSError("disk full")

    memory = BrokenStoreMemory()
    env.registry.extractor = Remembering()
    env.registry.memory = memory
    report = await env.flow().execute("check disk space")
    assert report.outcome == "done"
    assert seen_context == [(past,)]
    [record] = memory.stored
    assert record.commands == ("df -h",) and record.exit_codes == (0,)
    assert record.session_id == "ws-1"


async def test_a_notifier_that_fails_does_not_lose_the_result(env: Env) -> None:
    class HungUp:
        async def notify_text(self, text: str) -> None:
            raise ConnectionResetError

        async def notify_event(self, event: SessionEvent) -> None:
            raise ConnectionResetError

        async def notify_speech(self, text: str) -> None:
            raise ConnectionResetError

    report = await env.registry.open("gone", notifier=HungUp()).execute("check disk space")
    assert report.results[0].status == "executed"
    assert [r["type"] for r in audit_lines(env)] == ["decision", "run"]


async def test_closing_a_session_cancels_its_work(env: Env) -> None:
    flow = env.flow()
    env.say("user", "check disk space")
    flow.submit(Execute(), via="control")
    await env.registry.close("ws-1")
    assert env.registry.get("ws-1") is None


# -- order: a command that needs confirmation holds up the ones agreed after it

ORDERED = "show the status of apache, then restart nginx, then show the status of nginx"


def statuses(report: ActionReport) -> list[tuple[str, str]]:
    return [(r.id, r.status) for r in report.results]


async def test_order_is_kept_across_a_confirmation(env: Env) -> None:
    flow = env.flow()
    first = await flow.execute(ORDERED)
    assert statuses(first) == [
        ("r1.1", "executed"),
        ("r1.2", "needs_confirmation"),
        ("r1.3", "held"),
    ]
    # The status check agreed for after the restart has not run ahead of it.
    assert env.ran() == ["status apache2 --no-pager"]
    assert "systemctl status nginx --no-pager (r1.3) will run after you confirm r1.2." in (
        env.notifier.texts
    )
    [pending] = flow.pending()
    assert pending.id == "r1.2"
    assert pending.held == (HeldCommand("r1.3", "systemctl status nginx"),)
    # A held step is not pending: confirming it directly runs nothing and says what to confirm.
    early = await flow.confirm("r1.3")
    assert early.outcome == "not_pending" and "held until r1.2" in early.message
    assert env.ran() == ["status apache2 --no-pager"]

    confirmed = await flow.answer("confirm")
    assert confirmed is not None and confirmed.outcome == "done"
    assert statuses(confirmed) == [("r1.2", "executed"), ("r1.3", "executed")]
    assert env.ran() == [
        "status apache2 --no-pager",
        "restart nginx --no-pager",
        "status nginx --no-pager",
    ]
    assert state_of(flow) is State.IDLE and not flow.pending()
    # Every decision and every run is in the audit log, the confirmed one marked as such.
    records = audit_lines(env)
    assert [(r["type"], r["id"]) for r in records] == [
        ("decision", "r1.1"),
        ("decision", "r1.2"),
        ("decision", "r1.3"),
        ("run", "r1.1"),
        ("confirmation", "r1.2"),
        ("run", "r1.2"),
        ("run", "r1.3"),
    ]
    assert [r["confirmed"] for r in records if r["type"] == "run"] == [False, True, False]
    assert [(a.result.id, a.result.status) for a in flow.history()] == [
        ("r1.1", "executed"),
        ("r1.2", "needs_confirmation"),
        ("r1.3", "held"),
        ("r1.2", "executed"),
        ("r1.3", "executed"),
    ]


async def test_cancel_drops_the_held_steps_too(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx, then show the status of nginx")
    cancelled = await flow.handle(Cancel(), via="voice")
    assert statuses(cancelled) == [("r1.1", "cancelled"), ("r1.2", "cancelled")]
    held = cancelled.results[1]
    assert held.reason == "dropped: it was to run after r1.1, which was cancelled"
    assert "Dropped systemctl status nginx --no-pager (r1.2)" in env.notifier.texts[-1]
    assert (await flow.confirm()).outcome == "not_pending"
    assert env.ran() == []
    assert state_of(flow) is State.IDLE
    confirmations = [r for r in audit_lines(env) if r["type"] == "confirmation"]
    assert [(r["id"], r["outcome"], r.get("held_behind")) for r in confirmations] == [
        ("r1.1", "cancelled", None),
        ("r1.2", "cancelled", "r1.1"),
    ]


async def test_expiry_drops_the_held_steps_too(env: Env) -> None:
    # Found by the background sweep...
    flow = env.flow()
    await flow.execute("restart nginx, then show the status of nginx")
    env.clock.now += 121
    assert await flow.sweep() == ("r1.1",)
    assert "Confirmation for r1.1 timed out" in env.notifier.texts[-2]
    assert "Dropped systemctl status nginx --no-pager (r1.2)" in env.notifier.texts[-1]
    assert [(a.result.id, a.result.status) for a in flow.history()][-2:] == [
        ("r1.1", "expired"),
        ("r1.2", "expired"),
    ]
    assert (await flow.confirm("r1.1")).outcome == "expired"
    # ...or by a confirmation that comes too late.
    late = env.registry.open("late")
    await late.execute("restart nginx, then show the status of nginx")
    env.clock.now += 121
    report = await late.confirm()
    assert report.outcome == "expired"
    assert statuses(report) == [("r1.1", "expired"), ("r1.2", "expired")]
    assert report.results[1].reason == (
        "dropped: it was to run after r1.1, whose confirmation timed out"
    )
    assert env.ran() == []
    expired = [
        (r["session_id"], r["id"], r.get("held_behind"))
        for r in audit_lines(env)
        if r["type"] == "confirmation"
    ]
    assert ("ws-1", "r1.2", "r1.1") in expired and ("late", "r1.2", "r1.1") in expired


async def test_two_destructive_steps_in_a_row_need_two_confirmations(env: Env) -> None:
    flow = env.flow()
    first = await flow.execute("restart nginx and stop apache and show the status of nginx")
    assert statuses(first) == [("r1.1", "needs_confirmation"), ("r1.2", "held"), ("r1.3", "held")]
    assert any("(r1.2) is held until you confirm r1.1" in t for t in env.notifier.texts)
    second = await flow.confirm()
    # The restart ran; the stop now asks for its own confirmation, the status still waits.
    assert statuses(second) == [
        ("r1.1", "executed"),
        ("r1.2", "needs_confirmation"),
        ("r1.3", "held"),
    ]
    assert env.ran() == ["restart nginx --no-pager"]
    assert any("needs confirmation" in t and "r1.2" in t for t in env.notifier.texts[-4:])
    assert [p.id for p in flow.pending()] == ["r1.2"]
    assert state_of(flow) is State.AWAITING_CONFIRMATION
    third = await flow.confirm()
    assert statuses(third) == [("r1.2", "executed"), ("r1.3", "executed")]
    assert env.ran() == [
        "restart nginx --no-pager",
        "stop apache2 --no-pager",
        "status nginx --no-pager",
    ]
    assert state_of(flow) is State.IDLE


async def test_a_refused_step_in_the_middle_blocks_nothing(env: Env) -> None:
    flow = env.flow()
    plain = await flow.execute("check the status of redis and run env and show the status of nginx")
    assert [r.status for r in plain.results] == ["executed", "blocked", "executed"]
    assert env.ran() == ["status redis --no-pager", "status nginx --no-pager"]
    # Behind a pending step a refused one is reported at once and is not held.
    first = await flow.execute("restart nginx and run env and show the status of apache")
    assert statuses(first) == [
        ("r2.1", "needs_confirmation"),
        ("r2.2", "blocked"),
        ("r2.3", "held"),
    ]
    confirmed = await flow.confirm()
    assert statuses(confirmed) == [("r2.1", "executed"), ("r2.3", "executed")]
    assert env.ran()[2:] == ["restart nginx --no-pager", "status apache2 --no-pager"]


async def test_concurrent_confirmations_run_the_held_steps_once(env: Env) -> None:
    flow = env.flow()
    await flow.execute("restart nginx, then show the status of nginx")
    reports = await asyncio.gather(flow.confirm(), flow.confirm(), flow.confirm("r1.1"))
    assert [r.outcome for r in reports].count("done") == 1
    assert env.ran() == ["restart nginx --no-pager", "status nginx --no-pager"]
