"""Server names survive recognition: espeak-ng speech → tiny.en with the fleet's names as
hotwords → the servers the operator named (``bench/bench_fleet_words.py`` has the figures)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import soxr

from extraction import fleet_words
from extraction.spoken import normalise
from extraction.targets import ServerNames
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import TapSettings
from tests.extraction.fleet_set import FLEET
from tests.voices import concat, needs_espeak, say, silence

pytestmark = [pytest.mark.speech, needs_espeak]


@functools.cache
def fleet_recognisers() -> Recognisers:
    return Recognisers.load(TapSettings(fleet_names=fleet_words(FLEET)))


@pytest.mark.parametrize(
    ("sentence", "voice", "speed", "servers"),
    [
        ("check the disk space on web two", "en-us", 150, {"web-2"}),
        ("check the disk space on d b one", "en-gb-x-rp", 175, {"db-1"}),
        ("check memory on the database box", "en-us+f3", 130, {"db-1"}),
        ("restart nginx on both web servers", "en-us+m3", 190, {"web-1", "web-2"}),
    ],
)
def test_the_named_servers_are_heard(
    sentence: str, voice: str, speed: int, servers: set[str]
) -> None:
    pcm = concat(silence(0.3), say(sentence, voice, speed), silence(0.5))
    heard = fleet_recognisers().transcriber.hear(
        soxr.resample(pcm, 24_000, 16_000).astype(np.float32)
    )
    said = ServerNames(FLEET).read(normalise(heard.text))
    assert {m for name in said.names for m in FLEET.members(name)} == servers, heard.text


def test_the_fleet_names_are_hotwords() -> None:
    assert fleet_words(FLEET) == ("web-1", "web-2", "db-1", "web", "database box")
    assert fleet_words(None) == ()
