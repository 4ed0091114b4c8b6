"""The reply mixer: same pages, same timing, our speech audible, the model ducked under it."""

from __future__ import annotations

import numpy as np

from proxy.speak import ogg
from proxy.speak.mixer import RATE, ReplyMixer, pages_of
from tests.proxy.speak.streams import FRAME, decode, tone, upstream_messages


def band_level(pcm: np.ndarray, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(pcm))
    bins = np.fft.rfftfreq(pcm.size, 1 / RATE)
    return float(spectrum[np.abs(bins - freq) < 20].max() / pcm.size)


def test_idle_mixer_forwards_the_very_same_bytes() -> None:
    mixer = ReplyMixer()
    messages = upstream_messages(tone(440, 1.0))
    assert all(mixer.process(m) is m for m in messages)


def test_speech_replaces_packets_but_keeps_every_page_header() -> None:
    model = tone(440, 3.0)
    messages = upstream_messages(model)
    mixer = ReplyMixer()
    out = [mixer.process(m) for m in messages[:5]]
    mixer.say(tone(1000, 1.0))
    out += [mixer.process(m) for m in messages[5:]]
    before, after = pages_of(messages), pages_of(out)
    assert len(out) == len(messages)
    assert [(p.serial, p.sequence, p.granule, p.flags) for p in after] == [
        (p.serial, p.sequence, p.granule, p.flags) for p in before
    ]
    changed = [i for i, (a, b) in enumerate(zip(messages, out, strict=True)) if a != b]
    # 1 s of speech + the 20 ms ramp back = 13 pages from the sixth on; then untouched again.
    assert changed == list(range(5, 5 + 13))
    assert mixer.mixed == 13 and mixer.passed_unmixed == 0
    heard = decode(out)
    during, after_speech = heard[6 * FRAME : 17 * FRAME], heard[20 * FRAME :]
    assert band_level(during, 1000) > 0.05  # our speech is there
    assert band_level(during, 440) < 0.4 * band_level(after_speech, 440)  # the model is ducked
    assert band_level(after_speech, 1000) < 0.005  # and gone afterwards


def test_checksums_of_rewritten_pages_are_valid() -> None:
    messages = upstream_messages(tone(440, 1.0))
    mixer = ReplyMixer()
    mixer.say(tone(700, 0.5))
    for message in (mixer.process(m) for m in messages):
        for page in ogg.parse(message[1:]):
            rebuilt = ogg.build(page)
            assert rebuilt in message[1:]


def test_queued_speech_plays_in_order_and_reports_when_it_ends() -> None:
    mixer = ReplyMixer()
    assert mixer.say(tone(700, 0.5)) == 0.5
    assert mixer.say(tone(900, 0.5)) == 1.0
    for message in upstream_messages(tone(440, 0.4)):
        mixer.process(message)
    assert abs(mixer.queued_seconds - 0.6) < 1e-9


def test_non_audio_and_odd_messages_pass_untouched() -> None:
    mixer = ReplyMixer()
    mixer.say(tone(700, 0.5))
    text = b"\x02hello"
    assert mixer.process(text) is text
    broken = b"\x01not an ogg page"
    assert mixer.process(broken) is broken
    assert mixer.passed_unmixed == 1
