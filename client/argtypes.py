"""Argument types of the client's command line: each checks one value and says why not."""

from __future__ import annotations

import argparse
from typing import Any


def seconds(text: str) -> float:
    """A number of seconds, zero or more."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def positive(text: str) -> float:
    """A number above zero."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def count(text: str) -> int:
    """A whole number, zero or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def query_value(kind: type) -> Any:
    """A query value that must read as ``kind``; sent as typed."""

    # Validate the number but send the text as typed (the UI sends its own formatting too).
    def check(text: str) -> str:
        kind(text)
        return text

    check.__name__ = kind.__name__
    return check


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a pair."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value
