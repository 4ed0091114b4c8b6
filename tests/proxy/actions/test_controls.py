"""Control-frame parsing: ``0x03`` frames become user actions or a readable refusal."""

from __future__ import annotations

import pytest

from proxy.actions.controls import Cancel, Confirm, Execute, InvalidControl, action_from_control
from proxy.relay.codec import Action, Control, parse


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"\x03\x10", Execute()),
        (b'\x03\x10{"request": "check disk space"}', Execute("check disk space")),
        (b"\x03\x10{}", Execute()),
        (b"\x03\x11", Confirm()),
        (b"\x03\x11r2.1", Confirm("r2.1")),
        (b"\x03\x12", Cancel()),
        (b"\x03\x12 r1.3 ", Cancel("r1.3")),
        (b"\x03\x00", None),
        (b"\x03\x01", None),
    ],
)
def test_control_frames_become_user_actions(frame: bytes, expected: object) -> None:
    message = parse(frame)
    assert isinstance(message, Control)
    assert action_from_control(message) == expected


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"check disk space", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'{"request": ""}', "non-empty string"),
        (b'{"request": 5}', "non-empty string"),
        (b'{"request": "df", "shell": true}', "unknown field(s): shell"),
        (b'{"request": "' + b"a" * 3000 + b'"}', "longer than"),
    ],
)
def test_malformed_execute_payload_gets_a_readable_reason(payload: bytes, says: str) -> None:
    result = action_from_control(Control(Action.EXECUTE, payload))
    assert isinstance(result, InvalidControl)
    assert says in result.reason


@pytest.mark.parametrize("payload", [b"two words", b"../../etc", b"\xff\xfe", b"x" * 100])
def test_malformed_pending_id_gets_a_readable_reason(payload: bytes) -> None:
    result = action_from_control(Control(Action.CONFIRM, payload))
    assert isinstance(result, InvalidControl)
    assert "CONFIRM" in result.reason


@pytest.mark.parametrize("payload", [b"[" * 100_000, b'{"request": ' + b"9" * 5000 + b"}"])
def test_execute_payloads_the_json_parser_chokes_on_are_invalid_not_a_crash(
    payload: bytes,
) -> None:
    action = action_from_control(Control(Action.EXECUTE, payload))
    assert isinstance(action, InvalidControl) and "JSON object" in action.reason
