"""The tap as the relay uses it: copies offered from the event loop, events back on the loop.

Recognition runs in the speech worker process; these tests use the real one (real models).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.speech.worker import SpeechWorker
from proxy.listen.tap import Tap, TapEvent, TriggerHeard, UserSpoke
from proxy.relay.codec import Action
from tests.proxy.listen.speech.speechkit import client_messages, drained, speech_worker
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.speech, needs_espeak]


def _state(pid: int) -> str:
    # The field after "(comm)" in /proc/<pid>/stat: R, S, T (stopped), Z…
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _exists(pid: int) -> bool:
    try:
        return _state(pid) != "Z"
    except FileNotFoundError:
        return False


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The worker process frozen (SIGSTOP): it takes nothing more until the block ends."""
    os.kill(pid, signal.SIGSTOP)
    try:
        while _state(pid) != "T":
            os.sched_yield()
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def run_tap(tap: Tap, messages: list[bytes]) -> None:
    tap.start()
    for message in messages:
        tap.offer_client(message)
        await asyncio.sleep(0)  # the relay awaits a send between messages
    await tap.close()


async def test_trigger_and_words_arrive_on_the_event_loop() -> None:
    loop = asyncio.get_running_loop()
    seen: list[tuple[TapEvent, int]] = []
    tap = Tap(
        "s1", lambda e: seen.append((e, threading.get_ident())), loop, recognisers=speech_worker()
    )
    audio = concat(
        silence(0.4), say("restart nginx on web two"), silence(1.0), say("execute plan"), silence(1)
    )
    await run_tap(tap, client_messages(audio))
    events = [e for e, _ in seen]
    assert {ident for _, ident in seen} == {threading.get_ident()}
    assert [e.action for e in events if isinstance(e, TriggerHeard)] == [Action.EXECUTE]
    assert sum(isinstance(e, UserSpoke) for e in events) == 2
    assert "restart" in tap.transcript.turns()[0].text.lower()  # tiny.en: nginx → "engine X"
    trigger = next(e for e in events if isinstance(e, TriggerHeard))
    assert trigger.turns == tap.transcript.turns()  # the proxy's copy matches the worker's
    assert tap.dropped == 0
    assert tap.transcript.mark() == 2  # the next turn's number


async def test_stalled_worker_never_blocks_offer_and_drops_are_counted() -> None:
    loop = asyncio.get_running_loop()
    worker = speech_worker()
    pid = worker.pid
    assert pid is not None
    speech = client_messages(concat(silence(0.3), say("hello there"), silence(1.5)))
    settings = replace(DEFAULT_SETTINGS, queue_messages=len(speech) + 10)
    events: list[TapEvent] = []
    tap = Tap("stalled", events.append, loop, settings, worker)
    tap.start()
    with stopped(pid):  # the worker takes nothing: no message can be acknowledged
        for message in speech:  # all fit within the session's bound: none dropped
            tap.offer_client(message)
        assert tap.dropped == 0
        for message in speech[-1:] * 500:
            tap.offer_client(message)  # would hang here (test timeout) if offering could block
            tap.offer_server(b"\x02 words")
        assert tap.dropped == 1000 - 10
    await tap.close()
    assert any(isinstance(e, UserSpoke) for e in events)
    assert tap.dropped == 1000 - 10


