"""Whisper's encoder window and the reuse of an utterance's encoding by the decision pass."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soxr

from proxy.listen.speech.audio import ASR_RATE, WIRE_RATE, Pcm
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.speech.transcriber import EncoderWindow, collapse_repeats
from tests.proxy.listen.speech.speechkit import recognisers
from tests.voices import concat, needs_espeak, say, silence
from voiceops.words import words

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("confirm confirm confirm confirm", "confirm"),
        ("execute plan execute plan", "execute plan"),
        ("Console, console.", "Console,"),
        ("yes, confirm yes confirm", "yes, confirm"),
        ("please check the disk space on web two", "please check the disk space on web two"),
    ],
)
def test_a_looping_transcript_is_said_once(heard: str, meant: str) -> None:
    assert collapse_repeats(heard) == meant


def test_short_utterances_keep_the_full_window_longer_ones_hold_a_pause_after_them() -> None:
    window = EncoderWindow(min_s=10.0, full_below_s=3.0)
    assert window.frames(2 * ASR_RATE, ASR_RATE) is None  # a reply: 30 s, as always
    assert window.frames(4 * ASR_RATE, ASR_RATE) == 1000  # a sentence: the 10 s minimum
    assert window.frames(12 * ASR_RATE, ASR_RATE) == 1300  # longer: the utterance + 1 s
    assert window.frames(29 * ASR_RATE, ASR_RATE) is None  # as long as the full window


def _utterance(text: str) -> Pcm:
    """One utterance as the VAD hands it over: 16 kHz, a little silence either side."""
    pcm = concat(silence(0.3), say(text), silence(0.7))
    return np.asarray(soxr.resample(pcm, WIRE_RATE, ASR_RATE), dtype=np.float32)


@pytest.mark.speech
@needs_espeak
def test_a_decision_pass_hears_the_same_utterance_again() -> None:
    pcm = _utterance("yes, confirm")
    transcriber = recognisers().transcriber
    first = transcriber.hear(pcm)
    again = transcriber.hear(pcm, "confirm conform concern")
    assert "confirm" in words(first.text)
    assert "confirm" in words(again.text)


@pytest.mark.speech
@needs_espeak
def test_the_second_look_scores_the_words_said_above_a_sound_alike() -> None:
    transcriber = recognisers().transcriber
    texts = ["explain plan", "execute plan"]
    explain, execute = transcriber.score(_utterance("explain plan"), texts)
    assert explain > execute
    explain, execute = transcriber.score(_utterance("execute plan"), texts)
    assert execute > explain


@pytest.mark.speech
@needs_espeak
def test_a_short_window_still_hears_the_words() -> None:
    windowed = Recognisers.load(
        replace(DEFAULT_SETTINGS, whisper_window_s=10.0, whisper_full_window_below_s=0.0)
    ).transcriber
    heard = windowed.hear(_utterance("please check the disk space on the web servers"))
    assert {"check", "disk", "space"} <= set(words(heard.text))


@pytest.mark.speech
@needs_espeak
def test_a_forced_reading_tells_confirm_from_its_rivals() -> None:
    transcriber = recognisers().transcriber
    rivals = ("Confirm.", "Conform.", "Can form.", "Concern.")
    said = transcriber.score(_utterance("confirm"), rivals, prompt=False)
    assert len(said) == len(rivals) and said[0] > max(said[1:])
    # tiny.en writes "confirm" for this "conform", but reads it likelier as "can form".
    pcm = concat(silence(0.3), say("conform", "en", 135, 38), silence(0.7))
    pcm = np.asarray(soxr.resample(pcm, WIRE_RATE, ASR_RATE), dtype=np.float32)
    heard = transcriber.score(pcm, rivals, prompt=False)
    assert heard[0] < max(heard[1:])


_HEAR_AGAIN = """
import numpy as np, soxr
from proxy.listen.speech.recognisers import Recognisers
from tests.voices import room_noise, say
whisper = Recognisers.load().transcriber
audio = say("mumble grumble confirm restart then", voice="en-us+f4", speed=200)
audio = room_noise(audio, float(np.sqrt(np.mean(audio**2))), 5.0, seed=3)
pcm = np.asarray(soxr.resample(audio, 24_000, 16_000), dtype=np.float32)
for _ in range(6):
    print(whisper.hear(pcm).text, flush=True)
"""


@needs_espeak
def test_the_same_recording_is_heard_the_same_way_on_every_run() -> None:
    # Mumbled in loud noise, so Whisper is unsure and decodes again by sampling; each process
    # hears it six times (the random numbers move on), and every process hears the same.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _HEAR_AGAIN],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for _ in range(3)
    ]
    heard = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(heard[0].splitlines()) == 6
    assert heard[1] == heard[0] and heard[2] == heard[0]
