"""Memory of finished requests in ChromaDB, recalled by meaning as extraction context.

Embedded mode (default): a ``chromadb.PersistentClient`` under ``<data_dir>/memory``.  Server
mode (``url="http://HOST:PORT"``): a ``chromadb.HttpClient`` shared by every replica.  Either
way the vectors are computed here, client-side, by
:class:`~extraction.chroma_embedding.PackagedMiniLM`, so nothing is downloaded.  Memory is best
effort: every failure is logged and turns into ``None`` / ``[]`` — it never breaks a request.
All methods are synchronous (ChromaDB is); call them with ``asyncio.to_thread`` from the event
loop.  chromadb itself is imported on the first open, never by importing this module.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from extraction.model import MAX_REQUEST_CHARS, Recollection

log = logging.getLogger(__name__)

COLLECTION = "voiceops_interactions"
DEFAULT_DATA_DIR = Path("data")
MAX_OUTPUT_CHARS = 2000
MAX_COMMANDS = 20
MAX_COMMAND_CHARS = 500
MAX_FIELD_CHARS = 200
MAX_QUERY_CHARS = 2000
MAX_RECALL = 20
#: Seconds between attempts to open a memory store that was unavailable.
RETRY_AFTER_S = 30.0
#: How often a store also forgets records older than the retention period.
PRUNE_EVERY_S = 3600.0
SUMMARY_OUTPUT_CHARS = 300


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One finished request: what was asked, what was decided and run, and what came back.

    ``decisions`` are the guard's verdicts and ``exit_codes`` the results, one per command
    (``None`` for a command that did not run); ``output`` is truncated when stored.
    ``time`` is seconds since the epoch.
    """

    request: str
    commands: tuple[str, ...]
    decisions: tuple[str, ...]
    exit_codes: tuple[int | None, ...]
    output: str
    session_id: str
    time: float


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metadata(record: InteractionRecord) -> dict[str, str | float]:
    """The record as ChromaDB metadata (scalars only, so lists travel as JSON), bounded."""
    commands = [_clip(c, MAX_COMMAND_CHARS) for c in record.commands[:MAX_COMMANDS]]
    decisions = [_clip(d, MAX_FIELD_CHARS) for d in record.decisions[:MAX_COMMANDS]]
    return {
        "request": _clip(record.request, MAX_REQUEST_CHARS),
        "commands": json.dumps(commands),
        "decisions": json.dumps(decisions),
        "exit_codes": json.dumps(list(record.exit_codes[:MAX_COMMANDS])),
        "output": _clip(record.output, MAX_OUTPUT_CHARS),
        "session_id": _clip(record.session_id, MAX_FIELD_CHARS),
        "time": float(record.time),
    }


def _document(record: InteractionRecord) -> str:
    """The text that is embedded: the request words and the commands, so either recalls it."""
    commands = "; ".join(record.commands[:MAX_COMMANDS])
    return _clip(f"{record.request}\n{commands}".strip(), MAX_REQUEST_CHARS + 1000)


def _json_list(value: object) -> list[Any]:
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def _summary(meta: dict[str, Any]) -> str:
    """Human-readable result of a stored interaction: per command its decision and exit code."""
    commands = _json_list(meta.get("commands"))
    decisions = _json_list(meta.get("decisions"))
    codes = _json_list(meta.get("exit_codes"))
    parts = []
    for i, command in enumerate(commands):
        decision = decisions[i] if i < len(decisions) else "unknown"
        code = codes[i] if i < len(codes) else None
        ran = f"exit {code}" if code is not None else "not run"
        parts.append(f"{command}: {decision}, {ran}")
    output = str(meta.get("output", "")).strip()
    if output:
        parts.append("output: " + _clip(output, SUMMARY_OUTPUT_CHARS))
    return "; ".join(parts) if parts else "no commands"


def _recollection(item_id: str, meta: dict[str, Any], distance: float) -> Recollection:
    commands = tuple(str(c) for c in _json_list(meta.get("commands")))
    when = meta.get("time", 0.0)
    return Recollection(
        id=item_id,
        request=str(meta.get("request", "")),
        commands=commands,
        summary=_summary(meta),
        session_id=str(meta.get("session_id", "")),
        time=float(when) if isinstance(when, int | float) else 0.0,
        distance=float(distance),
    )


def _client(data_dir: Path | None, url: str | None) -> tuple[Any, str]:
    """A ChromaDB client and a description of where it points (for logs; no credentials)."""
    import chromadb  # noqa: PLC0415 - importing chromadb takes a second; only when memory is used
    from chromadb.config import Settings  # noqa: PLC0415

    # Telemetry would try to reach the network; this product runs offline.
    settings = Settings(anonymized_telemetry=False)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"memory URL must look like http://HOST:PORT, got {url[:100]!r}")
        port = parts.port or (443 if parts.scheme == "https" else 8000)
        client = chromadb.HttpClient(
            host=parts.hostname, port=port, ssl=parts.scheme == "https", settings=settings
        )
        return client, f"{parts.scheme}://{parts.hostname}:{port}"
    base = (
        data_dir
        if data_dir is not None
        else Path(os.environ.get("VOICEOPS_DATA_DIR", DEFAULT_DATA_DIR))
    )
    path = base / "memory"
    # Command output and conversation words: owner-only, like the audit log.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return chromadb.PersistentClient(path=str(path), settings=settings), str(path)


