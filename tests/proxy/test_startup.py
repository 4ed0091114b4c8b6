"""Start-up housekeeping that protects data at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from guard import PolicyError
from proxy.actions.executors.flags import Placement
from proxy.config import Config
from proxy.startup import load_guard, make_executor, private_dir


def test_the_data_dir_and_everything_in_it_become_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "memory").mkdir(parents=True, mode=0o755)
    (data / "memory" / "chroma.sqlite3").write_text("x")
    (data / "memory" / "chroma.sqlite3").chmod(0o644)
    data.chmod(0o755)
    private_dir(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "memory").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "memory" / "chroma.sqlite3").stat().st_mode) == 0o600


def test_a_fleet_needs_the_openclaw_executor(tmp_path: Path) -> None:
    (tmp_path / "fleet.toml").write_text('nodes = ["web-1"]\n')
    config = Config(data_dir=tmp_path, placement=Placement(fleet=tmp_path / "fleet.toml"))
    _guard, fleet = load_guard(config)
    assert fleet is not None and fleet.nodes == ("web-1",)
    with pytest.raises(ValueError, match="--fleet runs commands on OpenClaw nodes"):
        make_executor(config, fleet)


def test_a_policy_section_for_a_server_the_fleet_lacks_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "fleet.toml").write_text('nodes = ["web-1"]\n')
    (tmp_path / "policy.toml").write_text(
        '[commands.df]\n[targets."web-9"]\nforbid = { df = "no" }\n'
    )
    placement = Placement("openclaw", fleet=tmp_path / "fleet.toml")
    config = Config(policy=tmp_path / "policy.toml", placement=placement)
    with pytest.raises(PolicyError, match=r"\[targets.web-9\] names no node or group"):
        load_guard(config)
