"""Audio in and out of the ``/api/chat`` wire format: WAV files, 24 kHz PCM and Ogg/Opus pages.

The protocol's audio is Ogg/Opus at 24 kHz mono, one page per message.  A frame of
:data:`FRAME_SAMPLES` (80 ms, the model's step) becomes one page, as the moshi clients send it.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr
import sphn

from voiceops.errors import VoiceOpsError

SAMPLE_RATE = 24_000
#: One model step: 80 ms at 24 kHz.
FRAME_SAMPLES = 1920

Pcm = npt.NDArray[np.float32]

_INT_SCALE = {1: 128.0, 2: 32768.0, 4: 2147483648.0}


class AudioFormatError(VoiceOpsError, ValueError):
    """A WAV file this client cannot read, with the reason."""


def read_wav(path: Path) -> Pcm:
    """Read a PCM WAV file (8/16/24/32-bit, any rate, any channels) as 24 kHz mono float32."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({exc})") from None
    if width == 3:
        # 24-bit samples: widen to 32-bit little-endian by adding a low zero byte.
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        raw = np.concatenate([np.zeros((len(b), 1), np.uint8), b], axis=1).tobytes()
        width = 4
    if width not in _INT_SCALE:
        raise AudioFormatError(f"{path}: unsupported sample width of {width} bytes")
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    samples = np.frombuffer(raw, dtype=dtype).astype(np.float32)
    if width == 1:
        samples -= 128.0
    samples /= _INT_SCALE[width]
    mono = samples.reshape(-1, channels).mean(axis=1)
    return to_24k(mono, rate)


def to_24k(pcm: npt.NDArray[np.floating], rate: int) -> Pcm:
    """Resample mono PCM to 24 kHz float32."""
    mono = np.ascontiguousarray(pcm, dtype=np.float32)
    if rate == SAMPLE_RATE:
        return mono
    return np.asarray(soxr.resample(mono, rate, SAMPLE_RATE), dtype=np.float32)


def write_wav(path: Path, pcm: Pcm, rate: int = SAMPLE_RATE) -> None:
    """Write mono float PCM as a 16-bit WAV file."""
    clipped = np.clip(pcm, -1.0, 1.0)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((clipped * 32767.0).astype("<i2").tobytes())


def frames(pcm: Pcm) -> Iterator[Pcm]:
    """Split 24 kHz PCM into 80 ms frames, zero-padding the last one."""
    for start in range(0, len(pcm), FRAME_SAMPLES):
        frame = pcm[start : start + FRAME_SAMPLES]
        if len(frame) < FRAME_SAMPLES:
            frame = np.pad(frame, (0, FRAME_SAMPLES - len(frame)))
        yield np.ascontiguousarray(frame, dtype=np.float32)


class OpusEncoder:
    """Encodes 80 ms frames into Ogg/Opus pages; the first page also carries the Ogg headers."""

    def __init__(self) -> None:
        self._writer = sphn.OpusStreamWriter(SAMPLE_RATE)

    def encode(self, frame: Pcm) -> bytes:
        """Encode one frame of :data:`FRAME_SAMPLES` samples; returns the page bytes."""
        return bytes(self._writer.append_pcm(frame))


class OpusDecoder:
    """Decodes a stream of Ogg/Opus pages (headers first) back into 24 kHz PCM."""

    def __init__(self) -> None:
        self._reader = sphn.OpusStreamReader(SAMPLE_RATE)

    def decode(self, page: bytes) -> Pcm:
        """Decode one message's page(s); may return an empty array for header-only pages."""
        return np.asarray(self._reader.append_bytes(page), dtype=np.float32)


def encode_pages(pcm: Pcm) -> list[bytes]:
    """Encode a whole 24 kHz signal into the pages a client would send, one per 80 ms."""
    encoder = OpusEncoder()
    return [encoder.encode(frame) for frame in frames(pcm)]


def decode_pages(pages: Iterable[bytes]) -> Pcm:
    """Decode a sequence of pages into one signal."""
    decoder = OpusDecoder()
    parts = [decoder.decode(page) for page in pages]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
