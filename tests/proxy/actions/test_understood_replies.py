"""What the operator hears back from the default offline extractor: where commands came from,
what was refused beside what ran, and what was heard when nothing matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction.understand import UnderstandingExtractor
from proxy.actions.audit import AuditLog
from proxy.actions.executors import LocalExecutor
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings
from tests.proxy.actions.test_flow import Env


@pytest.fixture
def env(tmp_path: Path, understanding: UnderstandingExtractor) -> Env:
    env = Env(tmp_path)
    env.registry = FlowRegistry(
        extractor=understanding,
        guard=env.guard,
        executor=LocalExecutor(),
        settings=FlowSettings(exec_allowed=True, confirm_ttl=120.0),
        audit=AuditLog(tmp_path / "audit.jsonl"),
        clock=env.clock,
    )
    return env


async def test_an_accepted_offer_is_named_as_the_voice_models_before_it_runs(env: Env) -> None:
    env.say("assistant", "Shall I check the disk space and the memory?")
    env.say("user", "Okay. Execute plan.")
    report = await env.flow().execute(via="trigger")
    assert [r.command for r in report.results] == ["df -h", "free -h"]
    told = next(i for i, t in enumerate(env.notifier.texts) if "voice model" in t)
    assert "df -h; free -h" in env.notifier.texts[told]
    first_result = next(i for i, t in enumerate(env.notifier.texts) if t.startswith("df -h"))
    assert told < first_result


async def test_refused_and_not_understood_requests_are_said_beside_what_ran(env: Env) -> None:
    env.say("user", "check the disk space, then run rm dash rf slash tmp and fix the printer")
    report = await env.flow().execute(via="trigger")
    assert [(r.command, r.status) for r in report.results] == [
        ("df -h", "executed"),
        ("rm -rf /tmp", "blocked"),
    ]
    assert any(
        t.startswith("Refused rm -rf /tmp: 'rm' is not in the policy") for t in env.notifier.texts
    )
    assert report.message.startswith("Done: 1 ran, 1 refused.")
    assert "I heard 'fix the printer'" in report.message


async def test_nothing_matched_says_the_words_heard_and_the_closest_things(env: Env) -> None:
    env.say("user", "is the wrong service running")
    report = await env.flow().execute(via="trigger")
    assert report.results == ()
    assert report.message.startswith("No command to run: I heard 'is the wrong service running'")
    assert "status of cron" in report.message
