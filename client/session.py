"""The asyncio adapter: one WebSocket conversation with the proxy (or a moshi server).

:func:`run_session` connects, waits for the ``0x00`` handshake (the server drops audio sent
before it), streams the audio in real time (or ``speed`` × faster) as one Ogg/Opus page per
80 ms, sends the control steps on the audio clock, says the spoken ``replies`` when the proxy
asks for them (see :mod:`client.replies`), keeps sending silence for ``tail`` seconds (or, with
``until_results``, until the proxy's results have come; see :mod:`client.results`) so the model
keeps answering, closes normally and returns a
:class:`~client.summary.SessionSummary`.  Everything it learns goes through the pure
:class:`~client.recorder.SessionRecorder`; this module only moves bytes and keeps time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from client.audio import FRAME_SAMPLES, OpusEncoder, Pcm, frames
from client.errors import AuthFailedError, ConnectFailedError, RejectedError
from client.mic import Microphone, open_microphone
from client.options import (
    PAGE_SECONDS,
    OptionsError,
    SessionOptions,
    build_url,
    redact_url,
)
from client.recorder import SessionRecorder
from client.replies import ReplyRule
from client.results import Verdict
from client.summary import SessionSummary
from proxy.relay.codec import Audio, Control, Handshake, ProtocolError, encode, parse

#: Longest HTTP error body shown to the person.
MAX_REASON_CHARS = 2000

Output = Callable[[str], None]


async def run_session(
    options: SessionOptions,
    on_output: Output | None = None,
    stop: asyncio.Event | None = None,
) -> SessionSummary:
    """Hold one conversation as ``options`` describe and return what happened.

    ``on_output`` receives display text as it happens (model words joined on a line, bracketed
    status lines).  Setting ``stop`` ends the session early with a normal close.  Raises
    :class:`~client.errors.ConnectFailedError`, :class:`~client.errors.RejectedError` (HTTP error
    on the upgrade; :class:`~client.errors.AuthFailedError` for 401/403),
    :class:`~client.errors.MicrophoneUnavailableError` or :class:`~client.options.OptionsError`
    when there is no conversation at all; a conversation that ends badly (an error close code,
    a timeout) is reported in the summary instead.
    """
    loop = asyncio.get_running_loop()
    clock = loop.time
    started = clock()
    url = build_url(options.url, options.query, events=options.asks_events)
    microphone = open_microphone() if options.microphone else None

    def emit(text: str) -> None:
        if text and on_output is not None:
            on_output(text)

    recorder = SessionRecorder(
        redact_url(url),
        started=started,
        show_events=options.events,
        confirm_when_asked=options.confirm_when_asked,
        use_events=options.asks_events,
    )
    ws = await _connect(url, options)
    recorder.opened(clock())
    conversation = _Conversation(
        ws, recorder, options, emit=emit, clock=clock, stop=stop or asyncio.Event()
    )
    await conversation.run(microphone)
    return recorder.summary(clock())


async def _connect(url: str, options: SessionOptions) -> ClientConnection:
    headers = {"Authorization": f"Bearer {options.token}"} if options.token else {}
    context: ssl.SSLContext | None = None
    if url.startswith("wss:"):
        context = ssl.create_default_context()
        if options.insecure:
            # --insecure exists for the proxy's self-signed certificate on a private network.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    shown = redact_url(url)
    try:
        return await connect(
            url,
            additional_headers=headers,
            ssl=context,
            open_timeout=options.open_timeout,
            max_size=options.max_message_bytes,
            compression=None,  # audio does not compress; the server never negotiates it
            proxy=None,  # never route a loopback / LAN socket through an environment proxy
            user_agent_header="voiceops-client",
        )
    except InvalidStatus as exc:
        raise _rejection(exc, shown, has_token=bool(options.token)) from None
    except InvalidURI as exc:
        raise OptionsError(f"invalid URL {shown!r}: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise ConnectFailedError(
            f"TLS certificate of {shown} not trusted ({exc.verify_message}); "
            "use --insecure for a self-signed certificate"
        ) from None
    except TimeoutError:
        raise ConnectFailedError(
            f"no WebSocket from {shown} within {options.open_timeout:g} s"
        ) from None
    except ConnectionRefusedError:
        raise ConnectFailedError(f"connection refused by {shown}: is the proxy running?") from None
    except OSError as exc:
        raise ConnectFailedError(f"cannot connect to {shown}: {exc.strerror or exc}") from None
    except InvalidHandshake as exc:
        raise ConnectFailedError(f"{shown} is not a WebSocket endpoint: {exc}") from None


def _rejection(exc: InvalidStatus, url: str, *, has_token: bool) -> RejectedError:
    response = exc.response
    status = response.status_code
    body = (response.body or b"").decode("utf-8", errors="replace").strip()[:MAX_REASON_CHARS]
    reason = f": {body}" if body else f" ({response.reason_phrase})"
    if status in (401, 403):
        hint = "" if has_token else " — give a token with --token or VOICEOPS_TOKEN"
        what = "authentication failed" if status == 401 else "access denied"
        return AuthFailedError(f"{what} at {url}: HTTP {status}{reason}{hint}", status, body)
    return RejectedError(f"{url} rejected the connection: HTTP {status}{reason}", status, body)


class _Conversation:
    """Sender and receiver of one open connection, sharing the recorder."""

    def __init__(
        self,
        ws: ClientConnection,
        recorder: SessionRecorder,
        options: SessionOptions,
        *,
        emit: Output,
        clock: Callable[[], float],
        stop: asyncio.Event,
    ) -> None:
        self._ws = ws
        self._rec = recorder
        self._options = options
        self._emit = emit
        self._clock = clock
        self._stop = stop
        self._handshake = asyncio.Event()
        self._steps = list(options.steps)
        self._last_control_audio = 0.0
        self._last_control_wall = 0.0

    async def run(self, microphone: Microphone | None) -> None:
        """Hold the conversation until it ends, then record how it closed."""
        receiver = asyncio.create_task(self._receive())
        stopper = asyncio.create_task(self._stop.wait())
        try:
            if await self._await_handshake(receiver, stopper):
                sender = asyncio.create_task(self._stream(microphone))
                # The server may end the call while we stream (nothing left to send to), the
                # receiver may give up on an idle server, and a stop request ends everything.
                await asyncio.wait({sender, receiver, stopper}, return_when="FIRST_COMPLETED")
                await _cancel(sender)
        finally:
            await _cancel(stopper)
            await self._ws.close(1000, "done")
            await _cancel(receiver)
        protocol = self._ws.protocol
        code = self._ws.close_code if self._ws.close_code is not None else 1006
        # ``close_rcvd_then_sent`` is None when the connection was lost without a close frame.
        by: Literal["client", "server"] = (
            "client" if protocol.close_rcvd_then_sent is False else "server"
        )
        self._emit(self._rec.closed(code, self._ws.close_reason or "", by, self._clock()))

    async def _await_handshake(
        self, receiver: asyncio.Task[None], stopper: asyncio.Task[Literal[True]]
    ) -> bool:
        waiter = asyncio.create_task(self._handshake.wait())
        try:
            await asyncio.wait(
                {waiter, receiver, stopper},
                timeout=self._options.handshake_timeout,
                return_when="FIRST_COMPLETED",
            )
        finally:
            await _cancel(waiter)
        if self._handshake.is_set():
            return True
        if not receiver.done() and not stopper.done():
            timeout = self._options.handshake_timeout
            self._emit(self._rec.failed(f"no handshake within {timeout:g} s"))
        return False

    # -- receiving ---------------------------------------------------------------------------

    async def _receive(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                # Before the handshake a busy proxy may keep us queued for long; the handshake
                # timeout covers that wait.  After it, silence means the server is stuck.
                idle = self._options.idle_timeout if self._rec.handshaken else None
                try:
                    async with asyncio.timeout(idle):
                        data = await self._ws.recv()
                except TimeoutError:
                    self._emit(self._rec.failed(f"no message from the server for {idle:g} s"))
                    return
                await self._handle(data)

    async def _handle(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self._emit(self._rec.received_invalid("text frame (the protocol is binary)"))
            return
        try:
            message = parse(data, self._options.max_message_bytes)
        except ProtocolError as exc:
            self._emit(self._rec.received_invalid(exc.reason))
            return
        reaction = self._rec.received(message, self._clock())
        self._emit(reaction.output)
        if isinstance(message, Handshake):
            self._handshake.set()
        for control in reaction.send:
            await self._send_control(control, automatic=True)

    # -- sending -----------------------------------------------------------------------------

    async def _send_control(self, control: Control, *, automatic: bool = False) -> None:
        await self._ws.send(encode(control))
        self._last_control_audio = self._rec.audio_clock
        self._last_control_wall = self._clock()
        self._emit(self._rec.sent_control(control, self._clock(), automatic=automatic))

    async def _send_due_steps(self, *, input_done: bool) -> None:
        # Steps go strictly in the order given: one waiting for the end of the input holds
        # back those after it even if their --at time has passed.
        while self._steps:
            step = self._steps[0]
            due = input_done if step.at is None else step.at <= self._rec.audio_clock + 1e-9
            if not due:
                return
            self._steps.pop(0)
            await self._send_control(step.message)

    async def _send_frame(self, encoder: OpusEncoder, frame: Pcm) -> None:
        await self._send_due_steps(input_done=False)
        page = encoder.encode(frame)
        if page:
            await self._ws.send(encode(Audio(page)))
        self._rec.sent_audio(page, len(frame))

    async def _stream(self, microphone: Microphone | None) -> None:
        encoder = OpusEncoder()
        pace = _Pacer(self._clock, PAGE_SECONDS / self._options.speed)
        with contextlib.suppress(ConnectionClosed):
            if microphone is not None:
                # Live input sets its own pace.
                async for frame in microphone.frames(self._options.mic_seconds):
                    await self._send_frame(encoder, frame)
            elif self._options.pcm is not None:
                for frame in frames(self._options.pcm):
                    await pace.wait()
                    await self._send_frame(encoder, frame)
            input_end, input_wall = self._rec.audio_clock, self._clock()
            await self._send_due_steps(input_done=True)
            # Silence (and the spoken replies when asked) until every step is sent and the
            # tail rule is met: the answer comes on the audio clock, and the model answers only
            # while it hears us.
            pace.restart()
            silence = np.zeros(FRAME_SAMPLES, np.float32)
            rule = self._options.tail_rule
            replies = self._options.replies
            said = 0
            while True:
                await self._send_due_steps(input_done=True)
                if self._reply_due(said, said_until=input_end):
                    said += 1
                    self._emit(self._rec.saying(said, len(replies)))
                    for frame in frames(replies[said - 1]):
                        await pace.wait()
                        await self._send_frame(encoder, frame)
                    input_end, input_wall = self._rec.audio_clock, self._clock()
                    continue
                # A reply asked for is said within the rule's patience: no giving up before.
                if not self._steps and not self._reply_asked(said):
                    verdict = rule.verdict(
                        audio_clock=self._rec.audio_clock,
                        quiet_from=max(input_end, self._last_control_audio),
                        arrived=self._rec.result_times,
                        waited=self._clock() - max(input_wall, self._last_control_wall),
                        unsaid=len(replies) - said,
                    )
                    if verdict is Verdict.GAVE_UP:
                        got = len(self._rec.result_times)
                        self._emit(self._rec.failed(rule.gave_up(got, len(replies) - said)))
                    if verdict is not Verdict.SILENCE:
                        break
                await pace.wait()
                await self._send_frame(encoder, silence)

    def _reply_asked(self, said: int) -> bool:
        """A reply is left to say (``said`` are said) and the proxy has asked for it."""
        return said < len(self._options.replies) and len(self._rec.ask_times) > said

    def _reply_due(self, said: int, *, said_until: float) -> bool:
        """The next reply (``said`` are said) is due now (:class:`client.replies.ReplyRule`)."""
        return said < len(self._options.replies) and ReplyRule().due(
            audio_clock=self._rec.audio_clock,
            asks=self._rec.ask_times,
            said=said,
            said_until=said_until if said else 0.0,
            speech=self._rec.speech,
        )


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class _Pacer:
    """Spaces sends ``interval`` seconds apart on the loop clock without drifting."""

    def __init__(self, clock: Callable[[], float], interval: float) -> None:
        self._clock = clock
        self._interval = interval
        self._next = clock()

    def restart(self) -> None:
        """Do not try to catch up on time spent elsewhere (live input, waiting)."""
        self._next = max(self._next, self._clock())

    async def wait(self) -> None:
        """Sleep until the next slot."""
        delay = self._next - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next += self._interval
