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
def _say(text: str, voice: str, speed: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return read_wav(out).tobytes()


def say(text: str, voice: str = "en-us", speed: int = 150) -> Pcm:
    """``text`` spoken by espeak-ng, resampled to 24 kHz."""
    return np.frombuffer(_say(text, voice, speed), dtype=np.float32).copy()


def silence(seconds: float) -> Pcm:
    """Digital silence of the given length at 24 kHz."""
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def concat(*parts: Pcm) -> Pcm:
    """Join signals end to end."""
    return np.concatenate(parts).astype(np.float32)
