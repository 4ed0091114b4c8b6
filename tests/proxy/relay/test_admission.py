"""Admission: one conversation per upstream, first come first served, bounded line."""

from __future__ import annotations

import pytest

from proxy.relay.admission import Admission, QueueFullError


async def test_free_upstreams_are_given_out_one_each() -> None:
    admission = Admission(["ws://a", "ws://b"], max_waiting=1)
    first, second = admission.enqueue(), admission.enqueue()
    assert {first.upstream, second.upstream} == {"ws://a", "ws://b"}
    third = admission.enqueue()
    assert third.upstream is None and third.position == 1


async def test_line_is_served_in_arrival_order() -> None:
    admission = Admission(["ws://a"], max_waiting=3)
    holder = admission.enqueue()
    waiting = [admission.enqueue() for _ in range(3)]
    assert [t.position for t in waiting] == [1, 2, 3]
    holder.release()
    assert waiting[0].upstream == "ws://a" and await waiting[0].wait(0.01)
    assert [t.position for t in waiting[1:]] == [1, 2]
    waiting[2].release()  # leaving the line frees a place without being served
    waiting[0].release()
    assert waiting[1].upstream == "ws://a"
    assert admission.waiting == 0 and admission.active == 1


async def test_full_line_refuses_with_a_reason() -> None:
    admission = Admission(["ws://a"], max_waiting=1)
    admission.enqueue()
    admission.enqueue()
    with pytest.raises(QueueFullError, match="1 client"):
        admission.enqueue()


async def test_release_is_idempotent() -> None:
    admission = Admission(["ws://a"], max_waiting=1)
    holder = admission.enqueue()
    holder.release()
    holder.release()
    assert admission.active == 0
    assert admission.enqueue().upstream == "ws://a"
    assert admission.enqueue().upstream is None
