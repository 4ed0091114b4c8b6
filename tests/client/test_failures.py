"""What a person sees when there is no conversation, or it ends badly (real loopback sockets)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from aiohttp import web

from client.__main__ import main
from client.errors import AuthFailedError, ConnectFailedError, RejectedError
from client.options import SessionOptions
from client.session import run_session
from client.summary import ExitCode, exit_code
from proxy.relay.codec import Handshake, Text, encode
from tests.client.servers import closed_port_url, serve


async def reject_400(request: web.Request) -> web.StreamResponse:
    return web.Response(status=400, text="voice_prompt 'x.pt' is not a known voice")


async def reject_401(request: web.Request) -> web.StreamResponse:
    assert request.headers.get("Authorization") in (None, "Bearer wrong")
    return web.Response(status=401, text="bad token")


async def busy(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_bytes(encode(Text("waiting, position 2")))
    await ws.close(code=1013, message=b"queue full, try again later")
    return ws


async def crash_after_handshake(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_bytes(encode(Handshake()))
    await ws.receive()  # the first audio page
    await ws.close(code=1011, message=b"upstream failed")
    return ws


def test_refused_connection_says_so_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_port_url()
    assert main(["--url", url, "--tail", "0"]) == 3
    assert "connection refused" in capsys.readouterr().err


def test_refused_connection_raises_connect_failed_from_the_library() -> None:
    with pytest.raises(ConnectFailedError, match="refused"):
        asyncio.run(run_session(SessionOptions(url=closed_port_url())))


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://127.0.0.1:8080/api/chat", "ws://HOST:PORT/api/chat"),
        ("127.0.0.1:8080", "not a ws:// or wss:// URL"),
        ("ws://127.0.0.1:99999/api/chat", "invalid port"),
    ],
)
def test_wrong_url_is_a_usage_error(
    url: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--url", url])
    assert exited.value.code == 2
    assert hint in capsys.readouterr().err


def test_http_400_shows_the_proxys_reason_and_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(reject_400) as url:
        assert main(["--url", url, "--voice-prompt", "x.pt", "--json"]) == 4
    captured = capsys.readouterr()
    assert "HTTP 400" in captured.err
    assert "voice_prompt 'x.pt' is not a known voice" in captured.err
    assert json.loads(captured.out)["exit_code"] == 4


async def test_http_400_raises_rejected_with_status_and_body() -> None:
    with serve(reject_400) as url:
        with pytest.raises(RejectedError) as raised:
            await run_session(SessionOptions(url=url))
    assert raised.value.status == 400
    assert "not a known voice" in raised.value.body


def test_auth_failure_exits_5_and_suggests_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(reject_401) as url:
        assert main(["--url", url]) == 5
    err = capsys.readouterr().err
    assert "authentication failed" in err
    assert "bad token" in err
    assert "--token" in err


async def test_auth_failure_with_a_token_raises_auth_failed() -> None:
    with serve(reject_401) as url:
        with pytest.raises(AuthFailedError) as raised:
            await run_session(SessionOptions(url=url, token="wrong"))
    assert raised.value.status == 401


def test_busy_queue_shows_position_and_close_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(busy) as url:
        assert main(["--url", url, "--json"]) == 1
    captured = capsys.readouterr()
    assert "[notice] waiting, position 2" in captured.err
    assert "1013" in captured.err
    assert "queue full, try again later" in captured.err
    summary = json.loads(captured.out)
    assert summary["notices"] == ["waiting, position 2"]
    assert summary["close_code"] == 1013
    assert summary["close_reason"] == "queue full, try again later"
    assert summary["handshake_latency"] is None
    assert summary["text"] == ""


async def test_error_close_during_the_call_is_reported_in_the_summary() -> None:
    with serve(crash_after_handshake) as url:
        summary = await run_session(
            SessionOptions(url=url, pcm=np.zeros(24_000, np.float32), speed=8, tail=0)
        )
    assert summary.handshake_latency is not None
    assert (summary.close_code, summary.close_reason) == (1011, "upstream failed")
    assert summary.closed_by == "server"


def test_error_close_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(crash_after_handshake) as url:
        assert main(["--url", url, "--tail", "1", "--speed", "8"]) == 1
    assert "1011 server error: upstream failed" in capsys.readouterr().out


async def silent_after_handshake(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_bytes(encode(Handshake()))
    async for _ in ws:  # swallow the audio, answer nothing: a stuck server
        pass
    return ws


async def never_ready(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for _ in ws:
        pass
    return ws


async def test_a_server_that_stops_answering_is_given_up_on() -> None:
    with serve(silent_after_handshake) as url:
        summary = await run_session(SessionOptions(url=url, tail=60, idle_timeout=0.3))
    assert summary.failure == "no message from the server for 0.3 s"
    assert summary.audio_seconds_sent < 60
    assert (summary.close_code, summary.closed_by) == (1000, "client")
    assert exit_code(summary) is ExitCode.SESSION_ERROR


def test_no_handshake_in_time_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(never_ready) as url:
        assert main(["--url", url, "--handshake-timeout", "0.3", "--json"]) == 1
    captured = capsys.readouterr()
    assert "[gave up: no handshake within 0.3 s]" in captured.err
    assert json.loads(captured.out)["pages_sent"] == 0
