"""One session's listening pipeline on real espeak-ng speech with the real recognisers."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from client.audio import Pcm
from extraction.soundalike import find_names
from proxy.listen.speech.events import AssistantSpoke, TapEvent, TriggerHeard, UserSpoke
from proxy.listen.speech.pipeline import SpeechPipeline
from proxy.listen.speech.vocabulary import known_names
from proxy.listen.transcript import Transcript
from proxy.relay.codec import Action
from tests.proxy.listen.speech.speechkit import client_messages, recognisers
from tests.voices import concat, needs_espeak, room_noise, say, silence

pytestmark = [pytest.mark.speech, needs_espeak]


def listen(audio: Pcm, server: tuple[bytes, ...] = ()) -> tuple[list[TapEvent], SpeechPipeline]:
    pipeline = SpeechPipeline("test", recognisers(), Transcript())
    events: list[TapEvent] = []
    for message in server:
        events += pipeline.server(message)
    for message in client_messages(audio):
        events += pipeline.client(message)
    events += pipeline.finish()
    return events, pipeline


def triggers(events: list[TapEvent]) -> list[Action]:
    return [e.action for e in events if isinstance(e, TriggerHeard)]


@pytest.mark.parametrize(
    ("voice", "speed"), [("en-us", 150), ("en-gb-x-rp", 175), ("en-us+f3", 130), ("en-us+m3", 190)]
)
def test_request_then_execute_plan_fires_once_with_the_words(voice: str, speed: int) -> None:
    audio = concat(
        silence(0.5),
        say("please check the disk usage on the web server", voice, speed),
        silence(1.0),
        say("execute plan", voice, speed),
        silence(1.0),
    )
    events, pipeline = listen(audio)
    assert triggers(events) == [Action.EXECUTE]
    heard = next(e for e in events if isinstance(e, TriggerHeard))
    said = " ".join(t.text.lower() for t in heard.turns)
    assert "please check" in said  # tiny.en may garble "the disk usage" on a robotic voice
    assert "web server" in said
    assert "execute plan" in said
    assert heard.at <= len(audio) / 24_000
    assert [t.speaker for t in pipeline.transcript.turns()] == ["user", "user"]


@pytest.mark.parametrize(
    ("sentence", "voice"),
    [
        ("we will execute the plan tomorrow", "en-us"),
        ("the plan is ready to execute after lunch", "en-gb-x-rp"),
        ("can you confirm how much memory the database uses", "en-us+f3"),
        ("the console on web two keeps freezing", "en-us+m3"),
    ],
)
def test_similar_conversation_fires_nothing(sentence: str, voice: str) -> None:
    events, _ = listen(concat(silence(0.5), say(sentence, voice), silence(1.0)))
    assert triggers(events) == []
    assert any(isinstance(e, UserSpoke) for e in events)


def fast_in_room_noise(text: str, voice: str, seed: int) -> Pcm:
    """``text`` said at 185 wpm in steady room noise 15 dB below it (bench_triggers' dev set)."""
    speech = say(text, voice, 185)
    rms = float(np.sqrt(np.mean(speech**2)))
    return room_noise(concat(silence(0.6), speech, silence(1.0)), rms, 15.0, seed)


@pytest.mark.parametrize(("voice", "seed"), [("en-us+m5", 1), ("en-us-nyc", 2)])
def test_a_fast_execute_plan_in_room_noise_fires(voice: str, seed: int) -> None:
    # tiny.en wrote "okay so that's the cute plan" here; the second look found "execute plan"
    # more likely than that.
    events, _ = listen(fast_in_room_noise("okay so execute plan", voice, seed))
    assert triggers(events) == [Action.EXECUTE]


@pytest.mark.parametrize(
    "sentence", ["that's a good plan", "exit plan", "then we execute the plan"]
)
def test_a_sentence_ending_on_plan_does_not_execute(sentence: str) -> None:
    events, _ = listen(fast_in_room_noise(sentence, "en-us+m5", 1))
    assert triggers(events) == []


def test_replies_are_reported_with_the_action_a_confirmation_names() -> None:
    audio = concat(
        silence(0.5),
        say("confirm restart"),
        silence(4.0),
        say("confirm"),
        silence(4.0),
        say("cancel", "en-us+m3"),
        silence(1),
    )
    events, _ = listen(audio)
    assert triggers(events) == [Action.CONFIRM, Action.CONFIRM, Action.CANCEL]
    heard = [e.named for e in events if isinstance(e, TriggerHeard)]
    assert heard == ["restart", None, None]


@pytest.mark.parametrize(
    ("word", "voice", "speed"), [("concern", "en-us", 185), ("comfort", "en-us-nyc", 185)]
)
def test_a_sound_alike_does_not_confirm(word: str, voice: str, speed: int) -> None:
    # Long negative run: the hotword-biased pass heard these as "confirm"; a false confirm
    # would run a destructive command, so the decision pass must hear "confirm" too.
    alone = concat(silence(0.5), say(word, voice, speed), silence(1.0))
    with_action = concat(say(f"{word} restart", voice, speed), silence(1.0))
    events, _ = listen(concat(alone, with_action))
    # Heard as "confirm", it may be reported naming nothing (the flow then says what to say),
    # but it never names an action, so it runs nothing.
    assert [e.named for e in events if isinstance(e, TriggerHeard) and e.named is not None] == []


@pytest.mark.parametrize(
    ("voice", "said", "heard"),
    [("en-us+f5", "confirm remove then", "confirm, remove, and"),
     ("en-us+m5", "confirm restart then", "confirm, restart, man"),
     ("en-us+f5", "confirm reload now", "confirm, reload, how?"),
     ("en-us+m5", "confirm reload now", "confirm reload out")],
)  # fmt: skip
def test_a_confirmation_with_a_misheard_word_after_it_names_its_action(
    voice: str, said: str, heard: str
) -> None:
    # tiny.en writes ``heard`` here; before the words after the action were read as a tail,
    # they named no action and the operator was asked to say it again.
    events, _ = listen(concat(silence(0.5), say(said, voice, 185), silence(1.0)))
    assert [e.turn.text for e in events if isinstance(e, UserSpoke)] == [heard]
    fired = [(e.action, e.named) for e in events if isinstance(e, TriggerHeard)]
    assert fired == [(Action.CONFIRM, said.split()[1])]


@pytest.mark.parametrize(
    ("voice", "said"),
    # Before: the second was written "then confirm restart", and "then" led a confirmation;
    # the last two were written "confirm, restart, out, out" and "confirm remove, now, now",
    # and "not now" was read as a tail.
    [("en-us+f2", "confirm kill? no"), ("en-gb-x-rp+Linda", "don't confirm restart"),
     ("en-us+f2", "confirm restart, not now"), ("en-us+f5", "confirm remove, not now")],
)  # fmt: skip
def test_a_confirmation_taken_back_or_denied_runs_nothing(voice: str, said: str) -> None:
    events, _ = listen(concat(silence(0.5), say(said, voice, 185), silence(1.0)))
    assert [e.named for e in events if isinstance(e, TriggerHeard)] in ([], [None])


@pytest.mark.parametrize("voice", ["en-gb-x-gbclan", "en+m4"])
def test_a_polite_confirm_is_kept(voice: str) -> None:
    # Held-out set, 185 wpm: the text pass heard "confirm, please", and the decision pass
    # heard only "please" until its list of hotwords ended with a full stop.
    said = say("confirm stop please", voice, 185)
    events, _ = listen(concat(silence(0.5), said, silence(1.0)))
    assert triggers(events) == [Action.CONFIRM]
    assert [e.named for e in events if isinstance(e, TriggerHeard)] == ["stop"]


@pytest.mark.parametrize(
    ("request_", "name", "speed"),
    # The text pass heard "is the crime service running" and "is the patchy service running";
    # the names pass spells them (bench/bench_names.py has the figures).
    [
        ("is the cron service running", "cron", 185),
        ("is the apache service running", "apache2", 135),
    ],
)
def test_service_names_are_heard(request_: str, name: str, speed: int) -> None:
    audio = concat(
        silence(0.5), say(request_, "en-us", speed), silence(1.0), say("execute plan"), silence(1)
    )
    events, _ = listen(audio)
    heard = next(e for e in events if isinstance(e, TriggerHeard))
    assert heard.action is Action.EXECUTE  # the trigger is matched on the text pass
    said = " ".join(t.text for t in heard.turns)
    assert name in {m.name for m in find_names(said, known_names().services) if m.spelt}, said


def test_model_speech_never_fires_and_becomes_assistant_turns() -> None:
    server = [b"\x01page"] * 5 + [b"\x02 Shall I", b"\x02 execute plan", b"\x02 now?"]
    server += [b"\x01page"] * 20 + [b"\x02 confirm"]
    events, pipeline = listen(concat(silence(1.0)), tuple(server))
    assert triggers(events) == []
    spoken = [e.turn for e in events if isinstance(e, AssistantSpoke)]
    assert [t.text for t in spoken] == ["Shall I execute plan now?", "confirm"]
    assert spoken[0].start == pytest.approx(0.4)  # 5 server pages × 80 ms
    assert spoken[1].start == pytest.approx(2.0)
    assert pipeline.stats.server_pages == 25


def test_garbage_audio_is_counted_logged_once_and_speech_still_heard(
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = client_messages(concat(silence(0.5), say("execute plan"), silence(1.0)))
    pipeline = SpeechPipeline("garbage", recognisers(), Transcript())
    events: list[TapEvent] = []
    with caplog.at_level(logging.WARNING, logger="proxy.listen.speech.pipeline"):
        for i, message in enumerate(messages):
            if i in (2, 3, 4):
                events += pipeline.client(b"\x01garbage" + bytes(i))
            events += pipeline.client(message)
        events += pipeline.client(b"\x01")
        events += pipeline.finish()
    assert pipeline.stats.bad_audio == 4
    assert sum("bad client audio" in r.message for r in caplog.records) == 1
    assert triggers(events) == [Action.EXECUTE]


def test_our_own_spoken_prompt_echoed_back_does_not_confirm() -> None:
    # The proxy says "… Say confirm restart, or cancel." and a speakerphone plays it into the
    # operator's channel; a real "confirm restart" after the echo has died down still counts.
    prompt = say("systemctl restart nginx needs confirmation. Say confirm restart, or cancel.")
    pipeline = SpeechPipeline("test", recognisers(), Transcript())
    events: list[TapEvent] = []
    lead = client_messages(silence(0.4))
    for message in lead:
        events += pipeline.client(message)
    events += pipeline.proxy_speaks(len(prompt) / 24_000)
    answer = say("confirm restart")
    for message in client_messages(concat(prompt, silence(1.5), answer, silence(1.0))):
        events += pipeline.client(message)
    events += pipeline.finish()
    spoken = [e.turn.text.lower() for e in events if isinstance(e, UserSpoke)]
    assert any("confirm" in text for text in spoken[:-1])  # the echo was heard, as words only
    assert triggers(events) == [Action.CONFIRM]
    confirm = next(e for e in events if isinstance(e, TriggerHeard))
    assert confirm.at > len(prompt) / 24_000 + 1.0


def test_an_answer_after_our_speech_counts_though_pages_of_it_were_dropped() -> None:
    # An overloaded worker: the tap dropped 2 s of the pages that carried our prompt's echo and
    # says so (skip).  The echo window must end where the prompt really ended, not 2 s into the
    # answer said after it.
    prompt = say("systemctl restart nginx needs confirmation. Say confirm restart, or cancel.")
    answer = say("confirm restart")
    pipeline = SpeechPipeline("test", recognisers(), Transcript())
    events: list[TapEvent] = []
    for message in client_messages(silence(0.4)):
        events += pipeline.client(message)
    events += pipeline.proxy_speaks(len(prompt) / 24_000)
    rest = client_messages(concat(prompt, silence(1.2), answer, silence(1.0)))
    dropped = 25  # 80 ms pages: 2 s, from the prompt's middle
    middle = len(client_messages(prompt)) // 2 - dropped // 2
    for message in rest[:middle]:
        events += pipeline.client(message)
    events += pipeline.skip(dropped, 0)
    for message in rest[middle + dropped :]:
        events += pipeline.client(message)
    events += pipeline.finish()
    assert pipeline.stats.skipped_seconds == pytest.approx(2.0)
    assert triggers(events) == [Action.CONFIRM]
    confirm = next(e for e in events if isinstance(e, TriggerHeard))
    answer_end = 0.4 + (len(prompt) + 1.2 * 24_000 + len(answer)) / 24_000
    assert confirm.at == pytest.approx(answer_end, abs=0.4)  # on the user's real clock


def test_echo_alone_fires_nothing() -> None:
    # "cancel": one hearing fires it (a lone "confirm" must also pass the decision pass, so it
    # would not show what the echo window adds).  A whole answer: "Say cancel." is no answer.
    prompt = say("Cancel.")
    pipeline = SpeechPipeline("test", recognisers(), Transcript())
    events = pipeline.proxy_speaks(len(prompt) / 24_000)
    for message in client_messages(concat(prompt, silence(1.0))):
        events += pipeline.client(message)
    events += pipeline.finish()
    assert triggers(events) == []
    events, _ = listen(concat(prompt, silence(1.0)))  # without the window it would cancel
    assert triggers(events) == [Action.CANCEL]
