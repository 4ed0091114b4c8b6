"""Start-up housekeeping that protects data at rest."""

from __future__ import annotations

import stat
from pathlib import Path

from proxy.startup import private_dir


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
