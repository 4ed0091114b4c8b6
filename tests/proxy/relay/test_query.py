"""Query sanitising: what the PersonaPlex UI sends passes; what could hurt the upstream does not."""

from __future__ import annotations

import pytest

from proxy.relay.codec import ProtocolError
from proxy.relay.query import (
    DEFAULT_TEXT_PROMPT,
    DEFAULT_VOICES,
    QueryPolicy,
    sanitise,
)

POLICY = QueryPolicy()


def test_the_eighteen_personaplex_voices_are_the_default() -> None:
    assert len(DEFAULT_VOICES) == 18 and "VARM4.pt" in DEFAULT_VOICES


def test_ui_parameters_pass_in_order() -> None:
    items = [("text_topk", "25"), ("voice_prompt", "VARF3.pt"), ("text_prompt", "hi")]
    assert sanitise(items, POLICY).params == tuple(items)


def test_missing_prompt_and_voice_get_defaults() -> None:
    params = dict(sanitise([], POLICY).params)
    assert params == {"text_prompt": DEFAULT_TEXT_PROMPT, "voice_prompt": "NATF0.pt"}


@pytest.mark.parametrize("empty", ["", "   ", "\t\n"])
def test_empty_text_prompt_is_replaced(empty: str) -> None:
    params = dict(sanitise([("text_prompt", empty)], POLICY).params)
    assert params["text_prompt"] == DEFAULT_TEXT_PROMPT


def test_seed_and_unknown_parameters_are_dropped_and_listed() -> None:
    result = sanitise([("seed", "1"), ("debug", "1"), ("text_seed", "7")], POLICY)
    assert ("text_seed", "7") in result.params
    assert result.dropped == ("'seed'", "'debug'")


def test_events_flag_is_ours_and_never_forwarded() -> None:
    result = sanitise([("events", "1")], POLICY)
    assert result.wants_events
    assert all(name != "events" for name, _ in result.params)


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ([("voice_prompt", "../../../root/.ssh/id_rsa")], "not one of the known voices"),
        ([("voice_prompt", "NATF0.pt/../x.pt")], "not one of the known voices"),
        ([("voice_prompt", "natf0.pt")], "not one of the known voices"),
        ([("text_temperature", "1e9999")], "must be a number"),
        ([("text_topk", "10; rm -rf /")], "must be a number"),
        ([("text_prompt", "x" * 4001)], "the limit is 4000"),
        ([("email", "a b@c")], "not allowed"),
        ([("text_prompt", "a"), ("text_prompt", "b")], "more than once"),
    ],
)
def test_dangerous_values_are_refused_with_a_reason(
    items: list[tuple[str, str]], reason: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        sanitise(items, POLICY)
    assert reason in info.value.reason


def test_refusal_does_not_echo_control_characters_or_unbounded_input() -> None:
    with pytest.raises(ProtocolError) as info:
        sanitise([("voice_prompt", "\x1b[31m" + "A" * 500)], POLICY)
    assert "\x1b" not in info.value.reason and "A" * 100 not in info.value.reason


def test_configured_voices_replace_the_defaults() -> None:
    policy = QueryPolicy(voices=frozenset({"custom.pt"}), default_voice="custom.pt")
    assert dict(sanitise([], policy).params)["voice_prompt"] == "custom.pt"
    with pytest.raises(ProtocolError):
        sanitise([("voice_prompt", "NATF0.pt")], policy)
