"""Shared fixtures: the real moshi upstream on tiny random weights.

``tiny_model`` builds (or reuses) the weights in ``data/tinymoshi`` under the repository, or in
``$VOICEOPS_TINYMOSHI_DIR``.  The cache holds no state a test can depend on: the builder checks
a manifest of hashes and rebuilds anything missing, stale or altered.

``openclaw_hosts`` is one real OpenClaw gateway plus one node host for the session (≈1.5 GB,
15–40 s to start here), enrolled with exec approvals generated from the executor tests' guard
policy.  Without the runtime (``./run.sh openclaw``) those tests skip and say so; in CI
(``VOICEOPS_REQUIRE_OPENCLAW=1``) a missing runtime fails instead.

``moshi_upstream`` is one server for the whole session.  The moshi server serves ONE
conversation at a time: a second socket is upgraded but gets no handshake until the first one
closes.  Every test that connects to it must therefore close its WebSocket before it ends
(``async with session.ws_connect(...)`` does).  A test that needs a fresh or private server
starts its own: ``with TinyMoshiServer(tiny_model) as server: ...``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.openclaw import Hosts, find_runtime, start, stop
from devtools.tinymoshi import (
    TinyModel,
    TinyMoshiServer,
    build_tiny_model,
    default_data_dir,
    free_port,
)
from extraction.understand import UnderstandingExtractor
from tests.proxy.actions.test_executor_local import TEST_POLICY, make_bin_dir

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


@pytest.fixture(scope="session")
def openclaw_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in binaries of the executor tests, shared by the OpenClaw node host."""
    return make_bin_dir(tmp_path_factory.mktemp("openclaw-bin"))


@pytest.fixture(scope="session")
def openclaw_hosts(tmp_path_factory: pytest.TempPathFactory, openclaw_bin: Path) -> Iterator[Hosts]:
    """A real OpenClaw gateway + node host "local" on loopback, ready for ``system.run``."""
    if find_runtime() is None:
        reason = "OpenClaw is not installed (./run.sh openclaw puts Node 24 + openclaw in .tools/)"
        if os.environ.get("VOICEOPS_REQUIRE_OPENCLAW") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    data_dir = tmp_path_factory.mktemp("openclaw-data")
    policy = data_dir / "policy.toml"
    policy.write_text(TEST_POLICY)
    try:
        yield start(
            data_dir,
            port=free_port(),
            policy=policy,
            trusted_path=f"{openclaw_bin}:/usr/bin:/bin",
        )
    finally:
        stop(data_dir)


@pytest.fixture(scope="session")
def understanding() -> UnderstandingExtractor:
    """The default offline extractor with its intent examples embedded (seconds, once)."""
    extractor = UnderstandingExtractor()
    assert extractor.prepare(), "the packaged sentence model did not load"
    return extractor
