"""The HTTP API over the action flow (seed-compatible ``/process`` and ``/execute``).

Every body is a JSON object sent as ``Content-Type: application/json`` (anything else is a 415:
a cross-site form or ``text/plain`` POST never reaches the flow) and checked field by field;
anything else is a 400 that says what is wrong.  Bodies are read whole, chunked ones too, and
refused beyond :data:`MAX_BODY_BYTES` (413) — the check is here and not only in the app's
``client_max_size`` so that these routes stay bounded however the app is configured.

Sessions belong to the principal that created them (:mod:`proxy.server.owners`): new API
sessions get unguessable ids, and another principal's session is a 404 like a missing one.

Routes (mount with :func:`add_routes`)::

    POST /process  {"transcript": str, "session_id"?: str}
    POST /execute  {"transcript": [str, ...], "session_id"?: str}   (an empty list: nothing to run)
    POST /confirm  {"session_id": str, "id"?: str}
    POST /cancel   {"session_id": str, "id"?: str}
    GET  /api/sessions/{session_id}/actions

Results are :class:`~voiceops.records.commands.ActionReport` records: ``{"session_id", "action",
"outcome", "message", "request_id", "results": [{"id", "command", "status":
executed|blocked|needs_confirmation|held|failed|cancelled|expired, "argv"?, "reason"?, "rule"?,
"exit_code"?, "output"?, "duration"?, "timed_out"?, "truncated"?, "say"?}]}``, one item per command
in the agreed order (``argv`` is left out of a refused command's item, which has none). Every body
this module sends is a record of :mod:`voiceops.records` (errors: ``{"error": why}``). Status codes:
200 handled (also when a command was blocked or failed), 400 bad body, 403 execution switched off,
404 unknown (or not your) session or nothing pending, 409 busy (or an answer that named another
action than the pending command's), 410 confirmation expired, 413 body too large, 415 not JSON.

Commands run strictly in the agreed order. When one needs confirmation it is ``needs_confirmation``
and every later command that was not refused is ``held``: already checked by the guard, it has not
run and waits for that confirmation (``reason`` names the id it waits for, e.g. ``"held: runs after
r1.2 is confirmed"``). Confirming (``/confirm``, or ``/process`` with an answer by the spoken rule,
:func:`proxy.listen.answers.typed_answer`: ``"confirm"``, ``"yes, confirm"``, ``"confirm
restart"``; an action word must be the pending command's, else the answer is ``unnamed`` and says
what to say) runs the pending command and then the held ones in order; the answer lists them as
``executed``/``failed``, and a held command that needs its own confirmation comes back as the next
``needs_confirmation`` with the rest still ``held``. Cancelling, or letting the confirmation expire,
drops the held commands too: they are listed as ``cancelled``/``expired`` with a ``reason`` naming
the command they waited for. A ``blocked`` command is final and holds nothing up. A held id is not
pending: confirming or cancelling it is a 404 that says which id to answer instead. ``GET
/api/sessions/{id}/actions`` lists each pending command with its ``"held": [{"id", "command"}]``.
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from extraction.model import MAX_REQUEST_CHARS, Turn
from proxy.actions.controls import valid_pending_id
from proxy.actions.registry import FlowRegistry
from proxy.actions.runner import SessionFlow
from proxy.relay.principal import request_principal
from proxy.server.metrics import METRICS
from proxy.server.owners import OWNERS, Owners, new_api_session_id
from voiceops.records.api import ApiError, SessionActions
from voiceops.records.commands import ActionReport

MAX_BODY_BYTES = 64 * 1024
MAX_UTTERANCES = 100
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

FLOWS_KEY = web.AppKey("voiceops_flows", FlowRegistry)

_STATUS = {
    "done": 200,
    "nothing_to_run": 200,
    "cancelled": 200,
    "invalid": 400,
    "refused": 403,
    "not_pending": 404,
    "busy": 409,
    "unnamed": 409,
    "expired": 410,
    "failed": 502,
}


def add_routes(app: web.Application, flows: FlowRegistry, owners: Owners | None = None) -> None:
    """Mount the action API on ``app`` and run ``flows``' confirmation sweeper with it."""
    app[FLOWS_KEY] = flows
    app[OWNERS] = owners if owners is not None else Owners()
    app.router.add_post("/process", _process)
    app.router.add_post("/execute", _execute)
    app.router.add_post("/confirm", _confirm)
    app.router.add_post("/cancel", _cancel)
    app.router.add_get("/api/sessions/{session_id}/actions", _actions)
    app.cleanup_ctx.append(flows.cleanup_ctx)


def _error(reason: str) -> str:
    """The body of a refusal."""
    return json.dumps(ApiError(reason).to_json())


class _BadRequest(web.HTTPBadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(text=_error(reason), content_type="application/json", reason=None)


async def read_capped(request: web.Request, cap: int) -> bytes | None:
    """The whole body, or None when it is larger than ``cap`` (declared or chunked)."""
    if request.content_length is not None and request.content_length > cap:
        return None
    raw = bytearray()
    while chunk := await request.content.read(cap + 1 - len(raw)):
        raw += chunk
        if len(raw) > cap:
            return None
    return bytes(raw)


async def _body(request: web.Request, allowed: frozenset[str]) -> dict[str, object]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=_error("send the body as Content-Type: application/json"),
            content_type="application/json",
        )
    raw = await read_capped(request, MAX_BODY_BYTES)
    if raw is None:
        raise _too_large()
    return decode_body(raw, allowed)


