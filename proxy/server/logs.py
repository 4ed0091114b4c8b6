"""Logging set-up: readable lines by default, JSON lines for machines, secrets never written.

Records that concern one conversation carry ``session_id`` (``extra={"session_id": …}``); the
JSON format puts it, and every other ``extra`` field, beside the message so a log pipeline can
filter by it.  A filter on the handler rewrites any configured secret and any ``Bearer`` token
to ``[redacted]`` whatever logged it — including third-party libraries.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable

FORMATS = ("text", "json")
_REDACTED = "[redacted]"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
# Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class RedactSecrets(logging.Filter):
    """Replaces the given secrets and bearer tokens in every record's message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Short values would redact ordinary words; a real secret is long.
        self._secrets = tuple(s for s in secrets if len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # Fields given with ``extra`` (aiohttp's access log puts the request line there).
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, self._scrub(value))
        return True

    def _clean(self, text: str) -> str:
        text = _BEARER.sub(r"\1" + _REDACTED, text)
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def _scrub(self, value: object) -> object:
        if isinstance(value, str):
            return self._clean(value)
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Log to stderr at ``level`` in ``fmt`` (``text`` or ``json``), redacting ``secrets``."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