async def test_pages_dropped_while_the_worker_was_behind_keep_later_words_on_the_real_clock() -> (
    None
):
    loop = asyncio.get_running_loop()
    worker = speech_worker()
    pid = worker.pid
    assert pid is not None
    first = client_messages(concat(silence(0.4), say("hello there"), silence(2.0)))
    stream = client_messages(
        concat(silence(0.4), say("hello there"), silence(4.0), say("execute plan"), silence(1))
    )
    lost = 25  # 80 ms pages: 2 s of silence the tap cannot pass on
    settings = replace(DEFAULT_SETTINGS, queue_messages=len(first))
    events: list[TapEvent] = []
    tap = Tap("behind", events.append, loop, settings, worker)
    tap.start()
    with stopped(pid):
        for message in stream[: len(first) + lost]:
            tap.offer_client(message)
        assert tap.dropped == lost
    await drained(tap)
    for message in stream[len(first) + lost :]:  # fewer than the bound: none dropped
        tap.offer_client(message)
        await asyncio.sleep(0)
    await tap.close()
    assert tap.dropped == lost
    assert tap.stats is not None
    assert tap.stats.skipped_seconds == pytest.approx(2.0)
    trigger = next(e for e in events if isinstance(e, TriggerHeard))
    said = tap.transcript.turns()[-1]
    assert "plan" in said.text.lower()
    start = len(client_messages(concat(silence(0.4), say("hello there"), silence(4.0)))) * 0.08
    assert said.start == pytest.approx(start, abs=0.4)  # without the gap: 2 s early
    assert trigger.at == pytest.approx(said.end, abs=0.6)


async def test_our_speech_is_still_placed_when_the_pipe_to_the_worker_was_full() -> None:
    # The proxy starts speaking while the pipe is full: the notice is kept and goes first once
    # there is room, so the echo of "Cancel." heard meanwhile cancels nothing.
    loop = asyncio.get_running_loop()
    worker = speech_worker()
    pid = worker.pid
    assert pid is not None
    prompt = say("Cancel.")
    lead = client_messages(silence(1.0))
    stream = client_messages(
        concat(silence(1.0), prompt, silence(1.5), say("execute plan"), silence(1.0))
    )
    settings = replace(DEFAULT_SETTINGS, queue_messages=100_000)  # only the pipe is the limit
    events: list[TapEvent] = []
    tap = Tap("full", events.append, loop, settings, worker)
    tap.start()
    with stopped(pid):
        for message in stream[: len(lead)]:
            tap.offer_client(message)
        for _ in range(20_000):  # the pipe (64 KiB) fills within a few hundred pages
            tap.offer_client(stream[len(lead) - 1])
            if tap.dropped:
                break
        assert tap.dropped == 1
        tap.speaking(len(prompt) / 24_000)  # no room: kept
    await drained(tap)
    for message in stream[len(lead) :]:
        tap.offer_client(message)
        await asyncio.sleep(0)
    await tap.close()
    assert [e.action for e in events if isinstance(e, TriggerHeard)] == [Action.EXECUTE]
    assert any("cancel" in e.turn.text.lower() for e in events if isinstance(e, UserSpoke))


async def test_garbage_audio_does_not_kill_the_tap() -> None:
    loop = asyncio.get_running_loop()
    events: list[TapEvent] = []
    tap = Tap("garbage", events.append, loop, recognisers=speech_worker())
    good = client_messages(concat(silence(0.3), say("execute plan"), silence(1.0)))
    messages = [b"\x01", b"\x01junk", b"\x01OggS" + bytes(50), b"", b"\x03\x10", *good]
    await run_tap(tap, messages)
    assert tap.stats is not None
    assert tap.stats.bad_audio == 3
    assert [e.action for e in events if isinstance(e, TriggerHeard)] == [Action.EXECUTE]


async def test_a_failing_event_handler_does_not_stop_the_tap() -> None:
    loop = asyncio.get_running_loop()
    calls: list[TapEvent] = []

    def handler(event: TapEvent) -> None:
        calls.append(event)
        raise RuntimeError("handler bug")

    tap = Tap("handler", handler, loop, recognisers=speech_worker())
    audio = concat(silence(0.3), say("hello"), silence(1.0), say("execute plan"), silence(1.0))
    await run_tap(tap, client_messages(audio))
    assert any(isinstance(e, TriggerHeard) for e in calls)


async def test_close_is_safe_before_start_and_twice() -> None:
    tap = Tap("idle", lambda e: None, asyncio.get_running_loop(), recognisers=speech_worker())
    await tap.close()
    await tap.close()
    tap.offer_client(b"\x01late")
    assert tap.dropped == 1


