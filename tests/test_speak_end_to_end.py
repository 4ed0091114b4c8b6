"""Results the operator reads and hears, through the real tiny moshi upstream and the full proxy.

After EXECUTE the reply audio the client decodes carries the spoken digest (the project's own
recogniser hears it) in one continuous Ogg stream, one 80 ms page per step as the upstream sent
it; the ``0x02`` digest is one short line while the ``0x04`` events keep the full output; and a
spoken confirmation prompt that a speakerphone plays back into the operator's microphone
confirms nothing, while the operator's own "confirm restart" afterwards still does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import soxr

from client.audio import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder, OpusEncoder, Pcm
from devtools.tinymoshi import TinyMoshiServer
from proxy.speak import ogg
from proxy.speak.mixer import pages_of
from tests.product import Product, running_product
from tests.proxy.listen.speech.speechkit import recognisers
from tests.speech_words import heard_words
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.moshi, pytest.mark.speech, needs_espeak]


@pytest.fixture
async def product(moshi_upstream: TinyMoshiServer, tmp_path: Path) -> AsyncIterator[Product]:
    async with running_product(moshi_upstream, tmp_path) as running:
        yield running


@dataclass
class Call:
    """What a client saw in one call: every reply audio message, the 0x02 texts, the events."""

    sent: int
    audio: list[bytes]
    texts: list[str]
    events: list[dict[str, object]]

    def reply(self) -> Pcm:
        decoder = OpusDecoder()
        return np.concatenate([decoder.decode(m[1:]) for m in self.audio])


async def _call(
    url: str, script: Pcm, request: str, echo_gain: float = 0.0, echo_seconds: float = 0.0
) -> Call:
    """A client whose microphone hears ``script`` plus, at ``echo_gain`` for the first
    ``echo_seconds``, its own loudspeaker (the reply audio, two pages late: a speakerphone); it
    sends EXECUTE with ``request`` after 0.5 s, paced at 1.5 × real time."""
    encoder, decoder = OpusEncoder(), OpusDecoder()
    call = Call(0, [], [], [])
    played: list[Pcm] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "?events=1") as ws:
        handshake = await ws.receive_bytes(timeout=60)
        assert handshake[:1] == b"\x00"

        async def receive() -> None:
            async for msg in ws:
                data: bytes = msg.data
                if data[:1] == b"\x01":
                    call.audio.append(data)
                    played.append(decoder.decode(data[1:]))
                elif data[:1] == b"\x02":
                    call.texts.append(data[1:].decode())
                elif data[:1] == b"\x04":
                    call.events.append(json.loads(data[1:]))

        reader = asyncio.create_task(receive())
        delay = 2 * FRAME_SAMPLES
        for start in range(0, script.size, FRAME_SAMPLES):
            frame = np.zeros(FRAME_SAMPLES, np.float32)
            part = script[start : start + FRAME_SAMPLES]
            frame[: part.size] = part
            heard = np.concatenate(played) if played else np.zeros(0, np.float32)
            echo = heard[max(0, start - delay) : max(0, start - delay + FRAME_SAMPLES)]
            if start < echo_seconds * SAMPLE_RATE:
                frame[: echo.size] += echo_gain * echo
            await ws.send_bytes(b"\x01" + encoder.encode(np.clip(frame, -1, 1)))
            call.sent += 1
            if call.sent == round(0.5 * SAMPLE_RATE / FRAME_SAMPLES):
                await ws.send_bytes(b"\x03\x10" + json.dumps({"request": request}).encode())
            await asyncio.sleep(FRAME_SAMPLES / SAMPLE_RATE / 1.5)
        # The last reply pages: a loaded machine's tiny model may lag the input by seconds.
        for _ in range(300):
            if len(call.audio) >= call.sent - 1:
                break
            await asyncio.sleep(0.05)
        await ws.close()
        reader.cancel()
    return call


def _loudest(pcm: Pcm) -> Pcm:
    """The stretch of the reply louder than half its loudest page: our voice over the ducked
    model (the tiny model's random audio is noise Whisper would try to read)."""
    rms = np.sqrt(
        np.mean(
            pcm[: pcm.size // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES) ** 2, axis=1
        )
    )
    loud = np.flatnonzero(rms > 0.5 * rms.max())
    return pcm[max(0, loud[0] - 3) * FRAME_SAMPLES : (loud[-1] + 4) * FRAME_SAMPLES]


def _heard(pcm: Pcm) -> set[str]:
    text = recognisers().transcriber.transcribe(
        np.asarray(soxr.resample(pcm, SAMPLE_RATE, 16_000), dtype=np.float32)
    )
    return heard_words(text)


async def test_df_result_is_read_in_one_line_and_heard_in_the_reply(product: Product) -> None:
    call = await _call(product.proxy.ws, silence(9.0), "please check the disk space")
    lines = [t.strip() for t in call.texts if "[voiceops] df -h" in t]
    assert len(lines) == 1, call.texts
    digest = lines[0].removeprefix("[voiceops] ")
    assert "\n" not in digest and len(digest) < 120, digest
    assert digest.startswith("df -h: Root filesystem ") and "% used" in digest
    full = [e for e in call.events if e.get("command") == "df -h"]
    assert full and "Filesystem" in str(full[-1].get("output")), "0x04 keeps the full output"

    # One reply message per 80 ms step, as the upstream sends them (N frames in → N−1 out),
    # each one 80 ms of audio, in one continuous Ogg stream: nothing added, dropped or moved.
    assert len(call.audio) == call.sent - 1
    pages = pages_of(call.audio)
    assert [p.sequence for p in pages] == list(range(len(pages)))
    assert len({p.serial for p in pages}) == 1
    audio_pages = [p for p in pages if not p.is_header]
    assert [p.granule for p in audio_pages] == [1920 * (i + 1) for i in range(len(audio_pages))]
    assert all(m[1:] == b"".join(ogg.build(p) for p in ogg.parse(m[1:])) for m in call.audio)
    reply = call.reply()
    assert reply.size == len(call.audio) * FRAME_SAMPLES

    # Key words of "Root filesystem N percent used, N gigabytes free"; espeak's numbers and
    # units come out differently with every disk size, so two of the four are enough.
    heard = _heard(_loudest(reply))
    assert len({"filesystem", "percent", "used", "free"} & heard) >= 2, heard


async def test_our_spoken_prompt_echoed_into_the_microphone_does_not_confirm(
    product: Product,
) -> None:
    # An open speakerphone for 8 s (the prompt is spoken ≈1 s after EXECUTE and lasts ≈5 s),
    # then the operator takes the handset (the model's own noise no longer echoes, so the
    # recogniser can end the echoed utterance) and says "confirm restart".  The echoed prompt
    # holds those very words ("Say confirm restart, or cancel").
    # 6 s after it: the answer is heard three times (text, decision and object passes), which
    # under load took longer than 4 s (the call had hung up: "CONFIRM heard after hang-up").
    script = concat(silence(9.0), say("confirm restart"), silence(6.0))
    call = await _call(
        product.proxy.ws, script, "restart the nginx service", echo_gain=0.8, echo_seconds=8.0
    )
    assert [e for e in call.events if e.get("status") == "needs_confirmation"], call.texts
    # What the loudspeaker played — and so the microphone heard — carries the prompt's answer
    # words.  tiny.en over the model's noise misses one of the two now and then (seen in 1 of
    # 8 full-suite runs), so one of them heard is the sign the prompt was audible.
    assert {"confirm", "cancel"} & _heard(_loudest(call.reply()))
    # Only the operator's own "confirm restart", after the echo, ran the command: once.
    assert product.restarts() == ["restart nginx --no-pager"]
    assert len([e for e in call.events if e.get("status") == "executed"]) == 1
