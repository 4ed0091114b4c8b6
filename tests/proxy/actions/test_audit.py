"""The audit log: one fsync'd JSON line per decision and run, readable back in order."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from guard import Guard
from proxy.actions.audit import AuditLog, decision_record, run_record
from proxy.actions.executors import LocalExecutor
from tests.proxy.actions.test_executor_local import approve, make_bin_dir, make_guard
from voiceops.records.audit import ConfirmationRecord, RequestRecord


def guard_for(tmp_path: Path) -> Guard:
    return make_guard(make_bin_dir(tmp_path))


async def test_decision_and_run_records_are_appended_as_json_lines(tmp_path: Path) -> None:
    guard = guard_for(tmp_path)
    log = AuditLog(tmp_path / "audit" / "audit.jsonl")
    approval = approve(guard, "blurt 10")
    result = await LocalExecutor().run(approval)
    await log.write(
        decision_record(
            session_id="s1",
            request_id="r1",
            step_id="r1.1",
            words="user: print ten",
            command="blurt 10",
            decision=guard.check("blurt 10"),
        )
    )
    await log.write(
        decision_record(
            session_id="s1",
            request_id="r1",
            step_id="r1.2",
            words="user: wipe it",
            command="rm -rf /",
            decision=guard.check("rm -rf /"),
        )
    )
    await log.write(
        run_record(session_id="s1", request_id="r1", step_id="r1.1", result=result, confirmed=False)
    )
    lines = (tmp_path / "audit" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 3
    allowed, refused, run = (json.loads(line) for line in lines)
    assert allowed["decision"] == "allowed" and allowed["argv"] == list(approval.argv)
    assert allowed["rule"] == "commands.blurt" and allowed["words"] == "user: print ten"
    assert refused["decision"] == "refused" and refused["rule"] == "commands"
    assert "argv" not in refused
    assert run["exit_code"] == 0 and run["argv"] == list(approval.argv)
    assert run["output_sha256"] == hashlib.sha256(b"x" * 10).hexdigest()
    assert "xxxxxxxxxx" not in lines[2]  # the output itself is not logged, only its digest
    assert all(isinstance(json.loads(line)["time"], float) for line in lines)


def reason(n: int) -> RequestRecord:
    """A record with a long, numbered field (long lines are where interleaving would show)."""
    return RequestRecord("s1", "refused", "execute", "api", f"{n} " + "y" * 5000)


async def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    await asyncio.gather(*(log.write(reason(n)) for n in range(60)))
    records = [line.record for line in log.read()]
    assert sorted(r.reason for r in records if isinstance(r, RequestRecord)) == sorted(
        reason(n).reason for n in range(60)
    )


async def test_existing_log_is_appended_to_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    await AuditLog(path).write(ConfirmationRecord("s1", "r1.1", "confirmed", "api"))
    await AuditLog(path).write(ConfirmationRecord("s1", "r1.1", "expired", "sweep"))
    lines = AuditLog(path).read()
    assert [(line.record.kind, line.record.to_json()["outcome"]) for line in lines] == [
        ("confirmation", "confirmed"),
        ("confirmation", "expired"),
    ]
    assert path.stat().st_mode & 0o777 == 0o600


async def test_who_acted_is_written_after_the_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    record = ConfirmationRecord("s1", "r1.1", "cancelled", "voice")
    await AuditLog(path).write(record, principal="token", peer="127.0.0.1")
    [raw] = path.read_text().splitlines()
    assert list(json.loads(raw)) == [
        "time", "type", "session_id", "id", "outcome", "via", "principal", "peer"
    ]  # fmt: skip
    [line] = AuditLog(path).read()
    assert (line.record, line.principal, line.peer) == (record, "token", "127.0.0.1")
