"""Speech made at test time with espeak-ng, as 24 kHz mono float32 PCM."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from client.audio import SAMPLE_RATE, Pcm, read_wav

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (./run.sh installs it)"
)


@functools.lru_cache(maxsize=64)
def _say(text: str, voice: str, speed: int, pitch: int | None) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        pitched = [] if pitch is None else ["-p", str(pitch)]
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), *pitched, "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return read_wav(out).tobytes()


def say(text: str, voice: str = "en-us", speed: int = 150, pitch: int | None = None) -> Pcm:
    """``text`` spoken by espeak-ng, resampled to 24 kHz; ``pitch`` 0–99 (``None``: the
    voice's own)."""
    return np.frombuffer(_say(text, voice, speed, pitch), dtype=np.float32).copy()


def silence(seconds: float) -> Pcm:
    """Digital silence of the given length at 24 kHz."""
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def concat(*parts: Pcm) -> Pcm:
    """Join signals end to end."""
    return np.concatenate(parts).astype(np.float32)


def room_noise(audio: Pcm, speech_rms: float, snr_db: float, seed: int) -> Pcm:
    """``audio`` with steady pink noise (1/f, like a room's fans and hum) at ``snr_db`` below
    the speech level."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, audio.size))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0.0
    pink = np.fft.irfft(spectrum, audio.size)
    pink *= speech_rms / (10 ** (snr_db / 20.0)) / max(1e-9, float(np.sqrt(np.mean(pink**2))))
    return (audio + pink).astype(np.float32)
