"""Typed records: every JSON object the proxy shows the outside world, defined once.

``events`` — the ``0x04`` events sent to clients that ask; ``commands`` — command results and
the HTTP API's answers about them; ``api`` — the other HTTP API bodies; ``audit`` — the lines of
the audit log.  The headless client reads the same classes the proxy writes.  Nothing here
imports aiohttp or the proxy: :mod:`voiceops.records.base` holds the one JSON mapping.
"""
