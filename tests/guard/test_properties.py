"""Properties over any input: the guard never raises, and never approves shell syntax."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard import Allowed, Guard, NeedsConfirmation, Refused
from guard.screen import ALLOWED

# Words from the policy and from attacks, so that random commands often get far into the
# parser (and sometimes all the way to an approval).
VOCABULARY = [
    "ls",
    "df",
    "du",
    "free",
    "top",
    "ps",
    "uptime",
    "uname",
    "journalctl",
    "systemctl",
    "docker",
    "status",
    "restart",
    "stop",
    "rm",
    "logs",
    "stats",
    "show",
    "list-units",
    "enable",
    "exec",
    "nginx",
    "web",
    "-",
    "--",
    "-l",
    "-a",
    "-h",
    "-lah",
    "-b",
    "-n",
    "-bn1",
    "-n5",
    "1",
    "3",
    "100",
    "-1",
    "-f",
    "-u",
    "-p",
    "-s",
    "-v",
    "-H",
    "--no-pager",
    "--no-stream",
    "--tail",
    "--tail=5",
    "--follow",
    "--lines=5",
    "--sort=-%mem",
    "-p",
    "ActiveState",
    "Environment",
    "aux",
    "auxe",
    "/var/log",
    "/etc",
    "/",
    "/root",
    "..",
    "/var/log/..",
    "-x",
    "tmpfs",
    "--output=x",
    "-exec",
    "$(id)",
    ";",
    "|",
    "`id`",
    "*",
    "\n",
    "ｌｓ",
    "\x00",
    "'",
    '"',
    "\\",
]

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def approved_argv(decision: Allowed | NeedsConfirmation | Refused) -> tuple[str, ...] | None:
    if isinstance(decision, Refused):
        return None
    return decision.approval.argv


def check_invariants(guard: Guard, text: str) -> None:
    decision = guard.check(text)
    assert isinstance(decision, Allowed | NeedsConfirmation | Refused)
    argv = approved_argv(decision)
    if argv is None:
        assert isinstance(decision, Refused)
        assert decision.reason
        assert decision.rule
        return
    # Nothing a shell would act on, and nothing beyond plain ASCII, ever reaches an argv.
    for word in argv:
        assert word
        assert ALLOWED.fullmatch(word)
        assert " " not in word
    # What runs is the input's own words (minus "--"), plus flags the policy adds at the end.
    words = [word for word in text.split(" ") if word and word != "--"]
    assert argv[0].endswith("/" + words[0])
    assert list(argv[1 : len(words)]) == words[1:]
    added = argv[len(words) :]
    assert set(added) <= {"--no-pager"}
    assert len(text) <= guard.policy.limits.max_input_chars


@SETTINGS
@given(st.text())
def test_any_text(guard: Guard, text: str) -> None:
    check_invariants(guard, text)


@SETTINGS
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=8).map(" ".join))
def test_commands_built_from_policy_and_attack_words(guard: Guard, text: str) -> None:
    check_invariants(guard, text)


@SETTINGS
@given(
    st.sampled_from(["ls -la", "systemctl status", "docker logs --tail 5", "du -sh"]),
    st.text(alphabet=st.characters(codec="ascii"), max_size=40),
)
def test_any_ascii_argument_after_a_valid_prefix(guard: Guard, prefix: str, tail: str) -> None:
    check_invariants(guard, f"{prefix} {tail}")


@SETTINGS
@given(st.text(min_size=1))
def test_text_with_a_forbidden_character_is_always_refused(guard: Guard, text: str) -> None:
    if ALLOWED.fullmatch(text):
        return
    decision = guard.check("ls /var/log " + text)
    assert isinstance(decision, Refused)
    assert decision.rule in {"charset", "limits.max_input_chars"}
