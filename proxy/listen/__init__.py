"""Listen stage: a bounded copy of both sides becomes a transcript and trigger events."""
