"""The product as a user meets it: speech in, command checked and run, result in the same socket.

Real components only: the proxy with its full pipeline, the real tiny moshi upstream, pocketsphinx
and Whisper on espeak-ng speech, the offline rules extractor, the shipped guard policy, the local
executor and the audit log.  The headless client drives each conversation.

``systemctl`` is a stand-in script (see ``tests/product.py``): a confirmed "restart nginx" really
runs — and only writes a line to a file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from client.audio import SAMPLE_RATE, Pcm
from client.options import SessionOptions, execute_step
from client.session import run_session
from client.summary import SessionSummary
from devtools.tinymoshi import TinyMoshiServer
from tests.processes import cmdlines
from tests.product import Product, running_product
from tests.voices import concat, needs_espeak, say, silence
from voiceops.records.audit import ConfirmationRecord, RunRecord
from voiceops.records.commands import CommandResult
from voiceops.records.events import CommandEvent, SessionEvent

pytestmark = [pytest.mark.moshi, needs_espeak]


@pytest.fixture
async def product(moshi_upstream: TinyMoshiServer, tmp_path: Path) -> AsyncIterator[Product]:
    async with running_product(moshi_upstream, tmp_path) as running:
        yield running


async def _talk(product: Product, pcm: Pcm, **overrides: object) -> SessionSummary:
    """One conversation that goes on until the proxy has reported one result (a loaded
    machine hears, runs and reports late), then two seconds more."""
    base = SessionOptions(
        url=product.proxy.ws,
        pcm=pcm,
        speed=2.0,
        tail=2.0,
        until_results=1,
        events=True,
        idle_timeout=60.0,
    )
    summary = await run_session(replace(base, **overrides))  # type: ignore[arg-type]
    assert summary.failure is None, f"{summary.failure}; heard: {_result_texts(summary)!r}"
    assert summary.close_code == 1000
    return summary


def _result_texts(summary: SessionSummary) -> str:
    return "".join(t.text for t in summary.texts)


def _commands(summary: SessionSummary, status: str) -> list[CommandResult]:
    """The command results with ``status`` among the events, read as the proxy's records."""
    commands = [
        r.event.result
        for e in summary.events
        if isinstance((r := e.record), SessionEvent) and isinstance(r.event, CommandEvent)
    ]
    return [c for c in commands if c.status == status]


async def _restart_nginx_then(product: Product, *answers: str) -> SessionSummary:
    """A destructive request and the trigger; each spoken answer is said when the proxy has
    asked for one and finished speaking (an answer said over its words could be their echo, and
    is not taken), however late a busy proxy asks."""
    request = concat(
        silence(0.5),
        # tiny.en hears espeak's "nginx" as "engine next" at 150 wpm; 130 wpm comes out right.
        say("could you restart the nginx service", speed=130),
        silence(1.0),
        say("execute plan"),
        silence(1.0),
    )
    replies = tuple(say(answer) for answer in answers)
    # The input no longer carries the answers' fixed pauses (26 s of audio), which used to
    # give a busy proxy its time before the 60 s wait began: the wait for each ask is longer.
    summary = await _talk(product, request, speed=1.5, replies=replies, result_timeout=90.0)
    # The replies waited for the proxy's word that it had finished, not for the patience.
    assert any(e.data.get("event") == "speaking" for e in summary.events)
    return summary


def _seconds(pcm: Pcm) -> float:
    return len(pcm) / SAMPLE_RATE


async def test_spoken_request_and_trigger_run_the_command_and_the_result_comes_back(
    product: Product,
) -> None:
    request = concat(silence(0.5), say("please check the disk space"), silence(1.0))
    trigger = concat(say("execute plan"), silence(0.3))
    pcm = concat(request, trigger, silence(1.0))
    summary = await _talk(product, pcm)
    text = _result_texts(summary)
    assert "df -h: Root filesystem" in text, (
        f"the df -h digest should be in the conversation: {text!r}"
    )
    executed = _commands(summary, "executed")
    assert [e.command for e in executed] == ["df -h"]
    runs = [r for r in product.audit_records() if isinstance(r, RunRecord)]
    assert runs and runs[0].argv == ("/usr/bin/df", "-h") and runs[0].exit_code == 0
    arrived = next(t.audio_time for t in summary.texts if "Root filesystem" in t.text)
    end_of_trigger = _seconds(request) + _seconds(trigger)
    # For the record (pytest -s): audio-clock delay from the end of the trigger to the result.
    print(f"trigger→result: {arrived - end_of_trigger:.2f} s of audio after 'execute plan'")


