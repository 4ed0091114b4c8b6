"""Fuzz control frames end to end: bytes → frame → the user action the flow would get (or a
readable refusal).  ``PYTHONPATH=. python bench/fuzz_controls.py``."""

from __future__ import annotations

import sys

from bench.fuzzing import Mutator, main
from proxy.actions.controls import InvalidControl, action_from_control
from proxy.relay.codec import Control, ProtocolError, parse

SEEDS = [
    b'\x03\x10{"request": "check disk space"}', b"\x03\x10", b'\x03\x11{"id": "r1.1"}',
    b"\x03\x11", b'\x03\x12{"id": "r12.3"}', b"\x03\x12", b'\x03\x10{"request": ""}',
    b'\x03\x10{"request": "restart nginx", "x": 1}', b"\x03\x00",
]  # fmt: skip


def target(m: Mutator) -> str:
    try:
        message = parse(m.bytes(), 4096)
    except ProtocolError:
        return "frame refused"
    if not isinstance(message, Control):
        return "not a control"
    action = action_from_control(message)
    if isinstance(action, InvalidControl):
        assert action.reason, "an invalid control must say why"
        return "invalid control"
    return type(action).__name__ if action is not None else "moshi control"


if __name__ == "__main__":
    sys.exit(main("controls", target, SEEDS))
