"""Names heard as other words are still found; ordinary words are not turned into names."""

from __future__ import annotations

import pytest

from extraction.soundalike import find_names, match_name, sound_key
from proxy.listen.speech.vocabulary import known_names

NAMES = known_names().services


@pytest.mark.parametrize(
    ("heard", "name"),
    [
        ("Kron", "cron"),
        ("crohn", "cron"),
        ("post grass", "postgresql"),
        ("Post-Gres", "postgresql"),
        ("radish", "redis"),
        ("Reddis", "redis"),
        ("engine x", "nginx"),
        ("engine next", "nginx"),
        ("Engine X.", "nginx"),
        ("cube let", "kubelet"),
        ("mem cached", "memcached"),
        ("my sequel", "mysql"),
        ("elastic surge", "elasticsearch"),
        ("prometheus", "prometheus"),
        ("graph fauna", "grafana-server"),
    ],
)
def test_a_name_heard_as_other_words_is_found(heard: str, name: str) -> None:
    found = match_name(heard, NAMES)
    assert found is not None and found.name == name, (heard, found)


@pytest.mark.parametrize(
    "heard",
    [
        "wrong",
        "the",
        "doctor",
        "candy",
        "ready",
        "crowd",
        "pasta",
        "engineers",
        "rabbit",
        "yes",
        "next",
        "about",
        "memory on",
    ],
)
def test_an_ordinary_word_is_no_name(heard: str) -> None:
    assert match_name(heard, NAMES) is None


def test_names_are_found_in_a_sentence_left_to_right() -> None:
    found = find_names("restart post grass and then check the Kron service on web two", NAMES)
    assert [(m.name, m.heard) for m in found] == [("postgresql", "post grass"), ("cron", "kron")]


def test_the_same_spelling_beats_a_sound_alike() -> None:
    found = find_names("is docker running", NAMES)
    assert [(m.name, m.spelt, m.distance) for m in found] == [("docker", True, 0)]


def test_sentences_without_names_find_none() -> None:
    for text in (
        "is the wrong service running",
        "how much disk space is left on this server",
        "we will execute the plan tomorrow",
        "the council approved the new budget",
        "who is on call this weekend",
    ):
        assert find_names(text, NAMES) == [], text


def test_keys_ignore_spelling_and_word_breaks() -> None:
    assert sound_key("post grass") == sound_key("postgres")
    assert sound_key("apache2") == sound_key("apache two")
    assert sound_key("") == ""
