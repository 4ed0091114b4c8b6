"""Waiting for the proxy's results instead of a fixed tail: which events count, when the
silence ends, and a session against a server whose result comes late (as a loaded proxy's
does)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType, web

from client.options import SessionOptions, execute_step
from client.results import TailRule, Verdict, is_result
from client.session import run_session
from client.summary import ExitCode, exit_code
from proxy.relay.codec import Action, Audio, Control, Handshake, Metadata, Text, encode, parse
from tests.client.servers import serve
from voiceops.records import lines
from voiceops.records.commands import CommandResult, CommandStatus
from voiceops.records.events import (
    AcceptedEvent,
    CommandEvent,
    DoneEvent,
    Event,
    RefusedEvent,
    SessionEvent,
    UnnamedEvent,
)


def _command(status: CommandStatus) -> CommandEvent:
    return CommandEvent("r1", CommandResult("r1.1", "df -h", status))


@pytest.mark.parametrize(
    ("event", "counts"),
    [
        (_command("executed"), True),
        (_command("failed"), True),
        (_command("blocked"), True),
        (_command("cancelled"), True),
        (_command("expired"), True),
        (_command("needs_confirmation"), False),
        (_command("held"), False),
        (DoneEvent("r1", "nothing_to_run", ()), True),
        (DoneEvent("r1", "done", (_command("executed").result,)), False),
        (RefusedEvent("running commands is off"), True),
        (AcceptedEvent("r1", "speech", None), False),
        (UnnamedEvent("r1.1", "confirm restart", None), False),
    ],
)
def test_a_result_is_a_final_fate_or_a_request_that_ran_nothing(event: Event, counts: bool) -> None:
    assert is_result(SessionEvent("ws-1", event)) is counts


def test_another_servers_json_is_no_result() -> None:
    assert is_result(None) is False


def test_without_results_awaited_the_tail_follows_the_input_and_the_last_control() -> None:
    rule = TailRule(tail=2.0)
    assert rule.verdict(audio_clock=4.9, quiet_from=3.0, arrived=(), waited=0.0) is Verdict.SILENCE
    assert rule.verdict(audio_clock=5.0, quiet_from=3.0, arrived=(), waited=0.0) is Verdict.DONE


def test_awaited_results_hold_the_silence_then_the_tail_follows_them() -> None:
    rule = TailRule(tail=2.0, results=2, timeout=60.0)
    # The tail after the input has long run out, but only one result came.
    assert rule.verdict(audio_clock=30.0, quiet_from=3.0, arrived=(6.0,), waited=59.9) is (
        Verdict.SILENCE
    )
    # The second one came at 30 s of audio: two seconds more.
    assert rule.verdict(audio_clock=31.0, quiet_from=3.0, arrived=(6.0, 30.0), waited=61.0) is (
        Verdict.SILENCE
    )
    assert rule.verdict(audio_clock=32.0, quiet_from=3.0, arrived=(6.0, 30.0), waited=62.0) is (
        Verdict.DONE
    )
    # A result before the end of the input's tail does not shorten it.
    assert rule.verdict(audio_clock=4.0, quiet_from=3.0, arrived=(1.0, 2.0), waited=1.0) is (
        Verdict.SILENCE
    )


def test_the_wait_for_results_gives_up_after_the_timeout_and_says_how_many_came() -> None:
    rule = TailRule(tail=2.0, results=2, timeout=60.0)
    assert rule.verdict(audio_clock=99.0, quiet_from=3.0, arrived=(6.0,), waited=60.0) is (
        Verdict.GAVE_UP
    )
    assert rule.gave_up(1).startswith("1 of 2 result(s) within 60 s")


class LateResult:
    """A server that answers each audio page as moshi does and, ``delay`` seconds after an
    EXECUTE, reports one executed command as the proxy does (``delay`` None: never)."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.query: dict[str, str] = {}

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.query = dict(request.query)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(encode(Handshake()))
        reports: list[asyncio.Task[None]] = []
        async for msg in ws:
            if msg.type is not WSMsgType.BINARY:
                break
            match parse(msg.data):
                case Audio():
                    await ws.send_bytes(msg.data)
                case Control(Action.EXECUTE) if self.delay is not None:
                    reports.append(asyncio.create_task(self._report(ws, self.delay)))
        for task in reports:
            task.cancel()
        return ws

    @staticmethod
    async def _report(ws: web.WebSocketResponse, delay: float) -> None:
        await asyncio.sleep(delay)
        await ws.send_bytes(encode(Text(lines.line("df -h: Root filesystem 41% used."))))
        event = SessionEvent("ws-1", _command("executed"))
        await ws.send_bytes(encode(Metadata(event.to_json())))


def _options(url: str, **overrides: object) -> SessionOptions:
    return SessionOptions(
        url=url,
        speed=10,
        tail=0.4,
        steps=(execute_step(),),
        **overrides,  # type: ignore[arg-type]
    )


async def test_the_client_keeps_talking_until_a_late_result_has_come() -> None:
    # 0.4 s of tail at 10× is 40 ms of wall clock; the result comes a second after the EXECUTE.
    server = LateResult(delay=1.0)
    shown: list[str] = []
    with serve(server) as url:
        summary = await run_session(_options(url, until_results=1), shown.append)
    assert "df -h: Root filesystem" in summary.text
    # Results are counted from the events: asked for, but only shown with ``events``.
    assert server.query == {"events": "1"}
    assert "[event]" not in "".join(shown)
    [event] = summary.events
    # The tail follows the result.
    assert summary.audio_seconds_sent >= event.audio_time + 0.4
    assert (summary.close_code, summary.closed_by, summary.failure) == (1000, "client", None)
    assert exit_code(summary) is ExitCode.OK


async def test_a_result_that_never_comes_ends_the_session_normally_saying_so() -> None:
    shown: list[str] = []
    with serve(LateResult(delay=None)) as url:
        options = _options(url, until_results=1, result_timeout=0.5)
        summary = await run_session(options, shown.append)
    assert not summary.events
    assert summary.failure is not None and summary.failure.startswith("0 of 1 result(s) within")
    assert "[gave up: 0 of 1 result(s)" in "".join(shown)
    assert (summary.close_code, summary.closed_by) == (1000, "client")
    assert exit_code(summary) is ExitCode.SESSION_ERROR
