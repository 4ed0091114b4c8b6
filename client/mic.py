"""The default input device as a stream of 80 ms frames at 24 kHz (optional: ``sounddevice``).

``sounddevice`` needs the PortAudio library; without the module, the library or an input device
:func:`open_microphone` raises :class:`~client.errors.MicrophoneUnavailableError` before any
connection is made.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import numpy as np
import soxr

from client.audio import FRAME_SAMPLES, SAMPLE_RATE, Pcm
from client.errors import MicrophoneUnavailableError


def _sounddevice() -> ModuleType:
    try:
        return importlib.import_module("sounddevice")
    except ImportError:
        raise MicrophoneUnavailableError(
            "--mic needs the optional package 'sounddevice' (pip install sounddevice)"
        ) from None
    except OSError as exc:
        # sounddevice raises OSError at import when the PortAudio library is missing.
        raise MicrophoneUnavailableError(
            f"--mic needs the PortAudio library ({exc}); on Debian: apt-get install libportaudio2"
        ) from None


class Microphone:
    """An opened default input device; iterate :meth:`frames` inside the running loop."""

    def __init__(self, sd: ModuleType, rate: int) -> None:
        self._sd = sd
        self._rate = rate

    async def frames(self, seconds: float | None = None) -> AsyncIterator[Pcm]:
        """Yield 80 ms frames of 24 kHz mono as they are recorded, for ``seconds`` or forever."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Pcm] = asyncio.Queue()

        def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:
            # PortAudio's thread: hand a copy to the event loop and return at once.
            block = np.array(indata[:, 0], dtype=np.float32)
            loop.call_soon_threadsafe(queue.put_nowait, block)

        resampler = soxr.ResampleStream(self._rate, SAMPLE_RATE, 1, dtype="float32")
        pending = np.zeros(0, np.float32)
        limit = None if seconds is None else round(seconds * SAMPLE_RATE)
        produced = 0
        stream = self._sd.InputStream(
            samplerate=self._rate, channels=1, dtype="float32", callback=callback
        )
        with stream:
            while limit is None or produced < limit:
                block = await queue.get()
                out = resampler.resample_chunk(block)
                pending = np.concatenate([pending, np.asarray(out, np.float32)])
                while len(pending) >= FRAME_SAMPLES and (limit is None or produced < limit):
                    frame, pending = pending[:FRAME_SAMPLES], pending[FRAME_SAMPLES:]
                    produced += FRAME_SAMPLES
                    yield np.ascontiguousarray(frame)


def open_microphone() -> Microphone:
    """The default input device, or :class:`MicrophoneUnavailableError` saying why there is none."""
    sd = _sounddevice()
    try:
        info = sd.query_devices(kind="input")
    except Exception as exc:  # PortAudio reports "no device" in several ways
        raise MicrophoneUnavailableError(f"--mic: no default input device ({exc})") from None
    rate = int(info.get("default_samplerate") or SAMPLE_RATE)
    return Microphone(sd, rate)
