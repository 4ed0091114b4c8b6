"""What the relay counts as it goes: messages and bytes per kind, and how long it held each one.

Kept cheap on purpose (a list index and two clock reads per message): the figures are read only
when someone asks (``/metrics``, the end-of-conversation log line).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Seconds: the relay holds a page for tens of microseconds; a stalled browser for seconds.
LATENCY_BOUNDS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip
_KINDS = 8  # kind bytes 0x00-0x07; the codec refuses anything above before it is counted


@dataclass(slots=True)
class Flow:
    """Messages and bytes that went one way, in total and per kind byte."""

    messages: int = 0
    size: int = 0
    kind_messages: list[int] = field(default_factory=lambda: [0] * _KINDS)
    kind_bytes: list[int] = field(default_factory=lambda: [0] * _KINDS)

    def count(self, data: bytes) -> None:
        """Add one message (its first byte is its kind)."""
        n = len(data)
        self.count_kind(data[0] if n and data[0] < _KINDS else _KINDS - 1, n)

    def count_kind(self, kind: int, size: int) -> None:
        """Add one message of a known kind (0 to 7) and ``size`` bytes."""
        self.messages += 1
        self.size += size
        self.kind_messages[kind] += 1
        self.kind_bytes[kind] += size

    def add(self, other: Flow) -> None:
        """Fold a finished conversation's counts into this total."""
        self.messages += other.messages
        self.size += other.size
        for i in range(_KINDS):
            self.kind_messages[i] += other.kind_messages[i]
            self.kind_bytes[i] += other.kind_bytes[i]

    def __str__(self) -> str:
        return f"{self.messages} msgs/{self.size} B"


@dataclass(slots=True)
class LatencyHistogram:
    """A fixed-bucket histogram of seconds (Prometheus style: ``le`` upper bounds, then +Inf)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """Add one observation."""
        self.counts[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs, each counting every observation at or below ``le``."""
        pairs, running = [], 0
        for bound, count in zip((*map(str, LATENCY_BOUNDS), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, float(running)))
        return pairs


@dataclass(slots=True)
class RelayTotals:
    """Counts over every finished conversation, plus the per-page latency of all of them."""

    to_upstream: Flow = field(default_factory=Flow)
    to_browser: Flow = field(default_factory=Flow)
    latency_to_upstream: LatencyHistogram = field(default_factory=LatencyHistogram)
    latency_to_browser: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: Conversations handed to each upstream URL.
    served: dict[str, int] = field(default_factory=dict)
    #: Whether each upstream accepted a TCP connection at its last probe.
    upstream_up: dict[str, bool] = field(default_factory=dict)
