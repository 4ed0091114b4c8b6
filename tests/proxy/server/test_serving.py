"""``python -m proxy`` as an admin runs it: help, start-up errors, SIGTERM drain, log lines."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from devtools.tinymoshi import free_port
from proxy.relay.codec import Kind
from tests.proxy.conftest import until_close
from tests.proxy.upstream_double import UpstreamDouble

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def test_help_names_every_flag_and_its_environment_variable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "--help"], capture_output=True, text=True, check=True
    )
    for flag in ("--upstream", "--listen", "--max-waiting", "--policy", "--insecure-exec"):
        assert flag in done.stdout
    assert "VOICEOPS_UPSTREAM" in done.stdout and "ANTHROPIC_API_KEY" in done.stdout


def test_bad_arguments_exit_2_with_a_reason() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "--upstream", "http://x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "ws://HOST:PORT" in done.stderr


def test_exposed_without_a_token_refuses_to_start_and_says_how_to_set_one(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in ENV.items() if k != "VOICEOPS_AUTH_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "--listen", "::", "--no-tap", "--no-memory"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 2
    assert "VOICEOPS_AUTH_TOKEN" in done.stderr and "--auth-token-file" in done.stderr
    short = tmp_path / "token"
    short.write_text("abc\n")
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "--listen", "::", "--auth-token-file", str(short)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 2 and "too short" in done.stderr


def test_bad_policy_file_stops_the_start_with_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[limits]\nmax_input_chars = 512\n\n[commands.ls]\nflags = 7\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy",
            "--listen",
            "127.0.0.1",
            "--policy",
            str(policy),
            "--no-tap",
            "--no-memory",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        check=False,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{policy}:" in done.stderr and "bad guard policy" in done.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[rule]]\nname = "ok"\n', 1),  # a rule without command or patterns
        ('[[rule]]\nname = "a"\ncommand = "df -h"\npatterns = ["disk"]\n\n[[rule]]\nx = = 1\n', 7),
    ],
)
def test_bad_rules_file_stops_the_start_with_file_and_line(
    tmp_path: Path, text: str, line: int
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy",
            "--listen",
            "127.0.0.1",
            "--rules",
            str(rules),
            "--no-tap",
            "--no-memory",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        check=False,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"{rules}:{line}:" in done.stderr and "bad extraction rules" in done.stderr
    assert "Traceback" not in done.stderr


async def test_sigterm_drains_conversations_and_exits_0(
    upstream: UpstreamDouble, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "proxy.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "proxy",
                "--listen",
                "127.0.0.1",
                "--port",
                str(port),
                "--upstream",
                upstream.url,
                "--no-tap",
                "--no-memory",
                "--drain-timeout",
                "2",
                "--data-dir",
                str(tmp_path),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(base + "/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            ws = await http.ws_connect(base.replace("http", "ws") + "/api/chat")
            handshake = await ws.receive(timeout=10)
            assert handshake.data[0] == Kind.HANDSHAKE
            await ws.send_bytes(b"\x01audio")
            proc.send_signal(signal.SIGTERM)
            notice = await ws.receive(timeout=10)
            while notice.data[0] != Kind.TEXT:
                notice = await ws.receive(timeout=10)
            assert b"restarting" in notice.data
            async with http.get(base + "/ready") as response:
                assert response.status == 503
            closing, _ = await until_close(ws, timeout=10)
            assert closing.data == 1001
        assert await asyncio.to_thread(proc.wait, 20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "draining 1 conversation" in text
    assert "ended after" in text and "browser→upstream 1 msgs/6 B" in text


def test_openclaw_executor_without_a_gateway_token_stops_the_start(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "OPENCLAW_GATEWAY_TOKEN"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "proxy", "--listen", "127.0.0.1"),
            *("--no-tap", "--no-memory", "--data-dir", str(tmp_path)),
        ],
        capture_output=True,
        check=False,
        text=True,
        env={**env, "VOICEOPS_EXECUTOR": "openclaw"},
        timeout=120,
    )
    assert done.returncode == 2
    assert "no OpenClaw gateway token" in done.stderr
