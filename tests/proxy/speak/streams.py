"""Reply streams for the speak tests: what moshi sends, decoded as a browser would."""

from __future__ import annotations

import numpy as np
import sphn

from proxy.speak.mixer import RATE

FRAME = 1920  # the model's 80 ms step


def tone(freq: float, seconds: float, level: float = 0.3) -> np.ndarray:
    """A sine at ``freq`` Hz, 24 kHz float32."""
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def upstream_messages(pcm: np.ndarray) -> list[bytes]:
    """What moshi sends: one ``append_pcm`` per 80 ms step, the first with the header pages."""
    writer = sphn.OpusStreamWriter(RATE)
    return [b"\x01" + writer.append_pcm(pcm[i : i + FRAME]) for i in range(0, pcm.size, FRAME)]


def decode(messages: list[bytes]) -> np.ndarray:
    """The messages decoded from the first, as the browser's decoder does."""
    reader = sphn.OpusStreamReader(RATE)
    return np.concatenate([np.asarray(reader.append_bytes(m[1:])) for m in messages])
