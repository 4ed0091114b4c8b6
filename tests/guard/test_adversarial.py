"""Bypass attempts: every one is refused, and by the rule that should catch it.

Checked against stand-in binaries, so a refusal can never come from a missing program.
"""

from __future__ import annotations

import pytest

from guard import Guard, Refused

LS = "commands.ls"
DU = "commands.du"
TOP = "commands.top"
PS = "commands.ps"
SCTL = "commands.systemctl"
JCTL = "commands.journalctl"
DOCKER = "commands.docker"

SHELL_SYNTAX = [
    "ls; rm -rf /",
    "ls && reboot",
    "ls || reboot",
    "ls | sh",
    "ls /var/log|sh",
    "ls `id`",
    "ls $(id)",
    "ls ${HOME}",
    "ls $HOME",
    "ls $'\\x41'",
    "ls > /etc/passwd",
    "ls < /etc/shadow",
    "ls /var/log >> /etc/cron.d/x",
    "ls /var/log\nrm -rf /",
    "ls /var/log\rreboot",
    "ls\x00-la",
    "ls\t-la",
    "ls 'a b'",
    'ls "/var/log"',
    "ls /var/log/*",
    "ls /var/log/?",
    "ls /var/log/[a-z]",
    "ls ~root",
    "ls ~",
    "ls !!",
    "ls \\;",
    "ls {a,b}",
    "ls <(id)",
    "ls >(id)",
    "ls /var/log # trailing comment",
    "ls /var/log &",
    "ls /var/log\x1b[2J",
    "systemctl status nginx;id",
    "docker ps --format={{.ID}}",
    "docker ps -f status=exited;id",
    "journalctl -u nginx -n 5 --since=$(date)",
    "systemctl list-units --state=running|grep x",
    "ls /var/log\x7f",
]

UNICODE_LOOKALIKES = [
    "ｌｓ -la",  # fullwidth letters
    "ls －la",  # fullwidth hyphen-minus
    "ls —la",  # em dash
    "ls ‐la",  # hyphen U+2010
    "ls −la",  # minus sign U+2212
    "systemctl status nginx\u200b",  # zero-width space
    "ls\u00a0-la",  # no-break space
    "sуstemctl status nginx",  # Cyrillic у
    "ls /vаr/log",  # Cyrillic а
    "ls ⁄etc",  # fraction slash
    "ls /var/log\u2028rm -rf /",  # line separator
    "top -b -n ١",  # Arabic-Indic digit one
    "ls /var/log\u202e",  # right-to-left override
    "ls /ｅtc",  # fullwidth e
    "docker logs --tail 1０ web",  # fullwidth zero
]

CASES: list[tuple[str, str]] = [(text, "charset") for text in SHELL_SYNTAX + UNICODE_LOOKALIKES]

