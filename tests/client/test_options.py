"""Session options: the URL that is opened and the control steps that can be described."""

from __future__ import annotations

import pytest

from client.options import (
    ControlStep,
    OptionsError,
    SessionOptions,
    build_url,
    execute_step,
    id_step,
    redact_url,
)
from proxy.relay.codec import Action, encode


def test_query_is_merged_into_the_url_and_given_values_win() -> None:
    url = build_url(
        "ws://h:8080/api/chat?text_prompt=old&x=1", {"text_prompt": "be brief"}, events=True
    )
    assert url == "ws://h:8080/api/chat?x=1&text_prompt=be+brief&events=1"


def test_a_url_without_path_gets_one() -> None:
    assert build_url("wss://h", {}) == "wss://h/"


@pytest.mark.parametrize("url", ["http://h/api/chat", "ftp://h", "ws://", "ws://h:0x1/api"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(OptionsError):
        SessionOptions(url=url)


def test_credentials_are_not_printed() -> None:
    assert redact_url("ws://user:pw@h:1/api/chat?a=1") == "ws://h:1/api/chat?a=1"


def test_steps_build_the_extension_frames() -> None:
    assert encode(execute_step("uptime").message) == b'\x03\x10{"request": "uptime"}'
    assert encode(execute_step().message) == b"\x03\x10"
    assert encode(id_step(Action.CONFIRM, "r-1").message) == b"\x03\x11r-1"
    assert encode(id_step(Action.CANCEL).message) == b"\x03\x12"


def test_only_extension_actions_with_sensible_times_are_steps() -> None:
    with pytest.raises(OptionsError):
        ControlStep(Action.PAUSE)
    with pytest.raises(OptionsError):
        id_step(Action.EXECUTE, "x")
    with pytest.raises(OptionsError):
        execute_step(at=-0.1)
    with pytest.raises(OptionsError):
        SessionOptions(url="ws://h/api/chat", speed=0)
