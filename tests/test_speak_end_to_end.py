"""Results the operator reads and hears, through the real tiny moshi upstream and the full proxy.

After EXECUTE the reply audio the client decodes carries the spoken digest (the project's own
recogniser hears it) with the page count and length of a call without speech; the ``0x02``
digest is one short line while the ``0x04`` events keep the full output; and a spoken
confirmation prompt that a speakerphone plays back into the operator's microphone confirms
nothing, while the operator's own "confirm" afterwards still does.
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import soxr

from client.audio import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder, OpusEncoder, Pcm
from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools.tinymoshi import TinyMoshiServer
from proxy.config import Config
from proxy.server.pipeline import Services
from proxy.startup import build_services
from tests.proxy.conftest import RunningProxy, running_proxy
from tests.proxy.listen.speech.speechkit import recognisers
from tests.speech_words import heard_words
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.moshi, pytest.mark.speech, needs_espeak]

DF_REQUEST = "please check the disk space"


@dataclass
class Spoken:
    proxy: RunningProxy
    services: Services
    systemctl_log: Path

    def restarts(self) -> list[str]:
        return self.systemctl_log.read_text().splitlines() if self.systemctl_log.exists() else []


def _config(upstream: TinyMoshiServer, tmp_path: Path, bin_dir: Path, **overrides: object) -> Config:
    config = Config(
        listen="127.0.0.1",
        upstreams=(upstream.url,),
        data_dir=tmp_path / "data",
        trusted_path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        memory=False,
    )
    return replace(config, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def spoken(moshi_upstream: TinyMoshiServer, tmp_path: Path) -> AsyncIterator[Spoken]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    stand_in = bin_dir / "systemctl"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "stand-in systemctl $*"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config = _config(moshi_upstream, tmp_path, bin_dir)
    services = await build_services(config)
    async with running_proxy(config, services) as proxy:
        yield Spoken(proxy, services, log)


def _df_session(url: str) -> SessionOptions:
    return SessionOptions(
        url=url,
        pcm=silence(1.0),
        speed=2.0,
        tail=8.0,
        events=True,
        idle_timeout=60.0,
        steps=(execute_step(DF_REQUEST, at=0.5),),
    )


def _heard(pcm: Pcm) -> set[str]:
    text = recognisers().transcriber.transcribe(
        np.asarray(soxr.resample(pcm, SAMPLE_RATE, 16_000), dtype=np.float32)
    )
    return heard_words(text)


async def test_df_result_is_read_in_one_line_and_heard_in_the_reply(
    spoken: Spoken, moshi_upstream: TinyMoshiServer, tmp_path: Path
) -> None:
    summary = await run_session(_df_session(spoken.proxy.ws))
    assert summary.failure is None
    lines = [t.text.strip() for t in summary.texts if "[voiceops] df -h" in t.text]
    assert len(lines) == 1
    digest = lines[0].removeprefix("[voiceops] ")
    assert "\n" not in digest and len(digest) < 120, digest
    assert digest.startswith("df -h: Root filesystem ") and "% used" in digest
    full = [e.data for e in summary.events if e.data.get("command") == "df -h"]
    assert full and "Filesystem" in str(full[-1].get("output")), "0x04 keeps the full output"
    heard = _heard(summary.reply_pcm)
    assert {"filesystem", "percent", "used", "free"} <= heard, heard

    # The same call with speaking off: the same pages, the same length of reply audio.
    quiet_config = _config(moshi_upstream, tmp_path, tmp_path / "bin", speak_results=False)
    async with running_proxy(quiet_config, await build_services(quiet_config)) as quiet:
        plain = await run_session(_df_session(quiet.ws))
    assert plain.pages_received == summary.pages_received
    assert plain.reply_seconds == summary.reply_seconds
    assert not {"filesystem", "percent"} <= _heard(plain.reply_pcm)


async def _speakerphone(url: str, script: Pcm, echo_gain: float, request: str) -> list[dict]:
    """A client whose microphone hears ``script`` plus its own loudspeaker (the reply audio,
    two pages late); sends EXECUTE with ``request`` after 0.5 s; returns the 0x04 events."""
    encoder, decoder = OpusEncoder(), OpusDecoder()
    played: list[Pcm] = []
    events: list[dict] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "?events=1") as ws:
        handshake = await ws.receive_bytes(timeout=60)
        assert handshake[:1] == b"\x00"

        async def receive() -> None:
            async for msg in ws:
                data: bytes = msg.data
                if data[:1] == b"\x01":
                    played.append(decoder.decode(data[1:]))
                elif data[:1] == b"\x04":
                    events.append(json.loads(data[1:]))

        reader = asyncio.create_task(receive())
        sent = 0
        for start in range(0, script.size, FRAME_SAMPLES):
            frame = script[start : start + FRAME_SAMPLES].copy()
            frame.resize(FRAME_SAMPLES)
            heard = np.concatenate(played) if played else np.zeros(0, np.float32)
            delay = 2 * FRAME_SAMPLES
            echo = heard[start - delay : start - delay + FRAME_SAMPLES] if start >= delay else []
            frame[: len(echo)] += echo_gain * np.asarray(echo, np.float32)
            await ws.send_bytes(b"\x01" + encoder.encode(np.clip(frame, -1, 1)))
            sent += 1
            if sent == round(0.5 * SAMPLE_RATE / FRAME_SAMPLES):
                payload = json.dumps({"request": request}).encode()
                await ws.send_bytes(b"\x03\x10" + payload)
            await asyncio.sleep(FRAME_SAMPLES / SAMPLE_RATE / 1.5)
        await asyncio.sleep(1.0)
        await ws.close()
        reader.cancel()
    return events


async def test_our_spoken_prompt_echoed_into_the_microphone_does_not_confirm(
    spoken: Spoken,
) -> None:
    # 9 s of an open speakerphone (the prompt is spoken ≈1 s after EXECUTE and lasts ≈5 s),
    # then the operator's own "confirm".
    script = concat(silence(9.0), say("confirm"), silence(2.5))
    events = await _speakerphone(spoken.proxy.ws, script, 0.8, "restart the nginx service")
    asked = [e for e in events if e.get("status") == "needs_confirmation"]
    assert asked, events
    turns = spoken.services.archive.all()[-1].transcript.turns()
    said = [t.text.lower() for t in turns if t.speaker == "user"]
    echoes = [t for t in said if "confirm" in t or "cancel" in t]
    assert len(echoes) >= 2, f"the echo should be heard as words: {said}"
    # Only the operator's own "confirm", after the echo, ran the command: once.
    assert spoken.restarts() == ["restart nginx --no-pager"]
    ran = [e for e in events if e.get("status") == "executed"]
    assert len(ran) == 1
