"""The tap as the relay uses it: copies offered from the event loop, events back on the loop."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from dataclasses import replace

import pytest

from client.audio import Pcm
from proxy.codec import Action
from proxy.speech.settings import DEFAULT_SETTINGS
from proxy.tap import Tap, TapEvent, TriggerHeard, UserSpoke
from tests.proxy.speech.speechkit import client_messages, recognisers
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.speech, needs_espeak]


class StalledTranscriber:
    """The real Whisper transcriber behind a gate: stands for a recogniser that fell behind."""

    def __init__(self) -> None:
        self.inner = recognisers().transcriber
        self.name, self.reliable = self.inner.name, self.inner.reliable
        self.gate = threading.Event()
        self.entered = threading.Event()

    def transcribe(self, pcm: Pcm) -> str:
        self.entered.set()
        self.gate.wait()
        return self.inner.transcribe(pcm)


async def run_tap(tap: Tap, messages: list[bytes]) -> None:
    tap.start()
    for message in messages:
        tap.offer_client(message)
        await asyncio.sleep(0)  # the relay awaits a send between messages
    await tap.close()


async def test_trigger_and_words_arrive_on_the_event_loop() -> None:
    loop = asyncio.get_running_loop()
    seen: list[tuple[TapEvent, int]] = []
    tap = Tap(
        "s1", lambda e: seen.append((e, threading.get_ident())), loop, recognisers=recognisers()
    )
    audio = concat(
        silence(0.4), say("restart nginx on web two"), silence(1.0), say("execute plan"), silence(1)
    )
    await run_tap(tap, client_messages(audio))
    events = [e for e, _ in seen]
    assert {ident for _, ident in seen} == {threading.get_ident()}
    assert [e.action for e in events if isinstance(e, TriggerHeard)] == [Action.EXECUTE]
    assert sum(isinstance(e, UserSpoke) for e in events) == 2
    assert "restart" in tap.transcript.turns()[0].text.lower()  # tiny.en: nginx → "engine X"
    assert tap.dropped == 0
    assert tap.transcript.to_json()["next"] == 2


async def test_stalled_recogniser_never_blocks_offer_and_drops_are_counted() -> None:
    loop = asyncio.get_running_loop()
    stalled = StalledTranscriber()
    recs = dataclasses.replace(recognisers(), transcriber=stalled)
    speech = client_messages(concat(silence(0.3), say("hello there"), silence(1.5)))
    settings = replace(DEFAULT_SETTINGS, queue_messages=len(speech) + 10)
    events: list[TapEvent] = []
    tap = Tap("stalled", events.append, loop, settings, recs)
    tap.start()
    for message in speech:  # all fit in the queue: none dropped
        tap.offer_client(message)
    assert tap.dropped == 0
    assert await asyncio.to_thread(stalled.entered.wait, 60)  # the worker is now stuck
    for message in speech[-1:] * 500:
        tap.offer_client(message)  # would hang here (test timeout) if offering could block
        tap.offer_server(b"\x02 words")
    assert tap.dropped >= 1000 - settings.queue_messages
    stalled.gate.set()
    await tap.close()
    assert any(isinstance(e, UserSpoke) for e in events)


async def test_garbage_audio_does_not_kill_the_tap() -> None:
    loop = asyncio.get_running_loop()
    events: list[TapEvent] = []
    tap = Tap("garbage", events.append, loop, recognisers=recognisers())
    good = client_messages(concat(silence(0.3), say("execute plan"), silence(1.0)))
    messages = [b"\x01", b"\x01junk", b"\x01OggS" + bytes(50), b"", b"\x03\x10", *good]
    await run_tap(tap, messages)
    assert tap.stats is not None
    assert tap.stats.bad_audio == 3
    assert [e.action for e in events if isinstance(e, TriggerHeard)] == [Action.EXECUTE]


async def test_a_failing_event_handler_does_not_stop_the_tap() -> None:
    loop = asyncio.get_running_loop()
    calls: list[TapEvent] = []

    def handler(event: TapEvent) -> None:
        calls.append(event)
        raise RuntimeError("handler bug")

    tap = Tap("handler", handler, loop, recognisers=recognisers())
    audio = concat(silence(0.3), say("hello"), silence(1.0), say("execute plan"), silence(1.0))
    await run_tap(tap, client_messages(audio))
    assert any(isinstance(e, TriggerHeard) for e in calls)


async def test_close_is_safe_before_start_and_twice() -> None:
    tap = Tap("idle", lambda e: None, asyncio.get_running_loop(), recognisers=recognisers())
    await tap.close()
    await tap.close()
    tap.offer_client(b"\x01late")
    assert tap.dropped == 1
