"""The tiny moshi upstream: deterministic cached weights, and the real server speaking /api/chat."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import replace
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import sentencepiece

from client.audio import FRAME_SAMPLES, decode_pages, encode_pages
from devtools.tinymoshi import TinyModel, TinyMoshiServer, UpstreamStartError, build_tiny_model
from tests.voices import needs_espeak, say

pytestmark = pytest.mark.moshi

#: Generous guard against a hung server on a loaded machine; not a performance claim.
RECEIVE_GUARD_S = 120.0


def _files(model: TinyModel) -> dict[str, Path]:
    files = {
        "config": model.config,
        "moshi_weight": model.moshi_weight,
        "mimi_weight": model.mimi_weight,
        "tokenizer": model.tokenizer,
    }
    files["mimi_config"] = model.data_dir / "mimi_config.json"
    return files


def test_build_is_byte_identical_in_another_directory(tmp_path: Path) -> None:
    first = build_tiny_model(tmp_path / "a")
    second = build_tiny_model(tmp_path / "b")
    for name, path in _files(first).items():
        other = _files(second)[name]
        if name == "config":
            # The LM config names its Mimi config by absolute path; the rest must match.
            a = json.loads(path.read_text())
            b = json.loads(other.read_text())
            assert a.pop("mimi_config_name") == f"file://{first.data_dir / 'mimi_config.json'}"
            assert b.pop("mimi_config_name") == f"file://{second.data_dir / 'mimi_config.json'}"
            assert a == b
        else:
            assert path.read_bytes() == other.read_bytes(), name


def test_second_build_reuses_the_files(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path)
    before = {name: path.stat().st_mtime_ns for name, path in _files(model).items()}
    assert build_tiny_model(tmp_path) == model
    after = {name: path.stat().st_mtime_ns for name, path in _files(model).items()}
    assert after == before


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path)
    good = model.moshi_weight.read_bytes()
    model.moshi_weight.write_bytes(good[: len(good) // 2])
    model.tokenizer.unlink()
    build_tiny_model(tmp_path)
    assert model.moshi_weight.read_bytes() == good
    assert model.tokenizer.exists()


def test_tokenizer_covers_the_lm_vocabulary_with_pad_3(tiny_model: TinyModel) -> None:
    config = json.loads(tiny_model.config.read_text())
    sp = sentencepiece.SentencePieceProcessor(str(tiny_model.tokenizer))
    # A sampled text id past the vocabulary would crash the server's id_to_piece.
    assert sp.vocab_size() >= config["text_card"]
    assert sp.pad_id() == config["existing_text_padding_id"] == 3


async def test_handshake_arrives_first(moshi_upstream: TinyMoshiServer) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(moshi_upstream.url) as ws:
        message = await ws.receive(timeout=RECEIVE_GUARD_S)
        assert message.type == aiohttp.WSMsgType.BINARY
        assert message.data == b"\x00"


@needs_espeak
async def test_speech_in_gets_audio_and_text_back(
    moshi_upstream: TinyMoshiServer, tiny_model: TinyModel
) -> None:
    pages = encode_pages(say("Hello, please check the disk usage on the database server."))
    expected = len(pages) - 1  # the first LM step yields nothing (tiny-moshi.md)
    audio: list[bytes] = []
    text: list[str] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(moshi_upstream.url) as ws:
        assert (await ws.receive(timeout=RECEIVE_GUARD_S)).data == b"\x00"

        async def receive_replies() -> None:
            async for message in ws:
                kind, payload = message.data[0], message.data[1:]
                if kind == 1:
                    audio.append(payload)
                    if len(audio) == expected:
                        return
                elif kind == 2:
                    text.append(payload.decode("utf-8"))

        receiver = asyncio.create_task(receive_replies())
        for page in pages:
            await ws.send_bytes(b"\x01" + page)
        await asyncio.wait_for(receiver, RECEIVE_GUARD_S)

    assert len(audio) == expected
    reply = decode_pages(audio)
    # One 80 ms frame per reply page, headers included in the first one.
    assert len(reply) == expected * FRAME_SAMPLES
    assert float(np.sqrt(np.mean(reply**2))) > 1e-3, "the reply is silent"
    assert text, "no 0x02 text piece arrived"
    sp = sentencepiece.SentencePieceProcessor(str(tiny_model.tokenizer))
    pieces = {sp.id_to_piece(i).replace("▁", " ") for i in range(sp.vocab_size())}
    assert set(text) <= pieces


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def test_stop_ends_the_process_and_frees_the_port(tiny_model: TinyModel) -> None:
    server = TinyMoshiServer(tiny_model).start()
    pid, port = server.pid, server.port
    assert server.url == f"ws://127.0.0.1:{port}/api/chat"
    assert server.base_url == f"http://127.0.0.1:{port}"
    assert not _port_is_free("127.0.0.1", port)
    server.stop()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _port_is_free("127.0.0.1", port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_server_that_dies_reports_its_log(tiny_model: TinyModel, tmp_path: Path) -> None:
    broken = replace(tiny_model, moshi_weight=tmp_path / "missing.safetensors")
    with pytest.raises(UpstreamStartError) as caught:
        TinyMoshiServer(broken).start()
    assert "exited with code" in str(caught.value)
    assert "missing.safetensors" in str(caught.value)
