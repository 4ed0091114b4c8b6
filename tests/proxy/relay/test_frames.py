"""The splice's frame scanner: which frames it forwards; every other byte passes, in order."""

from __future__ import annotations

import copy
import os

import pytest

from proxy.relay.frames import FrameScanner, Passed, Spliceable, mask, rekeyed, server_frame

AUDIO = 0x01
MAX = 1024


def frame(payload: bytes, *, opcode: int = 2, fin: bool = True, key: bytes | None = None) -> bytes:
    """One frame as a peer writes it (masked when ``key`` is given)."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    mask_bit = 0x80 if key is not None else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 1 << 16:
        head = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    if key is None:
        return head + payload
    return head + key + mask(payload, key)


def run(scanner: FrameScanner, *chunks: bytes) -> list[Spliceable | Passed]:
    events: list[Spliceable | Passed] = []
    for chunk in chunks:
        events += scanner.feed(chunk)
    return events


def stream(events: list[Spliceable | Passed]) -> bytes:
    """Every byte the scanner gave out, spliced or passed, in order."""
    return b"".join(e.frame if isinstance(e, Spliceable) else e.data for e in events)


def passed(events: list[Spliceable | Passed]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Passed))


def spliced(events: list[Spliceable | Passed]) -> list[bytes]:
    return [e.payload() for e in events if isinstance(e, Spliceable)]


def server() -> FrameScanner:
    return FrameScanner(masked=False, kind=AUDIO, max_payload=MAX)


def client() -> FrameScanner:
    return FrameScanner(masked=True, kind=AUDIO, max_payload=MAX)


def test_audio_frames_are_spliced_and_other_kinds_pass_to_the_library() -> None:
    text, page = frame(b"\x02hello"), frame(b"\x01" + bytes(300))
    events = run(server(), text + page + page)
    assert spliced(events) == [b"\x01" + bytes(300)] * 2
    assert passed(events) == text
    assert [e.messages for e in events if isinstance(e, Passed)] == [1]


def test_masked_browser_frames_are_unmasked_for_the_tap_and_remasked_under_a_new_key() -> None:
    page = b"\x01" + os.urandom(200)
    (event,) = run(client(), frame(page, key=b"\x11\x22\x33\x44"))
    assert isinstance(event, Spliceable) and event.payload() == page
    # The new key is the old one XOR a salt: the same page under it.
    salted = rekeyed(event.frame, event.start, b"\xaa\xbb\xcc\xdd")
    assert salted == frame(page, key=b"\xbb\x99\xff\x99")
    # An unmasked frame from a browser is not spliced: the library judges it.
    assert spliced(run(client(), frame(page))) == []


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 9, 10, 11, 150])
def test_a_frame_split_anywhere_is_reassembled_before_it_is_spliced(cut: int) -> None:
    page = b"\x01" + os.urandom(300)  # a 2-byte length: the header is 4 bytes, 8 when masked
    data = frame(page, key=b"\x01\x02\x03\x04") * 2
    scanner = client()
    first = scanner.feed(data[:cut])
    assert first == []  # nothing of an audio frame goes anywhere until all of it is here
    events = first + scanner.feed(data[cut:])
    assert spliced(events) == [page, page]


def test_every_byte_comes_out_once_in_order_whatever_the_chunking() -> None:
    parts = [
        frame(b"\x00"),  # handshake
        frame(b"\x01" + bytes(100)),
        frame(b"ping", opcode=9),
        frame(b"\x02some words"),
        frame(b"\x01" + bytes(2000)),  # oversize: passed, never held
        frame(b"\x01" + bytes(500)),
        frame(b"", opcode=2),  # empty binary message
    ]
    data = b"".join(parts)
    for size in (1, 3, 7, 64, 1000, len(data)):
        scanner = server()
        events = run(scanner, *(data[i : i + size] for i in range(0, len(data), size)))
        assert stream(events) == data
        assert len(spliced(events)) == 2
        assert sum(e.messages for e in events if isinstance(e, Passed)) == 4


def test_control_frames_between_fragments_pass_and_no_fragment_is_spliced() -> None:
    data = (
        frame(b"\x01abc", fin=False)  # a fragmented binary message starts
        + frame(b"", opcode=9)  # a ping between its fragments
        + frame(b"\x01def", opcode=2)  # not allowed mid-message: the library refuses it
        + frame(b"ghi", opcode=0)  # the final continuation
        + frame(b"\x01" + bytes(10))  # a whole audio frame again
    )
    events = run(server(), data)
    assert spliced(events) == [b"\x01" + bytes(10)]
    assert stream(events) == data


def test_an_oversize_frame_is_never_held_nor_spliced_the_library_refuses_it() -> None:
    big = frame(b"\x01" + bytes(MAX))  # payload MAX + 1
    scanner = server()
    events = scanner.feed(big[:600])
    assert passed(events) == big[:600]  # handed on at once, not buffered here
    events += scanner.feed(big[600:] + frame(b"\x01x"))
    assert stream(events) == big + frame(b"\x01x")
    assert spliced(events) == [b"\x01x"]


def test_nothing_after_a_close_frame_is_spliced() -> None:
    data = frame(b"\x03\xe8", opcode=8) + frame(b"\x01" + bytes(10))
    events = run(server(), data)
    assert spliced(events) == []
    assert stream(events) == data


def test_frames_with_extension_bits_pass() -> None:
    compressed = bytes((0xC2, 3)) + b"\x01ab"  # RSV1: a permessage-deflate frame
    assert spliced(run(server(), compressed)) == []


def test_bytes_the_library_already_holds_are_skipped_and_counted() -> None:
    page = frame(b"\x01" + bytes(300))
    tail = frame(b"\x00") + page + page[:100]  # the last frame is cut off
    scanner = server()
    assert scanner.skip(tail) == 2  # handshake and one page; the cut page is still coming
    events = scanner.feed(page[100:] + page)
    assert passed(events) == page[100:]  # the rest of the cut frame, for the library
    assert spliced(events) == [b"\x01" + bytes(300)]
    assert sum(e.messages for e in events if isinstance(e, Passed)) == 1


def test_a_header_cut_short_in_skipped_bytes_stops_splicing_for_good() -> None:
    page = frame(b"\x01" + bytes(300))
    scanner = server()
    assert scanner.skip(page[:1]) == 0
    events = scanner.feed(page[1:] + page)
    assert spliced(events) == []
    assert stream(events) == page[1:] + page


def test_server_frame_lengths() -> None:
    for n in (1, 125, 126, 65535, 65536):
        payload = b"\x01" + bytes(n - 1)
        assert server_frame(payload) == frame(payload)


def test_a_lone_audio_frame_takes_the_short_way_and_anything_else_the_general_one() -> None:
    """``single`` vouches for a chunk only when ``feed`` would give that one frame alone."""
    key = b"\x05\x06\x07\x08"
    page = b"\x01" + os.urandom(300)
    chunks = {
        "page": frame(page, key=key),
        "short page": frame(b"\x01\x02", key=key),
        "server page": frame(page),
        "two pages": frame(page, key=key) * 2,
        "half a page": frame(page, key=key)[:100],
        "text": frame(b"\x02hi", key=key),
        "empty": frame(b"", key=key),
        "fragment": frame(page, fin=False, key=key),
        "ping": frame(b"\x01", opcode=9, key=key),
        "oversize": frame(b"\x01" + bytes(MAX), key=key),
        "huge": frame(b"\x01" + bytes(1 << 16), key=key),
        "extension bit": bytes((0xC2,)) + frame(page, key=key)[1:],
    }
    states = {"fresh": b"", "in a fragment": chunks["fragment"], "closed": frame(b"", opcode=8)}
    states |= {"holding half a page": chunks["half a page"], "passing": chunks["oversize"][:50]}
    vouched = set()
    for state, before in states.items():
        for name, chunk in chunks.items():
            scanner = client()
            scanner.feed(before)
            start = scanner.single(chunk)
            if start:
                vouched.add((state, name))
                as_before = copy.deepcopy(scanner)
                assert scanner.feed(chunk) == [Spliceable(chunk, start, key)], (state, name)
                assert vars(scanner) == vars(as_before)
    assert vouched == {("fresh", "page"), ("fresh", "short page")}
    assert server().single(frame(page)) == 4
