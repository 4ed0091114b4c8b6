"""Policy files: the default loads, custom ones take effect, bad ones name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard import Allowed, Guard, NeedsConfirmation, PolicyError, Refused, load_policy

SEED_BINARIES = {"ls", "df", "free", "top", "ps", "systemctl", "docker"}
FAVOURITES = {"uptime", "uname", "journalctl", "du"}

SMALL = """\
[limits]
max_input_chars = 40
max_args = 4

[types.count]
int = [1, 9]

[commands.uname]
flags = ["-a|--all", "-r"]

[commands.svc]
flags = ["-q"]
add = ["-q"]
forbid = { "nuke" = "it deletes everything" }

[commands.svc.subcommands.show]
options = { "-n" = "count" }
args = { type = "count", min = 1, max = 2 }

[commands.svc.subcommands.bounce]
args = { type = "count", min = 1, max = 1 }
destructive = "it bounces the thing"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def small_guard(tmp_path: Path) -> Guard:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("uname", "svc", "ls"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return Guard(load_policy(write(tmp_path, SMALL)), trusted_path=str(bin_dir))


def test_default_policy_covers_seed_binaries_and_favourites() -> None:
    policy = load_policy()
    assert set(policy.commands) >= SEED_BINARIES | FAVOURITES
    assert policy.source.endswith("default_policy.toml")
    assert policy.limits.max_input_chars == 512


def test_custom_policy_replaces_the_default(tmp_path: Path) -> None:
    guard = small_guard(tmp_path)
    assert isinstance(guard.check("uname -a"), Allowed)
    refused = guard.check("ls")
    assert isinstance(refused, Refused)
    assert refused.rule == "commands"


def test_custom_policy_limits_apply(tmp_path: Path) -> None:
    guard = small_guard(tmp_path)
    too_long = guard.check("uname " + "-a " * 20)
    assert isinstance(too_long, Refused)
    assert too_long.rule == "limits.max_input_chars"
    too_many = guard.check("uname -a -a -a -a -a")
    assert isinstance(too_many, Refused)
    assert too_many.rule == "limits.max_args"


def test_subcommands_inherit_flags_add_and_forbid(tmp_path: Path) -> None:
    guard = small_guard(tmp_path)
    shown = guard.check("svc show -n 3 4")
    assert isinstance(shown, Allowed)
    assert shown.approval.argv[1:] == ("show", "-n", "3", "4", "-q")
    assert shown.approval.rule == "commands.svc.subcommands.show"
    bounced = guard.check("svc -q bounce 1")
    assert isinstance(bounced, NeedsConfirmation)
    assert bounced.why == "it bounces the thing"
    assert bounced.approval.argv[1:] == ("-q", "bounce", "1")
    nuked = guard.check("svc nuke")
    assert isinstance(nuked, Refused)
    assert nuked.rule == "commands.svc.forbid.nuke"
    assert "deletes everything" in nuked.reason


def bad_line(tmp_path: Path, text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, text))
    return caught.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ('flags = ["-q"]', 'flgas = ["-q"]', "unknown key 'flgas'"),
        (
            'options = { "-n" = "count" }',
            'options = { "-n" = "counter" }',
            "unknown type 'counter'",
        ),
        ("int = [1, 9]", "int = [9, 1]", "low ≤ high"),
        ("int = [1, 9]", "regex = '[a-z'", "bad regular expression"),
        ('add = ["-q"]', 'add = ["-x"]', "must be one of svc's flags"),
        ("max_args = 4", "max_args = -3", "whole number"),
        ("max_args = 4", 'max_args = "3"', "whole number"),
        (
            'flags = ["-a|--all", "-r"]',
            'flags = ["-a|all", "-r"]',
            "'all' must be like -x or --name",
        ),
        ('flags = ["-a|--all", "-r"]', 'flags = ["-a", "-a"]', "-a is defined twice"),
        (
            'args = { type = "count", min = 1, max = 1 }',
            'args = { type = "count", min = 2, max = 1 }',
            "≥ 2",
        ),
        ('destructive = "it bounces the thing"', 'destructive = ""', "non-empty string"),
        ('options = { "-n" = "count" }', 'say = "show"', "only a rule with destructive"),
        (
            'forbid = { "nuke" = "it deletes everything" }',
            'forbid = { "Nuke!" = "x" }',
            "subcommand word",
        ),
    ],
)
def test_schema_error_names_file_and_line(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    error = bad_line(tmp_path, text)
    assert error.path == str(tmp_path / "policy.toml")
    assert error.line == line_of(text, new)
    assert complaint in error.message
    assert str(error).startswith(f"{tmp_path / 'policy.toml'}:{error.line}: ")


def test_schema_error_in_a_table_header_points_at_the_header(tmp_path: Path) -> None:
    text = SMALL.replace("[commands.svc.subcommands.show]", "[commands.svc.subcommands.Show]")
    error = bad_line(tmp_path, text)
    assert error.line == line_of(text, "[commands.svc.subcommands.Show]")
    assert "plain lower-case word" in error.message


def test_a_destructive_rule_is_confirmed_by_saying_its_action(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, SMALL)).confirm_words() == ("bounce",)
    renamed = SMALL.replace("[commands.svc.subcommands.bounce]", "[commands.svc.subcommands.re-up]")
    error = bad_line(tmp_path, renamed)
    assert "'re-up' cannot be said to confirm it" in error.message
    said = renamed.replace('bounces the thing"', 'bounces the thing"\nsay = "bounce"')
    assert load_policy(write(tmp_path, said)).confirm_words() == ("bounce",)
    two_words = said.replace('say = "bounce"', 'say = "bounce it"')
    error = bad_line(tmp_path, two_words)
    assert error.line == line_of(two_words, 'say = "bounce it"')
    assert "'bounce it' cannot be said to confirm it" in error.message
    assert load_policy().confirm_words() == (
        "kill", "reload", "remove", "restart", "start", "stop"
    )  # fmt: skip


