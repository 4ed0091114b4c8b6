"""Fuzz the frame parser: any bytes either parse or raise ProtocolError, and what parses
re-encodes to something that parses the same.  ``PYTHONPATH=. python bench/fuzz_codec.py``."""

from __future__ import annotations

import sys

from bench.fuzzing import Mutator, main
from proxy.relay.codec import ProtocolError, encode, parse

SEEDS = [
    b"\x00", b"\x01OggS\x00\x02", b"\x02hello", b"\x03\x00", b"\x03\x01",
    b'\x03\x10{"request": "check disk space"}', b"\x03\x11", b'\x04{"a": 1}', b"\x05oops",
    b"\x06", b"\x07", b"",
]  # fmt: skip


def target(m: Mutator) -> str:
    data = m.bytes()
    try:
        message = parse(data, 4096)
    except ProtocolError:
        return "refused"
    again = parse(encode(message), 1 << 20)
    assert again == message, f"round trip changed {message!r} into {again!r}"
    return type(message).__name__


if __name__ == "__main__":
    sys.exit(main("codec", target, SEEDS))
