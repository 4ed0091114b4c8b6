"""Logs an admin and a log pipeline can use: JSON lines with session ids, no secrets, ever."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import aiohttp

from devtools.tinymoshi import free_port
from proxy.relay.codec import Kind
from proxy.server.logs import JsonFormatter, RedactSecrets
from tests.proxy.server.test_serving import ENV
from tests.proxy.upstream_double import UpstreamDouble

TOKEN = "log-test-secret-0123456789abcdef"


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("proxy.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_secrets_and_bearer_tokens_are_redacted_whoever_logs_them() -> None:
    redact = RedactSecrets([TOKEN, "short"])
    record = _record("header %s and %s", f"Authorization: Bearer {TOKEN}", f"?token={TOKEN}")
    assert redact.filter(record)
    text = record.getMessage()
    assert TOKEN not in text
    assert text == "header Authorization: Bearer [redacted] and ?token=[redacted]"
    other = _record("a short word stays: %s", "short")
    redact.filter(other)
    assert other.getMessage() == "a short word stays: short", "too short to be a secret"


def test_json_lines_carry_the_extra_fields_beside_the_message() -> None:
    line = JsonFormatter().format(_record("conversation %s started", "abc", session_id="abc"))
    entry = json.loads(line)
    assert entry["message"] == "conversation abc started"
    assert entry["session_id"] == "abc" and entry["level"] == "INFO"
    assert entry["logger"] == "proxy.test" and entry["time"].endswith("Z")


async def test_a_json_logging_proxy_writes_one_parsable_record_per_line_and_no_secret(
    upstream: UpstreamDouble, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "proxy.log"
    argv = [
        sys.executable, "-m", "proxy", "--listen", "127.0.0.1", "--port", str(port),
        "--upstream", upstream.url, "--no-tap", "--no-memory", "--data-dir", str(tmp_path),
        "--log-format", "json", "--access-log", "--auth-token", TOKEN,
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    base = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(base + "/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            # A careless script puts the secret in a URL: the access log must not keep it.
            async with http.get(f"{base}/health?token={TOKEN}") as response:
                assert response.status == 200
            async with http.ws_connect(
                base.replace("http", "ws") + "/api/chat", headers=bearer
            ) as ws:
                assert (await ws.receive(timeout=10)).data[0] == Kind.HANDSHAKE
                await ws.send_bytes(b"\x01audio")
        proc.terminate()
        assert await asyncio.to_thread(proc.wait, 20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert TOKEN not in text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    starts = [e for e in entries if e.get("event") == "start"]
    ends = [e for e in entries if e.get("event") == "end"]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0]["session_id"] == ends[0]["session_id"]
    assert ends[0]["bytes_to_upstream"] == 6
    access = [e for e in entries if e["logger"] == "proxy.access"]
    assert any("/health?token=[redacted]" in e["message"] for e in access)