async def test_destructive_request_waits_for_a_spoken_confirm_that_names_it(
    product: Product,
) -> None:
    # "confirm" alone runs nothing (a sound-alike must not run a restart): the proxy says
    # what to say instead, and "confirm restart" runs it.
    summary = await _restart_nginx_then(product, "confirm", "confirm restart")
    asked = _commands(summary, "needs_confirmation")
    assert asked and asked[0].command.startswith("systemctl restart nginx")
    assert asked[0].say == "confirm restart"
    text = _result_texts(summary)
    assert "Say “confirm restart” or “cancel”" in text
    assert (
        "Not run: say “confirm restart” to run systemctl restart nginx --no-pager (r1.1)." in text
    )
    assert product.restarts() == ["restart nginx --no-pager"]
    assert "stand-in systemctl restart nginx" in text


async def test_spoken_cancel_drops_the_pending_command(product: Product) -> None:
    summary = await _restart_nginx_then(product, "cancel")
    assert _commands(summary, "needs_confirmation")
    assert product.restarts() == []
    assert any(isinstance(r, ConfirmationRecord) for r in product.audit_records()) or "ancel" in (
        _result_texts(summary)
    )


async def test_refused_request_reports_the_reason_and_runs_nothing(product: Product) -> None:
    pcm = concat(
        silence(0.5),
        say("which ports are listening"),
        silence(1.0),
        say("execute plan"),
        silence(1.0),
    )
    summary = await _talk(product, pcm)
    blocked = _commands(summary, "blocked")
    assert blocked and "not in the policy" in str(blocked[0].reason)
    assert "Refused" in _result_texts(summary)
    assert not [r for r in product.audit_records() if isinstance(r, RunRecord)]


async def test_control_frames_drive_the_same_flows(product: Product) -> None:
    # EXECUTE right after the last word: the proxy must finish hearing it before extracting.
    disk = concat(silence(0.3), say("please check the disk space"))
    summary = await _talk(product, disk, steps=(execute_step(),))
    assert "df -h: Root filesystem" in _result_texts(summary)

    restart = concat(
        silence(0.3), say("could you restart the nginx service", speed=130), silence(1.0)
    )
    summary = await _talk(product, restart, steps=(execute_step(),), confirm_when_asked=True)
    assert any(c.automatic for c in summary.controls_sent), "the client should have confirmed"
    assert product.restarts() == ["restart nginx --no-pager"]

    summary = await _talk(product, silence(0.5), steps=(execute_step("which ports are listening"),))
    assert _commands(summary, "blocked")
    assert len(product.restarts()) == 1


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    """The README's first command, minus the install step and the serving-forever part."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.demo",
            "--no-serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "df -h: Root filesystem" in done.stdout


def test_a_stop_during_the_demo_shuts_everything_down_in_order(tmp_path: Path) -> None:
    """SIGTERM (or Ctrl-C) mid-conversation: the demo says so, stops the proxy and the moshi
    server, and leaves no process behind."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "devtools.demo", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert demo.stdout is not None
    lines = []
    try:
        for line in demo.stdout:  # the demo ends its output; a hang ends at the test timeout
            lines.append(line)
            if "a spoken conversation" in line:
                demo.send_signal(signal.SIGTERM)
                break
        rest, _ = demo.communicate(timeout=120)
    finally:
        demo.kill()
    out = "".join(lines) + rest
    assert demo.returncode == 1, out[-2000:]
    assert "demo result:\033[0m stopped before the conversation ended" in out
    assert out.rstrip().endswith("stopped: proxy and moshi server are down")
    left = [c for c in cmdlines() if str(tmp_path).encode() in c]
    assert left == [], left  # the moshi server was started with weights under tmp_path
