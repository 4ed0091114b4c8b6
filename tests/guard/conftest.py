"""Guards for the tests: one over harmless stand-in binaries, one over the real system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guard import Guard, Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> Path:
    """A directory holding an ``echo "$@"`` script for every binary of the default policy.

    CI containers may lack systemctl, docker or journalctl; with these stand-ins every decision
    is the same on any machine.
    """
    directory = tmp_path_factory.mktemp("bin")
    for name in policy.commands:
        script = directory / name
        script.write_text('#!/bin/sh\necho "$@"\n')
        os.chmod(script, 0o755)
    return directory


@pytest.fixture(scope="session")
def guard(policy: Policy, stand_ins: Path) -> Guard:
    return Guard(policy, trusted_path=str(stand_ins))


@pytest.fixture(scope="session")
def real_guard(policy: Policy) -> Guard:
    return Guard(policy)
