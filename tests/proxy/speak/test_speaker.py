"""The speaker: texts synthesised off the loop, in order, into the mixer; echo windows reported."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from proxy.speak.mixer import ReplyMixer
from proxy.speak.speaker import Speaker
from proxy.speak.synth import EspeakSynthesiser, Pcm
from tests.proxy.speak.streams import tone, upstream_messages
from tests.voices import needs_espeak


class Slow:
    """A synthesiser whose first text takes longest: order must still be kept."""

    def __init__(self) -> None:
        self.calls = 0

    def synthesise(self, text: str) -> Pcm:
        self.calls += 1
        time.sleep(0.3 if text == "first" else 0.0)  # blocking, as a real synthesiser is
        return np.full(2400 if text == "first" else 4800, 0.1, np.float32)


class Broken:
    def synthesise(self, text: str) -> Pcm:
        raise RuntimeError("no voice")


async def settle(speaker: Speaker) -> None:
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not speaker._waiting:  # the test owns the speaker
            return


async def test_texts_are_spoken_in_the_order_said_and_starts_are_reported() -> None:
    mixer = ReplyMixer()
    starts: list[float] = []
    speaker = Speaker(Slow(), mixer, starts.append)
    speaker.say("first")
    speaker.say("second")
    await settle(speaker)
    assert abs(mixer.queued_seconds - 0.3) < 1e-9
    for message in upstream_messages(tone(440, 0.5)):
        mixer.process(message)
    assert starts == [0.1, 0.2]  # lengths, in the order said
    assert len(speaker.stats.first_audio_s) == 2


async def test_what_is_left_to_say_is_known_when_each_text_starts() -> None:
    # What a ``speaking`` event reports: speech queued from now, and whether more is coming.
    mixer = ReplyMixer()
    left: list[tuple[float, bool]] = []
    speaker = Speaker(
        Slow(), mixer, lambda _: left.append((speaker.queued_seconds, speaker.synthesising))
    )
    speaker.say("first")
    busy = speaker.synthesising
    await settle(speaker)
    assert busy and not speaker.synthesising and abs(speaker.queued_seconds - 0.1) < 1e-9
    for message in upstream_messages(tone(440, 0.5)):
        mixer.process(message)
    # The first page (80 ms) took its share of the 0.1 s before the start was reported.
    assert [(round(s, 3), more) for s, more in left] == [(0.02, False)]


async def test_a_failing_synthesiser_costs_only_the_speech() -> None:
    mixer = ReplyMixer()
    speaker = Speaker(Broken(), mixer)
    speaker.say("hello")
    await settle(speaker)
    assert speaker.stats.failed == 1 and mixer.queued_seconds == 0
    await speaker.close()


@needs_espeak
async def test_espeak_speech_reaches_the_mixer_without_blocking_the_loop() -> None:
    mixer = ReplyMixer()
    speaker = Speaker(EspeakSynthesiser(), mixer)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    speaker.say("Root filesystem 27 percent used.")
    await settle(speaker)
    task.cancel()
    assert mixer.queued_seconds > 1.0
    assert ticks >= 3  # the loop kept running while espeak-ng spoke
    assert speaker.stats.synthesis_s and speaker.stats.synthesis_s[0] < 2.0
    await speaker.close()
