"""The default offline extractor as an operator notices it: what is said → what is proposed."""

from __future__ import annotations

import pytest

from extraction import known_names, service_aliases
from extraction.model import Recollection, Turn
from extraction.understand import UnderstandingExtractor
from tests.extraction.understanding_set import TUNE, load, matches

#: Share of the tuning part that must come out exactly right (it scored 173/173 when written).
ACCURACY_FLOOR = 0.95


def user(text: str) -> Turn:
    return Turn("user", text, 0.0, 1.0)


def assistant(text: str) -> Turn:
    return Turn("assistant", text, 0.0, 1.0)


@pytest.fixture
def understand(understanding: UnderstandingExtractor) -> UnderstandingExtractor:
    return understanding


def commands(extractor: UnderstandingExtractor, *turns: Turn) -> list[str]:
    return [p.command for p in extractor.extract_sync(turns).commands]


@pytest.mark.timeout(900)  # 173 extractions: seconds when the cores are free, minutes when not
def test_tuning_set_accuracy_floor(understand: UnderstandingExtractor) -> None:
    cases = load(TUNE)
    misses = []
    for case in cases:
        got = [p.command for p in understand.extract_sync(case.turns, case.recalled).commands]
        if not matches(case.expected, got):
            misses.append(f"{case.words!r}: {got}")
    assert len(cases) >= 150
    assert 1 - len(misses) / len(cases) >= ACCURACY_FLOOR, misses


@pytest.mark.parametrize(
    "case",
    [c for c in load(TUNE) if not c.expected],
    ids=lambda c: c.words[:60],
)
def test_non_requests_propose_nothing(understand: UnderstandingExtractor, case: object) -> None:
    turns = getattr(case, "turns")  # noqa: B009 - parametrised cases are typed as object
    assert understand.extract_sync(turns).commands == ()


async def test_several_requests_in_one_sentence_in_order(
    understand: UnderstandingExtractor,
) -> None:
    got = await understand.extract([user("check disk space, memory and uptime")])
    assert [p.command for p in got.commands] == ["df -h", "free -h", "uptime"]


def test_a_container_is_never_taken_for_the_docker_service(
    understand: UnderstandingExtractor,
) -> None:
    assert commands(understand, user("stop the docker container web")) == ["docker stop web"]
    asked = understand.extract_sync([user("stop the container")])
    assert asked.commands == ()
    assert asked.reason is not None and "which container" in asked.reason


def test_refused_programs_are_proposed_so_the_guard_says_why(
    understand: UnderstandingExtractor,
) -> None:
    said = user("check the disk space and then run rm dash rf slash tmp")
    assert commands(understand, said) == ["df -h", "rm -rf /tmp"]
    assert commands(understand, user("reboot the server")) == ["reboot"]


@pytest.mark.parametrize("said", ["restart", "restart please", "can you restart"])
def test_a_bare_restart_asks_which_service_instead_of_rebooting(
    understand: UnderstandingExtractor, said: str
) -> None:
    asked = understand.extract_sync([user(said)])
    assert asked.commands == ()
    assert asked.reason is not None and "which service do you mean?" in asked.reason
    assert commands(understand, user("restart the machine")) == ["reboot"]
    assert commands(understand, user("reboot")) == ["reboot"]


@pytest.mark.parametrize(
    ("said", "command"),
    [
        ("restart radish", "systemctl restart redis"),
        ("is the kron service running", "systemctl status cron"),
        ("check the status of post grass", "systemctl status postgresql"),
        ("stop graph fauna", "systemctl stop grafana-server"),
        ("how much memory is being used", "free -h"),
    ],
)
def test_a_service_heard_as_other_words_fills_the_slot_by_sound(
    understand: UnderstandingExtractor, said: str, command: str
) -> None:
    assert commands(understand, user(said)) == [command]


def test_ordinary_words_are_not_guessed_into_a_service(
    understand: UnderstandingExtractor,
) -> None:
    asked = understand.extract_sync([user("reload the next service")])
    assert asked.commands == ()
    assert asked.reason is not None and "which service do you mean?" in asked.reason
    assert commands(understand, user("restart the container radish")) == ["docker restart radish"]


def test_nothing_matched_names_the_words_and_the_closest_things(
    understand: UnderstandingExtractor,
) -> None:
    got = understand.extract_sync([user("is the wrong service running")])
    assert got.commands == ()
    assert got.reason is not None
    assert got.reason.startswith("I heard 'is the wrong service running'")
    assert "status of cron" in got.reason


def test_unmatched_requests_are_listed_beside_the_ones_found(
    understand: UnderstandingExtractor,
) -> None:
    got = understand.extract_sync([user("check the disk space and fix the printer")])
    assert [p.command for p in got.commands] == ["df -h"]
    assert [u.words for u in got.unmatched] == ["fix the printer"]


def test_commands_from_the_voice_model_and_memory_say_so(
    understand: UnderstandingExtractor,
) -> None:
    offered = understand.extract_sync(
        [assistant("Shall I run ps auxww and then docker stop web?"), user("Okay. Execute plan.")]
    )
    assert [(p.command, p.origin) for p in offered.commands] == [
        ("ps auxww", "assistant"),
        ("docker stop web", "assistant"),
    ]
    earlier = Recollection("r", "check the disk", ("df -h",), "", "s", 1.0, 0.4)
    again = understand.extract_sync([user("run that again")], [earlier])
    assert [(p.command, p.origin) for p in again.commands] == [("df -h", "memory")]
    nothing = understand.extract_sync([user("do the same as last time")])
    assert nothing.commands == () and "no earlier request" in (nothing.reason or "")


def test_names_for_the_recogniser() -> None:
    names = known_names(programs=["df"])
    assert {"nginx", "postgresql", "cron", "docker", "df", "journalctl"} <= set(names)
    assert service_aliases()["postgres"] == "postgresql"
