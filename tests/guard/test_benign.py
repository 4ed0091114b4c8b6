"""Everyday commands an operator asks for: all pass, and run exactly as shown."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from guard import Allowed, Guard, NeedsConfirmation

# text → the words that run after the binary (flags the guard adds included)
ALLOWED: list[tuple[str, tuple[str, ...]]] = [
    ("ls", ()),
    ("ls -lah /var/log", ("-lah", "/var/log")),
    ("ls -l /etc/nginx /var/www", ("-l", "/etc/nginx", "/var/www")),
    ("ls -la /var/log/", ("-la", "/var/log/")),
    ("ls -ltr --human-readable /var/log/nginx", ("-ltr", "--human-readable", "/var/log/nginx")),
    ("ls -l -- /var/log", ("-l", "/var/log")),
    ("  ls   -la   /var/log  ", ("-la", "/var/log")),
    ("df -h", ("-h",)),
    ("df -hT /var", ("-hT", "/var")),
    ("df -h -x tmpfs", ("-h", "-x", "tmpfs")),
    ("df --exclude-type=squashfs -h", ("--exclude-type=squashfs", "-h")),
    ("free -h", ("-h",)),
    ("free -m -t", ("-m", "-t")),
    ("top -b -n 1", ("-b", "-n", "1")),
    ("top -bn1", ("-bn1",)),
    ("top -b -n1 -c", ("-b", "-n1", "-c")),
    ("top --batch-mode --iterations=2", ("--batch-mode", "--iterations=2")),
    ("top -b -n 1 -o %MEM", ("-b", "-n", "1", "-o", "%MEM")),
    ("ps aux", ("aux",)),
    ("ps -ef", ("-ef",)),
    ("ps aux --sort=-%mem", ("aux", "--sort=-%mem")),
    ("ps -eF --sort -pcpu", ("-eF", "--sort", "-pcpu")),
    ("ps -u www-data", ("-u", "www-data")),
    ("ps -p 1", ("-p", "1")),
    ("uptime", ()),
    ("uptime -p", ("-p",)),
    ("uname -a", ("-a",)),
    ("uname -r", ("-r",)),
    ("du -sh /var/log", ("-sh", "/var/log")),
    ("du -h -d 1 /var/lib", ("-h", "-d", "1", "/var/lib")),
    ("du -sh /home /srv", ("-sh", "/home", "/srv")),
    ("du --max-depth=1 -h /opt", ("--max-depth=1", "-h", "/opt")),
    ("journalctl -u nginx -n 50", ("-u", "nginx", "-n", "50", "--no-pager")),
    (
        "journalctl -u nginx.service -n 20 --no-pager",
        ("-u", "nginx.service", "-n", "20", "--no-pager"),
    ),
    ("journalctl -n 100 -p err", ("-n", "100", "-p", "err", "--no-pager")),
    ("journalctl -u ssh -n 10 --since=-1h", ("-u", "ssh", "-n", "10", "--since=-1h", "--no-pager")),
    ("journalctl -k -n 20 -r", ("-k", "-n", "20", "-r", "--no-pager")),
    (
        "journalctl -u nginx --lines=5 -o short-iso",
        ("-u", "nginx", "--lines=5", "-o", "short-iso", "--no-pager"),
    ),
    ("systemctl status nginx", ("status", "nginx", "--no-pager")),
    ("systemctl status nginx --no-pager", ("status", "nginx", "--no-pager")),
    ("systemctl --no-pager status nginx", ("--no-pager", "status", "nginx")),
    (
        "systemctl status nginx postgresql -n 20",
        ("status", "nginx", "postgresql", "-n", "20", "--no-pager"),
    ),
    ("systemctl status getty@tty1.service", ("status", "getty@tty1.service", "--no-pager")),
    ("systemctl is-active nginx", ("is-active", "nginx", "--no-pager")),
    ("systemctl is-enabled nginx.service", ("is-enabled", "nginx.service", "--no-pager")),
    ("systemctl is-failed nginx", ("is-failed", "nginx", "--no-pager")),
    ("systemctl list-units --failed", ("list-units", "--failed", "--no-pager")),
    (
        "systemctl list-units --type=service --state=running",
        ("list-units", "--type=service", "--state=running", "--no-pager"),
    ),
    ("systemctl list-timers", ("list-timers", "--no-pager")),
    ("systemctl show nginx -p ActiveState", ("show", "nginx", "-p", "ActiveState", "--no-pager")),
    ("docker ps", ("ps",)),
    ("docker ps -a", ("ps", "-a")),
    ("docker ps --filter status=exited", ("ps", "--filter", "status=exited")),
    ("docker images", ("images",)),
    ("docker stats --no-stream", ("stats", "--no-stream")),
    ("docker stats --no-stream web db", ("stats", "--no-stream", "web", "db")),
    ("docker logs --tail 50 web", ("logs", "--tail", "50", "web")),
    ("docker logs -n 20 -t web", ("logs", "-n", "20", "-t", "web")),
    ("docker logs --tail=100 --since 10m web", ("logs", "--tail=100", "--since", "10m", "web")),
    ("docker top web", ("top", "web")),
]

CONFIRM: list[tuple[str, tuple[str, ...]]] = [
    ("systemctl restart nginx", ("restart", "nginx", "--no-pager")),
    ("systemctl stop nginx", ("stop", "nginx", "--no-pager")),
    ("systemctl start nginx", ("start", "nginx", "--no-pager")),
    ("systemctl reload nginx.service", ("reload", "nginx.service", "--no-pager")),
    ("docker rm web", ("rm", "web")),
    ("docker stop web db", ("stop", "web", "db")),
    ("docker kill web", ("kill", "web")),
    ("docker restart web", ("restart", "web")),
    ("docker start web", ("start", "web")),
]


@pytest.mark.parametrize(("text", "words"), ALLOWED, ids=[text for text, _ in ALLOWED])
def test_benign_command_allowed_as_exact_argv(
    guard: Guard, stand_ins: Path, text: str, words: tuple[str, ...]
) -> None:
    decision = guard.check(text)
    assert isinstance(decision, Allowed), decision
    binary = text.split(maxsplit=1)[0]
    assert decision.approval.argv == (str(stand_ins / binary), *words)
    assert decision.approval.command == text
    assert not decision.approval.destructive


@pytest.mark.parametrize(("text", "words"), CONFIRM, ids=[text for text, _ in CONFIRM])
def test_destructive_command_needs_confirmation(
    guard: Guard, stand_ins: Path, text: str, words: tuple[str, ...]
) -> None:
    decision = guard.check(text)
    assert isinstance(decision, NeedsConfirmation), decision
    assert decision.approval.argv == (str(stand_ins / text.split(maxsplit=1)[0]), *words)
    assert decision.approval.destructive
    assert decision.why
    assert decision.approval.rule.endswith("subcommands." + text.split()[1])


REAL = [
    "ls -la /tmp",
    "df -h",
    "free -h",
    "uptime",
    "uname -a",
    "du -sh /tmp",
    "ps aux --sort=-%mem",
    "top -b -n 1",
]


@pytest.mark.parametrize("text", REAL)
def test_real_read_only_command_runs_and_ends(real_guard: Guard, text: str) -> None:
    if shutil.which(text.split(maxsplit=1)[0], path=real_guard.trusted_path) is None:
        pytest.skip(f"{text.split(maxsplit=1)[0]} is not installed here")
    decision = real_guard.check(text)
    assert isinstance(decision, Allowed), decision
    done = subprocess.run(decision.approval.argv, capture_output=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout
