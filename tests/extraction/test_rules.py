"""The offline rules extractor, as an operator would notice it: what they say → what is proposed."""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction.model import Turn
from extraction.rules import RulesError, RulesExtractor
from extraction.spoken import normalise, spoken_to_literal


def user(text: str) -> Turn:
    return Turn("user", text, 0.0, 1.0)


def assistant(text: str) -> Turn:
    return Turn("assistant", text, 0.0, 1.0)


@pytest.fixture(scope="module")
def rules() -> RulesExtractor:
    return RulesExtractor()


PHRASINGS = [
    ("check disk space", ["df -h"]),
    ("please check the disk space", ["df -h"]),
    ("how much disk space is left", ["df -h"]),
    ("are we running out of disk space", ["df -h"]),
    ("whats using memory", ["free -h"]),
    ("What's using the memory?", ["free -h"]),
    ("how much ram do we have", ["free -h"]),
    ("restart nginx", ["systemctl restart nginx"]),
    ("could you restart the nginx service", ["systemctl restart nginx"]),
    ("please restart engine x", ["systemctl restart nginx"]),
    ("please restart the engine next service", ["systemctl restart nginx"]),
    ("reload the nginx config", ["systemctl reload nginx"]),
    ("restart postgres", ["systemctl restart postgresql"]),
    ("is redis running", ["systemctl status redis"]),
    ("what is the status of nginx", ["systemctl status nginx"]),
    ("stop the apache server", ["systemctl stop apache2"]),
    ("show running containers", ["docker ps"]),
    ("show me the running containers", ["docker ps"]),
    ("what containers are running", ["docker ps"]),
    ("show all containers", ["docker ps -a"]),
    ("show me the nginx logs", ["journalctl -u nginx -n 50"]),
    ("show me the last fifty lines of the nginx logs", ["journalctl -u nginx -n 50"]),
    ("show the last two hundred lines of the postgres logs", ["journalctl -u postgresql -n 200"]),
    ("show the logs of the web container", ["docker logs web --tail 100"]),
    ("show me the last twenty lines of the api container logs", ["docker logs api --tail 20"]),
    ("whats the load on the server", ["uptime"]),
    ("how long has the server been up", ["uptime"]),
    ("whats eating the cpu", ["ps aux --sort=-%cpu"]),
    ("which ports are listening", ["ss -tlnp"]),
    ("any failed services", ["systemctl list-units --state=failed"]),
    # Spoken literal commands.
    ("run df dash h", ["df -h"]),
    ("run uptime", ["uptime"]),
    ("run uptime please", ["uptime"]),
    ("run the command free dash h", ["free -h"]),
    ("run docker logs web dash dash tail one hundred", ["docker logs web --tail 100"]),
    ("run ls dash l a slash var slash log", ["ls -la /var/log"]),
    # Several requests in one breath keep their spoken order.
    ("check the disk space and then restart nginx", ["df -h", "systemctl restart nginx"]),
    ("restart nginx and show me the memory", ["systemctl restart nginx", "free -h"]),
    # Negation cancels only its own request.
    ("dont restart nginx just check the memory", ["free -h"]),
    ("do not restart nginx", []),
    # Unrelated chatter and half-requests invent nothing.
    ("i went for a run yesterday", []),
    ("my disk at home is full of photos", []),
    ("we talked about nginx last week", []),
    ("restart it", []),
    ("restart the server", []),
    ("hello how are you", []),
    ("run the plan", []),
    ("execute plan", []),
]


@pytest.mark.parametrize(("said", "expected"), PHRASINGS)
async def test_phrasings(rules: RulesExtractor, said: str, expected: list[str]) -> None:
    result = await rules.extract([user(said)])
    assert [c.command for c in result.commands] == expected
    if not expected:
        assert result.reason


async def test_trigger_phrase_in_the_same_turn_is_not_a_command(rules: RulesExtractor) -> None:
    result = await rules.extract([user("check the disk space execute plan")])
    assert [c.command for c in result.commands] == ["df -h"]
    assert "plan" not in result.commands[0].source


