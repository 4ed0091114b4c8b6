"""The relay in front of the real moshi server (PyPI moshi 0.2.13 on tiny random weights).

These are the tests that prove the proxy speaks the protocol the way the server that users run
does, not just the way we think it does.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import numpy as np

from client.audio import FRAME_SAMPLES, decode_pages, encode_pages
from devtools.tinymoshi import TinyModel, TinyMoshiServer
from proxy.relay.chat import CLOSE_BAD_GATEWAY
from proxy.relay.codec import Kind
from tests.proxy.conftest import fast_config, running_proxy, until_close
from tests.voices import concat, needs_espeak, say, silence

# Everything the PersonaPlex web UI puts in its query.
UI_QUERY = {
    "text_temperature": "0.7",
    "text_topk": "25",
    "audio_temperature": "0.8",
    "audio_topk": "250",
    "pad_mult": "0",
    "text_seed": "4242",
    "audio_seed": "4242",
    "repetition_penalty_context": "64",
    "repetition_penalty": "1.0",
    "text_prompt": "You enjoy having a good conversation.",
    "voice_prompt": "NATF2.pt",
}


async def _collect(
    ws: aiohttp.ClientWebSocketResponse, audio_pages: int, timeout: float
) -> tuple[list[bytes], list[str]]:
    audio: list[bytes] = []
    text: list[str] = []
    deadline = time.monotonic() + timeout
    while len(audio) < audio_pages and time.monotonic() < deadline:
        msg = await ws.receive(timeout=deadline - time.monotonic())
        assert msg.type is aiohttp.WSMsgType.BINARY, f"conversation ended early: {msg}"
        if msg.data[0] == Kind.AUDIO:
            audio.append(msg.data[1:])
        elif msg.data[0] == Kind.TEXT:
            text.append(msg.data[1:].decode())
    return audio, text


@needs_espeak
async def test_speech_through_the_proxy_gets_one_reply_page_per_page_sent(
    moshi_upstream: TinyMoshiServer,
) -> None:
    speech = concat(
        say("Hello there. Could you check how much disk space is left on the server?"),
        silence(1.0),
        say("And then show me the running containers, please."),
    )
    pages = encode_pages(speech)
    assert len(pages) >= 60
    async with (
        running_proxy(fast_config(moshi_upstream.url)) as proxy,
        aiohttp.ClientSession() as http,
        http.ws_connect(proxy.ws, params=UI_QUERY) as ws,
    ):
        first = await ws.receive(timeout=30)
        assert first.type is aiohttp.WSMsgType.BINARY and first.data[0] == Kind.HANDSHAKE
        for page in pages:
            await ws.send_bytes(bytes([Kind.AUDIO]) + page)
        audio, text = await _collect(ws, len(pages) - 1, timeout=120)
    # The first model step yields nothing; every later 80 ms frame yields one page.
    assert len(audio) == len(pages) - 1
    reply = decode_pages(audio)
    assert len(reply) >= (len(pages) - 2) * FRAME_SAMPLES
    assert float(np.abs(reply).max()) > 0.0, "the reply audio should not be digital silence"
    assert "".join(text).strip(), "the model should have said some text pieces"


async def test_closing_the_browser_frees_the_server_for_the_next_one(
    moshi_upstream: TinyMoshiServer,
) -> None:
    page = encode_pages(np.zeros(FRAME_SAMPLES * 3, dtype=np.float32))
    async with (
        running_proxy(fast_config(moshi_upstream.url)) as proxy,
        aiohttp.ClientSession() as http,
    ):
        for _ in range(3):
            async with http.ws_connect(proxy.ws, params=UI_QUERY) as ws:
                first = await ws.receive(timeout=30)
                assert first.data[0] == Kind.HANDSHAKE
                for p in page:
                    await ws.send_bytes(bytes([Kind.AUDIO]) + p)
                audio, _ = await _collect(ws, 1, timeout=30)
                assert audio


async def test_second_browser_waits_in_line_and_is_admitted_when_the_first_leaves(
    moshi_upstream: TinyMoshiServer,
) -> None:
    async with (
        running_proxy(fast_config(moshi_upstream.url)) as proxy,
        aiohttp.ClientSession() as http,
    ):
        first = await http.ws_connect(proxy.ws, params=UI_QUERY)
        assert (await first.receive(timeout=30)).data[0] == Kind.HANDSHAKE
        second = await http.ws_connect(proxy.ws, params=UI_QUERY)
        notice = await second.receive(timeout=5)
        assert notice.data[0] == Kind.TEXT and b"number 1 in line" in notice.data
        await first.close()
        msg = await second.receive(timeout=30)
        while msg.data[0] != Kind.HANDSHAKE:
            msg = await second.receive(timeout=30)
        await second.close()


async def test_upstream_crash_mid_call_closes_the_browser_with_1014(tiny_model: TinyModel) -> None:
    with TinyMoshiServer(tiny_model) as server:
        async with (
            running_proxy(fast_config(server.url)) as proxy,
            aiohttp.ClientSession() as http,
            http.ws_connect(proxy.ws, params=UI_QUERY) as ws,
        ):
            assert (await ws.receive(timeout=30)).data[0] == Kind.HANDSHAKE
            await asyncio.to_thread(server.stop, 0.1)
            msg, _ = await until_close(ws)
    assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == CLOSE_BAD_GATEWAY
