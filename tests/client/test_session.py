"""The session's behaviour on the wire, against small servers that act as the proxy would."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from aiohttp import WSMsgType, web

from client.audio import FRAME_SAMPLES, OpusDecoder
from client.options import SessionOptions, execute_step, id_step
from client.session import run_session
from client.summary import ExitCode, exit_code
from proxy.relay.codec import Action, Audio, Control, Handshake, Metadata, Text, encode, parse
from tests.client.proxy_says import asking_event, asking_text
from tests.client.servers import serve


class Recorder:
    """A server that logs what the client sends (pages before each control frame) and asks
    for confirmation like the proxy does after an EXECUTE."""

    def __init__(self, *, ask_in: str = "text", early_audio: bool = False) -> None:
        self.controls: list[tuple[str, int, str]] = []
        self.samples: list[int] = []
        self.early: list[object] = []
        self.query: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.ask_in = ask_in
        self.early_audio = early_audio

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.query = dict(request.query)
        self.headers = dict(request.headers)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        # Audio sent before the handshake would be dropped by the server: record any.
        try:
            early = await ws.receive(timeout=0.3)
            self.early.append(early.type)
        except TimeoutError:
            pass
        await ws.send_bytes(encode(Handshake()))
        pages = 0
        decoder = OpusDecoder()
        async for msg in ws:
            if msg.type is not WSMsgType.BINARY:
                break
            message = parse(msg.data)
            match message:
                case Audio(page):
                    pages += 1
                    decoded = decoder.decode(page)
                    # Answer one step of audio for each step received, as moshi does.
                    await ws.send_bytes(msg.data)
                    if pages == 1:
                        await ws.send_bytes(encode(Text(" hello")))
                    self.samples.append(len(decoded))
                case Control(action, payload):
                    self.controls.append((action.name, pages, payload.decode()))
                    if action is Action.EXECUTE and self.ask_in == "text":
                        await ws.send_bytes(encode(Text(asking_text("r-7"))))
                    elif action is Action.EXECUTE:
                        await ws.send_bytes(encode(Metadata(asking_event("r-8"))))
                    elif action is Action.CONFIRM:
                        await ws.send_bytes(encode(Text("\n[done: exit 0]\n")))
        return ws


def speech(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * 24_000)) / 24_000
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


async def test_audio_only_after_handshake_then_tail_and_normal_close() -> None:
    server = Recorder()
    with serve(server) as url:
        summary = await run_session(
            SessionOptions(
                url=url, pcm=speech(0.4), speed=10, tail=0.4, query={"text_prompt": "hi"}
            )
        )
    assert server.early == []
    # 0.4 s of input = 5 pages, then 0.4 s of silence = 5 more, each 80 ms of audio.
    assert summary.pages_sent == 10
    assert summary.audio_seconds_sent == 0.8
    assert server.samples == [FRAME_SAMPLES] * 10
    assert server.query == {"text_prompt": "hi"}
    assert "Authorization" not in server.headers
    assert summary.text == " hello"
    # Stamped with the audio sent when the text arrived: the server answers the first page, and
    # on a busy machine a few more pages may have gone out before the answer is read.
    assert 0.08 <= summary.texts[0].audio_time <= summary.audio_seconds_sent
    assert summary.pages_received > 0 and summary.reply_seconds > 0
    assert (summary.close_code, summary.closed_by) == (1000, "client")
    assert exit_code(summary) is ExitCode.OK


async def test_steps_go_in_order_on_the_audio_clock_with_their_payloads() -> None:
    server = Recorder(ask_in="none")
    steps = (
        execute_step("restart nginx", at=0.24),
        id_step(Action.CANCEL, "r-1"),
        id_step(Action.CONFIRM, at=0.0),
    )
    with serve(server) as url:
        summary = await run_session(
            SessionOptions(url=url, pcm=speech(0.8), speed=10, tail=0.16, steps=steps, token="t0k")
        )
    assert server.headers["Authorization"] == "Bearer t0k"
    # EXECUTE after 3 pages (0.24 s); CANCEL at the end of the 10-page input; CONFIRM, whose
    # time has long passed, right after the CANCEL it follows.
    assert server.controls == [
        ("EXECUTE", 3, json.dumps({"request": "restart nginx"})),
        ("CANCEL", 10, "r-1"),
        ("CONFIRM", 10, ""),
    ]
    assert [c.action for c in summary.controls_sent] == ["EXECUTE", "CANCEL", "CONFIRM"]
    # The tail runs after the last control frame.
    assert summary.pages_sent == 12


async def test_a_step_after_the_input_extends_the_session_until_it_is_sent() -> None:
    server = Recorder(ask_in="none")
    with serve(server) as url:
        summary = await run_session(
            SessionOptions(
                url=url,
                pcm=speech(0.16),
                speed=10,
                tail=0,
                steps=(id_step(Action.CANCEL, at=0.48),),
            )
        )
    assert server.controls == [("CANCEL", 6, "")]
    assert summary.audio_seconds_sent == 0.48


async def test_confirm_when_asked_in_text_confirms_the_named_request_once() -> None:
    server = Recorder(ask_in="text")
    with serve(server) as url:
        summary = await run_session(
            SessionOptions(
                url=url,
                pcm=speech(0.16),
                speed=10,
                tail=0.4,
                steps=(execute_step(),),
                confirm_when_asked=True,
            )
        )
    # (How much silence goes out before the CONFIRM depends on scheduling: not asserted.)
    assert [(name, payload) for name, _, payload in server.controls] == [
        ("EXECUTE", ""),
        ("CONFIRM", "r-7"),
    ]
    assert summary.controls_sent[-1].automatic
    assert "[done: exit 0]" in summary.text


async def test_confirm_when_asked_with_events_uses_the_event_id() -> None:
    server = Recorder(ask_in="event")
    lines: list[str] = []
    with serve(server) as url:
        summary = await run_session(
            SessionOptions(
                url=url,
                speed=10,
                tail=0.4,
                steps=(execute_step(),),
                confirm_when_asked=True,
                events=True,
            ),
            lines.append,
        )
    assert server.query == {"events": "1"}
    assert [(name, payload) for name, _, payload in server.controls] == [
        ("EXECUTE", ""),
        ("CONFIRM", "r-8"),
    ]
    assert summary.events[0].data == asking_event("r-8")
    shown = "".join(lines)
    assert f"[event] {json.dumps(asking_event('r-8'), ensure_ascii=False)}" in shown
    assert "[auto-sent CONFIRM r-8]" in shown


async def test_without_confirm_when_asked_nothing_is_confirmed() -> None:
    server = Recorder(ask_in="text")
    with serve(server) as url:
        await run_session(SessionOptions(url=url, speed=10, tail=0.24, steps=(execute_step(),)))
    assert [name for name, _, _ in server.controls] == ["EXECUTE"]


async def test_stop_event_ends_a_long_session_with_a_normal_close() -> None:
    server = Recorder(ask_in="none")
    stop = asyncio.Event()
    seen: list[str] = []

    def output(text: str) -> None:
        seen.append(text)
        if "hello" in text:
            stop.set()

    with serve(server) as url:
        summary = await run_session(SessionOptions(url=url, tail=600, speed=10), output, stop)
    assert summary.close_code == 1000
    assert summary.audio_seconds_sent < 600
    assert exit_code(summary) is ExitCode.OK
