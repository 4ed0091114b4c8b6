"""The sans-I/O codec: every kind round-trips; malformed input is only ever a ProtocolError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.relay.codec import (
    Action,
    Audio,
    Control,
    Error,
    Handshake,
    Message,
    Metadata,
    Ping,
    ProtocolError,
    Text,
    encode,
    parse,
)


@pytest.mark.parametrize(
    "message",
    [
        Handshake(),
        Handshake(b"\x00\x01"),
        Audio(b"OggS\x00\x02"),
        Text(" héllo ▁"),
        Control(Action.START),
        Control(Action.EXECUTE, b'{"request": "df -h"}'),
        Control(Action.CONFIRM, b"req-1"),
        Metadata({"text_temperature": 0.7, "nested": {"a": [1, 2]}}),
        Error("upstream unreachable"),
        Ping(),
    ],
)
def test_every_kind_round_trips(message: Message) -> None:
    assert parse(encode(message)) == message


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty message"),
        (b"\x07", "unknown message kind 0x07"),
        (b"\xff\x00", "unknown message kind 0xff"),
        (b"\x01", "audio message without an Ogg page"),
        (b"\x02\xff\xfe", "not valid UTF-8"),
        (b"\x03", "without an action byte"),
        (b"\x03\x09", "unknown control action 0x09"),
        (b"\x03\x00extra", "takes no payload"),
        (b"\x03\x10\xff", "not valid UTF-8"),
        (b"\x04{not json", "not valid JSON"),
        (b"\x04[1, 2]", "must be a JSON object"),
        (b"\x06x", "ping message with a payload"),
        (b"\x04" + b"[" * 100_000, "not JSON this proxy accepts"),  # found by fuzz_codec
        (b'\x04{"a": ' + b"9" * 5000 + b"}", "not JSON this proxy accepts"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(data)
    assert reason in info.value.reason


def test_oversize_message_is_refused() -> None:
    with pytest.raises(ProtocolError, match="exceeds the limit of 16"):
        parse(b"\x01" + b"x" * 16, max_bytes=16)


def test_extension_actions_are_marked() -> None:
    assert {a for a in Action if a.is_extension} == {Action.EXECUTE, Action.CONFIRM, Action.CANCEL}


@given(st.binary(max_size=64))
def test_parse_raises_nothing_but_protocol_error(data: bytes) -> None:
    try:
        message = parse(data)
    except ProtocolError:
        return
    assert encode(message)[0] == data[0]
