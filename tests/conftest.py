"""Shared fixtures: the real moshi upstream on tiny random weights.

``tiny_model`` builds (or reuses) the weights in ``data/tinymoshi`` under the repository, or in
``$VOICEOPS_TINYMOSHI_DIR``.  The cache holds no state a test can depend on: the builder checks
a manifest of hashes and rebuilds anything missing, stale or altered.

``moshi_upstream`` is one server for the whole session.  The moshi server serves ONE
conversation at a time: a second socket is upgraded but gets no handshake until the first one
closes.  Every test that connects to it must therefore close its WebSocket before it ends
(``async with session.ws_connect(...)`` does).  A test that needs a fresh or private server
starts its own: ``with TinyMoshiServer(tiny_model) as server: ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.tinymoshi import TinyModel, TinyMoshiServer, build_tiny_model, default_data_dir

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_model() -> TinyModel:
    """The tiny moshi weights (built once, then cached across sessions)."""
    data_dir = default_data_dir()
    if not data_dir.is_absolute():
        data_dir = REPO_ROOT / data_dir
    return build_tiny_model(data_dir)


@pytest.fixture(scope="session")
def moshi_upstream(tiny_model: TinyModel) -> Iterator[TinyMoshiServer]:
    """A running tiny moshi server for the session; close your sockets (one conversation at a
    time)."""
    with TinyMoshiServer(tiny_model) as server:
        yield server
