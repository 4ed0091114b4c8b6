"""Serve stage: the aiohttp application, its HTTP API and the per-conversation wiring."""
