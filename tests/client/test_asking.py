"""Recognising the proxy's request for a confirmation (``--confirm-when-asked``)."""

from __future__ import annotations

import pytest

from client.asking import ConfirmationAsk, ask_in_event, ask_in_text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "confirmation_required", "id": "r-8"}, ConfirmationAsk("r-8")),
        ({"event": "Awaiting Confirmation", "request_id": 12}, ConfirmationAsk("12")),
        ({"state": "awaiting-confirmation", "request": {"id": "a.1"}}, ConfirmationAsk("a.1")),
        ({"type": "plan", "needs_confirmation": True}, ConfirmationAsk(None)),
        ({"type": "result", "id": "r-8", "exit": 0}, None),
        ({"type": "plan", "needs_confirmation": "yes"}, None),
        ({"status": 3}, None),
    ],
)
def test_events(data: dict[str, object], expected: ConfirmationAsk | None) -> None:
    assert ask_in_event(data) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Request r-7 needs confirmation: restart nginx. Say confirm or cancel.", "r-7"),
        ("restart nginx requires confirmation (id: 42).", "42"),
        ("Awaiting confirmation for #a1:b2.", "a1:b2"),
        ("The request needs confirmation. Say 'confirm' to run it.", None),
        ("Say confirm to run systemctl restart nginx.", None),
    ],
)
def test_text_that_asks(text: str, expected: str | None) -> None:
    assert ask_in_text(text) == ConfirmationAsk(expected)


@pytest.mark.parametrize(
    "text",
    [" confirm", "I can confirm the disk is fine", "Done: nginx restarted (request r-7).", ""],
)
def test_text_that_does_not_ask(text: str) -> None:
    assert ask_in_text(text) is None
