"""The status page as an operator uses it, in a real headless Chromium.

A spoken conversation through the real tiny moshi upstream asks to restart nginx (the words are
heard by the tap, the request is sent as a control frame so the test does not depend on how fast
the recogniser is); the page shows the live conversation and its transcript, and its Confirm
button runs the pending command (a
stand-in ``systemctl`` first on the guard's trusted PATH only writes a line to a file).  The test
takes a screenshot; with ``VOICEOPS_DOCS_SCREENSHOT=1`` it replaces ``docs/status-page.png``
(the README's picture), otherwise it stays in the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from client.options import SessionOptions, execute_step
from client.session import run_session
from devtools.tinymoshi import TinyMoshiServer
from tests.product import running_product
from tests.voices import concat, needs_espeak, say, silence

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "status-page.png"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

playwright = pytest.importorskip("playwright.async_api", reason="pip install playwright")
pytestmark = [
    pytest.mark.moshi,
    needs_espeak,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]


async def test_status_page_shows_the_conversation_and_its_confirm_button_runs_the_command(
    moshi_upstream: TinyMoshiServer, tmp_path: Path
) -> None:
    keep = os.environ.get("VOICEOPS_DOCS_SCREENSHOT") == "1"
    shot = DOCS_SCREENSHOT if keep else tmp_path / "status-page.png"
    speech = concat(silence(0.5), say("could you restart the nginx service", speed=130), silence(1))
    async with running_product(moshi_upstream, tmp_path, speak_results=False) as product:
        proxy, ran = product.proxy, product.systemctl_log
        options = SessionOptions(
            url=proxy.ws,
            pcm=speech,
            speed=2.0,
            tail=60.0,
            steps=(execute_step("restart the nginx service"),),
        )
        talk = asyncio.create_task(run_session(options))
        async with playwright.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = await browser.new_page(viewport={"width": 1100, "height": 900})
                await page.goto(proxy.http + "/status")
                assert "1 live, 0 waiting" in await page.inner_text("main")
                button = page.locator("button.confirm")
                await button.wait_for(timeout=30_000)
                pending = await page.inner_text(".pending")
                assert "systemctl restart nginx" in pending
                # The speech worker may still be loading its models on a busy machine.
                await page.locator(".transcript li.user").first.wait_for(timeout=60_000)
                heard = await page.inner_text(".transcript")
                assert "restart" in heard.lower(), f"the operator's words are shown: {heard!r}"
                await page.screenshot(path=str(shot), full_page=True)
                await button.click()
                # The page refreshes itself with the outcome.
                await page.locator(".results", has_text="executed").wait_for(timeout=15_000)
                assert ran.read_text().split() == ["restart", "nginx", "--no-pager"]
                assert await page.locator("button.confirm").count() == 0
            finally:
                await browser.close()
        talk.cancel()
