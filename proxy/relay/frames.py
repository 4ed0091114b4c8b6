"""Sans-I/O WebSocket frame scanner for the relay's splice (RFC 6455, section 5.2).

The relay forwards audio pages without decoding and re-encoding them as messages: it reads only
frame headers, picks out the frames it may forward as they are (:class:`Spliceable`) and hands
every other byte (:class:`Passed`) to the WebSocket library, which keeps every rule it enforces
today: control frames, close codes, fragmented and text messages, size limits.

A frame is spliceable only when it is a whole message the relay would forward untouched: one
unfragmented binary frame (no extension bits), masked exactly when the direction requires it, at
most ``max_payload`` bytes, outside a fragmented message and before any close frame, whose first
payload byte is the audio kind.  Such a frame is held until all of it has arrived (so the proxy's
own frames can only go out between frames); everything else passes on as it arrives, so an
oversize frame is never buffered here and the library refuses it as before.
"""

from __future__ import annotations

from typing import NamedTuple

# aiohttp's own masking (C; what its writer uses), 4× faster than XOR on Python ints here.
from aiohttp._websocket.helpers import websocket_mask as _xor

_FIN_BINARY = 0x82  # FIN set, no extension bits, opcode 2 (binary)
_MASKED = 0x80
_FIN = 0x80
_OPCODE = 0x0F
_FIRST_CONTROL_OPCODE = 0x8
_CLOSE = 0x8
_MASK_LEN = 4


# Events are named tuples, not frozen dataclasses: one is made per audio page on the hot path,
# and a tuple is several times cheaper to create.
class Spliceable(NamedTuple):
    """One whole frame that may be forwarded as it is: ``frame[start:]`` is its payload."""

    frame: bytes
    start: int
    #: The 4-byte masking key (client frames), empty for an unmasked (server) frame.
    key: bytes

    def payload(self) -> bytes:
        """The message as the sender wrote it (unmasked): kind byte first."""
        return unmasked(self.frame, self.start) if self.key else self.frame[self.start :]


class Passed(NamedTuple):
    """Bytes for the WebSocket library, in order (possibly part of a frame)."""

    data: bytes
    #: Data messages (text, binary, a fragmented message's last frame) these bytes complete.
    messages: int


