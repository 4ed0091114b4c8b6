"""Recognising the proxy's request for a confirmation (``--confirm-when-asked``): only the
proxy's own records and wording count."""

from __future__ import annotations

import pytest

from client.asking import ConfirmationAsk, ask_in_event, ask_in_text
from tests.client.proxy_says import asking_event, asking_text
from voiceops.records.base import RecordError
from voiceops.records.commands import CommandResult
from voiceops.records.events import (
    BusyEvent,
    CommandEvent,
    DoneEvent,
    NotPendingEvent,
    SessionEvent,
)


def ask(data: dict[str, object]) -> ConfirmationAsk | None:
    try:
        record = SessionEvent.from_json(data)
    except RecordError:
        record = None
    return ask_in_event(record)


def test_a_command_that_needs_confirmation_asks_for_its_id() -> None:
    assert ask(asking_event("r1.2")) == ConfirmationAsk("r1.2")


@pytest.mark.parametrize(
    "event",
    [
        CommandEvent("r1", CommandResult("r1.1", "df -h", "executed", ("df", "-h"), exit_code=0)),
        CommandEvent("r1", CommandResult("r1.2", "reboot", "held", ("reboot",))),
        DoneEvent("r1", "done", (CommandResult("r1.1", "reboot", "needs_confirmation"),)),
        BusyEvent("r1"),
        NotPendingEvent(None),
    ],
)
def test_other_events_do_not_ask(event: CommandEvent | DoneEvent | BusyEvent) -> None:
    assert ask(SessionEvent("ws-1", event).to_json()) is None


@pytest.mark.parametrize(
    "data",
    [
        # Spellings the client used to guess at; the proxy never sends them.
        {"type": "confirmation_required", "id": "r-8"},
        {"event": "Awaiting Confirmation", "request_id": 12},
        {"type": "plan", "needs_confirmation": True},
        # The proxy's shape with a field of the wrong type, or an unknown kind.
        {**asking_event("r1.1"), "status": 3},
        {**asking_event("r1.1"), "event": "asked"},
    ],
)
def test_anything_else_is_not_an_ask(data: dict[str, object]) -> None:
    assert ask(data) is None


def test_the_proxy_line_asks_with_its_id() -> None:
    assert ask_in_text(asking_text("r-7")) == ConfirmationAsk("r-7")
    assert ask_in_text(asking_text(None)) == ConfirmationAsk(None)


@pytest.mark.parametrize(
    "text",
    [
        # The model's words can never start with the tag (its brackets are made round).
        "restart nginx needs confirmation (id r1.1): it restarts. Say confirm or cancel.",
        "(voiceops) restart nginx needs confirmation (id r1.1): it restarts.",
        # Other proxy lines.
        "\n[voiceops] df -h: Root filesystem 27 % used, 75 GB free.\n",
        "\n[voiceops] systemctl status nginx (r1.3) will run after you confirm r1.2.\n",
        " confirm",
        "",
    ],
)
def test_text_that_does_not_ask(text: str) -> None:
    assert ask_in_text(text) is None
