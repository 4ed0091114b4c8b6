"""Sans-I/O codec for the PersonaPlex / moshi ``/api/chat`` messages.

Every WebSocket message is one kind byte followed by a payload.  :func:`parse` turns the bytes of
one message into a frozen event; :func:`encode` turns an event back into bytes.  Nothing here
awaits or touches a socket, so the relay, the tap and the tests share one definition of the wire.

Malformed input never raises anything but :class:`ProtocolError`, whose ``reason`` is meant for
a log line or a ``0x05`` error message.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from voiceops.errors import VoiceOpsError

#: Largest message the proxy accepts in either direction unless configured otherwise.
DEFAULT_MAX_MESSAGE_BYTES = 1 << 20


class Kind(enum.IntEnum):
    """The first byte of every message."""

    HANDSHAKE = 0x00
    AUDIO = 0x01
    TEXT = 0x02
    CONTROL = 0x03
    METADATA = 0x04
    ERROR = 0x05
    PING = 0x06


class Action(enum.IntEnum):
    """Action byte of a ``0x03`` control message.

    0–3 are the upstream protocol's own actions; 0x10–0x12 are our extension, consumed by the
    proxy and never forwarded upstream (README, "Protocol extension").
    """

    START = 0x00
    END_TURN = 0x01
    PAUSE = 0x02
    RESTART = 0x03
    EXECUTE = 0x10
    CONFIRM = 0x11
    CANCEL = 0x12

    @property
    def is_extension(self) -> bool:
        """True for the proxy's own actions (EXECUTE, CONFIRM, CANCEL)."""
        return self >= Action.EXECUTE


class ProtocolError(VoiceOpsError, ValueError):
    """A message that does not follow the protocol; ``reason`` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Handshake:
    """Server → client, once, when the model is ready.  PersonaPlex sends no payload."""

    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Audio:
    """One Ogg page holding Opus at 24 kHz mono, either direction."""

    page: bytes

    def __post_init__(self) -> None:
        if not self.page:
            raise ProtocolError("audio message without an Ogg page")


@dataclass(frozen=True, slots=True)
class Text:
    """A UTF-8 piece of the model's words (or a notice the proxy shows in the UI)."""

    text: str


@dataclass(frozen=True, slots=True)
class Control:
    """A control action, with an optional UTF-8 payload for the proxy's extension actions."""

    action: Action
    payload: bytes = b""

    def __post_init__(self) -> None:
        if self.payload and not self.action.is_extension:
            raise ProtocolError(f"control action {self.action.name} takes no payload")


@dataclass(frozen=True, slots=True)
class Metadata:
    """A JSON object (server info towards the UI, structured events for opted-in clients)."""

    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class Error:
    """A human-readable error text."""

    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Keepalive with no payload; the UI resets its 10 s idle timer on any message."""


Message = Handshake | Audio | Text | Control | Metadata | Error | Ping


def _utf8(payload: bytes, what: str) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} payload is not valid UTF-8 (byte {exc.start})") from None


def parse(data: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Message:
    """Parse the bytes of one WebSocket message.

    Raises :class:`ProtocolError` for an empty or oversize message, an unknown kind or a
    payload that does not fit its kind.
    """
    if not data:
        raise ProtocolError("empty message (no kind byte)")
    if len(data) > max_bytes:
        raise ProtocolError(f"message of {len(data)} bytes exceeds the limit of {max_bytes}")
    kind_byte, payload = data[0], bytes(data[1:])
    try:
        kind = Kind(kind_byte)
    except ValueError:
        raise ProtocolError(f"unknown message kind 0x{kind_byte:02x}") from None
    match kind:
        case Kind.HANDSHAKE:
            return Handshake(payload)
        case Kind.AUDIO:
            return Audio(payload)
        case Kind.TEXT:
            return Text(_utf8(payload, "text"))
        case Kind.CONTROL:
            return _parse_control(payload)
        case Kind.METADATA:
            return Metadata(_parse_json_object(payload))
        case Kind.ERROR:
            return Error(_utf8(payload, "error"))
        case Kind.PING:
            if payload:
                raise ProtocolError("ping message with a payload")
            return Ping()


def _parse_control(payload: bytes) -> Control:
    if not payload:
        raise ProtocolError("control message without an action byte")
    try:
        action = Action(payload[0])
    except ValueError:
        raise ProtocolError(f"unknown control action 0x{payload[0]:02x}") from None
    rest = payload[1:]
    if rest and action.is_extension:
        _utf8(rest, f"{action.name} control")
    return Control(action, rest)


def _parse_json_object(payload: bytes) -> dict[str, object]:
    try:
        value = json.loads(_utf8(payload, "metadata"))
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"metadata is not valid JSON: {exc.msg}") from None
    except (ValueError, RecursionError):  # 5000-digit numbers, [[[[… nested too deeply
        raise ProtocolError("metadata is not JSON this proxy accepts") from None
    if not isinstance(value, dict):
        raise ProtocolError("metadata must be a JSON object")
    return value


def encode(message: Message) -> bytes:
    """Serialise a message to the bytes of one WebSocket message."""
    match message:
        case Handshake(payload):
            return bytes([Kind.HANDSHAKE]) + payload
        case Audio(page):
            return bytes([Kind.AUDIO]) + page
        case Text(text):
            return bytes([Kind.TEXT]) + text.encode("utf-8")
        case Control(action, payload):
            return bytes([Kind.CONTROL, action]) + payload
        case Metadata(data):
            return bytes([Kind.METADATA]) + json.dumps(data, separators=(",", ":")).encode()
        case Error(text):
            return bytes([Kind.ERROR]) + text.encode("utf-8")
        case Ping():
            return bytes([Kind.PING])