class FrameScanner:
    """Splits one direction's byte stream into spliceable frames and bytes to pass on.

    ``masked``: frames in this direction are masked (browser → proxy); ``kind``: the first
    payload byte of a spliceable message; ``max_payload``: the largest payload spliced (and so
    the most this scanner ever holds, plus a header).
    """

    def __init__(self, *, masked: bool, kind: int, max_payload: int) -> None:
        self._mask_bit = _MASKED if masked else 0
        self._kind = kind
        self._max = max_payload
        self._held = b""  # an incomplete header or spliceable frame
        self._passing = 0  # bytes of the current passed frame still to come
        self._passing_ends_message = False
        self._fragmented = False  # a fragmented data message is open
        self._closed = False  # a close frame went by: nothing after it is spliced
        self._lost = False  # lost track of frame boundaries (see skip): pass everything

    def skip(self, data: bytes) -> int:
        """Scan bytes the consumer already has, to know where frames start; how many data
        messages they complete.  A frame cut off at the end passes the rest of itself on."""
        messages = 0
        for event in self.feed(data):
            messages += 1 if isinstance(event, Spliceable) else event.messages
        held, self._held = self._held, b""
        if held:
            header = self._header(held, 0, len(held))
            if header is None:
                self._lost = True  # a header cut short: its length is unknown
            else:
                self._pass_frame(held[0], header[0] + header[1] - len(held))
        return messages

    def single(self, data: bytes) -> int:
        """Where the payload starts if ``data`` is exactly one spliceable frame, else 0.

        The hot path: a page usually arrives alone in one read.  Then this check alone stands in
        for :meth:`feed` (which would return just that frame and leave the state unchanged), and
        no event objects are made.  0: call :meth:`feed` as usual."""
        if self._held or self._passing or self._fragmented or self._closed or self._lost:
            return 0
        end = len(data)
        if end < 3 or data[0] != _FIN_BINARY:
            return 0
        second = data[1]
        if second & _MASKED != self._mask_bit:
            return 0
        length = second & 0x7F
        start = 2
        if length == 126:
            length = data[2] << 8 | data[3]
            start = 4
        elif length == 127:
            return 0  # more than 64 KiB: not an audio page; the general path decides
        if self._mask_bit:
            start += _MASK_LEN
        if start + length != end or not 0 < length <= self._max:
            return 0
        kind = data[start] ^ data[start - _MASK_LEN] if self._mask_bit else data[start]
        return start if kind == self._kind else 0

    def feed(self, data: bytes) -> list[Spliceable | Passed]:
        """The next bytes of the stream → what to splice and what to pass, in stream order."""
        buf = self._held + data if self._held else data
        self._held = b""
        out: list[Spliceable | Passed] = []
        end = len(buf)
        pos = passed_from = messages = 0
        while pos < end:
            if self._passing:
                take = min(self._passing, end - pos)
                self._passing -= take
                pos += take
                if not self._passing and self._passing_ends_message:
                    messages += 1
                continue
            if self._closed or self._lost:
                pos = end
                break
            header = self._header(buf, pos, end)
            if header is None:
                break
            start, length = header
            first = buf[pos]
            if self._spliceable(first, buf[pos + 1], length):
                if start == end:
                    break  # the kind byte has not arrived yet
                kind = buf[start] ^ (buf[start - _MASK_LEN] if self._mask_bit else 0)
                if kind == self._kind:
                    if start + length > end:
                        break  # the rest of the frame has not arrived yet
                    if pos > passed_from:
                        out.append(Passed(buf[passed_from:pos], messages))
                        messages = 0
                    frame = buf[pos : start + length]
                    key = buf[start - _MASK_LEN : start] if self._mask_bit else b""
                    out.append(Spliceable(frame, start - pos, key))
                    pos = passed_from = start + length
                    continue
            self._pass_frame(first, start - pos + length)
        if pos > passed_from:
            out.append(Passed(buf[passed_from:pos], messages))
        if pos < end:
            self._held = buf[pos:]
        return out

    def _header(self, buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
        """(payload start, payload length) of the frame at ``pos``, None if incomplete."""
        if end - pos < 2:
            return None
        second = buf[pos + 1]
        length = second & 0x7F
        start = pos + 2
        if length == 126:
            start += 2
            if start > end:
                return None
            length = int.from_bytes(buf[pos + 2 : start], "big")
        elif length == 127:
            start += 8
            if start > end:
                return None
            length = int.from_bytes(buf[pos + 2 : start], "big")
        if second & _MASKED:
            start += _MASK_LEN
        return (start, length) if start <= end else None

    def _spliceable(self, first: int, second: int, length: int) -> bool:
        return (
            first == _FIN_BINARY
            and second & _MASKED == self._mask_bit
            and 0 < length <= self._max
            and not self._fragmented
        )

    def _pass_frame(self, first: int, size: int) -> None:
        """Pass the frame starting with byte ``first``, ``size`` bytes with its header."""
        opcode = first & _OPCODE
        ends = False
        if opcode < _FIRST_CONTROL_OPCODE:
            ends = bool(first & _FIN)
            self._fragmented = not ends
        elif opcode == _CLOSE:
            self._closed = True
        self._passing = size
        self._passing_ends_message = ends


def mask(data: bytes, key: bytes) -> bytes:
    """``data`` XOR the repeated 4-byte ``key`` (RFC 6455 masking; its own inverse)."""
    buf = bytearray(data)
    _xor(key, buf)
    return bytes(buf)


def unmasked(frame: bytes, start: int) -> bytes:
    """The payload of a masked frame (from ``start``), under the key just before it."""
    return mask(frame[start:], frame[start - _MASK_LEN : start])


def server_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented binary frame (server → client) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        head = bytes((_FIN_BINARY, n))
    elif n < 1 << 16:
        head = bytes((_FIN_BINARY, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((_FIN_BINARY, 127)) + n.to_bytes(8, "big")
    return head + payload


def rekeyed(frame: bytes, start: int, salt: bytes) -> bytes:
    """A masked frame (payload from ``start``) re-masked under its key XOR ``salt``, in one pass.

    The key sits right before the payload, so XOR-ing both with the repeated 4-byte salt turns
    the key into ``key ^ salt`` and the payload into ``payload ^ key ^ salt``: the same payload
    under the new key.  A fresh random salt makes the new key unpredictable whatever key the
    client chose (RFC 6455, section 5.3), without unmasking the payload."""
    tail = bytearray(frame[start - _MASK_LEN :])
    _xor(salt, tail)
    return frame[: start - _MASK_LEN] + tail
