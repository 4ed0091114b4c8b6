"""Which spoken or typed answers confirm or cancel a pending command."""

from __future__ import annotations

import pytest

from proxy.listen.confirm import is_cancellation, is_confirmation


@pytest.mark.parametrize(
    "text",
    ["confirm", "Confirm.", "yes", "Yes!", "YES, please", "go", "go ahead", "Go ahead!",
     "confirmed", "yes confirm", "ok go", "please proceed", "do it", "  yes  ", "yes, do it."],
)  # fmt: skip
def test_confirmation_words_match(text: str) -> None:
    assert is_confirmation(text)
    assert not is_cancellation(text)


@pytest.mark.parametrize(
    "text",
    ["unconfirmed", "I cannot confirm that", "don't confirm", "no", "yesterday", "going",
     "go to the logs and tell me what happened there", "ok", "", "   ", "...", "confirmation",
     "yes no", "goat", "is it confirmed or not"],
)  # fmt: skip
def test_other_utterances_do_not_confirm(text: str) -> None:
    assert not is_confirmation(text)


@pytest.mark.parametrize(
    "text", ["cancel", "Cancel!", "no", "No, cancel that.", "never mind", "stop", "don't",
             "nope", "abort it"],
)  # fmt: skip
def test_cancellation_words_match(text: str) -> None:
    assert is_cancellation(text)
    assert not is_confirmation(text)


@pytest.mark.parametrize(
    "text", ["I don't want to cancel", "cancellation", "yes", "noted", "stop the nginx service"]
)
def test_other_utterances_do_not_cancel(text: str) -> None:
    assert not is_cancellation(text)


def test_curly_apostrophe_and_unicode_punctuation_are_ignored() -> None:
    assert is_cancellation("don’t")
    assert is_confirmation("«yes»")
