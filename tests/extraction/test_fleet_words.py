"""Server names in requests (issue #20): what is said → which command runs on which servers.

The fleet is three nodes (web-1, web-2, db-1), a group ``web`` and the alias "database box".
Recognisers write names in many ways ("web-2", "web 2", "web two", "webb two"); a name the
fleet does not have, or one that fits several nodes, is asked about and never guessed.
The held-out measurement is ``bench/bench_fleet_words.py`` on ``fleet_set.txt``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extraction import make_extractor
from extraction.anthropic_backend import AnthropicExtractor
from extraction.model import Extraction, Turn
from extraction.rules import RulesExtractor
from extraction.spoken import normalise
from extraction.targets import ServerNames
from extraction.understand import UnderstandingExtractor
from fleet import Fleet
from tests.extraction.fake_anthropic import Reply, message, running
from tests.extraction.fleet_set import FLEET, as_pairs, expected, turns

SERVER_NAMES = ServerNames(FLEET)

#: (conversation, expected) — the format of fleet_set.txt: "command @ nodes ; ? question".
TABLE = [
    ("check the disk on web-2", "df -h @ web-2"),
    ("restart nginx on Web 1", "systemctl restart nginx @ web-1"),
    ("how long has web two been up", "uptime @ web-2"),
    ("check free memory on webb one", "free -h @ web-1"),
    ("check the disk on web-2 and restart nginx on both web servers",
     "df -h @ web-2 ; systemctl restart nginx @ web-1,web-2"),
    ("restart nginx on all the web servers", "systemctl restart nginx @ web-1,web-2"),
    ("show me the uptime on all servers", "uptime @ web-1,web-2,db-1"),
    ("check memory everywhere", "free -h @ web-1,web-2,db-1"),
    ("check the disk on the database box", "df -h @ db-1"),
    ("is postgres running on the database machine", "systemctl status postgresql @ db-1"),
    ("u: let's look at web-1 // u: restart nginx", "systemctl restart nginx @ web-1"),
    ("u: let's look at web-1 // u: now web two // u: how much disk is left", "df -h @ web-2"),
    ("u: check the disk on db-1 // u: and the uptime", "df -h @ db-1 ; uptime @ db-1"),
    ("check the disk", "? which server: web-1, web-2 or db-1"),
    ("restart nginx on the web server", "? which web server: web-1 or web-2"),
    ("check the disk on web-3", "? there is no web-3"),
    ("restart nginx on the mail server", "? there is no mail server"),
    ("check uptime on web-1 and on web-2", "uptime @ web-1,web-2"),
    ("u: restart nginx on web-1 // u: no, sorry, on web-2", "systemctl restart nginx @ web-2"),
    ("a: shall i check the disk on db-1? // u: yes please", "df -h @ db-1"),
    ("a: web-2 looks busy // u: check the memory", "? which server"),
    ("don't restart nginx on web-1", "-"),
]  # fmt: skip


@pytest.fixture(scope="module")
def fleet_understanding() -> UnderstandingExtractor:
    extractor = UnderstandingExtractor(fleet=lambda: FLEET)
    assert extractor.prepare()
    return extractor


def outcome(result: Extraction, want: str) -> None:
    pairs, questions = expected(want)
    whys = [u.why.lower() for u in result.unmatched]
    assert as_pairs(result) == pairs, (result.commands, whys)
    for question in questions:
        assert any(question in why for why in whys), whys
    assert len(whys) == len(questions), whys


@pytest.mark.parametrize(("said", "want"), TABLE, ids=[s for s, _ in TABLE])
def test_server_names_in_requests(
    fleet_understanding: UnderstandingExtractor, said: str, want: str
) -> None:
    outcome(fleet_understanding.extract_sync(turns(said)), want)


def test_a_default_or_a_single_node_is_used_when_nothing_is_named() -> None:
    with_default = replace(FLEET, default="web")
    rules = RulesExtractor(fleet=lambda: with_default)
    outcome(rules.extract_sync(turns("check the disk space")), "df -h @ web-1,web-2")
    # A server named but badly heard ("d b one" as "BB1") is asked about, never the default.
    outcome(rules.extract_sync(turns("check the disk space on BB1")), "? there is no bb1")
    alone = RulesExtractor(fleet=lambda: Fleet(("db-1",)))
    outcome(alone.extract_sync(turns("check the disk space")), "df -h @ db-1")


def test_the_rules_extractor_places_commands_the_same_way() -> None:
    rules = RulesExtractor(fleet=lambda: FLEET)
    cases = [
        ("check disk space on web two and restart nginx on both web servers",
         "df -h @ web-2 ; systemctl restart nginx @ web-1,web-2"),
        ("u: let's look at db-1 // u: check memory", "free -h @ db-1"),
        ("check memory on web-1 and on web-9", "free -h @ web-1 ; ? there is no web-9"),
        ("restart nginx on the web server", "? which web server"),
    ]  # fmt: skip
    for said, want in cases:
        outcome(rules.extract_sync(turns(said)), want)


async def test_without_a_fleet_nothing_changes(understanding: UnderstandingExtractor) -> None:
    """No fleet (or one without nodes): no targets, and the same commands as before fleets."""
    said = turns("check the disk space and restart nginx on web-2")
    plain = await understanding.extract(said)
    empty = UnderstandingExtractor(fleet=lambda: Fleet(()))
    assert [(p.command, p.targets) for p in plain.commands] == [
        ("df -h", ()),
        ("systemctl restart nginx", ()),
    ]
    assert RulesExtractor(fleet=lambda: None).extract_sync(said) == RulesExtractor().extract_sync(
        said
    )
    assert empty.extract_sync(turns("check the disk")).commands[0].targets == ()


def test_make_extractor_hands_the_fleet_to_the_offline_extractor() -> None:
    extractor = make_extractor(None, fleet=lambda: FLEET)
    assert isinstance(extractor, UnderstandingExtractor)
    result = extractor.extract_sync([Turn("user", "check the disk on web-2", 0, 1)])
    assert as_pairs(result) == [("df -h", "web-2")]


async def test_the_anthropic_backend_quotes_server_words_and_the_proxy_resolves_them() -> None:
    """The model sees the fleet and quotes the user's words for servers; resolving them (and
    asking about unknown ones) stays here, never with the model."""
    answer = {
        "commands": [
            {"command": "df -h", "source": "check the disk on web two", "servers": ["web two"]},
            {"command": "systemctl restart nginx", "source": "restart nginx on both web servers",
             "servers": ["both web servers"]},
            {"command": "uptime", "source": "uptime on web nine", "servers": ["web nine"]},
        ]
    }  # fmt: skip
    block = {"type": "tool_use", "id": "toolu_1", "name": "propose_commands", "input": answer}
    async for server in running():
        server.script(Reply(body=message([block])))
        extractor = make_extractor("sk-ant-test", base_url=server.url, fleet=lambda: FLEET)
        assert isinstance(extractor, AnthropicExtractor)
        result = await extractor.extract(turns("check the disk on web two and so on"))
        await extractor.aclose()
        sent = server.received[0].body
    assert as_pairs(result) == [
        ("df -h", "web-2"),
        ("systemctl restart nginx", "web-1"),
        ("systemctl restart nginx", "web-2"),
    ]
    assert [u.why for u in result.unmatched] == [
        "I heard 'uptime on web nine'. There is no web-9: I know web-1 and web-2."
    ]
    assert "<servers>\nnodes: web-1, web-2, db-1" in sent["messages"][0]["content"]
    item = sent["tools"][0]["input_schema"]["properties"]["commands"]["items"]
    assert "servers" in item["properties"]


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_words_are_read_without_error(text: str) -> None:
    said = SERVER_NAMES.read(normalise(text))
    assert set(said.rest.split()) <= set(normalise(text).split())
    assert all(FLEET.knows(name) for name in said.names)
    assert not (said.names and said.question)
