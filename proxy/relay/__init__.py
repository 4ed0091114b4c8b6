"""Relay stage: bytes between the browser and the upstream model, untouched and bounded."""
