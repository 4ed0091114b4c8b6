"""Fuzz the guard with commands near real ones: it never fails internally, and whatever it
allows is an argv of allowed characters whose program is an absolute trusted path.
``PYTHONPATH=. python bench/fuzz_guard.py``."""

from __future__ import annotations

import sys

from bench.fuzzing import Mutator, main
from guard import Guard, Refused, load_policy
from guard.decision import Allowed, NeedsConfirmation

SEEDS = [
    b"df -h", b"ls -la /var/log", b"systemctl status nginx", b"systemctl restart nginx",
    b"systemctl start poweroff.target", b"journalctl -u nginx -n 50", b"docker ps",
    b"docker logs --tail 10 web", b"ps aux", b"du -sh /var/log", b"free -m", b"uptime",
    b"docker stop web", b"top -b -n 1", b"rm -rf /", b"ls; reboot",
]  # fmt: skip
GUARD = Guard(load_policy(None))
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+%")


def target(m: Mutator) -> str:
    decision = GUARD.check(m.text())
    if isinstance(decision, Refused):
        assert decision.rule != "internal", decision.reason
        return "refused"
    assert isinstance(decision, Allowed | NeedsConfirmation)
    argv = decision.approval.argv
    assert argv[0].startswith("/"), argv
    assert all(set(arg) <= _SAFE for arg in argv), argv
    return type(decision).__name__


if __name__ == "__main__":
    sys.exit(main("guard", target, SEEDS))
