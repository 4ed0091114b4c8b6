"""Ogg pages: parse and rebuild byte for byte, checksums, Opus packet lengths."""

from __future__ import annotations

import numpy as np
import pytest
import sphn

from proxy.speak import ogg


def sphn_stream(seconds: float) -> list[bytes]:
    writer = sphn.OpusStreamWriter(24_000)
    pcm = (0.2 * np.sin(np.arange(round(seconds * 24_000)) / 7)).astype(np.float32)
    return [writer.append_pcm(pcm[i : i + 1920]) for i in range(0, pcm.size, 1920)]


def test_sphn_pages_rebuild_to_the_same_bytes() -> None:
    for message in sphn_stream(0.8):
        assert b"".join(ogg.build(page) for page in ogg.parse(message)) == message


def test_first_message_has_the_header_pages_then_40_ms_packets() -> None:
    first = ogg.parse(sphn_stream(0.08)[0])
    assert [p.is_header for p in first] == [True, True, False, False]
    assert [ogg.samples(packet) for p in first[2:] for packet in p.packets] == [960, 960]


def test_checksum_is_the_ogg_crc_over_the_page_with_a_zeroed_field() -> None:
    page = ogg.build(ogg.parse(sphn_stream(0.16)[1])[0])
    zeroed = page[:22] + bytes(4) + page[26:]
    assert ogg.crc(zeroed) == int.from_bytes(page[22:26], "little")
    changed = zeroed[:-1] + bytes([zeroed[-1] ^ 1])
    assert ogg.crc(changed) != ogg.crc(zeroed)


@pytest.mark.parametrize("data", [b"OggS", b"NotS" + bytes(30), sphn_stream(0.08)[0][:-5]])
def test_broken_pages_are_refused(data: bytes) -> None:
    with pytest.raises(ogg.OggError):
        ogg.parse(data)


def test_packet_lengths_from_the_toc_byte() -> None:
    assert ogg.samples(bytes([0xFC])) == 480  # CELT FB 20 ms, one frame
    assert ogg.samples(bytes([0xFD])) == 960  # two frames
    assert ogg.samples(bytes([0xFF, 0x03])) == 1440  # code 3: three frames
    assert ogg.samples(bytes([0x10])) == 960  # SILK NB 40 ms
    assert ogg.samples(b"") == 0
