"""The root of every exception the project raises on purpose.

Each package's errors derive from :class:`VoiceOpsError` (and from the built-in class that says
what kind of failure it is, such as :class:`ValueError`), so a caller can catch "anything this
project refused" in one clause without catching programming errors.
"""

from __future__ import annotations


class VoiceOpsError(Exception):
    """Base of the project's own exceptions; ``str(error)`` is meant for a person."""
