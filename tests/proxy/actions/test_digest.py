"""Digests: what the operator reads (one line) and hears (one sentence) about each outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.actions.digest import (
    MAX_TEXT,
    executed,
    needs_confirmation,
    refused,
    spoken_command,
    unnamed,
)
from proxy.actions.digest_rules import gist, human, parse_size, spoken
from proxy.actions.executors.base import RunResult

OUTPUTS = Path(__file__).parent / "outputs"


def out(name: str) -> str:
    return (OUTPUTS / f"{name}.txt").read_text()


def run(argv: tuple[str, ...], output: str = "", code: int | None = 0, **kw: object) -> RunResult:
    return RunResult(argv, code, output, "", len(output), 0, 0.01, **kw)  # type: ignore[arg-type]


# -- the rules, on output captured on this machine


def test_df_h_says_root_use_and_free_space() -> None:
    found = gist(("/usr/bin/df", "-h"), out("df-h"))
    assert found is not None
    assert found.text.startswith("Root filesystem ")
    assert "% used" in found.text and "GB free" in found.text
    assert "percent used" in found.speech and "gigabytes free" in found.speech


def test_df_h_whole_digest_is_one_short_line() -> None:
    digest = executed("df -h", run(("/usr/bin/df", "-h"), out("df-h")))
    assert "\n" not in digest.text and len(digest.text) < 120
    assert digest.text.startswith("df -h: Root filesystem")
    assert "Filesystem" not in digest.text and "tmpfs" not in digest.text


def test_df_without_h_reads_kilobyte_blocks_like_df_h() -> None:
    plain = gist(("/usr/bin/df",), out("df"))
    human_readable = gist(("/usr/bin/df", "-h"), out("df-h"))
    assert plain is not None and human_readable is not None
    assert plain.text.split(",")[0] == human_readable.text.split(",")[0]


def test_df_names_another_filesystem_that_is_nearly_full() -> None:
    table = (
        "Filesystem Size Used Avail Use% Mounted on\n"
        "/dev/sda1 50G 20G 30G 40% /\n"
        "/dev/sdb1 100G 93G 7G 93% /var/lib/docker\n"
        "tmpfs 4G 4G 0 100% /run\n"
    )
    found = gist(("/usr/bin/df", "-h"), table)
    assert found is not None
    assert found.text == "Root filesystem 40 % used, 30 GB free; /var/lib/docker is 93 % full."


@pytest.mark.parametrize("name, flag", [("free-h", "-h"), ("free-m", "-m"), ("free", None)])
def test_free_in_every_unit_says_used_total_available(name: str, flag: str | None) -> None:
    argv = ("/usr/bin/free", flag) if flag else ("/usr/bin/free",)
    found = gist(argv, out(name))
    assert found is not None
    assert found.text.startswith("Memory: ") and "available" in found.text
    assert found.text.count("GB") == 3  # this machine has GBs of everything


def test_free_mentions_swap_only_when_used() -> None:
    table = (
        "               total        used        free      shared  buff/cache   available\n"
        "Mem:           16000       15000         200          10         800         500\n"
        "Swap:           2048        1024        1024\n"
    )
    found = gist(("/usr/bin/free", "-m"), table)
    assert found is not None
    assert found.text == "Memory: 15 GB used of 16 GB, 500 MB available; swap 1 GB used."
    assert "swap" not in (gist(("/usr/bin/free", "-h"), out("free-h")) or found).text


def test_uptime_captured_here() -> None:
    found = gist(("/usr/bin/uptime",), out("uptime"))
    assert found is not None
    assert found.text.startswith("Up ") and "load" in found.text


@pytest.mark.parametrize(
    "line, up",
    [
        (
            " 10:01:02 up 3 days,  4:05,  2 users,  load average: 0.10, 0.20, 0.30",
            "3 days 4 hours 5",
        ),
        (" 10:01:02 up 12:03,  1 user,  load average: 1.00, 0.50, 0.25", "12 hours 3 minutes"),
        (" 10:01:02 up 1 day, 7 min,  0 users,  load average: 0.00, 0.00, 0.00", "1 day 7 minutes"),
    ],
)
def test_uptime_durations_in_words(line: str, up: str) -> None:
    found = gist(("/usr/bin/uptime",), line)
    assert found is not None and found.text.startswith(f"Up {up}")


def test_systemctl_status_running_unit() -> None:
    found = gist(
        ("/usr/bin/systemctl", "status", "nginx", "--no-pager"), out("systemctl-status-nginx")
    )
    assert found is not None
    assert found.text == "nginx is active (running) since 3h 4min ago."
    assert found.speech == "nginx is active."


def test_systemctl_status_failed_unit_keeps_its_exit_code() -> None:
    argv = ("/usr/bin/systemctl", "status", "redis-server", "--no-pager")
    digest = executed(
        "systemctl status redis-server --no-pager", run(argv, out("systemctl-status-failed"), 3)
    )
    assert digest.text == (
        "systemctl status redis-server --no-pager: exit 3; redis-server is failed "
        "(Result: exit-code) since 25min ago."
    )
    assert digest.speech == "redis-server is failed."


def test_systemctl_without_systemd_quotes_the_error() -> None:
    argv = ("/usr/bin/systemctl", "status", "nginx", "--no-pager")
    digest = executed(
        "systemctl status nginx --no-pager", run(argv, out("systemctl-no-systemd"), 1)
    )
    assert digest.text == (
        "systemctl status nginx --no-pager: failed, exit 1: Failed to connect to bus: Host is down"
    )
    assert digest.speech == "systemctl status nginx failed with exit code 1."


def test_systemctl_unknown_unit() -> None:
    found = gist(
        ("/usr/bin/systemctl", "status", "nope"), "Unit nope.service could not be found.\n"
    )
    assert found is not None and found.text == "There is no unit called nope."


def test_docker_ps_counts_names_and_unhealthy() -> None:
    found = gist(("/usr/local/bin/docker", "ps"), out("docker-ps"))
    assert found is not None
    assert found.text == "3 containers, 3 up: web, db, cache; 1 unhealthy."


def test_docker_ps_empty_and_docker_missing() -> None:
    header = out("docker-ps").splitlines()[0] + "\n"
    empty = gist(("/usr/local/bin/docker", "ps"), header)
    assert empty is not None and empty.text == "No containers running."
    assert gist(("/usr/local/bin/docker", "ps"), out("docker-no-daemon")) is None


def test_journalctl_counts_errors_and_quotes_the_last_message() -> None:
    found = gist(("/usr/bin/journalctl", "-u", "nginx"), out("journalctl-nginx"))
    assert found is not None
    assert found.text == (
        "4 log lines, 1 with errors; last: Reloaded A high performance web server and a "
        "reverse proxy…"
    )
    assert found.speech == "4 log lines, 1 with errors."


def test_journalctl_without_entries_captured_here() -> None:
    found = gist(("/usr/bin/journalctl", "-n", "5"), out("journalctl-empty"))
    assert found is not None and found.text == "No log entries."


def test_ps_counts_processes_and_names_the_busiest() -> None:
    found = gist(("/usr/bin/ps", "-eo", "user,pid,%cpu,%mem,stat,comm"), out("ps"))
    assert found is not None
    assert found.text == "15 processes; busiest mypy at 58.2 % CPU."


def test_du_single_and_depth() -> None:
    single = gist(("/usr/bin/du", "-sh", "/work/main/proxy"), out("du-sh"))
    assert single is not None
    assert single.text == "/work/main/proxy uses 836 KB."
    assert single.speech == "proxy uses 836 kilobytes."
    deep = gist(("/usr/bin/du", "-h", "--max-depth=1", "/work/main/proxy"), out("du-depth"))
    assert deep is not None
    assert (
        deep.text == "/work/main/proxy uses 836 KB; largest: /work/main/proxy/listen with 288 KB."
    )


@pytest.mark.parametrize("binary", ["df", "free", "uptime", "ps", "du", "journalctl"])
def test_rules_give_up_on_garbage_instead_of_raising(binary: str) -> None:
    assert (
        gist((f"/usr/bin/{binary}",), "\x00\x01 garbage\n%%%\n") is None or binary == "journalctl"
    )


# -- outcomes


def test_unknown_tool_gets_the_generic_count() -> None:
    digest = executed("ls -la /etc", run(("/usr/bin/ls", "-la", "/etc"), "a\nb\nc\n" * 4))
    assert digest.text == "ls -la /etc: done, exit 0, 12 lines."
    assert digest.speech == "ls done, 12 lines."


def test_one_short_line_of_output_is_shown_as_is() -> None:
    digest = executed("uname -r", run(("/usr/bin/uname", "-r"), "6.1.0-18-amd64\n"))
    assert digest.text == "uname -r: 6.1.0-18-amd64"


def test_failed_timed_out_killed_and_unstartable() -> None:
    argv = ("/usr/bin/ls", "/nope")
    failed = executed("ls /nope", run(argv, "ls: cannot access '/nope': No such file\n", 2))
    assert failed.text == "ls /nope: failed, exit 2: ls: cannot access '/nope': No such file"
    timed = executed("ls /nope", run(argv, "", None, timed_out=True), timeout=10.0)
    assert timed.text == "ls /nope: timed out after 10 s and was stopped."
    assert timed.speech == "ls timed out after 10 seconds and was stopped."
    killed = executed("ls /nope", run(argv, "", -9))
    assert killed.text == "ls /nope: killed by signal 9."
    missing = executed("ls /nope", run(argv, "", None, error="binary not found"))
    assert missing.text == "ls /nope: could not run: binary not found"


def test_confirmation_says_what_and_the_exact_words() -> None:
    digest = needs_confirmation(
        "systemctl restart nginx --no-pager",
        "restarting a unit interrupts the service while it comes back",
        "restart",
        120.0,
        "r1-1",
    )
    assert digest.text == (
        "systemctl restart nginx --no-pager needs confirmation (id r1-1): restarting a unit "
        "interrupts the service while it comes back. Say “confirm restart” or “cancel” within "
        "120 s."
    )
    assert digest.speech == "systemctl restart nginx? Say confirm restart, or cancel."


def test_refusal_in_plain_words() -> None:
    reason = (
        "'rm' is not in the policy (allowed commands: df, docker, du, free, journalctl, ls, ps, "
        "systemctl, top, uname, uptime)"
    )
    digest = refused("rm -rf /", reason)
    assert digest.text == "Refused rm -rf /: 'rm' is not in the policy."
    assert digest.speech == "Refused rm."


def test_long_output_lines_never_make_a_long_digest() -> None:
    argv = ("/usr/bin/ls",)
    digest = executed("ls " + "x" * 200, run(argv, "y" * 500 + "\n", 1))
    assert len(digest.text) <= MAX_TEXT and "\n" not in digest.text


def test_sizes_and_speech_helpers() -> None:
    assert parse_size("76G") == 76 << 30
    assert parse_size("1.6Gi") == round(1.6 * (1 << 30))
    assert parse_size("24105", 1 << 20) == 24105 << 20
    assert parse_size("-") is None
    assert human(836 << 10) == "836 KB" and human(round(1.6 * (1 << 30))) == "1.6 GB"
    assert spoken("27 % used, 75 GB free") == "27 percent used, 75 gigabytes free"
    assert spoken_command("/usr/bin/systemctl status nginx --no-pager") == "systemctl status nginx"


def test_a_confirmation_without_the_action_says_the_words_that_run_it() -> None:
    alone = unnamed("systemctl restart nginx --no-pager", "restart", "r1.1", None)
    assert alone.text == (
        "Not run: say “confirm restart” to run systemctl restart nginx --no-pager (r1.1)."
    )
    assert alone.speech == "Say confirm restart to run systemctl restart nginx."
    other = unnamed("docker rm web", "remove", "r2.1", "stop")
    assert other.text == (
        "Not run: say “confirm remove” to run docker rm web (r2.1); “confirm stop” names "
        "nothing waiting."
    )
