"""Helpers for the speech tests: one set of real recognisers per test process, client messages."""

from __future__ import annotations

import functools

from client.audio import Pcm, encode_pages
from proxy.speech.recognisers import Recognisers


@functools.cache
def recognisers() -> Recognisers:
    """The real models (faster-whisper tiny.en + pocketsphinx), loaded once per process."""
    return Recognisers.load()


def client_messages(pcm: Pcm) -> list[bytes]:
    """``pcm`` as the 0x01 messages a client sends, one Ogg page per 80 ms."""
    return [b"\x01" + page for page in encode_pages(pcm)]
