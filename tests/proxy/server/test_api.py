"""The HTTP API on a real aiohttp test server: the seed's test plan on our routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from extraction.model import Extractor
from extraction.rules import RulesExtractor
from extraction.understand import UnderstandingExtractor
from proxy.actions.audit import AuditLog
from proxy.actions.executors import LocalExecutor
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings
from proxy.server.api import MAX_BODY_BYTES, add_routes
from tests.proxy.actions.test_executor_local import make_bin_dir, make_guard, ran_log

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


class Api:
    def __init__(self, tmp_path: Path, extractor: Extractor | None = None) -> None:
        self.bin_dir = make_bin_dir(tmp_path)
        self.audit = AuditLog(tmp_path / "audit.jsonl")
        self.flows = FlowRegistry(
            extractor=extractor or RulesExtractor(),
            guard=make_guard(self.bin_dir, policy=None),
            executor=LocalExecutor(),
            settings=FlowSettings(exec_allowed=True),
            audit=self.audit,
        )
        self.client: Client

    async def post(self, path: str, body: object, status: int = 200) -> dict[str, object]:
        response = await self.client.post(path, json=body)
        data = await response.json()
        assert response.status == status, data
        assert isinstance(data, dict)
        return data


@pytest.fixture
async def api(tmp_path: Path, aiohttp_client: MakeClient) -> Api:
    api = Api(tmp_path)
    app = web.Application()
    add_routes(app, api.flows)
    api.client = await aiohttp_client(app)
    return api


@pytest.fixture
async def default_api(
    tmp_path: Path, aiohttp_client: MakeClient, understanding: UnderstandingExtractor
) -> Api:
    """The API with the default offline extractor, as a deployment without an API key has."""
    api = Api(tmp_path, understanding)
    app = web.Application()
    add_routes(app, api.flows)
    api.client = await aiohttp_client(app)
    return api


def results(data: dict[str, object]) -> list[dict[str, object]]:
    items = data["results"]
    assert isinstance(items, list)
    return items


async def test_process_extracts_and_executes(api: Api) -> None:
    data = await api.post("/process", {"transcript": "check disk space"})
    [item] = results(data)
    assert item["status"] == "executed" and item["command"] == "df -h"
    assert item["exit_code"] == 0 and "Filesystem" in str(item["output"])
    argv = item["argv"]
    assert isinstance(argv, list) and argv[0].endswith("/df") and argv[1:] == ["-h"]
    assert str(data["session_id"]).startswith("api-")


async def test_process_blocks_unsafe(api: Api) -> None:
    data = await api.post("/process", {"transcript": "run cat slash etc slash shadow"})
    [item] = results(data)
    assert item["status"] == "blocked"
    assert "cat" in str(item["reason"]) and "output" not in item and "exit_code" not in item


async def test_process_with_no_command(api: Api) -> None:
    data = await api.post("/process", {"transcript": "what a lovely day"})
    assert results(data) == []
    assert data["outcome"] == "nothing_to_run"
    assert "No command" in str(data["message"])


async def test_execute_several(api: Api) -> None:
    data = await api.post(
        "/execute", {"transcript": ["check disk space", "show the memory usage", "run uptime"]}
    )
    assert [(i["command"], i["status"]) for i in results(data)] == [
        ("df -h", "executed"),
        ("free -h", "executed"),
        ("uptime", "executed"),
    ]


async def test_one_blocked_in_a_batch_others_run(api: Api) -> None:
    data = await api.post("/execute", {"transcript": ["check disk space", "run env", "run uptime"]})
    assert [i["status"] for i in results(data)] == ["executed", "blocked", "executed"]


@pytest.mark.parametrize("transcript", [[], [""], ["  ", ""]])
async def test_execute_empty_transcript_finds_nothing(api: Api, transcript: list[str]) -> None:
    data = await api.post("/execute", {"transcript": transcript})
    assert data["outcome"] == "nothing_to_run" and results(data) == []


async def test_one_turn_with_several_requests_runs_them_all_in_order(default_api: Api) -> None:
    said = "check the disk space, memory and uptime, and then run rm dash rf slash tmp"
    data = await default_api.post("/execute", {"transcript": [said]})
    assert [(i["command"], i["status"]) for i in results(data)] == [
        ("df -h", "executed"),
        ("free -h", "executed"),
        ("uptime", "executed"),
        ("rm -rf /tmp", "blocked"),
    ]


async def test_a_docker_container_never_becomes_the_docker_service(default_api: Api) -> None:
    data = await default_api.post("/process", {"transcript": "stop the docker container web"})
    assert [i["command"] for i in results(data)] == ["docker stop web"]


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/process", {"transcript": ""}, "must not be empty"),
        ("/process", {"transcript": "   "}, "must not be empty"),
        ("/process", {}, "must be a string"),
        ("/process", {"transcript": ["df"]}, "must be a string"),
        ("/process", {"transcript": "df", "shell": True}, "unknown field(s): shell"),
        ("/process", {"transcript": "df", "session_id": "a b"}, "session_id"),
        ("/process", ["check disk space"], "JSON object"),
        ("/execute", {"transcript": "check disk space"}, "must be a list"),
        ("/execute", {"transcript": ["df", 5]}, "transcript[1]"),
        ("/confirm", {}, '"session_id" is required'),
        ("/confirm", {"session_id": "s", "id": "r1 2"}, "pending id"),
    ],
)
async def test_invalid_bodies_get_a_clear_400(api: Api, path: str, body: object, says: str) -> None:
    data = await api.post(path, body, status=400)
    assert says in str(data["error"])


JSON = {"Content-Type": "application/json"}


async def test_non_json_and_oversize_bodies_are_refused(api: Api) -> None:
    response = await api.client.post("/process", data=b"transcript=df", headers=JSON)
    assert response.status == 400
    assert "not valid JSON" in (await response.json())["error"]
    response = await api.client.post(
        "/process", data=b"{" + b" " * MAX_BODY_BYTES + b"}", headers=JSON
    )
    assert response.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_body_that_is_not_declared_json_never_reaches_the_flow(
    api: Api, content_type: str
) -> None:
    """A cross-site form or text/plain POST (no preflight) is refused before it is parsed."""
    body = b'{"transcript": "restart nginx"}'
    response = await api.client.post("/process", data=body, headers={"Content-Type": content_type})
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]
    assert len(api.flows) == 0


async def test_a_chunked_body_is_judged_whole(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"transcript": "'
        for _ in range(160):  # 10 MiB in 64 KiB pieces
            yield b"x" * 65536
        yield b'"}'

    response = await api.client.post("/process", data=chunks(), headers=JSON)
    assert response.status == 413
    assert str(MAX_BODY_BYTES) in (await response.json())["error"]
    response = await api.client.post(
        "/process", data=_pieces(b'{"transcript": "df -h"}'), headers=JSON
    )
    assert response.status == 200


async def _pieces(body: bytes) -> AsyncIterator[bytes]:
    for n in range(0, len(body), 5):
        yield body[n : n + 5]


async def test_api_session_ids_are_unguessable(api: Api) -> None:
    ids = [
        str((await api.post("/process", {"transcript": "what a lovely day"}))["session_id"])
        for _ in range(3)
    ]
    assert len(set(ids)) == 3
    assert all(i.startswith("api-") and len(i) >= 4 + 24 for i in ids)


async def test_destructive_needs_confirmation_then_runs_the_pending_argv(api: Api) -> None:
    data = await api.post("/process", {"transcript": "restart nginx", "session_id": "ops-1"})
    [item] = results(data)
    assert item["status"] == "needs_confirmation" and item["id"] == "r1.1"
    assert ran_log(api.bin_dir) == []
    state = await (await api.client.get("/api/sessions/ops-1/actions")).json()
    assert state["state"] == "awaiting_confirmation"
    assert [(p["id"], p["say"]) for p in state["pending"]] == [("r1.1", "confirm restart")]
    assert item["say"] == "confirm restart"
    # A typed answer need not name the action, but one that names another runs nothing.
    other = {"transcript": "confirm stop", "session_id": "ops-1"}
    wrong = await api.post("/process", other, status=409)
    assert wrong["outcome"] == "unnamed" and results(wrong) == []
    assert "say “confirm restart”" in str(wrong["message"])
    assert ran_log(api.bin_dir) == []
    confirmed = await api.post("/process", {"transcript": "confirm", "session_id": "ops-1"})
    [ran] = results(confirmed)
    assert ran["status"] == "executed" and ran["argv"] == item["argv"]
    assert ran_log(api.bin_dir) == ["restart nginx --no-pager"]
    # Confirming again: nothing pending, nothing runs.
    await api.post("/confirm", {"session_id": "ops-1"}, status=404)
    assert ran_log(api.bin_dir) == ["restart nginx --no-pager"]
    history = await (await api.client.get("/api/sessions/ops-1/actions")).json()
    assert [a["status"] for a in history["actions"]] == ["needs_confirmation", "executed"]


async def test_a_typed_answer_follows_the_spoken_rule(api: Api) -> None:
    await api.post("/process", {"transcript": "restart nginx", "session_id": "ops-2"})
    # "confirm" beside an unknown word confirms nothing; "cancel" first in a short reply cancels.
    not_an_answer = await api.post("/process", {"transcript": "confirm net", "session_id": "ops-2"})
    assert not_an_answer["action"] == "execute" and results(not_an_answer) == []
    assert ran_log(api.bin_dir) == []
    state = await (await api.client.get("/api/sessions/ops-2/actions")).json()
    assert [p["id"] for p in state["pending"]] == ["r1.1"]
    cancelled = await api.post("/process", {"transcript": "cancel net", "session_id": "ops-2"})
    assert [(i["id"], i["status"]) for i in results(cancelled)] == [("r1.1", "cancelled")]
    assert ran_log(api.bin_dir) == []


async def test_confirm_and_cancel_endpoints(api: Api) -> None:
    first = await api.post(
        "/execute", {"transcript": ["restart nginx", "stop nginx"], "session_id": "s2"}
    )
    assert [i["status"] for i in results(first)] == ["needs_confirmation", "held"]
    # r1.2 waits behind r1.1: it cannot be cancelled or confirmed ahead of its turn.
    early = await api.post("/cancel", {"session_id": "s2", "id": "r1.2"}, status=404)
    assert "held until r1.1" in str(early["message"])
    await api.post("/confirm", {"session_id": "s2", "id": "r1.2"}, status=404)
    confirmed = await api.post("/confirm", {"session_id": "s2", "id": "r1.1"})
    assert [(i["id"], i["status"]) for i in results(confirmed)] == [
        ("r1.1", "executed"),
        ("r1.2", "needs_confirmation"),
    ]
    cancelled = await api.post("/cancel", {"session_id": "s2", "id": "r1.2"})
    assert results(cancelled)[0]["status"] == "cancelled"
    await api.post("/confirm", {"session_id": "s2", "id": "r1.2"}, status=404)
    assert ran_log(api.bin_dir) == ["restart nginx --no-pager"]
    await api.post("/confirm", {"session_id": "nobody-here"}, status=404)


async def test_held_steps_are_shown_and_run_after_the_confirmation(api: Api) -> None:
    transcript = "show the status of apache, then restart nginx, then show the status of nginx"
    data = await api.post("/process", {"transcript": transcript, "session_id": "ord"})
    assert [(i["id"], i["status"]) for i in results(data)] == [
        ("r1.1", "executed"),
        ("r1.2", "needs_confirmation"),
        ("r1.3", "held"),
    ]
    held = results(data)[2]
    assert held["reason"] == "held: runs after r1.2 is confirmed"
    argv = held["argv"]
    assert isinstance(argv, list) and argv[1:] == ["status", "nginx", "--no-pager"]
    assert "exit_code" not in held and "output" not in held
    assert ran_log(api.bin_dir) == ["status apache2 --no-pager"]
    state = await (await api.client.get("/api/sessions/ord/actions")).json()
    assert state["pending"][0]["id"] == "r1.2"
    assert state["pending"][0]["held"] == [{"id": "r1.3", "command": "systemctl status nginx"}]
    confirmed = await api.post("/process", {"transcript": "confirm", "session_id": "ord"})
    assert [(i["id"], i["status"]) for i in results(confirmed)] == [
        ("r1.2", "executed"),
        ("r1.3", "executed"),
    ]
    assert ran_log(api.bin_dir) == [
        "status apache2 --no-pager",
        "restart nginx --no-pager",
        "status nginx --no-pager",
    ]


async def test_cancelled_and_expired_confirmations_list_the_dropped_held_steps(api: Api) -> None:
    clock = [0.0]
    api.flows.clock = lambda: clock[0]
    request = {"transcript": ["restart nginx", "show the status of nginx"]}
    await api.post("/execute", {**request, "session_id": "c"})
    cancelled = await api.post("/cancel", {"session_id": "c"})
    assert [(i["id"], i["status"]) for i in results(cancelled)] == [
        ("r1.1", "cancelled"),
        ("r1.2", "cancelled"),
    ]
    assert "r1.1" in str(results(cancelled)[1]["reason"])
    await api.post("/execute", {**request, "session_id": "e"})
    clock[0] += 121.0
    expired = await api.post("/confirm", {"session_id": "e"}, status=410)
    assert [(i["id"], i["status"]) for i in results(expired)] == [
        ("r1.1", "expired"),
        ("r1.2", "expired"),
    ]
    assert ran_log(api.bin_dir) == []


async def test_expired_pending_is_not_run(api: Api) -> None:
    clock = [0.0]
    api.flows.clock = lambda: clock[0]
    await api.post("/process", {"transcript": "restart nginx", "session_id": "late"})
    clock[0] += 121.0
    data = await api.post("/confirm", {"session_id": "late"}, status=410)
    assert "expired" in str(data["message"])
    assert ran_log(api.bin_dir) == []


async def test_exec_switched_off_is_403_with_the_reason(api: Api) -> None:
    api.flows.settings = replace(
        api.flows.settings, exec_allowed=False, exec_refusal="listening on 0.0.0.0"
    )
    data = await api.post("/process", {"transcript": "check disk space"}, status=403)
    assert "listening on 0.0.0.0" in str(data["message"])


async def test_unknown_session_actions_is_404(api: Api) -> None:
    response = await api.client.get("/api/sessions/none/actions")
    assert response.status == 404


@pytest.mark.parametrize(
    "body", [b"[" * 60_000, b'{"transcript": ' + b"9" * 5000 + b"}", b'{"transcript": "\xff"}']
)
async def test_bodies_the_json_parser_chokes_on_are_a_400_not_a_500(api: Api, body: bytes) -> None:
    """Found by bench/fuzz_api_bodies.py: RecursionError and the int-digits ValueError."""
    response = await api.client.post("/process", data=body, headers=JSON)
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]
