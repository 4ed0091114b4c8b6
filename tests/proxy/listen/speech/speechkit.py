"""Helpers for the speech tests: one set of real recognisers per test process, client messages."""

from __future__ import annotations

import asyncio
import functools

from client.audio import Pcm, encode_pages
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.worker import SpeechWorker
from proxy.listen.tap import Tap


@functools.cache
def recognisers() -> Recognisers:
    """The real models (faster-whisper tiny.en + pocketsphinx), loaded once per process."""
    return Recognisers.load()


def speech_worker() -> SpeechWorker:
    """The shared speech worker process for the default settings (the one the proxy uses)."""
    return SpeechWorker.shared()


async def drained(tap: Tap) -> None:
    """Wait until the speech worker has acknowledged everything offered to ``tap``."""
    # The tap has no event for "all acknowledged": the worker's replies only move a counter.
    while tap.in_flight:
        await asyncio.sleep(0.01)


def client_messages(pcm: Pcm) -> list[bytes]:
    """``pcm`` as the 0x01 messages a client sends, one Ogg page per 80 ms."""
    return [b"\x01" + page for page in encode_pages(pcm)]
