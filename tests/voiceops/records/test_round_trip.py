"""Every record survives ``to_json`` → JSON text → ``from_json`` unchanged, and its JSON is
what the proxy sent before the records were typed (key order and all)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from voiceops.records import api, audit, base, commands, events
from voiceops.records.base import Record, RecordError

RESULT = commands.CommandResult(
    "r1.1", "df -h", "executed", ("/usr/bin/df", "-h"), rule="commands.df", exit_code=0,
    output="Filesystem …", duration=0.0123, truncated=True,
)  # fmt: skip
BLOCKED = commands.CommandResult(
    "r1.2", "rm -rf /", "blocked", reason="rm is not in the policy", rule="commands"
)
PENDING = commands.PendingCommand(
    "r2.1", "r2", "restart nginx", ("/usr/bin/systemctl", "restart", "nginx"), 119.5,
    (commands.HeldCommand("r2.2", "status nginx"),),
)  # fmt: skip
HISTORY = commands.HistoryEntry("r1", 1_790_000_000.25, RESULT)
LISTING = api.SessionListing("ws-1", 1_790_000_000.123, None, 2)
TURN = api.TranscriptTurn(0, "user", "check the disk", 0.125, 1.5)

#: One example of every record class (with its optional fields both set and unset).
EXAMPLES: list[Record] = [
    RESULT,
    BLOCKED,
    # A fleet labels each command with its node.
    commands.CommandResult(
        "r3.1", "df -h", "executed", ("/usr/bin/df",), exit_code=0, node="web-1"
    ),
    commands.PendingCommand("r3.2", "r3", "reboot", ("/usr/sbin/reboot",), 30.0, node="db-1"),
    api.NodeState("web-2", False, False, last_seen=None),
    api.NodeGroup("web", ("web-1",)),
    api.NodeList(
        (
            api.NodeState("web-1", True, True, ("web",), True, 1764460000.5),
            api.NodeState("db-1", False, True),
        ),
        (api.NodeGroup("web", ("web-1", "web-2")),),
        "web-1",
        error=None,
    ),
    events.SessionEvent(
        "ws-1",
        events.CommandEvent("r3", commands.CommandResult("r3.1", "w", "held", node="web-2")),
    ),
    commands.ActionReport("ws-1", "execute", "done", "Done: 1 ran.", "r1", (RESULT, BLOCKED)),
    commands.ActionReport("ws-1", "confirm", "not_pending", "Nothing to confirm."),
    commands.HeldCommand("r2.2", "status nginx"),
    PENDING,
    HISTORY,
    events.SessionEvent("ws-1", events.AcceptedEvent("r1", "voice", None)),
    events.SessionEvent("ws-1", events.AcceptedEvent("r1", "api", "check disk space")),
    events.SessionEvent("ws-1", events.InferredEvent("r1", {"df -h": "memory"})),
    events.SessionEvent("ws-1", events.CommandEvent("r1", RESULT)),
    events.SessionEvent("ws-1", events.DoneEvent("r1", "done", (RESULT, BLOCKED))),
    events.SessionEvent("ws-1", events.ExpiredEvent(("r2.1",))),
    events.SessionEvent("ws-1", events.InvalidEvent("EXECUTE payload must be a JSON object")),
    events.SessionEvent("ws-1", events.RefusedEvent("execution is switched off")),
    events.SessionEvent("ws-1", events.BusyEvent(None)),
    events.SessionEvent("ws-1", events.NotPendingEvent("r9.9")),
    events.SessionEvent("ws-1", events.UnnamedEvent("r1.1", "confirm restart", "stop")),
    events.SessionEvent("ws-1", events.SpeakingEvent(6.125, more=True)),
    api.ApiError("no session 'x'"),
    api.Health(),
    api.Readiness("draining", "shutting down"),
    api.Readiness("ready", upstreams=2, upstreams_ok=1, active=1, waiting=0),
    LISTING,
    api.SessionList((LISTING,)),
    TURN,
    api.SessionTranscript("ws-1", 1_790_000_000.123, 1_790_000_060.5, (TURN,), 3, 4),
    api.SessionActions("ws-1", "awaiting_confirmation", (PENDING,), (HISTORY,)),
    audit.AuditLine(
        1_790_000_000.5,
        audit.DecisionRecord(
            "ws-1",
            "r1",
            "r1.1",
            "user: check disk",
            "df -h",
            "allowed",
            "commands.df",
            ("/usr/bin/df", "-h"),
        ),
    ),
    audit.AuditLine(
        1_790_000_000.5,
        audit.DecisionRecord(
            "ws-1",
            "r1",
            "r1.2",
            "user: wipe",
            "rm -rf /",
            "refused",
            "commands",
            reason="rm is not in the policy",
        ),
        principal="token",
        peer="127.0.0.1",
    ),
    audit.AuditLine(
        1_790_000_001.0,
        audit.RunRecord(
            "ws-1",
            "r1",
            "r1.1",
            ("/usr/bin/df", "-h"),
            False,
            0,
            False,
            None,
            0.004321,
            812,
            0,
            "ab" * 32,
        ),
    ),
    audit.AuditLine(2.0, audit.ConfirmationRecord("ws-1", "r2.2", "cancelled", "voice", "r2.1")),
    audit.AuditLine(3.0, audit.RequestRecord("ws-1", "refused", "confirm", "api", "off")),
]


def _record_classes() -> set[type[Record]]:
    found: set[type[Record]] = set()
    todo = list(Record.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        # ``slots=True`` replaces each dataclass; the class it replaced lingers until collected.
        if "__slots__" in cls.__dict__:
            found.add(cls)
    return found


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip(record: Record) -> None:
    text = json.dumps(record.to_json())
    assert type(record).from_json(json.loads(text)) == record


def test_every_record_class_has_an_example() -> None:
    # Event and audit payloads are covered through their envelopes.
    covered = {type(r) for r in EXAMPLES}
    covered |= {type(r.event) for r in EXAMPLES if isinstance(r, events.SessionEvent)}
    covered |= {type(r.record) for r in EXAMPLES if isinstance(r, audit.AuditLine)}
    bases = {base.Kinded, events.Event, audit.AuditRecord}
    assert _record_classes() - bases <= covered, sorted(
        c.__name__ for c in _record_classes() - bases - covered
    )


def test_a_command_event_is_written_as_before() -> None:
    event = events.SessionEvent("ws-1", events.CommandEvent("r1", RESULT))
    assert json.dumps(event.to_json(), separators=(",", ":")) == (
        '{"type":"voiceops","session_id":"ws-1","event":"command","request_id":"r1",'
        '"id":"r1.1","command":"df -h","status":"executed","argv":["/usr/bin/df","-h"],'
        '"rule":"commands.df","exit_code":0,"output":"Filesystem \\u2026","duration":0.0123,'
        '"truncated":true}'
    )


def test_an_action_report_is_written_as_before() -> None:
    report = commands.ActionReport("s", "execute", "done", "Done: 1 refused.", "r1", (BLOCKED,))
    assert json.dumps(report.to_json()) == (
        '{"session_id": "s", "action": "execute", "outcome": "done", "message": '
        '"Done: 1 refused.", "request_id": "r1", "results": [{"id": "r1.2", "command": '
        '"rm -rf /", "status": "blocked", "reason": "rm is not in the policy", "rule": '
        '"commands"}]}'
    )


def test_floats_are_rounded_on_the_wire() -> None:
    result = commands.CommandResult("r1.1", "df -h", "executed", duration=0.123456789)
    assert result.to_json()["duration"] == 0.1235
    turn = api.TranscriptTurn(0, "user", "hi", 0.12345, 0.98765)
    assert (turn.to_json()["start"], turn.to_json()["end"]) == (0.123, 0.988)


def test_an_audit_line_puts_time_first_and_who_acted_last() -> None:
    line = audit.AuditLine(
        5.0, audit.ConfirmationRecord("s", "r1.1", "confirmed", "api"), "token", "::1"
    )
    assert list(line.to_json()) == [
        "time", "type", "session_id", "id", "outcome", "via", "principal", "peer"
    ]  # fmt: skip


def test_a_node_is_written_only_with_a_fleet() -> None:
    assert "node" not in RESULT.to_json()
    labelled = commands.CommandResult("r3.1", "df -h", "executed", node="web-1")
    assert labelled.to_json()["node"] == "web-1"


def test_unknown_fields_are_ignored_for_newer_writers() -> None:
    data = {**RESULT.to_json(), "written_by": "a newer proxy"}
    assert commands.CommandResult.from_json(data) == RESULT


@pytest.mark.parametrize(
    ("cls", "data", "why"),
    [
        (commands.CommandResult, {"id": "r1", "command": "x"}, "'status' is missing"),
        (commands.CommandResult, {"id": "r1", "command": "x", "status": "ran"}, "one of"),
        (commands.CommandResult, {"id": 1, "command": "x", "status": "held"}, "'id' must be"),
        (commands.CommandResult, [], "expected a JSON object"),
        (
            commands.CommandResult,
            {"id": "r1", "command": "x", "status": "held", "exit_code": True},
            "'exit_code' must be",
        ),
        (commands.PendingCommand, {**PENDING.to_json(), "argv": "ls"}, "'argv' must be a list"),
        (events.SessionEvent, {"event": "busy", "request_id": None}, "not a voiceops event"),
        (events.SessionEvent, {"type": "voiceops", "event": "nope"}, "unknown Event kind 'nope'"),
        (audit.AuditLine, {"time": 1.0, "type": "diary"}, "unknown AuditRecord kind 'diary'"),
    ],
)
def test_wrong_json_says_what_is_wrong(cls: type[Record], data: object, why: str) -> None:
    with pytest.raises(RecordError, match=why):
        cls.from_json(data)


def test_the_records_import_neither_aiohttp_nor_the_proxy() -> None:
    code = (
        "import sys, voiceops.records.api, voiceops.records.audit, voiceops.records.events, "
        "voiceops.records.lines\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'aiohttp', 'proxy', 'client'}]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
