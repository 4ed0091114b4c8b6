"""Transcripts of live and recently finished conversations, and the routes that read them.

``GET /api/sessions`` lists them; ``GET /api/sessions/{id}/transcript`` returns one.  The archive
is bounded in count and in age, so a long-running proxy does not grow without end.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from aiohttp import web

from proxy.listen.transcript import Transcript
from proxy.relay.principal import request_principal
from voiceops.records.api import ApiError, SessionList, SessionListing

#: Finished sessions whose transcript stays readable through the API.
DEFAULT_ARCHIVE_SESSIONS = 200
#: Seconds a finished session's transcript stays readable.
DEFAULT_ARCHIVE_SECONDS = 3600.0


@dataclass
class SessionRecord:
    """A conversation's transcript, kept readable for a while after it ends."""

    id: str
    peer: str
    principal: str
    transcript: Transcript
    started: float = field(default_factory=time.time)
    ended: float | None = None

    def listing(self) -> SessionListing:
        """This session as ``GET /api/sessions`` lists it."""
        return SessionListing(self.id, self.started, self.ended, len(self.transcript))


@dataclass
class SessionArchive:
    """Transcripts of live and recently finished sessions, bounded in count and age."""

    max_sessions: int = DEFAULT_ARCHIVE_SESSIONS
    keep_seconds: float = DEFAULT_ARCHIVE_SECONDS
    _records: OrderedDict[str, SessionRecord] = field(default_factory=OrderedDict)

    def add(self, record: SessionRecord) -> None:
        """Start keeping ``record``; the oldest finished ones go when over the bounds."""
        self._records[record.id] = record
        self.prune()

    def get(self, session_id: str) -> SessionRecord | None:
        """The record of ``session_id``, if still kept."""
        self.prune()
        return self._records.get(session_id)

    def all(self) -> list[SessionRecord]:
        """Every kept record, oldest first."""
        self.prune()
        return list(self._records.values())

    def prune(self) -> None:
        """Forget finished sessions that are too old, then the oldest finished beyond the count."""
        now = time.time()
        for key, rec in list(self._records.items()):
            if rec.ended is not None and now - rec.ended > self.keep_seconds:
                del self._records[key]
        finished = [k for k, r in self._records.items() if r.ended is not None]
        for key in finished[: max(0, len(self._records) - self.max_sessions)]:
            del self._records[key]


def add_routes(app: web.Application, archive: SessionArchive) -> None:
    """``GET /api/sessions`` and ``GET /api/sessions/{id}/transcript`` (own sessions only)."""

    async def sessions(request: web.Request) -> web.Response:
        mine = request_principal(request)
        records = tuple(r.listing() for r in archive.all() if r.principal == mine)
        return web.json_response(SessionList(records).to_json())

    async def transcript(request: web.Request) -> web.Response:
        record = archive.get(request.match_info["id"])
        mine = request_principal(request)
        if record is None or record.principal != mine:
            raise web.HTTPNotFound(
                text=json.dumps(ApiError("no such session (it may have expired)").to_json()),
                content_type="application/json",
            )
        answer = record.transcript.to_record(record.id, record.started, record.ended)
        return web.json_response(answer.to_json())

    app.router.add_get("/api/sessions", sessions)
    app.router.add_get("/api/sessions/{id}/transcript", transcript)
