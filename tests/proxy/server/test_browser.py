"""A real browser (headless Chromium, driven over the DevTools protocol) logs in and talks.

The PersonaPlex UI bundle is not available offline, so the proxy serves (``--ui-dir``) a page of
ours that does what that UI does: open the same-origin ``/api/chat`` WebSocket (the cookie goes
with it, and so does the page's ``Origin``), wait for the handshake, send audio pages, and press
EXECUTE; the command's result comes back as ``0x02`` text.  Skipped when Chromium is missing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from proxy.relay.codec import Action, Control, encode
from proxy.security import SecuritySettings
from tests.proxy.conftest import fast_config, running_proxy
from tests.proxy.server.test_front_door import TOKEN, _services
from tests.proxy.upstream_double import UpstreamDouble

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--remote-debugging-port=0",
]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

_PAGE = """<!doctype html><meta charset="utf-8"><title>talk</title>
<script>
window.seen = {handshake: false, audio: 0, text: ""};
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host
  + "/api/chat");
ws.binaryType = "arraybuffer";
ws.onmessage = (event) => {
  const data = new Uint8Array(event.data);
  if (data[0] === 0) {
    window.seen.handshake = true;
    for (let i = 0; i < 5; i++) ws.send(new Uint8Array([1, 79, 103, 103, 83, i]));
    ws.send(new Uint8Array(EXECUTE));
  } else if (data[0] === 1) {
    window.seen.audio += 1;
  } else if (data[0] === 2) {
    window.seen.text += new TextDecoder().decode(data.slice(1));
  }
};
ws.onclose = (event) => { window.seen.closed = event.code; };
</script>
"""


class DevTools:
    """The smallest DevTools client: one page session, commands awaited by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: str) -> None:
        self._ws = ws
        self._session = session
        self._ids = itertools.count(1)

    @classmethod
    async def open_page(cls, ws: aiohttp.ClientWebSocketResponse, url: str) -> DevTools:
        browser = cls(ws, "")
        target = await browser.call("Target.createTarget", url=url)
        attached = await browser.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        return cls(ws, str(attached["sessionId"]))

    async def call(self, method: str, **params: object) -> dict[str, object]:
        ident = next(self._ids)
        message: dict[str, object] = {"id": ident, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        await self._ws.send_str(json.dumps(message))
        while True:
            reply = json.loads((await self._ws.receive(timeout=20)).data)
            if reply.get("id") == ident and reply.get("sessionId", "") == self._session:
                assert "error" not in reply, reply
                result = reply["result"]
                assert isinstance(result, dict)
                return result

    async def evaluate(self, expression: str) -> object:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        value = result["result"]
        assert isinstance(value, dict)
        return value.get("value")

    async def until(self, expression: str, timeout: float = 20.0) -> object:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"never true: {expression}")


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().splitlines()) == 2:
                break
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().splitlines()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as ws,
        ):
            yield ws
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_the_browser_logs_in_and_holds_a_conversation_that_runs_a_command(
    chromium: aiohttp.ClientWebSocketResponse, upstream: UpstreamDouble, tmp_path: Path
) -> None:
    ui = tmp_path / "ui"
    ui.mkdir()
    execute = encode(Control(Action.EXECUTE, b'{"request": "check disk space"}'))
    (ui / "index.html").write_text(_PAGE.replace("EXECUTE", json.dumps(list(execute))))
    services, _ = _services(tmp_path)
    security = SecuritySettings(auth_token=TOKEN)
    config = fast_config(upstream.url, ui_dir=ui, security=security)
    async with running_proxy(config, services) as proxy:
        page = await DevTools.open_page(chromium, proxy.http + "/")
        # Not logged in: the UI answers 401 and sends the browser to our login page.
        await page.until("location.pathname === '/login' && !!document.getElementById('token')")
        await page.evaluate(
            f"document.getElementById('token').value = {json.dumps(TOKEN)};"
            "document.forms[0].submit(); true"
        )
        await page.until("location.pathname === '/' && !!window.seen")
        await page.until("window.seen.handshake")
        await page.until("window.seen.audio >= 5")  # the double echoes the audio pages
        text = await page.until("window.seen.text.includes('Root filesystem') && window.seen.text")
        assert "[voiceops]" in str(text) and "df -h" in str(text)
        cookie = await page.evaluate("document.cookie")
        assert cookie == ""  # HttpOnly: the page's scripts cannot read the session cookie
