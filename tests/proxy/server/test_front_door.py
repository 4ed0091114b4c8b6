"""The front door on a real proxy: credentials, Origin, Host, and who sees which session.

Each test is an attack from the review (issue 13) or the legitimate use next to it.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest

from extraction.rules import RulesExtractor
from proxy.actions.audit import AuditLog
from proxy.actions.executors import LocalExecutor
from proxy.actions.registry import FlowRegistry
from proxy.actions.settings import FlowSettings
from proxy.relay.codec import Action, Control, Kind, Text, encode
from proxy.relay.notices import from_model
from proxy.security import Limits, SecuritySettings
from proxy.server.auth import COOKIE_NAME, Authenticator
from proxy.server.pipeline import Services
from tests.proxy.actions.test_executor_local import make_bin_dir, make_guard, ran_log
from tests.proxy.conftest import RunningProxy, fast_config, running_proxy, until_close
from tests.proxy.relay.test_relay import receive_kind
from tests.proxy.upstream_double import UpstreamDouble
from voiceops.records.lines import TAG

TOKEN = "correct-horse-battery-staple-42"
JSON = {"Content-Type": "application/json"}


@dataclass
class Proxy:
    running: RunningProxy
    bin_dir: Path

    @property
    def http(self) -> str:
        return self.running.http

    @property
    def origin(self) -> str:
        return self.running.http


def _services(tmp_path: Path) -> tuple[Services, Path]:
    bin_dir = make_bin_dir(tmp_path)
    flows = FlowRegistry(
        extractor=RulesExtractor(),
        guard=make_guard(bin_dir, policy=None),
        executor=LocalExecutor(),
        settings=FlowSettings(exec_allowed=True),
        audit=AuditLog(tmp_path / "audit.jsonl"),
    )
    return Services(flows=flows), bin_dir


@pytest.fixture
async def authed(upstream: UpstreamDouble, tmp_path: Path) -> AsyncIterator[Proxy]:
    services, bin_dir = _services(tmp_path)
    config = fast_config(upstream.url, security=SecuritySettings(auth_token=TOKEN))
    async with running_proxy(config, services) as running:
        yield Proxy(running, bin_dir)


@pytest.fixture
async def open_loopback(upstream: UpstreamDouble, tmp_path: Path) -> AsyncIterator[Proxy]:
    services, bin_dir = _services(tmp_path)
    async with running_proxy(fast_config(upstream.url), services) as running:
        yield Proxy(running, bin_dir)


async def login(proxy: Proxy, token: str = TOKEN) -> aiohttp.ClientSession:
    """A browser-like client (own cookie jar) that logged in through the form."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP-address host
    session = aiohttp.ClientSession(cookie_jar=jar)
    async with session.post(
        proxy.http + "/login", data={"token": token}, headers={"Origin": proxy.origin}
    ) as response:
        assert response.status == 200, await response.text()  # followed the 303 to /
    return session


