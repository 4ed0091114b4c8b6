"""Command line of the headless client: arguments → :class:`Invocation` → a session → exit code.

Control flags are kept in the order given: ``--execute --request "uptime" --at 4 --cancel``
sends EXECUTE with that request after the WAV, then CANCEL at 4 s of audio (or as soon as the
EXECUTE has gone, if that is later).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from client import argtypes
from client.audio import AudioFormatError, read_wav, write_wav
from client.errors import SessionError
from client.options import (
    ControlStep,
    OptionsError,
    SessionOptions,
    execute_step,
    id_step,
    redact_url,
)
from client.session import run_session
from client.summary import ExitCode, SessionSummary, exit_code
from proxy.relay.codec import Action

DEFAULT_URL = "ws://127.0.0.1:8080/api/chat"
#: Environment variable holding the bearer token (the name, not a secret).
TOKEN_ENV = "VOICEOPS_TOKEN"  # noqa: S105

# (flag, query parameter, value type) for the parameters the PersonaPlex UI sends.
_QUERY_FLAGS: tuple[tuple[str, str, type], ...] = (
    ("--text-prompt", "text_prompt", str),
    ("--voice-prompt", "voice_prompt", str),
    ("--text-temperature", "text_temperature", float),
    ("--text-topk", "text_topk", int),
    ("--audio-temperature", "audio_temperature", float),
    ("--audio-topk", "audio_topk", int),
    ("--pad-mult", "pad_mult", float),
    ("--text-seed", "text_seed", int),
    ("--audio-seed", "audio_seed", int),
    ("--repetition-penalty-context", "repetition_penalty_context", int),
    ("--repetition-penalty", "repetition_penalty", float),
)


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: the session to hold and what to do with its outcome."""

    options: SessionOptions
    wav: Path | None = None
    replies: tuple[Path, ...] = ()
    out: Path | None = None
    json: bool = False


@dataclass
class _StepDraft:
    action: Action
    argument: str | None
    at: float | None


class _StepAction(argparse.Action):
    """Appends a control step, taking a preceding ``--at`` as its time."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        steps: list[_StepDraft] = list(getattr(namespace, "steps", None) or [])
        argument = values if isinstance(values, str) else None
        steps.append(_StepDraft(self.const, argument, getattr(namespace, "pending_at", None)))
        namespace.steps = steps
        namespace.pending_at = None


class _AtAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, "pending_at", None) is not None:
            parser.error("--at given twice without --execute/--confirm/--cancel between")
        namespace.pending_at = values


class _RequestAction(argparse.Action):
    """Attaches the request text to the ``--execute`` just before it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        steps: list[_StepDraft] = getattr(namespace, "steps", None) or []
        if not steps or steps[-1].action is not Action.EXECUTE or steps[-1].argument is not None:
            parser.error("--request TEXT must follow the --execute it belongs to")
        steps[-1].argument = str(values)


