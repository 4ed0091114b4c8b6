"""The client against the real moshi server (tiny random weights): what the e2e tests rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.__main__ import main
from client.audio import read_wav, write_wav
from client.options import SessionOptions, execute_step
from client.session import run_session
from client.summary import ExitCode, exit_code
from devtools.tinymoshi import TinyMoshiServer
from tests.voices import needs_espeak, say

pytestmark = [pytest.mark.moshi, needs_espeak]


def test_cli_streams_a_wav_saves_the_reply_and_prints_a_summary(
    moshi_upstream: TinyMoshiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav, out = tmp_path / "ask.wav", tmp_path / "reply.wav"
    write_wav(wav, say("check the disk space please"))
    url = moshi_upstream.url

    code = main(
        [
            "--url",
            url,
            "--wav",
            str(wav),
            "--speed",
            "4",
            "--tail",
            "0.5",
            "--out",
            str(out),
            "--json",
            "--text-prompt",
            "You help with servers.",
        ]
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["exit_code"] == 0
    assert summary["handshake_latency"] is not None
    assert summary["close_code"] == 1000
    assert summary["pages_sent"] >= 20
    assert summary["pages_received"] > 0
    assert "[connected: handshake after" in captured.err
    reply = read_wav(out)
    assert len(reply) > 0
    assert float(abs(reply).max()) > 0


async def test_library_session_times_text_on_the_audio_clock(
    moshi_upstream: TinyMoshiServer,
) -> None:
    url = moshi_upstream.url
    pcm = say("execute plan")
    # moshi ignores control frames it does not know: sending one must not break the call.
    options = SessionOptions(
        url=url,
        pcm=pcm,
        speed=4,
        tail=0.4,
        steps=(execute_step("uptime"),),
        query={"text_prompt": "hi"},
    )
    summary = await run_session(options)
    assert exit_code(summary) is ExitCode.OK
    assert summary.controls_sent[0].action == "EXECUTE"
    # The model answers one frame per frame it hears, a little behind.
    assert 0 < summary.pages_received <= summary.pages_sent
    assert summary.reply_seconds > 0
    assert summary.text  # random tiny weights still say something every few steps
    times = [t.audio_time for t in summary.texts]
    assert times == sorted(times)
    assert all(0 < t <= summary.audio_seconds_sent for t in times)
