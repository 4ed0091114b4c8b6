"""A fleet names nodes, groups and aliases consistently; a bad fleet file says where it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import ALL, Fleet, FleetError, load_fleet

GOOD = """\
default = "web-1"
nodes = ["web-1", "web-2", "db-1"]

[groups]
web = ["web-1", "web-2"]

[aliases]
"database box" = "db-1"
"web servers" = "web"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_fleet_file_gives_nodes_groups_aliases_and_default(tmp_path: Path) -> None:
    fleet = load_fleet(write(tmp_path, GOOD))
    assert fleet.nodes == ("web-1", "web-2", "db-1")
    assert fleet.members("web") == ("web-1", "web-2")
    assert fleet.members("db-1") == ("db-1",)
    assert fleet.members(ALL) == ("web-1", "web-2", "db-1")
    assert fleet.members(fleet.aliases["database box"]) == ("db-1",)
    assert fleet.default == "web-1"


def test_an_unknown_name_has_no_members_rather_than_none() -> None:
    with pytest.raises(FleetError, match="no node or group is called 'web-3'"):
        Fleet(("web-1",)).members("web-3")


def test_connected_nodes_join_the_configured_ones_once() -> None:
    fleet = Fleet(("web-1",), {"web": ("web-1",)}).with_nodes(["web-2", "web-1"])
    assert fleet.nodes == ("web-1", "web-2")
    assert fleet.members("web") == ("web-1",)
    with pytest.raises(FleetError, match="group 'web' has the name of a node"):
        fleet.with_nodes(["web"])


def test_a_fleet_cannot_be_changed_under_a_conversation() -> None:
    groups: dict[str, tuple[str, ...]] = {"web": ("web-1",)}
    fleet = Fleet(("web-1",), groups)
    groups["web"] = ()
    assert fleet.members("web") == ("web-1",)
    with pytest.raises(TypeError):
        fleet.groups["db"] = ("web-1",)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('nodes = ["web-1"]\n[group]\nweb = ["web-1"]\n', 2, "unknown key 'group'"),
        ('nodes = ["web-1"]\n[groups]\nweb = ["web-1", "web-l"]\n', 3, "lists 'web-l'"),
        ('nodes = ["web-1"]\n\n[aliases]\n"database box" = "db-1"\n', 4, "names 'db-1'"),
        ('default = "db-1"\nnodes = ["web-1"]\n', 1, "default 'db-1'"),
        ('nodes = ["web 1"]\n', 1, "is not a node or group name"),
        ('nodes = ["all"]\n', 1, "'all' is reserved"),
        ('nodes = "web-1"\n', 1, "nodes must be a list of names"),
        ('nodes = ["web-1"]\n[aliases]\n"Database Box" = "web-1"\n', 3, "lower-case words"),
        ('nodes = ["web-1"]\nweb = = 1\n', 2, "not valid TOML"),
    ],
)
def test_a_bad_fleet_file_is_refused_with_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FleetError, match=message) as caught:
        load_fleet(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_missing_fleet_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot read the fleet file"):
        load_fleet(tmp_path / "absent.toml")
