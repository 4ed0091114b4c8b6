"""The names pass's rule: which utterances are heard again with the names, and what is taken.

The pairs are what tiny.en heard in ``bench/bench_names.py`` (text pass, then names pass)."""

from __future__ import annotations

import functools

import pytest

from extraction.understand import UnderstandingExtractor
from proxy.listen.speech.names import NamesPass, with_names
from proxy.listen.speech.vocabulary import known_names, names_hotwords

NAMES = known_names().prompted


@functools.cache
def names_pass() -> NamesPass:
    return NamesPass(names_hotwords(known_names()), UnderstandingExtractor(), NAMES)


@pytest.mark.parametrize(
    ("plain", "named", "taken"),
    [
        # Only the name is taken, not what else the names pass heard ("login").
        (
            "is the patchy service running",
            "is the apache service login,",
            "is the apache service running",
        ),
        (
            "is the wrong service running",
            "is the cron service running,",
            "is the cron service running",
        ),
        (
            "Restart, throw me this on web too",
            "restart, prometheus, unwem2.",
            "Restart, prometheus on web too",
        ),
        ("Restart. Get next, please.", "restart nginx, please.", "Restart. nginx, please."),
        ("restart and index", "restart and nginx.", "restart and nginx"),  # near "engine x"
        ("restart and connect", "restart mginx.", "restart nginx connect"),  # the same sound
        (
            "Check the status on grandfather",
            "check the status of grafana,",
            "Check the status on grafana",
        ),
    ],
)
def test_the_name_is_spliced_into_the_text_pass(plain: str, named: str, taken: str) -> None:
    assert with_names(plain, named, NAMES) == taken


@pytest.mark.parametrize(
    ("plain", "named"),
    [
        # Two new names: the names pass heard another sentence.
        ("check must have the samples", "caddy must add some postgres."),
        # A name where nothing sounding like it was heard.
        ("the council approved the new budget", "the console approved the new mariadb,"),
        # A name only sounded like ("routing" → rabbitmq) is not taken.
        ("is the wrong service running", "is the wrong service routing."),
        # The text pass already spelt it.
        ("is the MariaDB service login", "is the mariadb service login,"),
        # Where the text pass heard nothing.
        ("restart on web two", "restart caddy on web two"),
    ],
)
def test_no_name_is_invented(plain: str, named: str) -> None:
    assert with_names(plain, named, NAMES) is None


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("restart. get next", True),
        ("is the Q-bellot service running", True),
        ("Check the status on grandfather", True),
        ("restart nginx", False),  # named already
        ("no, just check its status", False),  # "its": named before
        ("confirm", False),  # a reply
        ("we will execute the plan tomorrow", False),
        ("the council approved the new budget", False),
        ("who is on call this weekend", False),
        ("do not restart anything", False),
        ("do the same as last time", False),
        ("show me the memory usage", False),  # a rule's own request
    ],
)
def test_only_requests_that_name_nothing_are_heard_again(text: str, wanted: bool) -> None:
    assert names_pass().wanted(text) is wanted


def test_a_names_pass_that_adds_nothing_keeps_the_text_pass() -> None:
    heard: list[str] = []

    def again(hotwords: str) -> str:
        heard.append(hotwords)
        return "restart nginx."

    assert names_pass().transcript_text("restart nginx", again) == "restart nginx"
    assert heard == []  # named already: no second decode
    assert names_pass().transcript_text("restart, get next", again) == "restart, nginx"
    assert heard == [names_pass().hotwords]
    assert "nginx" in heard[0] and heard[0].endswith(".")
    assert "execute plan" not in heard[0]  # the trigger phrases are the text pass's
