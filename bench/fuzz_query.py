"""Fuzz the query sanitiser: any query either is refused with a reason or comes out within the
limits (known names only, values capped).  ``PYTHONPATH=. python bench/fuzz_query.py``."""

from __future__ import annotations

import sys

from bench.fuzzing import Mutator, main
from proxy.relay.codec import ProtocolError
from proxy.relay.query import QueryPolicy, sanitise

SEEDS = [
    b"text_prompt", b"voice_prompt", b"NATF2.pt", b"You are a helpful assistant.", b"seed",
    b"42", b"text_temperature", b"0.7", b"audio_topk", b"250", b"events", b"1", b"pad_mult",
    b"../../etc/passwd", b"x" * 5000, b"repetition_penalty_context",
]  # fmt: skip
POLICY = QueryPolicy()


def target(m: Mutator) -> str:
    # aiohttp refuses a request line over 8190 bytes, so longer values never arrive.
    items = [(m.text()[:8190], m.text()[:8190]) for _ in range(m.rng.randrange(0, 6))]
    try:
        query = sanitise(items, POLICY)
    except ProtocolError as exc:
        assert exc.reason, "a refusal must say why"
        return "refused"
    for name, value in query.params:
        assert len(value) <= 4000, f"{name} longer than the cap"
    return "forwarded" if not query.dropped else "forwarded, some dropped"


if __name__ == "__main__":
    sys.exit(main("query", target, SEEDS))
