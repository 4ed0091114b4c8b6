"""Client pages to 16 kHz PCM: length, audio clock, and surviving garbage."""

from __future__ import annotations

import numpy as np
import pytest

from client.audio import encode_pages
from proxy.listen.speech.audio import BadAudioError, PageDecoder
from tests.voices import needs_espeak, say


@needs_espeak
def test_pages_become_16k_pcm_and_the_clock_counts_samples() -> None:
    speech = say("hello there")
    decoder = PageDecoder()
    out = np.concatenate([decoder.push(p) for p in encode_pages(speech)] + [decoder.finish()])
    pages = len(encode_pages(speech))
    assert decoder.seconds == pytest.approx(pages * 0.08)
    assert out.size == pytest.approx(pages * 0.08 * 16_000, abs=40)
    assert float(np.abs(out).max()) > 0.05  # speech came through, not silence


@needs_espeak
@pytest.mark.parametrize("garbage", [b"not ogg at all", b"OggS" + bytes(60), bytes(range(256))])
def test_garbage_is_refused_and_decoding_goes_on(garbage: bytes) -> None:
    pages = encode_pages(say("one two three four"))
    decoder = PageDecoder()
    decoded = sum(decoder.push(p).size for p in pages[:5])
    with pytest.raises(BadAudioError):
        decoder.push(garbage)
        decoder.push(pages[5])  # garbage that looked like a page start breaks the next one
    after = sum(decoder.push(p).size for p in pages[6:])
    assert decoded > 0
    assert after >= (len(pages) - 7) * 1280


@needs_espeak
def test_dropped_pages_move_the_clock_on_by_the_length_of_a_page() -> None:
    decoder = PageDecoder()
    assert decoder.skip(3) == pytest.approx(0.12)  # nothing heard yet: the web UI's 40 ms pages
    for page in encode_pages(say("hello")):
        decoder.push(page)
    heard = decoder.seconds
    assert decoder.skip(25) == pytest.approx(2.0)  # this client's pages hold 80 ms
    assert decoder.seconds == pytest.approx(heard + 2.0)