async def test_a_crashed_worker_degrades_the_tap_and_is_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    worker = await asyncio.to_thread(SpeechWorker.load)  # its own: this test kills it
    try:
        first = worker.pid
        assert first is not None
        speech = client_messages(concat(silence(0.3), say("execute plan"), silence(1.0)))
        events: list[TapEvent] = []
        tap = Tap("crash", events.append, loop, recognisers=worker)
        tap.start()
        tap.offer_client(speech[0])
        with caplog.at_level(logging.ERROR, logger="proxy.listen.speech.worker"):
            os.kill(first, signal.SIGKILL)
            while worker.pid == first:  # the reader thread notices the end of the pipe
                await asyncio.sleep(0.01)
            for message in speech:
                tap.offer_client(message)  # never raises: dropped and counted
            await tap.close()  # returns although the worker never finished the session
            # The reader thread logs once the dead process is reaped, after its pid went.
            for _ in range(500):
                if "DIED" in caplog.text:
                    break
                await asyncio.sleep(0.01)
        assert "DIED" in caplog.text
        assert tap.dropped == len(speech)
        assert events == []
        while worker.pid is None:  # the replacement is being started
            await asyncio.sleep(0.01)
        assert worker.pid != first
        fresh: list[TapEvent] = []
        await run_tap(Tap("after", fresh.append, loop, recognisers=worker), speech)
        assert [e.action for e in fresh if isinstance(e, TriggerHeard)] == [Action.EXECUTE]
    finally:
        last = worker.pid
        await asyncio.to_thread(worker.close)
    assert last is not None and not _exists(last)
    assert not _exists(first)


_ORPHAN_CHECK = """
import os, sys
from proxy.listen.speech.worker import SpeechWorker
worker = SpeechWorker.load()
print(worker.pid, flush=True)
sys.stdin.readline()
os._exit(0)  # like a killed proxy: no atexit, no terminating of daemon children
"""


def test_the_worker_exits_when_the_proxy_dies(tmp_path: Path) -> None:
    # Its stderr goes to a file: multiprocessing's tracker complains about the queue's
    # semaphores, which a killed proxy never released.
    with (
        (tmp_path / "stderr").open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-c", _ORPHAN_CHECK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        ) as proxy,
    ):
        assert proxy.stdout is not None and proxy.stdin is not None
        line = proxy.stdout.readline()
        assert line.strip().isdigit(), (tmp_path / "stderr").read_text()
        pid = int(line)
        assert _exists(pid)
        proxy.stdin.write("\n")
        proxy.stdin.flush()
        assert proxy.wait() == 0
    while _exists(pid):  # an orphan would keep this loop going until the test times out
        os.sched_yield()


async def test_settle_transcribes_what_was_just_said_before_returning() -> None:
    """EXECUTE pressed mid-sentence: the open utterance is cut, heard, and in the transcript."""
    loop = asyncio.get_running_loop()
    seen: list[TapEvent] = []
    tap = Tap("s-settle", seen.append, loop, recognisers=speech_worker())
    tap.start()
    # No trailing silence: the VAD alone would keep this utterance open.
    for message in client_messages(concat(silence(0.4), say("please check the disk space"))):
        tap.offer_client(message)
        await asyncio.sleep(0)
    await tap.settle()
    spoken = [e for e in seen if isinstance(e, UserSpoke)]
    assert spoken and "disk" in spoken[-1].turn.text.lower()
    assert "disk" in tap.transcript.turns()[-1].text.lower()
    await tap.close()


async def test_settle_does_not_fire_a_second_execute() -> None:
    loop = asyncio.get_running_loop()
    seen: list[TapEvent] = []
    tap = Tap("s-settle-2", seen.append, loop, recognisers=speech_worker())
    tap.start()
    for message in client_messages(concat(silence(0.4), say("execute plan"))):
        tap.offer_client(message)
        await asyncio.sleep(0)
    await tap.settle()
    await tap.close()
    assert any(isinstance(e, UserSpoke) for e in seen)
    assert not [e for e in seen if isinstance(e, TriggerHeard)]