def build_parser() -> argparse.ArgumentParser:
    """The ``voiceops-client`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="voiceops-client",
        description="Headless client for the voiceops proxy (or any PersonaPlex/moshi "
        "/api/chat server): streams a WAV or the microphone, prints the conversation, "
        "sends EXECUTE/CONFIRM/CANCEL, saves the reply audio.",
        epilog="Exit codes: 0 normal end; 1 the session ended badly (error close code such as "
        "1011/1013/1014, no handshake, timeout, results awaited in vain); 2 usage or input "
        "error; 3 cannot connect; 4 HTTP rejection (e.g. 400); 5 authentication failed (401/403).",
    )
    conn = parser.add_argument_group("connection")
    conn.add_argument("--url", default=DEFAULT_URL, help=f"ws:// or wss:// (default {DEFAULT_URL})")
    conn.add_argument("--insecure", action="store_true", help="accept a self-signed wss:// cert")
    conn.add_argument(
        "--token", help=f"sent as 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV})"
    )
    conn.add_argument(
        "--open-timeout", type=argtypes.positive, default=SessionOptions.open_timeout, metavar="S"
    )
    conn.add_argument(
        "--handshake-timeout",
        type=argtypes.positive,
        default=SessionOptions.handshake_timeout,
        metavar="S",
        help="wait this long for the 0x00 handshake (queueing included; default %(default)g)",
    )
    conn.add_argument(
        "--idle-timeout",
        type=argtypes.positive,
        default=30.0,
        metavar="S",
        help="give up when the server sends nothing for S seconds (default 30)",
    )

    query = parser.add_argument_group("query parameters (only those given are sent)")
    for flag, name, kind in _QUERY_FLAGS:
        query.add_argument(flag, dest=f"q_{name}", type=argtypes.query_value(kind), metavar="VALUE")
    query.add_argument(
        "--query",
        type=argtypes.key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other query parameter (repeatable)",
    )

    audio = parser.add_argument_group("audio")
    source = audio.add_mutually_exclusive_group()
    source.add_argument("--wav", type=Path, metavar="FILE", help="stream this WAV (any format)")
    source.add_argument("--mic", action="store_true", help="stream the default input device")
    audio.add_argument(
        "--duration", type=argtypes.positive, metavar="S", help="with --mic: stop after S seconds"
    )
    audio.add_argument(
        "--speed",
        type=argtypes.positive,
        default=1.0,
        metavar="N",
        help="send N× faster than real time",
    )
    audio.add_argument(
        "--tail",
        type=argtypes.seconds,
        default=2.0,
        metavar="S",
        help="silence after the input, the last control frame and the results awaited (default 2)",
    )
    audio.add_argument(
        "--until-results",
        type=argtypes.count,
        default=0,
        metavar="N",
        help="keep sending silence until the proxy has reported N results "
        "(a command's final fate: executed, failed, blocked, cancelled, expired; or a request "
        "that ran nothing; counted from its 0x04 events, asked for without --events), then "
        "--tail seconds more, rather than guessing a --tail long enough for a busy proxy "
        "(default 0: do not wait)",
    )
    audio.add_argument(
        "--result-timeout",
        type=argtypes.positive,
        default=SessionOptions.result_timeout,
        metavar="S",
        help="with --until-results or --reply: stop waiting S wall-clock seconds after the "
        "input, the last control frame and the last reply; the session then closes normally, "
        "says what did not come, and exits with 1 (default %(default)g)",
    )
    audio.add_argument(
        "--reply",
        dest="replies",
        type=Path,
        action="append",
        default=[],
        metavar="FILE.wav",
        help="a spoken answer (repeatable; said in order, one per ask): streamed like the input "
        "once the proxy has asked for one (a command to confirm, or 'Not run: say …') and has "
        "finished speaking, never at a fixed time; the silence goes on until all are said "
        "(within --result-timeout)",
    )
    audio.add_argument("--out", type=Path, metavar="FILE.wav", help="save the reply audio")

    control = parser.add_argument_group(
        "control frames (sent in the order given, after the input unless --at)"
    )
    control.add_argument(
        "--execute", action=_StepAction, nargs=0, const=Action.EXECUTE, help="send EXECUTE"
    )
    control.add_argument(
        "--request",
        action=_RequestAction,
        metavar="TEXT",
        help='with the preceding --execute: payload {"request": TEXT}',
    )
    control.add_argument(
        "--confirm",
        action=_StepAction,
        nargs="?",
        const=Action.CONFIRM,
        metavar="ID",
        help="send CONFIRM (for request ID; default the newest)",
    )
    control.add_argument(
        "--cancel",
        action=_StepAction,
        nargs="?",
        const=Action.CANCEL,
        metavar="ID",
        help="send CANCEL (for request ID; default the newest)",
    )
    control.add_argument(
        "--at",
        action=_AtAction,
        type=argtypes.seconds,
        metavar="S",
        help="send the next control flag at S seconds of the audio clock",
    )
    control.add_argument(
        "--confirm-when-asked",
        action="store_true",
        help="answer CONFIRM (once per request) when the proxy asks: from its 0x04 events "
        "when they are asked for (--events, --until-results), otherwise from its 0x02 text",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--events", action="store_true", help="ask for and print 0x04 events (events=1)"
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary at the end (the live transcript then goes to stderr)",
    )
    parser.set_defaults(steps=[], pending_at=None)
    return parser


def parse_invocation(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Invocation:
    """Parse a command line (exits with status 2 and a message on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    if args.pending_at is not None:
        parser.error("--at must come before the --execute/--confirm/--cancel it times")
    if args.duration is not None and not args.mic:
        parser.error("--duration only applies to --mic")
    query = {name: getattr(args, f"q_{name}") for _, name, _ in _QUERY_FLAGS}
    query = {k: v for k, v in query.items() if v is not None}
    query.update(dict(args.query))
    try:
        steps = tuple(_step(draft) for draft in args.steps)
        options = SessionOptions(
            url=args.url,
            query=query,
            microphone=args.mic,
            mic_seconds=args.duration,
            speed=args.speed,
            tail=args.tail,
            steps=steps,
            until_results=args.until_results,
            result_timeout=args.result_timeout,
            confirm_when_asked=args.confirm_when_asked,
            events=args.events,
            token=args.token or env.get(TOKEN_ENV) or None,
            insecure=args.insecure,
            open_timeout=args.open_timeout,
            handshake_timeout=args.handshake_timeout,
            idle_timeout=args.idle_timeout,
        )
    except OptionsError as exc:
        parser.error(str(exc))
    replies = tuple(args.replies)
    return Invocation(options, wav=args.wav, replies=replies, out=args.out, json=args.json)


def _step(draft: _StepDraft) -> ControlStep:
    if draft.action is Action.EXECUTE:
        return execute_step(draft.argument, draft.at)
    return id_step(draft.action, draft.argument, draft.at)


def _error(message: str, code: ExitCode, invocation: Invocation | None, out: TextIO) -> int:
    print(f"voiceops-client: error: {message}", file=sys.stderr)
    if invocation is not None and invocation.json:
        url = redact_url(invocation.options.url)
        json.dump({"url": url, "error": message, "exit_code": int(code)}, out)
        out.write("\n")
    return int(code)


async def _run(invocation: Invocation, live: TextIO) -> SessionSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first_interrupt() -> None:
        # The first Ctrl-C closes the session normally; a second one interrupts at once.
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, first_interrupt)

    def show(text: str) -> None:
        live.write(text)
        live.flush()

    return await run_session(invocation.options, show, stop)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m client`` / ``voiceops-client``; returns the exit code."""
    invocation = parse_invocation(argv)
    stdout = sys.stdout
    live = sys.stderr if invocation.json else sys.stdout
    options = invocation.options
    reading = invocation.wav
    try:
        if reading is not None:
            options = dataclasses.replace(options, pcm=read_wav(reading))
        replies = []
        for reading in invocation.replies:
            replies.append(read_wav(reading))
    except (AudioFormatError, OSError) as exc:
        return _error(f"cannot read {reading}: {exc}", ExitCode.USAGE, invocation, stdout)
    options = dataclasses.replace(options, replies=tuple(replies))
    invocation = dataclasses.replace(invocation, options=options)
    try:
        summary = asyncio.run(_run(invocation, live))
    except SessionError as exc:
        return _error(str(exc), exc.exit_code, invocation, stdout)
    except OptionsError as exc:
        return _error(str(exc), ExitCode.USAGE, invocation, stdout)
    if invocation.out is not None:
        write_wav(invocation.out, summary.reply_pcm)
        print(
            f"[saved {summary.reply_seconds:.2f} s of reply audio to {invocation.out}]",
            file=live,
        )
    if invocation.json:
        json.dump(summary.to_json(), stdout, ensure_ascii=False)
        stdout.write("\n")
    return int(exit_code(summary))