async def test_order_across_turns_and_deduplication(rules: RulesExtractor) -> None:
    turns = [
        user("could you check the disk space"),
        assistant("sure i can check the disk space"),
        user("and restart nginx"),
        user("oh and check the disk space again"),
        user("execute plan"),
    ]
    result = await rules.extract(turns)
    assert [c.command for c in result.commands] == ["df -h", "systemctl restart nginx"]
    assert result.commands[0].source == "could you check the disk space"


async def test_assistant_proposal_counts_only_when_user_accepts(rules: RulesExtractor) -> None:
    accepted = await rules.extract(
        [assistant("shall i restart nginx for you"), user("yes please"), user("execute plan")]
    )
    assert [c.command for c in accepted.commands] == ["systemctl restart nginx"]
    assert "assistant" in accepted.commands[0].source

    refused = await rules.extract([assistant("shall i restart nginx"), user("no thanks")])
    assert refused.commands == ()

    unanswered = await rules.extract([user("hi"), assistant("i could restart nginx")])
    assert unanswered.commands == ()

    # "yes" to a later, unrelated remark does not accept an earlier proposal.
    stale = await rules.extract(
        [assistant("i can restart nginx"), user("hmm"), assistant("nice weather"), user("yes")]
    )
    assert stale.commands == ()


async def test_assistant_words_alone_never_propose(rules: RulesExtractor) -> None:
    result = await rules.extract([assistant("run df dash h and restart nginx")])
    assert result.commands == ()
    assert result.reason is not None and "user" in result.reason


async def test_no_turns_gives_a_reason(rules: RulesExtractor) -> None:
    result = await rules.extract([])
    assert result.commands == ()
    assert result.reason


async def test_huge_input_is_bounded(rules: RulesExtractor) -> None:
    turns = [user("check disk space " * 5000)] + [user("blah")] * 5000
    result = await rules.extract(turns)
    assert result.commands == ()  # the request is older than the turns considered
    big = await rules.extract([user("restart nginx " + "x " * 100_000)])
    assert [c.command for c in big.commands] == ["systemctl restart nginx"]


async def test_admin_can_extend_the_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        """
[slots.site]
values = ["shop", "blog"]
aliases = { "the store" = "shop" }

[[rule]]
name = "purge cache"
command = "varnishadm ban req.http.host == {site}"
patterns = ["(purge|clear) (the )?cache (of|for) (?P<site>SLOT)"]
""",
        encoding="utf-8",
    )
    custom = RulesExtractor(path)
    result = await custom.extract([user("please clear the cache for the store")])
    assert [c.command for c in result.commands] == ["varnishadm ban req.http.host == shop"]
    # The shipped rules are not part of a custom file.
    assert (await custom.extract([user("check disk space")])).commands == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "not valid TOML"),
        ('[[rule]]\nname="x"\ncommand="a {svc}"\npatterns=["a (?P<svc>SLOT)"]', "not defined"),
        ('[[rule]]\nname="x"\ncommand="a {n}"\npatterns=["a"]', "unfilled"),
        ('[[rule]]\nname="x"\ncommand="a"\npatterns=["(unclosed"]', "bad pattern"),
    ],
)
def test_broken_rules_file_is_reported_at_start(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        RulesExtractor(path)
    with pytest.raises(RulesError, match="cannot read"):
        RulesExtractor(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("spoken", "typed"),
    [
        ("df dash h", "df -h"),
        ("cat slash etc slash nginx slash nginx dot conf", "cat /etc/nginx/nginx.conf"),
        ("tail dash n fifty slash var slash log slash syslog", "tail -n 50 /var/log/syslog"),
        ("ls dot", "ls ."),
    ],
)
def test_spoken_literals(spoken: str, typed: str) -> None:
    vocab = {"dash dash": "--", "dash": "-", "slash": "/", "dot": "."}
    assert spoken_to_literal(normalise(spoken), vocab) == typed
