"""WAV files as recorders and tools make them become 24 kHz mono for streaming."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from client.audio import SAMPLE_RATE, read_wav


def write(path: Path, left: np.ndarray, right: np.ndarray, width: int, rate: int) -> None:
    stereo = np.stack([left, right], axis=1).reshape(-1)
    if width == 1:
        raw = np.clip(np.round(stereo * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    else:
        raw = np.round(stereo * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(raw)


def dominant_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(pcm))


@pytest.mark.parametrize("width", [1, 2])
def test_stereo_44k1_becomes_24k_mono_with_the_same_sound(tmp_path: Path, width: int) -> None:
    rate = 44_100
    t = np.arange(rate) / rate  # one second
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / f"tone{width}.wav"
    write(path, tone, np.zeros_like(tone), width, rate)

    pcm = read_wav(path)

    assert pcm.dtype == np.float32
    assert pcm.ndim == 1
    assert len(pcm) == pytest.approx(SAMPLE_RATE, abs=2)
    assert dominant_hz(pcm) == pytest.approx(440, abs=2)
    # One silent channel: the mono mix is the average, half the amplitude.
    middle = pcm[2000:-2000]
    assert float(np.abs(middle).max()) == pytest.approx(0.25, abs=0.02)