def test_args_on_a_command_with_subcommands_is_an_error(tmp_path: Path) -> None:
    text = SMALL.replace('add = ["-q"]', 'add = ["-q"]\nargs = { type = "count" }')
    error = bad_line(tmp_path, text)
    assert error.line == line_of(text, 'args = { type = "count" }')
    assert "put args on each" in error.message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = SMALL.replace("max_args = 4", "max_args = = 4")
    error = bad_line(tmp_path, text)
    assert error.line == line_of(text, "max_args = = 4")
    assert "not valid TOML" in error.message


def test_policy_without_commands_is_an_error(tmp_path: Path) -> None:
    error = bad_line(tmp_path, "[limits]\nmax_args = 3\n")
    assert "allows no commands" in error.message


def test_missing_policy_file_is_an_error_without_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "nope.toml")
    assert caught.value.line is None
    assert str(caught.value).startswith(f"{tmp_path / 'nope.toml'}: cannot read")


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


def test_describe_shows_effective_policy(tmp_path: Path) -> None:
    text = small_guard(tmp_path).describe()
    assert "svc show" in text
    assert "-n <count>" in text
    assert "NEEDS CONFIRMATION: it bounces the thing" in text
    assert "forbids nuke: it deletes everything" in text
    assert "adds when missing: -q" in text
    assert "at most 40 characters and 4 arguments" in text
    assert "count: a number from 1 to 9" in text


def test_describe_says_which_binaries_are_missing(tmp_path: Path) -> None:
    text = Guard(load_policy(), trusted_path=str(tmp_path)).describe()
    assert "[not installed on this server]" in text
    assert "systemctl restart" in text


def test_error_inside_a_multi_line_array_points_at_the_entry(tmp_path: Path) -> None:
    text = '[commands.ls]\nflags = [\n    "-l",\n    "-a",\n    "all",\n]\n\n[commands.df]\n'
    error = bad_line(tmp_path, text)
    assert error.line == 5
    assert "'all' must be like -x or --name" in error.message
