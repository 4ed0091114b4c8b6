"""The pure session core: display, summary, automatic confirmations and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from client.audio import FRAME_SAMPLES, encode_pages
from client.recorder import SessionRecorder
from client.summary import ExitCode, SessionSummary, exit_code
from proxy.relay.codec import Action, Audio, Control, Error, Handshake, Metadata, Ping, Text
from tests.client.proxy_says import asking_event, asking_text

ASK = asking_text("r1")


def started(**kwargs: bool) -> SessionRecorder:
    rec = SessionRecorder("ws://h/api/chat", started=100.0, **kwargs)
    rec.opened(100.5)
    return rec


def test_model_words_join_on_one_line_and_other_output_gets_its_own() -> None:
    rec = SessionRecorder("ws://h/api/chat", started=0.0, show_events=True)
    rec.opened(0.1)
    shown = [rec.received(Text("waiting, position 1"), 0.2).output]
    shown.append(rec.received(Handshake(), 1.6).output)
    for piece in (" Hello", " there", ","):
        shown.append(rec.received(Text(piece), 2.0).output)
    shown.append(rec.received(Metadata({"type": "plan"}), 2.1).output)
    shown.append(rec.received(Text(" ok"), 2.2).output)
    shown.append(rec.received(Error("upstream slow"), 2.3).output)
    shown.append(rec.closed(1000, "", "client", 3.0))
    assert "".join(shown) == (
        "[notice] waiting, position 1\n"
        "[connected: handshake after 1.50 s]\n"
        " Hello there,\n"
        '[event] {"type": "plan"}\n'
        " ok\n"
        "[error from server] upstream slow\n"
        "[closed by client: 1000 normal closure]\n"
    )


def test_summary_separates_notices_from_conversation_and_times_text_on_the_audio_clock() -> None:
    rec = started()
    rec.received(Text("waiting, position 2"), 101.0)
    rec.received(Handshake(), 102.0)
    for _ in range(5):
        rec.sent_audio(b"page", FRAME_SAMPLES)
    rec.received(Text(" hi"), 102.5)
    rec.sent_audio(b"", FRAME_SAMPLES)  # the encoder may hold a frame back: clock still moves
    rec.received(Text("\nDone: uptime 3 days\n"), 103.0)
    rec.received(Ping(), 103.1)
    rec.closed(1000, "done", "client", 104.0)
    summary = rec.summary(105.0)
    assert summary.notices == ("waiting, position 2",)
    assert summary.text == " hi\nDone: uptime 3 days\n"
    assert [(t.audio_time, t.wall_time) for t in summary.texts] == [(0.4, 2.5), (0.48, 3.0)]
    assert summary.pages_sent == 5
    assert summary.audio_seconds_sent == 0.48
    assert summary.connect_seconds == 0.5
    assert summary.handshake_latency == 1.5
    assert summary.duration == 4.0
    assert exit_code(summary) is ExitCode.OK


def test_reply_audio_is_decoded_from_the_pages_received() -> None:
    rec = started()
    rec.received(Handshake(), 101.0)
    tone = np.sin(np.arange(FRAME_SAMPLES * 4) / 10).astype(np.float32) * 0.5
    for page in encode_pages(tone):
        rec.received(Audio(page), 101.1)
    summary = rec.summary(102.0)
    assert summary.pages_received == 4
    assert summary.reply_seconds == pytest.approx(0.32)
    assert float(np.abs(summary.reply_pcm).max()) > 0.1


def test_events_are_recorded_always_but_shown_only_when_asked() -> None:
    rec = started(show_events=False)
    rec.received(Handshake(), 101.0)
    assert rec.received(Metadata({"type": "result"}), 101.0).output == ""
    assert rec.summary(102.0).events[0].data == {"type": "result"}


def test_invalid_messages_are_counted_not_fatal() -> None:
    rec = started()
    assert "unknown message kind" in rec.received_invalid("unknown message kind 0x09")
    assert rec.summary(101.0).invalid_messages == 1


def test_confirm_when_asked_in_text_confirms_each_request_once() -> None:
    rec = started(confirm_when_asked=True)
    rec.received(Handshake(), 101.0)
    assert rec.received(Text(ASK), 101.0).send == (Control(Action.CONFIRM, b"r1"),)
    assert rec.received(Text(ASK), 101.2).send == ()
    other = asking_text("r2")
    assert rec.received(Text(other), 101.3).send == (Control(Action.CONFIRM, b"r2"),)


def test_an_ask_without_id_is_answered_once_per_execute() -> None:
    rec = started(confirm_when_asked=True)
    rec.received(Handshake(), 101.0)
    ask = asking_text(None)
    assert rec.received(Text(ask), 101.0).send == (Control(Action.CONFIRM),)
    assert rec.received(Text(ask), 101.1).send == ()
    rec.sent_control(Control(Action.EXECUTE), 101.2)
    assert rec.received(Text(ask), 101.3).send == (Control(Action.CONFIRM),)


def test_with_events_only_events_trigger_confirmation() -> None:
    rec = started(confirm_when_asked=True, use_events=True)
    rec.received(Handshake(), 101.0)
    assert rec.received(Text(ASK), 101.0).send == ()
    event = Metadata(asking_event("r1"))
    assert rec.received(event, 101.1).send == (Control(Action.CONFIRM, b"r1"),)


def test_asks_are_ignored_unless_enabled() -> None:
    rec = started()
    rec.received(Handshake(), 101.0)
    assert rec.received(Text(ASK), 101.0).send == ()


def test_sent_controls_are_recorded_with_the_audio_clock() -> None:
    rec = started()
    rec.received(Handshake(), 101.0)
    rec.sent_audio(b"p", FRAME_SAMPLES)
    line = rec.sent_control(Control(Action.EXECUTE, b'{"request":"df -h"}'), 101.5)
    assert line == '[sent EXECUTE {"request":"df -h"}]\n'
    sent = rec.summary(102.0).controls_sent[0]
    assert (sent.action, sent.payload, sent.audio_time, sent.automatic) == (
        "EXECUTE",
        '{"request":"df -h"}',
        0.08,
        False,
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1000, ExitCode.OK),
        (1001, ExitCode.OK),
        (1005, ExitCode.OK),
        (1006, ExitCode.SESSION_ERROR),
        (1011, ExitCode.SESSION_ERROR),
        (1013, ExitCode.SESSION_ERROR),
        (1014, ExitCode.SESSION_ERROR),
        (4000, ExitCode.SESSION_ERROR),
    ],
)
def test_exit_code_follows_the_close_code(code: int, expected: ExitCode) -> None:
    rec = started()
    rec.received(Handshake(), 101.0)
    rec.closed(code, "", "server", 102.0)
    assert exit_code(rec.summary(102.0)) is expected


def test_no_handshake_or_giving_up_is_an_error_even_with_a_normal_close() -> None:
    rec = started()
    rec.closed(1000, "", "server", 102.0)
    assert exit_code(rec.summary(102.0)) is ExitCode.SESSION_ERROR
    rec = started()
    rec.received(Handshake(), 101.0)
    assert "gave up: no message" in rec.failed("no message from the server for 30 s")
    rec.closed(1000, "", "client", 131.0)
    assert exit_code(rec.summary(131.0)) is ExitCode.SESSION_ERROR


def test_json_summary_is_serialisable_and_complete() -> None:
    rec = started()
    rec.received(Handshake(), 101.0)
    rec.received(Metadata({"type": "result", "exit": 0}), 101.2)
    rec.received(Text(" hi"), 101.3)
    rec.closed(1000, "", "client", 102.0)
    data = json.loads(json.dumps(rec.summary(102.0).to_json()))
    assert data["text"] == " hi"
    assert data["events"][0]["data"] == {"type": "result", "exit": 0}
    assert data["exit_code"] == 0
    assert set(SessionSummary.__dataclass_fields__) - {"reply_pcm"} <= set(data)
