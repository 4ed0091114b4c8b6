"""Spoken replies said when the proxy asks, not at a fixed time: which events ask, when the
proxy has finished speaking, and a session against a server that asks late and speaks long (as
a loaded proxy does)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import numpy as np
import pytest
from aiohttp import WSMsgType, web

from client.audio import SAMPLE_RATE, OpusDecoder, Pcm
from client.options import SessionOptions, execute_step
from client.replies import MAX_SPEECH_S, QUIET_GAP_S, ReplyRule, Speech, asks_for_reply
from client.session import run_session
from client.summary import ExitCode, exit_code
from proxy.relay.codec import Action, Audio, Control, Handshake, Metadata, encode, parse
from tests.client.servers import serve
from voiceops.records.commands import CommandResult, CommandStatus
from voiceops.records.events import (
    CommandEvent,
    DoneEvent,
    Event,
    SessionEvent,
    SpeakingEvent,
    UnnamedEvent,
)


def _command(status: CommandStatus) -> CommandEvent:
    return CommandEvent("r1", CommandResult("r1.1", "systemctl restart nginx", status))


@pytest.mark.parametrize(
    ("event", "asks"),
    [
        (_command("needs_confirmation"), True),
        (UnnamedEvent("r1.1", "confirm restart", None), True),
        (_command("executed"), False),
        (_command("cancelled"), False),
        (DoneEvent("r1", "done", ()), False),
        (SpeakingEvent(4.0, more=False), False),
    ],
)
def test_a_command_to_confirm_or_an_unnamed_confirmation_asks_for_a_reply(
    event: Event, asks: bool
) -> None:
    assert asks_for_reply(SessionEvent("ws-1", event)) is asks


def test_another_servers_json_asks_for_nothing() -> None:
    assert asks_for_reply(None) is False


def _due(clock: float, asks: tuple[float, ...], speech: tuple[Speech, ...], **kw: float) -> bool:
    said = int(kw.get("said", 0))
    said_until = kw.get("said_until", 0.0)
    return ReplyRule().due(
        audio_clock=clock, asks=asks, said=said, said_until=said_until, speech=speech
    )


def test_no_reply_before_the_proxy_asks() -> None:
    assert not _due(100.0, (), ())


def test_the_reply_waits_for_the_end_of_the_proxys_speech_and_a_gap() -> None:
    # Asked at 8 s; its question starts playing at 9 s and lasts 6 s.
    speech = (Speech(9.0, 6.0, more=False),)
    assert not _due(8.5, (8.0,), ())  # asked, nothing spoken yet (still being synthesised)
    assert not _due(15.0 + QUIET_GAP_S - 0.08, (8.0,), speech)
    assert _due(15.0 + QUIET_GAP_S, (8.0,), speech)


def test_speech_with_more_behind_it_holds_the_reply_until_the_last_piece() -> None:
    first = Speech(9.0, 2.0, more=True)
    assert not _due(30.0, (8.0,), (first,))
    last = Speech(11.0, 3.0, more=False)
    assert not _due(14.0, (8.0,), (first, last))
    assert _due(14.0 + QUIET_GAP_S, (8.0,), (first, last))


def test_speech_that_ended_before_the_ask_is_not_its_question() -> None:
    # "Working on it" was said before the ask; the question has not started playing yet.
    earlier = (Speech(6.0, 1.0, more=False),)
    assert not _due(20.0, (8.0,), earlier)
    # A proxy without a voice (or a dropped text) never says it has finished: said anyway.
    assert _due(8.0 + ReplyRule().patience, (8.0,), earlier)


def test_the_next_reply_answers_the_next_ask_after_the_previous_reply() -> None:
    # Reply 1 ("confirm") ended at 18 s; the proxy asked again at 20 s ("Not run: say …").
    speech = (Speech(9.0, 6.0, more=False), Speech(20.5, 3.0, more=False))
    assert not _due(19.0, (8.0,), speech, said=1, said_until=18.0)
    assert not _due(23.0, (8.0, 20.0), speech, said=1, said_until=18.0)
    assert _due(23.5 + QUIET_GAP_S, (8.0, 20.0), speech, said=1, said_until=18.0)


@pytest.mark.parametrize(
    ("seconds", "bounded"),
    [(3.5, 3.5), (-1.0, 0.0), (math.inf, MAX_SPEECH_S), (math.nan, MAX_SPEECH_S)],
)
def test_the_length_of_speech_heard_is_bounded(seconds: float, bounded: float) -> None:
    assert Speech.heard(2.0, SpeakingEvent(seconds, more=False)).seconds == bounded


class AsksLate:
    """A server that answers each audio page as moshi does and, after an EXECUTE, asks for a
    confirmation at once but starts speaking the question only ``delay`` wall-clock seconds
    later, for ``seconds`` of audio (as a loaded proxy's synthesiser does; ``None``: it has no
    voice).  The first loud
    audio it hears after asking is the answer: it reports the command cancelled."""

    def __init__(self, delay: float | None, seconds: float) -> None:
        self.delay = delay
        self.seconds = seconds
        self.answer_at: float | None = None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(encode(Handshake()))
        decoder = OpusDecoder()
        heard = 0
        asked = False
        tasks: list[asyncio.Task[None]] = []
        async for msg in ws:
            if msg.type is not WSMsgType.BINARY:
                break
            match parse(msg.data):
                case Audio(page):
                    await ws.send_bytes(msg.data)
                    pcm = decoder.decode(page)
                    if asked and self.answer_at is None and _loud(pcm):
                        self.answer_at = heard / SAMPLE_RATE
                        await _send(ws, _command("cancelled"))
                    heard += len(pcm)
                case Control(Action.EXECUTE):
                    asked = True
                    await _send(ws, _command("needs_confirmation"))
                    if self.delay is not None:
                        tasks.append(asyncio.create_task(self._speak(ws, self.delay)))
        for task in tasks:
            task.cancel()
        return ws

    async def _speak(self, ws: web.WebSocketResponse, delay: float) -> None:
        await asyncio.sleep(delay)
        await _send(ws, SpeakingEvent(self.seconds, more=False))


async def _send(ws: web.WebSocketResponse, event: Event) -> None:
    await ws.send_bytes(encode(Metadata(SessionEvent("ws-1", event).to_json())))


def _loud(pcm: Pcm) -> bool:
    return bool(len(pcm)) and float(np.sqrt(np.mean(pcm**2))) > 0.05


def _tone(seconds: float) -> Pcm:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _options(url: str, **overrides: object) -> SessionOptions:
    base = SessionOptions(
        url=url,
        speed=10,
        tail=0.4,
        steps=(execute_step(),),
        replies=(_tone(0.5),),
        until_results=1,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


async def test_the_reply_is_said_after_a_late_question_has_been_spoken() -> None:
    # At 10× the question starts 0.5 s of wall clock (5 s of audio) after the ask and lasts
    # 3 s of audio; said at a fixed point just after the ask, the answer would overlap it.
    server = AsksLate(delay=0.5, seconds=3.0)
    shown: list[str] = []
    with serve(server) as url:
        summary = await run_session(_options(url), shown.append)
    assert (summary.close_code, summary.failure) == (1000, None)
    assert "[saying reply 1 of 1]" in "".join(shown)
    speaking = next(e for e in summary.events if e.data["event"] == "speaking")
    assert server.answer_at is not None
    # The answer began after the proxy's speech and the gap (one page of slack for the codec).
    assert server.answer_at >= speaking.audio_time + 3.0 + QUIET_GAP_S - 0.08
    assert exit_code(summary) is ExitCode.OK


async def test_a_reply_asked_for_is_said_after_the_patience_when_no_speech_is_reported() -> None:
    # A proxy without a voice: the reply comes 30 s of audio (3 s at 10×) after the ask, even
    # though the wait for results would have given up after 0.5 s.
    server = AsksLate(delay=None, seconds=0.0)
    with serve(server) as url:
        summary = await run_session(_options(url, result_timeout=0.5))
    assert (summary.close_code, summary.failure) == (1000, None)
    [ask] = [e for e in summary.events if e.data.get("status") == "needs_confirmation"]
    assert server.answer_at is not None
    assert server.answer_at >= ask.audio_time + ReplyRule().patience - 0.08


async def test_a_reply_never_asked_for_ends_the_session_normally_saying_so() -> None:
    shown: list[str] = []
    with serve(AsksLate(delay=0.0, seconds=1.0)) as url:
        options = _options(url, steps=(), until_results=0, result_timeout=0.5)
        summary = await run_session(options, shown.append)
    assert summary.failure is not None
    assert summary.failure.startswith("no ask for 1 spoken reply(ies) within 0.5 s")
    assert "[saying reply" not in "".join(shown)
    assert (summary.close_code, summary.closed_by) == (1000, "client")
    assert exit_code(summary) is ExitCode.SESSION_ERROR


def test_replies_ask_for_the_events_without_showing_them() -> None:
    options = SessionOptions(url="ws://127.0.0.1:9/api/chat", replies=(_tone(0.1),))
    assert options.asks_events and not options.events
