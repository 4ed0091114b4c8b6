"""THREAT_MODEL.md's limits table matches the proxy: every flag it names exists with its
``VOICEOPS_*`` environment variable, and every other limit says why it is fixed."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from proxy.config import build_parser
from proxy.config.flags import env_name

PAGE = Path(__file__).resolve().parent.parent / "THREAT_MODEL.md"
_FLAG = re.compile(r"`(--[a-z][a-z0-9-]*)`")


def _limit_rows() -> list[tuple[str, str]]:
    """(input, last column) of each row of the table under "## Limits"."""
    section = PAGE.read_text(encoding="utf-8").split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    cells = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    header, rule, *rows = cells
    assert header[-1].startswith("flag") and set(rule[0]) == {"-"}
    return [(row[0], row[-1]) for row in rows]


ROWS = _limit_rows()


def _actions() -> dict[str, argparse.Action]:
    return {flag: a for a in build_parser()._actions for flag in a.option_strings}


def test_the_table_lists_the_limits() -> None:
    assert len(ROWS) >= 20
    assert any("--confirm-ttl" in flags for _, flags in ROWS)


@pytest.mark.parametrize(("what", "where"), ROWS, ids=[what for what, _ in ROWS])
def test_each_limit_has_a_flag_and_variable_or_says_why_it_is_fixed(what: str, where: str) -> None:
    flags = _FLAG.findall(where)
    if where.startswith("fixed:"):
        assert not flags, f"{what}: fixed, yet it names {flags}"
        assert len(where.split()) >= 6, f"{what}: say why it is fixed"
        return
    assert flags, f"{what}: name its flag, or say 'fixed: why'"
    actions = _actions()
    for flag in flags:
        assert flag in actions, f"{what}: python -m proxy has no {flag}"
        assert f"[env {env_name(flag)}]" in (actions[flag].help or ""), f"{flag} has no variable"


def test_a_limit_flag_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEOPS_CONFIRM_TTL", "45")
    assert float(build_parser().parse_args([]).confirm_ttl) == 45.0
