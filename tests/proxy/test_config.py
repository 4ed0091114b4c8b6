"""Speech flags: what an operator types reaches the recognisers, and nonsense is refused."""

from __future__ import annotations

import pytest

from proxy.config import parse_config
from proxy.listen.speech.settings import DEFAULT_SETTINGS

#: Beyond loopback the proxy needs a login secret; these tests are about speech flags only.
LOOPBACK = ["--listen", "127.0.0.1"]


def test_whisper_window_defaults_to_the_measured_setting() -> None:
    assert parse_config(LOOPBACK).whisper_window == DEFAULT_SETTINGS.whisper_window_s


def test_whisper_window_zero_means_whisper_full_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEOPS_WHISPER_WINDOW", "0")
    assert parse_config(LOOPBACK).whisper_window == 0.0


def test_whisper_window_beyond_whisper_is_refused_with_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_config([*LOOPBACK, "--whisper-window", "45"])
    assert stopped.value.code == 2
    assert "--whisper-window must be 0" in capsys.readouterr().err


def test_vad_defaults_to_the_measured_choice() -> None:
    assert parse_config(LOOPBACK).vad == DEFAULT_SETTINGS.vad


def test_vad_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEOPS_VAD", "silero")
    assert parse_config(LOOPBACK).vad == "silero"
    assert parse_config([*LOOPBACK, "--vad", "energy"]).vad == "energy"


def test_an_unknown_vad_is_refused_with_the_choices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOICEOPS_VAD", "webrtc")
    with pytest.raises(SystemExit) as stopped:
        parse_config(LOOPBACK)
    assert stopped.value.code == 2
    assert "--vad 'webrtc' is not one of energy, silero" in capsys.readouterr().err
