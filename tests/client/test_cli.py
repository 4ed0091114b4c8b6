"""Command-line parsing: what each flag puts into the session, and the usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from client.audio import write_wav
from client.cli import main, parse_invocation
from client.errors import MicrophoneUnavailableError
from client.mic import open_microphone
from client.options import build_url, execute_step, id_step
from proxy.relay.codec import Action

URL = ["--url", "ws://127.0.0.1:9/api/chat"]


def test_only_the_query_parameters_given_are_sent() -> None:
    inv = parse_invocation(
        [*URL, "--text-prompt", "You are ops.", "--text-topk", "25", "--audio-temperature", "0.8"],
        environ={},
    )
    assert dict(inv.options.query) == {
        "text_prompt": "You are ops.",
        "text_topk": "25",
        "audio_temperature": "0.8",
    }


def test_every_ui_parameter_has_a_flag() -> None:
    flags = {
        "--text-temperature": "0.7",
        "--text-topk": "25",
        "--audio-temperature": "0.8",
        "--audio-topk": "250",
        "--pad-mult": "0",
        "--text-seed": "1",
        "--audio-seed": "2",
        "--repetition-penalty-context": "64",
        "--repetition-penalty": "1.0",
        "--text-prompt": "p",
        "--voice-prompt": "NATF0.pt",
    }
    argv = [*URL, *[x for pair in flags.items() for x in pair], "--query", "worker_auth_id=w1"]
    query = dict(parse_invocation(argv, environ={}).options.query)
    assert query == {f[2:].replace("-", "_"): v for f, v in flags.items()} | {
        "worker_auth_id": "w1"
    }


def test_a_non_number_for_a_numeric_parameter_is_rejected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_invocation([*URL, "--text-topk", "many"], environ={})
    assert exited.value.code == 2
    assert "--text-topk" in capsys.readouterr().err


def test_control_flags_keep_their_order_times_and_payloads() -> None:
    inv = parse_invocation(
        [
            *URL,
            "--execute",
            "--request",
            "restart nginx",
            "--at",
            "4.5",
            "--confirm",
            "r-2",
            "--cancel",
            "--at",
            "9",
            "--execute",
        ],
        environ={},
    )
    assert inv.options.steps == (
        execute_step("restart nginx"),
        id_step(Action.CONFIRM, "r-2", at=4.5),
        id_step(Action.CANCEL),
        execute_step(at=9.0),
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--request", "x"], "--request TEXT must follow the --execute"),
        (["--confirm", "--request", "x"], "--request TEXT must follow the --execute"),
        (["--execute", "--at", "3"], "--at must come before"),
        (["--at", "1", "--at", "2", "--execute"], "--at given twice"),
        (["--at", "-1", "--execute"], "must not be negative"),
        (["--speed", "0"], "must be positive"),
        (["--duration", "3"], "--duration only applies to --mic"),
        (["--wav", "a.wav", "--mic"], "not allowed with argument"),
        (["--until-results", "-1"], "must not be negative"),
        (["--until-results", "1", "--result-timeout", "0"], "must be positive"),
    ],
)
def test_usage_errors_exit_2_with_a_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_invocation([*URL, *argv], environ={})
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_token_comes_from_the_flag_or_the_environment() -> None:
    assert parse_invocation(URL, environ={"VOICEOPS_TOKEN": "env"}).options.token == "env"
    flagged = parse_invocation([*URL, "--token", "flag"], environ={"VOICEOPS_TOKEN": "env"})
    assert flagged.options.token == "flag"
    assert parse_invocation(URL, environ={}).options.token is None
    assert "flag" not in repr(flagged.options)


def test_events_adds_the_query_parameter() -> None:
    options = parse_invocation([*URL, "--events"], environ={}).options
    assert build_url(options.url, options.query, events=options.events).endswith("?events=1")


def test_until_results_waits_for_that_many_results_within_the_timeout() -> None:
    argv = [*URL, "--until-results", "2", "--result-timeout", "90", "--tail", "1"]
    options = parse_invocation(argv, environ={}).options
    rule = options.tail_rule
    assert (rule.results, rule.timeout, rule.tail) == (2, 90.0, 1.0)
    # The results are counted from the events, which are asked for but not shown.
    assert options.asks_events and not options.events
    assert parse_invocation(URL, environ={}).options.tail_rule.results == 0


def test_an_unreadable_wav_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    assert main([*URL, "--wav", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert "not a PCM WAV file" in captured.err
    assert json.loads(captured.out)["exit_code"] == 2
    assert main([*URL, "--wav", str(tmp_path / "missing.wav")]) == 2


def test_replies_are_read_in_order_and_an_unreadable_one_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, bad = tmp_path / "confirm.wav", tmp_path / "restart.wav", tmp_path / "x.wav"
    for path in (first, second):
        write_wav(path, np.zeros(2400, np.float32))
    bad.write_text("not audio")
    argv = [*URL, "--reply", str(first), "--reply", str(second)]
    invocation = parse_invocation(argv, environ={})
    assert invocation.replies == (first, second)
    assert main([*URL, "--reply", str(first), "--reply", str(bad)]) == 2
    assert f"cannot read {bad}" in capsys.readouterr().err
    # Both readable: the client goes on to connect (nothing listens on port 9).
    assert main(argv) == 3


def test_mic_without_portaudio_or_device_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        open_microphone()
    except MicrophoneUnavailableError:
        pass
    else:
        pytest.skip("this machine has a microphone")
    # No connection is attempted (port 9 is closed): the microphone is checked first.
    assert main([*URL, "--mic"]) == 2
    err = capsys.readouterr().err
    assert "--mic" in err
    assert "sounddevice" in err or "PortAudio" in err or "input device" in err
