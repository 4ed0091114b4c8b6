"""The speech worker pool: sessions spread over several worker processes, each recognised."""

from __future__ import annotations

import asyncio

import pytest

from proxy.listen.speech.pool import SpeechPool
from proxy.listen.tap import Tap, TapEvent, UserSpoke
from tests.proxy.listen.speech.speechkit import client_messages
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.speech, needs_espeak]


async def test_sessions_are_spread_over_the_workers_and_all_are_heard() -> None:
    pool = await asyncio.to_thread(SpeechPool.load, size=2)
    try:
        loop = asyncio.get_running_loop()
        heard: dict[str, list[TapEvent]] = {f"s{n}": [] for n in range(4)}
        taps = [Tap(sid, heard[sid].append, loop, recognisers=pool) for sid in heard]
        for tap in taps:
            tap.start()
        assert sorted(worker.hosting for worker in pool.workers) == [2, 2]
        messages = client_messages(concat(silence(0.4), say("check the disk space"), silence(1)))
        for message in messages:
            for tap in taps:
                tap.offer_client(message)
            await asyncio.sleep(0)
        await asyncio.gather(*(tap.close() for tap in taps))
    finally:
        await asyncio.to_thread(pool.close)
    said = {
        sid: " ".join(e.turn.text.lower() for e in events if isinstance(e, UserSpoke))
        for sid, events in heard.items()
    }
    # Every session is heard, and alike on either worker.  Not the exact words: tiny.en hears
    # this espeak-ng sentence as "can't love this case" when Silero cuts it (word accuracy is
    # measured by the benches, not here).
    assert all(said.values()) and len(set(said.values())) == 1, said
