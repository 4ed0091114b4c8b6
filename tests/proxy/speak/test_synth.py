"""espeak-ng speech at 24 kHz, and what the project's recogniser hears in it."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from proxy.speak.synth import PEAK, EspeakSynthesiser, SynthesisError
from tests.speech_words import heard_words
from tests.voices import needs_espeak

pytestmark = needs_espeak


def test_digest_is_spoken_at_24k_with_headroom() -> None:
    pcm = EspeakSynthesiser().synthesise("Root filesystem 27 percent used, 75 gigabytes free.")
    assert pcm.dtype == np.float32
    assert 2.0 < pcm.size / 24_000 < 6.0
    assert abs(float(np.max(np.abs(pcm))) - PEAK) < 1e-3


def test_text_that_looks_like_a_flag_is_spoken_not_obeyed() -> None:
    pcm = EspeakSynthesiser().synthesise("--version")
    assert pcm.size > 0.2 * 24_000


def test_missing_binary_is_a_synthesis_error() -> None:
    with pytest.raises(SynthesisError):
        EspeakSynthesiser(binary="/nonexistent/espeak-ng").synthesise("hello")


@pytest.mark.speech
def test_the_projects_recogniser_understands_the_voice() -> None:
    from tests.proxy.listen.speech.speechkit import recognisers  # noqa: PLC0415 (loads models)

    pcm = EspeakSynthesiser().synthesise("Root filesystem 27 percent used, 75 gigabytes free.")
    text = recognisers().transcriber.transcribe(soxr.resample(pcm, 24_000, 16_000))
    assert {"filesystem", "27", "percent", "75", "free"} <= heard_words(text), text
