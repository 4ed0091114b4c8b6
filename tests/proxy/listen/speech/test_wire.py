"""The speech worker's framing: what the proxy writes with ``os.write`` is what the worker's
``multiprocessing`` connection reads back, message for message."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from proxy.listen.speech.wire import (
    ATOMIC_BYTES,
    Gap,
    Op,
    Opening,
    Request,
    TranscriptBounds,
    frame,
)

REQUESTS = [
    Request(Op.OPEN, 0, Opening("s-1", TranscriptBounds(10, 2000, 500))),
    Request(Op.CLIENT, 7, b"\x01OggS" + bytes(100)),
    Request(Op.SERVER, 7, b"\x02 hello"),
    Request(Op.SPEAKING, 7, 1.5),
    Request(Op.GAP, 7, Gap(25, 12)),
    Request(Op.SETTLE, 7),
    Request(Op.CLOSE, 7),
    Request(Op.SHUTDOWN, -1),
]


def test_frames_written_by_hand_are_read_back_by_a_multiprocessing_connection() -> None:
    reader, writer = multiprocessing.get_context("spawn").Pipe(duplex=False)
    try:
        for request in REQUESTS:
            data = frame(request)
            assert len(data) <= ATOMIC_BYTES
            assert os.write(writer.fileno(), data) == len(data)
        received = [reader.recv() for _ in REQUESTS]
    finally:
        reader.close()
        writer.close()
    assert received == REQUESTS
    assert [type(r.op) for r in received] == [Op] * len(REQUESTS)


@pytest.mark.parametrize("request_", REQUESTS)
def test_a_frame_is_its_length_then_the_body(request_: Request) -> None:
    data = frame(request_)
    assert int.from_bytes(data[:4], "big", signed=True) == len(data) - 4
