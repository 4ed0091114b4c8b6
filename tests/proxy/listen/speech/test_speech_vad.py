"""Both VADs (energy, Silero): utterances found where the speech is, clicks ignored, long speech
cut."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import soxr

from proxy.listen.speech.settings import DEFAULT_SETTINGS, VAD_KINDS, TapSettings
from proxy.listen.speech.silero import SileroModel, SileroVad, silero_model_path
from proxy.listen.speech.vad import EnergyVad, Segmenter, Utterance
from tests.voices import concat, needs_espeak, say, silence

MakeVad = Callable[[TapSettings], Segmenter]


@cache
def silero_model() -> SileroModel:
    path = silero_model_path()
    assert path is not None, "faster-whisper ships the Silero model"
    return SileroModel(path)


@pytest.fixture(params=VAD_KINDS)
def make_vad(request: pytest.FixtureRequest) -> MakeVad:
    if request.param == "silero":
        return lambda s: SileroVad(silero_model(), s)
    return EnergyVad


def run_open(pcm24: np.ndarray, vad: Segmenter, chunk: int = 1280) -> list[Utterance]:
    """:func:`run` without the end of the stream (an utterance may stay open)."""
    pcm = np.asarray(soxr.resample(pcm24, 24_000, 16_000), dtype=np.float32)
    return [u for i in range(0, pcm.size, chunk) for u in vad.push(pcm[i : i + chunk])]


def run(pcm24: np.ndarray, vad: Segmenter, chunk: int = 1280) -> list[Utterance]:
    found = run_open(pcm24, vad, chunk)
    last = vad.flush()
    return found + ([last] if last else [])


def test_silence_has_no_utterance(make_vad: MakeVad) -> None:
    assert run(silence(3.0), make_vad(DEFAULT_SETTINGS)) == []


def test_a_click_is_not_an_utterance(make_vad: MakeVad) -> None:
    click = np.zeros(2400, dtype=np.float32)
    click[:240] = 0.5  # 10 ms
    assert run(concat(silence(1.0), click, silence(1.0)), make_vad(DEFAULT_SETTINGS)) == []


@needs_espeak
def test_two_sentences_make_two_utterances_on_the_audio_clock(make_vad: MakeVad) -> None:
    first, second = say("check the disk usage"), say("execute plan")
    gap_s = 1.5
    audio = concat(silence(1.0), first, silence(gap_s), second, silence(1.0))
    utts = run(audio, make_vad(DEFAULT_SETTINGS))
    assert len(utts) == 2
    second_start = 1.0 + len(first) / 24_000 + gap_s
    assert 0.7 <= utts[0].start <= 1.3
    assert second_start - 0.4 <= utts[1].start <= second_start + 0.3
    assert utts[1].end <= len(audio) / 24_000
    assert utts[1].pcm.size >= (utts[1].end - utts[1].start) * 16_000


@needs_espeak
def test_speech_over_steady_noise_is_still_segmented(make_vad: MakeVad) -> None:
    rng = np.random.default_rng(7)
    speech = concat(
        silence(3.0), say("restart nginx"), silence(1.5), say("execute plan"), silence(1)
    )
    noisy = (speech + rng.normal(0, 0.003, speech.size)).astype(np.float32)  # ≈ -50 dBFS
    utts = run(noisy, make_vad(DEFAULT_SETTINGS))
    assert len(utts) == 2


@needs_espeak
def test_long_speech_is_cut_at_the_limit(make_vad: MakeVad) -> None:
    vad = make_vad(replace(DEFAULT_SETTINGS, vad_max_utterance_s=1.0))
    utts = run(say("this is a rather long sentence that goes on and on for a while"), vad)
    assert len(utts) >= 2
    assert all(u.end - u.start <= 1.0 + 1e-6 for u in utts)


@needs_espeak
def test_a_gap_ends_the_open_utterance_and_the_clock_moves_on(make_vad: MakeVad) -> None:
    # Audio the tap dropped: the words on both sides are not glued together, and what follows
    # keeps the user's real time.
    vad = make_vad(DEFAULT_SETTINGS)
    words = say("check the disk usage")
    before = concat(silence(1.0), words)  # ends while the utterance is open
    assert run_open(before, vad) == []
    assert vad.in_speech
    cut = vad.skip(2.0)
    assert cut is not None
    assert 0.7 <= cut.start <= 1.3
    assert cut.end <= len(before) / 24_000 + 0.05
    after = concat(silence(0.5), say("execute plan"), silence(1.0))
    utts = run(after, vad)
    assert len(utts) == 1
    expected = len(before) / 24_000 + 2.0 + 0.5
    assert expected - 0.4 <= utts[0].start <= expected + 0.3
    assert vad.seconds == pytest.approx((len(before) + len(after)) / 24_000 + 2.0, abs=0.05)