class Memory:
    """Stores finished interactions and recalls the most relevant ones by meaning.

    Get one with :meth:`open`; it never raises.  ``available`` tells whether the store works;
    ``error`` says why not.  Thread-safe for concurrent :meth:`store` / :meth:`recall`.
    """

    def __init__(
        self,
        collection: Any,
        where: str,
        error: str | None = None,
        *,
        reconnect: Callable[[], Any] | None = None,
        retry_after: float = RETRY_AFTER_S,
        retention: float | None = None,
    ) -> None:
        self._collection = collection
        self.retention = retention
        self._prune_at = 0.0
        self.where = where
        self.error = error
        # A store that could not be opened (server still starting, disk not mounted yet) is
        # tried again on use, at most every ``retry_after`` seconds.
        self._reconnect = reconnect
        self._retry_after = retry_after
        self._retry_at = time.monotonic() + retry_after
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Memory(where={self.where!r}, available={self.available}, error={self.error!r})"

    @property
    def available(self) -> bool:
        """Whether the store is open; a store that later fails still logs and carries on."""
        return self._collection is not None

    def _live(self) -> Any:
        """The collection, reopening it when it was unavailable and the retry time has come."""
        if self._collection is not None or self._reconnect is None:
            return self._collection
        with self._lock:
            if self._collection is None and time.monotonic() >= self._retry_at:
                self._retry_at = time.monotonic() + self._retry_after
                try:
                    self._collection = self._reconnect()
                except Exception as exc:
                    self.error = f"{type(exc).__name__}: {_clip(str(exc), 300)}"
                    log.warning("memory still unavailable at %s: %s", self.where, self.error)
                else:
                    self.error = None
                    log.info("memory reconnected at %s", self.where)
        return self._collection

    @classmethod
    def open(
        cls,
        data_dir: Path | None = None,
        url: str | None = None,
        *,
        collection: str = COLLECTION,
        retry_after: float = RETRY_AFTER_S,
        retention: float | None = None,
    ) -> Memory:
        """Open embedded memory under ``data_dir/memory`` or the ChromaDB server at ``url``.

        ``data_dir`` defaults to ``$VOICEOPS_DATA_DIR`` or ``./data``; ``collection`` lets
        several deployments (or tests) share one server without mixing.  On any failure this
        logs the error and returns a Memory that does nothing (``available`` is False) until a
        later store or recall, at least ``retry_after`` seconds on, manages to open it.
        The embedding model is not loaded here but on the first store or recall.  With
        ``retention`` (seconds), records older than that are forgotten on opening and at most
        hourly on later stores.
        """
        where = url or str(data_dir)

        def connect() -> tuple[Any, str]:
            # chromadb is imported here, so a proxy without memory never loads it.
            from extraction.chroma_embedding import PackagedMiniLM  # noqa: PLC0415

            client, shown = _client(data_dir, url)
            store = client.get_or_create_collection(
                collection,
                embedding_function=PackagedMiniLM(),
                configuration={"hnsw": {"space": "cosine"}},
            )
            return store, shown

        try:
            store, where = connect()
        except Exception as exc:  # memory must never stop the proxy from starting
            error = f"{type(exc).__name__}: {_clip(str(exc), 300)}"
            log.error("memory unavailable at %s: %s (will retry)", where, error)
            return cls(
                None,
                where,
                error,
                reconnect=lambda: connect()[0],
                retry_after=retry_after,
                retention=retention,
            )
        log.info("memory open at %s (collection %s)", where, collection)
        memory = cls(store, where, retention=retention)
        memory.forget_old()
        return memory

    def forget_old(self, now: float | None = None) -> int:
        """Delete records older than the retention period; how many went (0 without one)."""
        collection = self._live()
        if collection is None or self.retention is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention
        self._prune_at = time.monotonic() + PRUNE_EVERY_S
        try:
            old = collection.get(where={"time": {"$lt": cutoff}}, include=[])["ids"]
            if old:
                collection.delete(ids=old)
        except Exception as exc:  # forgetting late is better than failing a request
            log.error("memory retention failed at %s: %s: %s", self.where, type(exc).__name__, exc)
            return 0
        if old:
            log.info("memory: forgot %d record(s) older than %g s", len(old), self.retention)
        return len(old)

    def store(self, record: InteractionRecord) -> str | None:
        """Store one finished interaction; returns its new uuid4 id, or None on failure."""
        collection = self._live()
        if collection is None:
            return None
        if self.retention is not None and time.monotonic() >= self._prune_at:
            self.forget_old()
        item_id = str(uuid.uuid4())
        try:
            collection.add(
                ids=[item_id], documents=[_document(record)], metadatas=[_metadata(record)]
            )
        except Exception as exc:  # a failed write must not fail the request
            log.error("memory store failed at %s: %s: %s", self.where, type(exc).__name__, exc)
            return None
        return item_id

    def recall(self, text: str, k: int = 3) -> list[Recollection]:
        """The ``k`` (1–20) past interactions closest in meaning to ``text``; [] on failure."""
        collection = self._live() if text.strip() else None
        if collection is None:
            return []
        k = max(1, min(k, MAX_RECALL))
        try:
            started = time.perf_counter()
            result = collection.query(
                query_texts=[_clip(text, MAX_QUERY_CHARS)],
                n_results=k,
                include=["metadatas", "distances"],
            )
            log.debug("memory recall in %.3f s", time.perf_counter() - started)
            ids: Sequence[str] = result["ids"][0]
            metas: Sequence[Any] = (result.get("metadatas") or [[]])[0]
            distances: Sequence[float] = (result.get("distances") or [[]])[0]
            return [
                _recollection(i, dict(m or {}), d)
                for i, m, d in zip(ids, metas, distances, strict=False)
            ]
        except Exception as exc:  # recall is optional context
            log.error("memory recall failed at %s: %s: %s", self.where, type(exc).__name__, exc)
            return []
