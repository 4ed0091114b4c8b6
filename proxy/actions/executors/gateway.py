"""A small client for the OpenClaw gateway's WebSocket protocol (v4), operator role.

Why our own client instead of ``openclaw gateway call``: the CLI starts a Node process per call
(≈2.5–4 s here); one held WebSocket answers ``node.invoke`` in tens of milliseconds.

The protocol (``docs/gateway/protocol/`` in the ``openclaw`` package): the gateway sends a
``connect.challenge`` event with a nonce and timestamp; the client answers with a ``connect``
request carrying the shared gateway token and a **device identity** — an Ed25519 public key and
its signature over a ``v3|…`` payload that binds the nonce, the role, the scopes and the token.
A device connecting over loopback is paired silently; from elsewhere an operator approves it
once (``openclaw devices approve``).  After ``hello-ok`` every call is a ``req`` frame answered
by a ``res`` frame with the same id; events (ticks, presence) are ignored here.

Everything is bounded: the connect and every call have a deadline, frames are size-capped, and a
lost connection fails every waiting call at once with :class:`GatewayUnavailableError`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from voiceops.errors import VoiceOpsError

PROTOCOL_VERSION = 4
#: ``system.run`` through ``node.invoke`` needs the admin scope (the gateway's
#: ``isAdminOnlyNodeInvokeCommand``).
SCOPES = ("operator.admin",)
#: The gateway accepts only its own client ids; ``cli`` is the operator command-line family,
#: which is what this is (``gateway-client``/``backend`` is reserved for its internal helpers).
CLIENT_ID = "cli"
CLIENT_MODE = "cli"
PLATFORM = "linux"
#: Largest frame accepted from the gateway: a run's two output streams plus JSON overhead.
MAX_FRAME_BYTES = 8 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT = 5.0


class GatewayError(VoiceOpsError):
    """The gateway answered a call with an error (``code``, ``message``, ``details``)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class GatewayUnavailableError(VoiceOpsError, ConnectionError):
    """The gateway could not be reached, refused the connection, or the connection dropped."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DeviceKey:
    """This proxy's Ed25519 device identity, kept in a 0600 file so pairing survives restarts."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        #: The gateway derives the device id as the SHA-256 of the raw public key.
        self.device_id = hashlib.sha256(self.public_raw).hexdigest()

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceKey:
        """Read the key from ``path`` (hex of the 32 private bytes) or make and save a new one."""
        if path.exists():
            return cls(
                Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
            )
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key.private_bytes_raw().hex() + "\n")
        return cls(key)

    def sign(self, payload: str) -> str:
        """The base64url signature of ``payload`` (UTF-8)."""
        return _b64url(self._private.sign(payload.encode()))

    def connect_params(self, token: str, nonce: str, signed_at: int) -> dict[str, Any]:
        """The ``connect`` request parameters, signed over the challenge (payload format v3)."""
        payload = "|".join(
            [
                "v3",
                self.device_id,
                CLIENT_ID,
                CLIENT_MODE,
                "operator",
                ",".join(SCOPES),
                str(signed_at),
                token,
                nonce,
                PLATFORM,
                "",  # deviceFamily: none
            ]
        )
        return {
            "minProtocol": PROTOCOL_VERSION,
            "maxProtocol": PROTOCOL_VERSION,
            "client": {
                "id": CLIENT_ID,
                "displayName": "voiceops-proxy",
                "version": "0.1.0",
                "platform": PLATFORM,
                "mode": CLIENT_MODE,
            },
            "role": "operator",
            "scopes": list(SCOPES),
            "caps": [],
            "auth": {"token": token},
            "device": {
                "id": self.device_id,
                "publicKey": _b64url(self.public_raw),
                "signature": self.sign(payload),
                "signedAt": signed_at,
                "nonce": nonce,
            },
        }