CASES += [
    # Not in the policy, or not named plainly.
    ("rm -rf /", "commands"),
    ("sh -c ls", "commands"),
    ("bash", "commands"),
    ("sudo systemctl restart nginx", "commands"),
    ("/bin/ls /var/log", "commands"),
    ("/usr/bin/systemctl status nginx", "commands"),
    ("./ls", "commands"),
    ("../../bin/sh", "commands"),
    ("env ls", "commands"),
    ("xargs ls", "commands"),
    ("find /var/log -exec rm", "commands"),
    ("LS -la", "commands"),
    ("python3 -m http.server", "commands"),
    ("busybox sh", "commands"),
    ("nsenter -t 1 -m sh", "commands"),
    ("-- ls", "commands"),
    ("-la", "commands"),
    # ls: flags and paths.
    ("ls -R /var", f"{LS}.flags"),
    ("ls --color=always", f"{LS}.flags"),
    ("ls --hide=x /var/log", f"{LS}.flags"),
    ("ls -la=x", f"{LS}.flags"),
    ("ls -l --all=yes", f"{LS}.flags"),
    ("ls --al", f"{LS}.flags"),
    ("ls -Z", f"{LS}.flags"),
    ("ls ---all", f"{LS}.flags"),
    ("ls /", f"{LS}.args"),
    ("ls /root", f"{LS}.args"),
    ("ls /root/.ssh", f"{LS}.args"),
    ("ls /etc/../root", f"{LS}.args"),
    ("ls /var/log/..", f"{LS}.args"),
    ("ls /var/log/./../../root", f"{LS}.args"),
    ("ls //etc", f"{LS}.args"),
    ("ls /etc//shadow", f"{LS}.args"),
    ("ls var/log", f"{LS}.args"),
    ("ls .", f"{LS}.args"),
    ("ls ..", f"{LS}.args"),
    ("ls /optional", f"{LS}.args"),
    ("ls /etcetera", f"{LS}.args"),
    ("ls /proc/1/environ", f"{LS}.args"),
    ("ls -- -la", f"{LS}.args"),
    ("ls -- --help", f"{LS}.args"),
    ("ls -", f"{LS}.args"),
    ("ls -- /var/log -- /etc", f"{LS}.args"),
    ("ls /var/log/" + "a" * 300, f"{LS}.args"),
    ("ls " + "/var/log " * 40, "limits.max_args"),
    ("ls " + "a" * 600, "limits.max_input_chars"),
    ("ls " + " " * 600, "limits.max_input_chars"),
    # du and df: argument injection through options.
    ("du -sh /", f"{DU}.args"),
    ("df -h /etc/../..", "commands.df.args"),
    ("du -sh", f"{DU}.args"),
    ("du -sh --exclude=x /var", f"{DU}.flags"),
    ("du --files0-from=/etc/shadow", f"{DU}.flags"),
    ("du -d 9 /var/log", f"{DU}.options.-d|--max-depth"),
    ("du -d -1 /var/log", f"{DU}.options.-d|--max-depth"),
    ("du --max-depth=1e3 /var/log", f"{DU}.options.-d|--max-depth"),
    ("du -d", f"{DU}.options"),
    ("df --output=source /var", "commands.df.flags"),
    ("df -t ../x", "commands.df.options.-t|--type"),
    # free never ending.
    ("free -s 1", "commands.free.forbid.-s|--seconds"),
    ("free -hs1", "commands.free.forbid.-s|--seconds"),
    ("free --seconds=1", "commands.free.forbid.-s|--seconds"),
    ("free -c 5", "commands.free.forbid.-c|--count"),
    ("free /etc", "commands.free.args"),
    # top: only top -b -n N.
    ("top", f"{TOP}.require.-b|--batch-mode"),
    ("top -b", f"{TOP}.require.-n|--iterations"),
    ("top -n 1", f"{TOP}.require.-b|--batch-mode"),
    ("top -b -n 100", f"{TOP}.options.-n|--iterations"),
    ("top -b -n 0", f"{TOP}.options.-n|--iterations"),
    ("top -b -n -1", f"{TOP}.options.-n|--iterations"),
    ("top -b -n 01", f"{TOP}.options.-n|--iterations"),
    ("top -b -n +1", f"{TOP}.options.-n|--iterations"),
    ("top -b -n 1_0", f"{TOP}.options.-n|--iterations"),
    ("top -b -n=1", f"{TOP}.options.-n|--iterations"),
    ("top -b -n 0x3", f"{TOP}.options.-n|--iterations"),
    ("top -b -n 1 -d 0", f"{TOP}.forbid.-d|--delay"),
    ("top -bd1 -n 1", f"{TOP}.forbid.-d|--delay"),
    ("top -b -n 1 -u root", f"{TOP}.flags"),
    ("top -b --iterations", f"{TOP}.options"),
    ("top -b -n", f"{TOP}.options"),
    ("top -b -n 1 -o COMMAND", f"{TOP}.options.-o|--sort-override"),
    # ps: no environments, no arbitrary formats.
    ("ps auxe", f"{PS}.args"),
    ("ps e", f"{PS}.args"),
    ("ps aux aux", f"{PS}.args"),
    ("ps -o pid,cmd", f"{PS}.flags"),
    ("ps --sort=cmd", f"{PS}.options.--sort"),
    ("ps -ef --cols 100000", f"{PS}.flags"),
    ("ps -u ../root", f"{PS}.options.-u|--user"),
    ("ps -p 0", f"{PS}.options.-p|--pid"),
    # systemctl.
    ("systemctl", f"{SCTL}.subcommands"),
    ("systemctl --no-pager", f"{SCTL}.subcommands"),
    ("systemctl enable nginx", f"{SCTL}.forbid.enable"),
    ("systemctl daemon-reload", f"{SCTL}.forbid.daemon-reload"),
    ("systemctl edit nginx", f"{SCTL}.forbid.edit"),
    ("systemctl reboot", f"{SCTL}.forbid.reboot"),
    ("systemctl poweroff", f"{SCTL}.forbid.poweroff"),
    ("systemctl kill nginx", f"{SCTL}.forbid.kill"),
    ("systemctl isolate rescue.target", f"{SCTL}.forbid.isolate"),
    # Units that take the whole machine down, under every subcommand that reaches a unit.
    *(
        (f"systemctl {sub} {unit}", f"{SCTL}.subcommands.{sub}.args")
        for sub in ("start", "stop", "restart", "reload")
        for unit in (
            "poweroff.target",
            "reboot.target",
            "halt.target",
            "kexec.target",
            "ctrl-alt-del.target",
            "rescue.target",
            "emergency.target",
            "systemd-poweroff.service",
            "systemd-reboot",
            "multi-user.target",
            "system.slice",
            "PowerOff.Target",
        )
    ),
    ("systemctl set-environment X=1", f"{SCTL}.subcommands"),
    ("systemctl link /tmp/x.service", f"{SCTL}.subcommands"),
    ("systemctl Status nginx", f"{SCTL}.subcommands"),
    ("systemctl status", f"{SCTL}.subcommands.status.args"),
    ("systemctl status -H root@evil nginx", f"{SCTL}.forbid.-H|--host"),
    ("systemctl status --host=evil nginx", f"{SCTL}.forbid.-H|--host"),
    ("systemctl -M box status nginx", f"{SCTL}.forbid.-M|--machine"),
    ("systemctl --user restart nginx", f"{SCTL}.flags"),
    ("systemctl status /dev/sda", f"{SCTL}.subcommands.status.args"),
    ("systemctl status ../../x", f"{SCTL}.subcommands.status.args"),
    ("systemctl status -- -nginx", f"{SCTL}.subcommands.status.args"),
    ("systemctl status -- nginx --no-pager", f"{SCTL}.subcommands.status.args"),
    ("systemctl status nginx --pager", f"{SCTL}.subcommands.status.flags"),
    ("systemctl status nginx --no-pager=false", f"{SCTL}.subcommands.status.flags"),
    ("systemctl status nginx -n 100000", f"{SCTL}.subcommands.status.options.-n|--lines"),
    ("systemctl restart nginx sshd", f"{SCTL}.subcommands.restart.args"),
    ("systemctl restart", f"{SCTL}.subcommands.restart.args"),
    ("systemctl restart -n 5 nginx", f"{SCTL}.subcommands.restart.flags"),
    ("systemctl show nginx", f"{SCTL}.subcommands.show.require.-p|--property"),
    ("systemctl show nginx -p Environment", f"{SCTL}.subcommands.show.options.-p|--property"),
    ("systemctl list-units --type=../../x", f"{SCTL}.subcommands.list-units.options.-t|--type"),
    ("systemctl list-units nginx", f"{SCTL}.subcommands.list-units.args"),
    # journalctl.
    ("journalctl", f"{JCTL}.require.-n|--lines"),
    ("journalctl -u nginx", f"{JCTL}.require.-n|--lines"),
    ("journalctl -u nginx -f", f"{JCTL}.forbid.-f|--follow"),
    ("journalctl -u nginx -n 10 --follow", f"{JCTL}.forbid.-f|--follow"),
    ("journalctl -fu nginx", f"{JCTL}.forbid.-f|--follow"),
    ("journalctl -u nginx -n 100000", f"{JCTL}.options.-n|--lines"),
    ("journalctl -u nginx -n all", f"{JCTL}.options.-n|--lines"),
    ("journalctl -u nginx -n 5 -e", f"{JCTL}.forbid.-e|--pager-end"),
    ("journalctl -n 10 --output=export", f"{JCTL}.options.-o|--output"),
    ("journalctl -n 10 -D /tmp/evil", f"{JCTL}.flags"),
    ("journalctl -n 10 --file=/etc/shadow", f"{JCTL}.flags"),
    ("journalctl -n 10 --vacuum-size=1", f"{JCTL}.flags"),
    ("journalctl -n 10 --rotate", f"{JCTL}.flags"),
    ("journalctl -n 10 --flush", f"{JCTL}.flags"),
    ("journalctl -n 10 nginx", f"{JCTL}.args"),
    ("journalctl -n 10 _PID=1", f"{JCTL}.args"),
    ("journalctl -n 10 --since=1.hour.ago", f"{JCTL}.options.-S|--since"),
    ("journalctl -n 10 -u -f", f"{JCTL}.options.-u|--unit"),
    ("journalctl --lines 10 -u", f"{JCTL}.options"),
    ("journalctl -n 10 --no-tail", f"{JCTL}.forbid.--no-tail"),
    # docker.
    ("docker", f"{DOCKER}.subcommands"),
    ("docker exec web sh", f"{DOCKER}.forbid.exec"),
    ("docker run --privileged alpine", f"{DOCKER}.forbid.run"),
    ("docker -H tcp://evil:2375 ps", f"{DOCKER}.forbid.-H|--host"),
    ("docker --context evil ps", f"{DOCKER}.forbid.-c|--context"),
    ("docker cp web:/etc/shadow /tmp", f"{DOCKER}.forbid.cp"),
    ("docker system prune -af", f"{DOCKER}.forbid.system"),
    ("docker volume rm data", f"{DOCKER}.forbid.volume"),
    ("docker rmi alpine", f"{DOCKER}.subcommands"),
    ("docker container rm web", f"{DOCKER}.subcommands"),
    ("docker compose down", f"{DOCKER}.subcommands"),
    ("docker stats", f"{DOCKER}.subcommands.stats.require.--no-stream"),
    ("docker stats web", f"{DOCKER}.subcommands.stats.require.--no-stream"),
    ("docker stats --no-stream --format=x", f"{DOCKER}.subcommands.stats.flags"),
    ("docker logs web", f"{DOCKER}.subcommands.logs.require.-n|--tail"),
    ("docker logs -f --tail 10 web", f"{DOCKER}.subcommands.logs.forbid.-f|--follow"),
    ("docker logs --tail 10 --follow web", f"{DOCKER}.subcommands.logs.forbid.-f|--follow"),
    ("docker logs --tail all web", f"{DOCKER}.subcommands.logs.options.-n|--tail"),
    ("docker logs --tail=10 web db", f"{DOCKER}.subcommands.logs.args"),
    ("docker logs --tail 10 --details web", f"{DOCKER}.subcommands.logs.flags"),
    ("docker logs --tail 10 ../web", f"{DOCKER}.subcommands.logs.args"),
    ("docker logs --since 1y --tail 5 web", f"{DOCKER}.subcommands.logs.options.--since"),
    ("docker rm -f web", f"{DOCKER}.subcommands.rm.forbid.-f|--force"),
    ("docker rm -v web", f"{DOCKER}.subcommands.rm.forbid.-v|--volumes"),
    ("docker rm --volumes web", f"{DOCKER}.subcommands.rm.forbid.-v|--volumes"),
    ("docker kill --signal=HUP web", f"{DOCKER}.subcommands.kill.flags"),
    ("docker stop -t 0 web", f"{DOCKER}.subcommands.stop.flags"),
    ("docker stop -- --all", f"{DOCKER}.subcommands.stop.args"),
    ("docker ps --filter=volume=/etc", f"{DOCKER}.subcommands.ps.options.-f|--filter"),
    ("docker ps --format table", f"{DOCKER}.subcommands.ps.flags"),
]


def test_corpus_is_large_and_has_no_duplicates() -> None:
    texts = [text for text, _ in CASES]
    assert len(texts) >= 100
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(("text", "rule"), CASES, ids=[repr(text)[:60] for text, _ in CASES])
def test_bypass_attempt_refused_by_its_rule(guard: Guard, text: str, rule: str) -> None:
    decision = guard.check(text)
    assert isinstance(decision, Refused), decision
    assert decision.rule == rule, decision.reason
    assert decision.reason


def test_machine_wide_units_are_refused_with_a_reason_not_sent_to_confirmation(
    guard: Guard,
) -> None:
    for text in ("systemctl start poweroff.target", "systemctl restart reboot.target"):
        decision = guard.check(text)
        assert isinstance(decision, Refused), decision
        assert "power off, reboot" in decision.reason
    decision = guard.check("systemctl stop home.mount")
    assert isinstance(decision, Refused) and "only services" in decision.reason
    assert not isinstance(guard.check("systemctl restart nginx.service"), Refused)


def test_refusal_names_the_offending_character(guard: Guard) -> None:
    decision = guard.check("ls －la")
    assert isinstance(decision, Refused)
    assert "U+FF0D" in decision.reason
    assert "non-ASCII" in decision.reason
