"""The session transcript: order, bounds, marks, JSON, and assistant turns from 0x02 pieces."""

from __future__ import annotations

import json
import threading

import pytest

from extraction.model import Turn
from proxy.listen.transcript import AssistantAssembler, Transcript


def user(text: str, start: float = 0.0, end: float = 1.0) -> Turn:
    return Turn("user", text, start, end)


def test_turns_come_back_in_order() -> None:
    t = Transcript()
    t.add(user("check the disk", 0, 1))
    t.add(Turn("assistant", "sure", 1, 2))
    assert [x.text for x in t.turns()] == ["check the disk", "sure"]
    assert len(t) == 2


def test_since_mark_returns_only_later_turns() -> None:
    t = Transcript()
    t.add(user("first request"))
    mark = t.mark()
    assert t.since(mark) == ()
    t.add(user("second request"))
    assert [x.text for x in t.since(mark)] == ["second request"]
    assert len(t.since(0)) == 2


def test_bounded_by_turns_and_chars() -> None:
    t = Transcript(max_turns=3, max_chars=1000)
    for i in range(5):
        t.add(user(f"turn {i}"))
    assert [x.text for x in t.turns()] == ["turn 2", "turn 3", "turn 4"]
    assert t.dropped == 2
    assert [x.text for x in t.since(1)] == ["turn 2", "turn 3", "turn 4"]

    t = Transcript(max_turns=100, max_chars=25)
    for i in range(5):
        t.add(user(f"sentence {i}"))  # 10 characters each
    assert [x.text for x in t.turns()] == ["sentence 3", "sentence 4"]


def test_long_turn_keeps_its_end_and_blank_turns_are_ignored() -> None:
    t = Transcript(max_turn_chars=12)
    t.add(user("a very long preamble then execute plan"))
    assert t.turns()[0].text == "execute plan"
    assert t.add(user("   ")) is None
    assert len(t) == 1


def test_record_is_serialisable() -> None:
    t = Transcript()
    t.add(user("hello", 0.1234, 0.9876))
    data = json.loads(json.dumps(t.to_record("s1", 100.0, None).to_json()))
    assert data["turns"] == [
        {"seq": 0, "speaker": "user", "text": "hello", "start": 0.123, "end": 0.988}
    ]
    assert data["next"] == 1 and data["id"] == "s1" and data["ended"] is None


def test_reading_while_a_thread_writes() -> None:
    t = Transcript(max_turns=50)

    def write() -> None:
        for i in range(2000):
            t.add(user(f"w{i}"))

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        snapshot = t.turns()
        assert len(snapshot) <= 50
        texts = [int(x.text[1:]) for x in snapshot]
        assert texts == sorted(texts)
    writer.join()
    assert t.turns()[-1].text == "w1999"


def test_assistant_pieces_make_turns_split_by_silence() -> None:
    a = AssistantAssembler(gap_s=1.0)
    assert a.piece("Sure", 0.08) is None
    assert a.piece(", I will", 0.16) is None
    assert a.tick(0.8) is None
    closed = a.tick(1.2)
    assert closed == Turn("assistant", "Sure, I will", 0.08, 0.16)
    assert a.piece(" Done.", 3.0) is None
    assert a.flush() == Turn("assistant", "Done.", 3.0, 3.0)
    assert a.flush() is None


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Transcript(max_turns=0)
