"""Spoken trigger → result text, end to end, in real time.

The whole product on this machine: the real tiny moshi server, the proxy with its full pipeline
(speech worker, rules extractor, shipped guard policy, local executor, audit log), and the
headless client streaming espeak-ng speech at real-time pace: "please check the disk space …
execute plan".  The figure is the time from the end of "execute plan" in the audio to the moment
the ``df -h`` result text arrives (at real-time pace the audio clock is the wall clock), against
the baseline of an EXECUTE control frame sent at the same point.  Figures go to
``bench/results/e2e.json``.  Run: ``PYTHONPATH=. .venv/bin/python bench/bench_e2e.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from client.audio import FRAME_SAMPLES, SAMPLE_RATE
from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools.tinymoshi import TinyMoshiServer, build_tiny_model, free_port
from proxy.__main__ import serve
from proxy.config import Config
from proxy.startup import build_services
from tests.voices import concat, say, silence

RESULTS = Path(__file__).parent / "results" / "e2e.json"


async def _once(url: str, *, voice: bool) -> float:
    request = concat(silence(0.5), say("please check the disk space"), silence(1.0))
    trigger = concat(say("execute plan"), silence(0.2)) if voice else silence(0.0)
    pcm = concat(request, trigger, silence(0.1))
    said_at = (len(request) + len(trigger)) / SAMPLE_RATE
    steps = () if voice else (execute_step(at=said_at),)
    options = SessionOptions(url=url, pcm=pcm, speed=1.0, tail=4.0, steps=steps)
    summary = await run_session(options)
    arrived = next(
        (t.audio_time for t in summary.texts if "df -h: Root filesystem" in t.text), None
    )
    if arrived is None:
        raise RuntimeError(f"no result arrived; the conversation said {summary.text!r}")
    return arrived - said_at


async def main(runs: int) -> dict[str, object]:
    """Measure ``runs`` spoken and ``runs`` control-frame executions."""
    with tempfile.TemporaryDirectory() as data:
        model = build_tiny_model(Path(data) / "tinymoshi")
        with TinyMoshiServer(model) as upstream:
            config = Config(
                listen="127.0.0.1",
                port=free_port(),
                upstreams=(upstream.url,),
                data_dir=Path(data),
                memory=False,
            )
            services = await build_services(config)
            stop, started = asyncio.Event(), asyncio.Event()
            proxy = asyncio.create_task(serve(config, services, stop=stop, started=started))
            await started.wait()
            url = f"ws://127.0.0.1:{config.port}/api/chat"
            try:
                spoken = [await _once(url, voice=True) for _ in range(runs)]
                pressed = [await _once(url, voice=False) for _ in range(runs)]
            finally:
                stop.set()
                await proxy
    return {
        "runs": runs,
        # Arrival is read on the client's audio clock, which advances one 80 ms page at a time.
        "resolution_s": FRAME_SAMPLES / SAMPLE_RATE,
        "spoken_trigger_to_result_s": {
            "median": round(statistics.median(spoken), 3),
            "max": round(max(spoken), 3),
            "all": [round(x, 3) for x in spoken],
        },
        "control_frame_to_result_s": {
            "median": round(statistics.median(pressed), 3),
            "max": round(max(pressed), 3),
            "all": [round(x, 3) for x in pressed],
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    figures = asyncio.run(main(parser.parse_args().runs))
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