def decode_body(raw: bytes, allowed: frozenset[str]) -> dict[str, object]:
    """A body as a JSON object with only ``allowed`` fields, or a 400 saying what is wrong."""
    if not raw.strip():
        raise _BadRequest("the body must be a JSON object")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _BadRequest(f"the body is not valid JSON: {exc}") from None
    except (ValueError, RecursionError):  # bad UTF-8, 5000-digit numbers, [[[[… too deep
        raise _BadRequest(
            "the body is not valid JSON: too deep, too long a number or not UTF-8"
        ) from None
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _BadRequest(f"unknown field(s): {', '.join(unknown)}")
    return value


def _too_large() -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=MAX_BODY_BYTES,
        actual_size=MAX_BODY_BYTES + 1,
        text=_error(f"the body is larger than {MAX_BODY_BYTES} bytes"),
        content_type="application/json",
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _BadRequest(f'"{field}" must be a string')
    if not value.strip():
        raise _BadRequest(f'"{field}" must not be empty')
    if len(value) > MAX_REQUEST_CHARS:
        raise _BadRequest(f'"{field}" is longer than {MAX_REQUEST_CHARS} characters')
    return value.strip()


def _session_field(body: dict[str, object], *, required: bool) -> str | None:
    value = body.get("session_id")
    if value is None:
        if required:
            raise _BadRequest('"session_id" is required')
        return None
    if not isinstance(value, str) or not _SESSION_ID.fullmatch(value):
        raise _BadRequest('"session_id" must be 1–128 letters, digits or . _ : -')
    return value


def _pending_field(body: dict[str, object]) -> str | None:
    value = body.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not valid_pending_id(value):
        raise _BadRequest('"id" must be a pending id such as "r1.2"')
    return value


def _no_session(session_id: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=_error(f"no session {session_id!r}"), content_type="application/json"
    )


def _flow(request: web.Request, session_id: str | None) -> SessionFlow:
    """The caller's session ``session_id`` (created if new), or a new unguessable one."""
    session_id = session_id or new_api_session_id()
    if not request.app[OWNERS].claim(session_id, request_principal(request)):
        raise _no_session(session_id)
    return _acting(request, request.app[FLOWS_KEY].open(session_id))


def _owned_flow(request: web.Request, session_id: str) -> SessionFlow | None:
    if not request.app[OWNERS].owns(session_id, request_principal(request)):
        return None
    flow = request.app[FLOWS_KEY].get(session_id)
    return None if flow is None else _acting(request, flow)


def _acting(request: web.Request, flow: SessionFlow) -> SessionFlow:
    """The audit records of what this request does name its principal and address."""
    flow.act_as(request_principal(request), str(request.remote))
    return flow


def _existing_flow(request: web.Request, session_id: str) -> SessionFlow:
    flow = _owned_flow(request, session_id)
    if flow is None:
        raise _no_session(session_id)
    return flow


def _reply(report: ActionReport) -> web.Response:
    return web.json_response(report.to_json(), status=_STATUS.get(report.outcome, 200))


async def _process(request: web.Request) -> web.Response:
    body = await _body(request, frozenset({"transcript", "session_id"}))
    transcript = _text(body.get("transcript"), "transcript")
    session_id = _session_field(body, required=False)
    if session_id is not None:
        # An answer to a pending confirmation, e.g. {"transcript": "confirm"}: the spoken rule.
        flow = _owned_flow(request, session_id)
        answered = None if flow is None else await flow.answer(transcript, via="api")
        if answered is not None:
            _count(request, answered.action)
            return _reply(answered)
    flow = _flow(request, session_id)
    _count(request, "execute")
    return _reply(await flow.execute(transcript, via="api"))


async def _execute(request: web.Request) -> web.Response:
    body = await _body(request, frozenset({"transcript", "session_id"}))
    utterances = body.get("transcript")
    if not isinstance(utterances, list):
        raise _BadRequest('"transcript" must be a list of strings')
    if len(utterances) > MAX_UTTERANCES:
        raise _BadRequest(f'"transcript" has more than {MAX_UTTERANCES} items')
    # As in the seed: an empty transcript (or only blank lines) is 200 with nothing to run.
    texts = [
        _text(item, f"transcript[{n}]")
        for n, item in enumerate(utterances)
        if not (isinstance(item, str) and not item.strip())
    ]
    turns = [Turn("user", text, float(n), float(n) + 1.0) for n, text in enumerate(texts)]
    flow = _flow(request, _session_field(body, required=False))
    _count(request, "execute")
    return _reply(await flow.execute(turns=turns, via="api"))


async def _confirm(request: web.Request) -> web.Response:
    body = await _body(request, frozenset({"session_id", "id"}))
    session_id = _session_field(body, required=True)
    assert session_id is not None
    pending_id = _pending_field(body)
    flow = _existing_flow(request, session_id)
    _count(request, "confirm")
    return _reply(await flow.confirm(pending_id, via="api"))


async def _cancel(request: web.Request) -> web.Response:
    body = await _body(request, frozenset({"session_id", "id"}))
    session_id = _session_field(body, required=True)
    assert session_id is not None
    pending_id = _pending_field(body)
    flow = _existing_flow(request, session_id)
    _count(request, "cancel")
    return _reply(await flow.cancel(pending_id, via="api"))


def _count(request: web.Request, action: str) -> None:
    metrics = request.app.get(METRICS)
    if metrics is not None:
        metrics.triggers.labels(action, "api").inc()


async def _actions(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    flow = _existing_flow(request, session_id)
    actions = SessionActions(
        session_id, flow.state.value, tuple(flow.pending()), tuple(flow.history())
    )
    return web.json_response(actions.to_json())
