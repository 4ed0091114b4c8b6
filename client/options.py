"""What a session should do: the URL and query, the audio to send, the control frames and limits.

Everything here is plain data and pure functions; :mod:`client.session` carries it out.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from client.audio import Pcm
from client.results import TailRule
from proxy.relay.codec import Action, Control
from voiceops.errors import VoiceOpsError

#: The query parameters the PersonaPlex web UI sends (besides its optional account fields).
UI_QUERY_PARAMS: tuple[str, ...] = (
    "text_temperature",
    "text_topk",
    "audio_temperature",
    "audio_topk",
    "pad_mult",
    "text_seed",
    "audio_seed",
    "repetition_penalty_context",
    "repetition_penalty",
    "text_prompt",
    "voice_prompt",
)

#: Query parameter asking the proxy for ``0x04`` JSON events; the proxy strips it upstream.
EVENTS_PARAM = "events"

#: Seconds of audio in one page (one model step).
PAGE_SECONDS = 0.08


class OptionsError(VoiceOpsError, ValueError):
    """Options that cannot describe a session (bad URL, bad control step), with the reason."""


@dataclass(frozen=True, slots=True)
class ControlStep:
    """One in-band control frame to send.

    ``at`` is a time on the audio clock (seconds of audio sent so far); ``None`` means "once the
    input audio has been sent" (the end of the WAV, before the silent tail).
    """

    action: Action
    payload: bytes = b""
    at: float | None = None

    def __post_init__(self) -> None:
        if not self.action.is_extension:
            raise OptionsError(f"{self.action.name} is not one of EXECUTE, CONFIRM, CANCEL")
        if self.at is not None and self.at < 0:
            raise OptionsError(f"--at must not be negative (got {self.at})")
        # Building the frame validates the payload against the codec's rules.
        Control(self.action, self.payload)

    @property
    def message(self) -> Control:
        """The codec message for this step."""
        return Control(self.action, self.payload)

    def describe(self) -> str:
        """A short human-readable form, e.g. ``EXECUTE {"request":"uptime"}``."""
        text = self.payload.decode("utf-8", errors="replace")
        return f"{self.action.name} {text}".rstrip()


def execute_step(request: str | None = None, at: float | None = None) -> ControlStep:
    """An EXECUTE step; ``request`` becomes the JSON payload ``{"request": ...}`` when given."""
    payload = b"" if request is None else json.dumps({"request": request}).encode("utf-8")
    return ControlStep(Action.EXECUTE, payload, at)


def id_step(action: Action, request_id: str | None = None, at: float | None = None) -> ControlStep:
    """A CONFIRM or CANCEL step for ``request_id`` (``None``: the proxy's newest request)."""
    if action not in (Action.CONFIRM, Action.CANCEL):
        raise OptionsError(f"{action.name} does not take a request id")
    payload = b"" if not request_id else request_id.encode("utf-8")
    return ControlStep(action, payload, at)


@dataclass(frozen=True)
class SessionOptions:
    """Everything :func:`client.session.run_session` needs.

    ``pcm`` is 24 kHz mono audio to stream (``None``: only silence); ``microphone`` streams the
    default input device instead, for ``mic_seconds`` (``None``: until cancelled).  Audio is paced
    at ``speed`` × real time, 80 ms per page, and followed by ``tail`` seconds of silence so the
    model (whose output is clocked by its input) keeps answering.  ``steps`` are sent in order.
    ``query`` holds the UI's query parameters; ``events`` shows the ``0x04`` events.  With
    ``until_results`` the silence goes on until the proxy has reported that many results (see
    :func:`client.results.is_result`), and ``tail`` seconds more; the wait gives up
    ``result_timeout`` wall-clock seconds after the input and the last control frame, and the
    summary's ``failure`` says so.  ``replies`` are spoken answers (24 kHz mono audio), each
    streamed like the input once the proxy has asked for an answer and finished speaking (see
    :class:`client.replies.ReplyRule`); until all are said the silence goes on, within the same
    ``result_timeout``.  Each of these asks for the events (``events=1``).
    """

    url: str
    query: Mapping[str, str] = field(default_factory=dict)
    pcm: Pcm | None = field(default=None, compare=False, repr=False)
    microphone: bool = False
    mic_seconds: float | None = None
    speed: float = 1.0
    tail: float = 2.0
    steps: tuple[ControlStep, ...] = ()
    until_results: int = 0
    result_timeout: float = 60.0
    replies: tuple[Pcm, ...] = field(default=(), compare=False, repr=False)
    confirm_when_asked: bool = False
    events: bool = False
    token: str | None = field(default=None, repr=False)
    insecure: bool = False
    #: TCP connect + HTTP upgrade.
    open_timeout: float = 10.0
    #: Upgrade → ``0x00`` handshake; a busy proxy may queue us for a while.
    handshake_timeout: float | None = 120.0
    #: After the handshake: give up when the server sends nothing for this long.
    idle_timeout: float | None = 30.0
    #: Largest message accepted from the server.
    max_message_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise OptionsError(f"speed must be positive (got {self.speed})")
        if self.tail < 0:
            raise OptionsError(f"tail must not be negative (got {self.tail})")
        if self.until_results < 0:
            raise OptionsError(f"until_results must not be negative (got {self.until_results})")
        if self.result_timeout <= 0:
            raise OptionsError(f"result_timeout must be positive (got {self.result_timeout})")
        if self.microphone and self.pcm is not None:
            raise OptionsError("stream either a WAV or the microphone, not both")
        build_url(self.url, self.query, events=self.asks_events)

    @property
    def asks_events(self) -> bool:
        """Whether to ask for ``0x04`` events: to show them, to count results in them, or to
        hear when to say a reply."""
        return self.events or self.until_results > 0 or bool(self.replies)

    @property
    def tail_rule(self) -> TailRule:
        """When the silence after the input ends."""
        return TailRule(self.tail, self.until_results, self.result_timeout)


def build_url(url: str, query: Mapping[str, str], *, events: bool = False) -> str:
    """The URL to open: ``url`` with ``query`` (and ``events=1``) merged into its query string.

    Raises :class:`OptionsError` for anything but a ``ws://`` or ``wss://`` URL with a host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        suggestion = "ws" if parts.scheme == "http" else "wss"
        raise OptionsError(
            f"{url!r} is an HTTP URL; the chat socket is {suggestion}://HOST:PORT/api/chat"
        )
    if parts.scheme not in ("ws", "wss"):
        raise OptionsError(f"{url!r} is not a ws:// or wss:// URL (ws://HOST:PORT/api/chat)")
    try:
        port = parts.port
    except ValueError:
        raise OptionsError(f"{url!r} has an invalid port") from None
    if not parts.hostname:
        raise OptionsError(f"{url!r} has no host")
    del port  # only validated: urlsplit raises on access for an out-of-range port
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    given = dict(query)
    if events:
        given[EVENTS_PARAM] = "1"
    merged = [(k, v) for k, v in pairs if k not in given] + list(given.items())
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", urllib.parse.urlencode(merged), "")
    )


def redact_url(url: str) -> str:
    """``url`` without credentials in its netloc, for printing."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