async def test_no_credentials_is_401_on_ui_api_and_websocket(authed: Proxy) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(authed.http + "/", headers={"Accept": "text/html"}) as response:
            assert response.status == 401 and "/login" in await response.text()
        for path in ("/api/sessions", "/api/sessions/x/actions"):
            async with http.get(authed.http + path) as response:
                assert response.status == 401
        async with http.post(
            authed.http + "/process", json={"transcript": "check disk space"}
        ) as response:
            assert response.status == 401
            assert "Bearer" in response.headers["WWW-Authenticate"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(authed.running.ws)
        assert refused.value.status == 401
        # Probes stay open and say nothing internal.
        async with http.get(authed.http + "/health") as response:
            assert response.status == 200
        async with http.get(authed.http + "/ready") as response:
            text = await response.text()
            assert response.status == 200 and "127.0.0.1" not in text and "ws://" not in text
    assert ran_log(authed.bin_dir) == []


async def test_login_sets_a_strict_httponly_cookie_that_opens_ui_api_and_websocket(
    authed: Proxy,
) -> None:
    async with aiohttp.ClientSession() as raw:
        async with raw.post(
            authed.http + "/login", data={"token": TOKEN}, allow_redirects=False
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    browser = await login(authed)
    async with browser:
        async with browser.get(authed.http + "/") as response:
            assert response.status == 200 and "upstream ui" in await response.text()
        async with browser.post(
            authed.http + "/process", json={"transcript": "check disk space"}
        ) as response:
            assert response.status == 200
        async with browser.ws_connect(authed.running.ws, origin=authed.origin) as ws:
            await receive_kind(ws, Kind.HANDSHAKE)
        # Logged out: the same cookie value is refused from now on.
        value = next(c.value for c in browser.cookie_jar if c.key == COOKIE_NAME)
        async with browser.post(authed.http + "/logout", headers={"Origin": authed.origin}):
            pass
    async with aiohttp.ClientSession(cookies={COOKIE_NAME: value}) as replay:
        async with replay.get(authed.http + "/api/sessions") as response:
            assert response.status == 401


async def test_behind_an_https_gateway_the_cookie_is_secure(authed: Proxy) -> None:
    async with aiohttp.ClientSession() as raw:
        async with raw.post(
            authed.http + "/login",
            data={"token": TOKEN},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        ) as response:
            assert "Secure" in response.headers["Set-Cookie"]


async def test_bearer_token_works_and_a_wrong_one_does_not(authed: Proxy) -> None:
    async with aiohttp.ClientSession() as http:
        good = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(authed.http + "/api/sessions", headers=good) as response:
            assert response.status == 200
        bad = {"Authorization": f"Bearer {TOKEN}x"}
        async with http.get(authed.http + "/api/sessions", headers=bad) as response:
            assert response.status == 401


async def test_forged_and_expired_cookies_are_refused(authed: Proxy) -> None:
    now = [1_000_000.0]
    issuer = Authenticator(TOKEN, ttl=60, clock=lambda: now[0])
    cookie, _ = issuer.issue()
    body, _, signature = cookie.rpartition(".")
    version, ident, expiry = body.split(".")
    forged = [
        f"{body}.{'0' * len(signature)}",  # wrong signature
        f"{version}.{ident}.{int(expiry) + 10**9}.{signature}",  # stretched expiry
        f"{version}.{ident}.{expiry}.{Authenticator('another-secret-xyz-123', 60).issue()[0]}",
        Authenticator("another-secret-xyz-123", 3600).issue()[0],  # signed with another key
        "garbage",
    ]
    async with aiohttp.ClientSession() as http:
        for value in [cookie, *forged]:  # `cookie` expired in 1970 + 11 days
            headers = {"Cookie": f"{COOKIE_NAME}={value}"}
            async with http.get(authed.http + "/api/sessions", headers=headers) as response:
                assert response.status == 401, value
    assert issuer.principal(cookie) is not None
    now[0] += 61
    assert issuer.principal(cookie) is None


async def test_login_is_throttled_per_address(authed: Proxy) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.post(authed.http + "/login", data={"token": "guess"}) as response:
                assert response.status == 401
        async with http.post(authed.http + "/login", data={"token": TOKEN}) as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) > 0
            assert "Too many failed attempts" in await response.text()
        # Bearer clients are not locked out by someone hammering the form.
        good = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(authed.http + "/api/sessions", headers=good) as response:
            assert response.status == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_foreign_origin_websocket_is_403_before_anything_happens(
    open_loopback: Proxy, upstream: UpstreamDouble, origin: str
) -> None:
    """Cross-site WebSocket hijacking: even on loopback without authentication."""
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(open_loopback.running.ws, origin=origin)
        assert refused.value.status == 403
        await asyncio.sleep(0.1)
        assert upstream.connections == 0
        async with http.ws_connect(open_loopback.running.ws, origin=open_loopback.origin) as ws:
            await receive_kind(ws, Kind.HANDSHAKE)


@pytest.mark.parametrize("path", ["/process", "/execute", "/confirm", "/cancel", "/logout"])
async def test_foreign_origin_api_call_is_403(open_loopback: Proxy, path: str) -> None:
    body = {"transcript": ["restart nginx"]} if path == "/execute" else {"transcript": "x"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            open_loopback.http + path, json=body, headers={"Origin": "http://evil.example"}
        ) as response:
            assert response.status == 403
            assert "evil.example" in (await response.json())["error"]
    assert ran_log(open_loopback.bin_dir) == []


async def test_allowed_origin_flag_admits_a_listed_site(
    upstream: UpstreamDouble, tmp_path: Path
) -> None:
    services, _ = _services(tmp_path)
    security = SecuritySettings(allowed_origins=("https://ops.example.com",))
    async with running_proxy(fast_config(upstream.url, security=security), services) as running:
        async with aiohttp.ClientSession() as http:
            for origin, status in (("https://ops.example.com", 200), ("https://x.example", 403)):
                async with http.post(
                    running.http + "/process",
                    json={"transcript": "what a day"},
                    headers={"Origin": origin},
                ) as response:
                    assert response.status == status


async def test_wrong_host_is_refused_on_loopback(open_loopback: Proxy) -> None:
    """DNS rebinding: a page on attacker.example resolved to 127.0.0.1 sends its own Host."""
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/api/sessions"):
            headers = {"Host": f"attacker.example:{open_loopback.running.config.port}"}
            async with http.get(open_loopback.http + path, headers=headers) as response:
                assert response.status == 403
                assert "attacker.example" in (await response.json())["error"]
        headers = {"Host": f"localhost:{open_loopback.running.config.port}"}
        async with http.get(open_loopback.http + "/api/sessions", headers=headers) as response:
            assert response.status == 200


async def test_another_principals_session_is_invisible_and_unactionable(authed: Proxy) -> None:
    alice, mallory = await login(authed), await login(authed)
    async with alice, mallory:
        async with alice.post(
            authed.http + "/process", json={"transcript": "restart nginx"}
        ) as response:
            data = await response.json()
        session = data["session_id"]
        assert data["results"][0]["status"] == "needs_confirmation"
        async with alice.ws_connect(authed.running.ws, origin=authed.origin) as ws:
            await receive_kind(ws, Kind.HANDSHAKE)
            async with alice.get(authed.http + "/api/sessions") as response:
                [conversation] = (await response.json())["sessions"]
            for who, seen in ((mallory, []), (alice, [conversation])):
                async with who.get(authed.http + "/api/sessions") as response:
                    assert (await response.json())["sessions"] == seen
            transcript = f"/api/sessions/{conversation['id']}/transcript"
            async with mallory.get(authed.http + transcript) as response:
                assert response.status == 404
        for path, body in (
            ("/confirm", {"session_id": session}),
            ("/cancel", {"session_id": session}),
            ("/process", {"transcript": "confirm", "session_id": session}),
            ("/execute", {"transcript": ["restart nginx"], "session_id": session}),
            ("/process", {"transcript": "check disk", "session_id": conversation["id"]}),
        ):
            async with mallory.post(authed.http + path, json=body) as response:
                assert response.status == 404, (path, await response.text())
        async with mallory.get(authed.http + f"/api/sessions/{session}/actions") as response:
            assert response.status == 404
        assert ran_log(authed.bin_dir) == []
        async with alice.post(authed.http + "/confirm", json={"session_id": session}) as response:
            assert response.status == 200
    assert ran_log(authed.bin_dir) != []


async def test_waiting_clients_cannot_act(open_loopback: Proxy, upstream: UpstreamDouble) -> None:
    config = replace(open_loopback.running.config)
    assert config.max_waiting > 0
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(open_loopback.running.ws) as first:
            await receive_kind(first, Kind.HANDSHAKE)
            async with http.ws_connect(open_loopback.running.ws) as second:
                assert b"number 1 in line" in await receive_kind(second, Kind.TEXT)
                execute = Control(Action.EXECUTE, b'{"request": "check disk space"}')
                await second.send_bytes(encode(execute))
                assert b"still waiting for a voice server" in await receive_kind(second, Kind.TEXT)
    assert ran_log(open_loopback.bin_dir) == []


async def test_a_conversation_longer_than_the_limit_is_closed_with_the_reason(
    upstream: UpstreamDouble,
) -> None:
    security = SecuritySettings(limits=Limits(conversation_seconds=1.0))
    async with running_proxy(fast_config(upstream.url, security=security)) as running:
        async with aiohttp.ClientSession() as http, http.ws_connect(running.ws) as ws:
            await receive_kind(ws, Kind.HANDSHAKE)
            msg, _ = await until_close(ws, timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE and "1 s limit" in str(msg.extra)


def test_model_text_cannot_imitate_a_notice() -> None:
    fake = encode(Text("[voiceops] ［voiceops］ r1.1 rm -rf / needs confirmation"))
    shown = from_model(fake)
    assert shown[0] == Kind.TEXT and TAG.encode() not in shown
    assert b"[" not in shown and "［".encode() not in shown
    assert shown[1:] == b"(voiceops) (voiceops) r1.1 rm -rf / needs confirmation"
    # Split across messages, no piece can carry a bracket either.
    assert all(b"[" not in from_model(encode(Text(p))) for p in ("[", "voice", "ops", "]"))
    audio = bytes([Kind.AUDIO]) + b"[voiceops]"
    assert from_model(audio) == audio


async def test_upstream_text_imitating_a_notice_reaches_the_browser_defanged(
    open_loopback: Proxy,
) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(open_loopback.running.ws) as ws:
        await receive_kind(ws, Kind.HANDSHAKE)
        await ws.send_bytes(encode(Text("[voiceops] r1.1 needs confirmation")))  # echoed back
        assert await receive_kind(ws, Kind.TEXT) == b"\x02(voiceops) r1.1 needs confirmation"


async def test_tls_serves_https_the_login_cookie_is_secure_and_audio_is_relayed(
    upstream: UpstreamDouble, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    security = SecuritySettings(auth_token=TOKEN, tls_cert=cert, tls_key=key)
    async with running_proxy(fast_config(upstream.url, security=security)) as running:
        base = running.http.replace("http://", "https://", 1)
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/health", ssl=False) as response:
                assert response.status == 200
            async with http.post(
                base + "/login", data={"token": TOKEN}, ssl=False, allow_redirects=False
            ) as response:
                assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]
            with pytest.raises(aiohttp.ClientError):
                await http.get(running.http + "/health")  # plain HTTP is not served
            # Audio pages take the splice, which sits on the TLS transport's decrypted side.
            wss = running.ws.replace("ws://", "wss://", 1)
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            async with http.ws_connect(wss, ssl=False, headers=bearer) as ws:
                await receive_kind(ws, Kind.HANDSHAKE)
                pages = [b"\x01OggS" + bytes([i]) * 300 for i in range(20)]
                for page in pages:
                    await ws.send_bytes(page)
                assert [await receive_kind(ws, Kind.AUDIO) for _ in pages] == pages
