"""Fuzz the HTTP API's body checks as each route applies them: any body is a clean 400 with a
reason or a request the flow can take.  ``PYTHONPATH=. python bench/fuzz_api_bodies.py``."""

from __future__ import annotations

import sys

from aiohttp import web

from bench.fuzzing import Mutator, main
from proxy.server import api

SEEDS = [
    b'{"transcript": "check disk space"}', b'{"transcript": "confirm", "session_id": "api-x"}',
    b'{"transcript": ["df", "restart nginx"], "session_id": "s1"}',
    b'{"session_id": "s", "id": "r1.2"}',
    b'{"session_id": null}', b"[]", b'{"transcript": 5}', b'{"a": {"b": [1, 2, {"c": null}]}}',
]  # fmt: skip
FIELDS = frozenset({"transcript", "session_id", "id"})


def target(m: Mutator) -> str:
    try:
        body = api.decode_body(m.bytes(), FIELDS)
        api._session_field(body, required=False)
        api._pending_field(body)
        transcript = body.get("transcript")
        if isinstance(transcript, list):
            for n, item in enumerate(transcript[: api.MAX_UTTERANCES]):
                api._text(item, f"transcript[{n}]")
        else:
            api._text(transcript, "transcript")
    except web.HTTPBadRequest as exc:
        assert exc.text and "error" in exc.text, "a 400 must say why"
        return "400"
    return "accepted"


if __name__ == "__main__":
    sys.exit(main("api_bodies", target, SEEDS))