class GatewayClient:
    """One lazily (re)connected operator connection; calls may run concurrently.

    ``call`` connects when there is no live connection, so a gateway that restarts is picked up
    again by the next call; a gateway that is down costs at most ``connect_timeout``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        key: DeviceKey,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.url = url
        self._token = token
        self._key = key
        self.connect_timeout = connect_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    async def call(self, method: str, params: dict[str, Any], within: float) -> dict[str, Any]:
        """Send one request and return its payload; raise :class:`GatewayError` when the gateway
        answers with an error, :class:`GatewayUnavailableError` when it cannot be reached or the
        connection drops, ``TimeoutError`` when no answer comes ``within`` seconds."""
        ws = await self._connected()
        rid = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            frame = {"type": "req", "id": rid, "method": method, "params": params}
            try:
                await ws.send(json.dumps(frame))
            except (WebSocketException, OSError) as exc:
                raise GatewayUnavailableError(f"lost the gateway connection: {exc}") from exc
            return await asyncio.wait_for(future, within)
        finally:
            self._pending.pop(rid, None)

    async def _connected(self) -> ClientConnection:
        async with self._lock:
            if self._ws is not None and self._reader is not None and not self._reader.done():
                return self._ws
            try:
                self._ws = await asyncio.wait_for(self._handshake(), self.connect_timeout)
            except TimeoutError:
                raise GatewayUnavailableError(
                    f"the gateway at {self.url} did not complete the handshake in "
                    f"{self.connect_timeout:g} s"
                ) from None
            except (OSError, WebSocketException) as exc:
                raise GatewayUnavailableError(
                    f"cannot reach the gateway at {self.url}: {exc}"
                ) from exc
            self._reader = asyncio.create_task(self._read(self._ws))
            return self._ws

    async def _handshake(self) -> ClientConnection:
        ws = await connect(self.url, max_size=MAX_FRAME_BYTES, open_timeout=None)
        try:
            challenge = json.loads(await ws.recv())
            payload = challenge.get("payload") or {}
            nonce, signed_at = payload.get("nonce"), payload.get("ts")
            if challenge.get("event") != "connect.challenge" or not isinstance(nonce, str):
                raise GatewayUnavailableError("the gateway did not send a connect challenge")
            if not isinstance(signed_at, int) or isinstance(signed_at, bool) or signed_at < 0:
                raise GatewayUnavailableError(
                    "the gateway's connect challenge has no valid timestamp"
                )
            params = self._key.connect_params(self._token, nonce, signed_at)
            await ws.send(
                json.dumps({"type": "req", "id": "connect", "method": "connect", "params": params})
            )
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("type") == "res" and reply.get("id") == "connect":
                    break
            if not reply.get("ok"):
                error = reply.get("error") or {}
                raise GatewayUnavailableError(
                    f"the gateway refused the connection: {error.get('code')}: "
                    f"{error.get('message')}"
                )
            return ws
        except BaseException:
            await ws.close()
            raise

    async def _read(self, ws: ClientConnection) -> None:
        reason = "the gateway closed the connection"
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(frame, dict) or frame.get("type") != "res":
                    continue
                future = self._pending.get(str(frame.get("id")))
                if future is None or future.done():
                    continue
                if frame.get("ok"):
                    payload = frame.get("payload")
                    future.set_result(payload if isinstance(payload, dict) else {})
                else:
                    err = frame.get("error")
                    err = err if isinstance(err, dict) else {}
                    details = err.get("details")
                    future.set_exception(
                        GatewayError(
                            str(err.get("code", "ERROR")),
                            str(err.get("message", "")),
                            details if isinstance(details, dict) else None,
                        )
                    )
        except (WebSocketException, OSError) as exc:
            reason = f"lost the gateway connection: {exc}"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(GatewayUnavailableError(reason))

    async def close(self) -> None:
        """Close the connection (calls in flight fail with :class:`GatewayUnavailableError`)."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._ws = None
        self._reader = None
