"""What the guard says about one proposed command.

A decision is one of :class:`Allowed`, :class:`NeedsConfirmation` or :class:`Refused`.  The first
two carry an :class:`Approval`: the exact argv that will run.  Executors accept nothing else, and
only the guard can make an approval (the constructor checks a private token), so no code path
can run text that the guard did not check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceops.errors import VoiceOpsError

# Only guard code holds this object; Approval() refuses any other value.
_GUARD_TOKEN = object()


@dataclass(frozen=True, slots=True)
class _Seal:
    """The guard's token bound to the exact content it approved.

    A bare token could be lifted from one approval into another (``dataclasses.replace`` copies
    it while changing ``argv``); a seal only fits the approval it was made for.
    """

    key: object
    content: tuple[tuple[str, ...], str, str, bool, str | None]

    def __copy__(self) -> _Seal:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _Seal:
        # Copying keeps the identity of the key, so a deep-copied approval stays valid.
        return self


class ApprovalForgeryError(VoiceOpsError, TypeError):
    """Raised when code outside the guard tries to construct an :class:`Approval`."""


@dataclass(frozen=True, slots=True)
class Approval:
    """The exact command the guard approved.

    ``argv[0]`` is an absolute path resolved from the trusted PATH fixed when the guard started;
    ``argv`` includes every flag the guard added (for example ``--no-pager``).  ``command`` is the
    text that was checked and ``rule`` names the policy entry that allowed it.  ``node`` is the
    fleet node it was checked for (its own policy applied) and the only node it may run on;
    ``None`` means the one executor configured without a fleet.  The seal covers it, so an
    approval checked for web-1 cannot be pointed at db-1.
    """

    argv: tuple[str, ...]
    command: str
    rule: str
    destructive: bool
    _token: object = field(repr=False, compare=False)
    node: str | None = None

    def __post_init__(self) -> None:
        seal = self._token
        if (
            not isinstance(seal, _Seal)
            or seal.key is not _GUARD_TOKEN
            or seal.content != (self.argv, self.command, self.rule, self.destructive, self.node)
        ):
            raise ApprovalForgeryError("only the guard can construct an Approval")
        if not isinstance(self.argv, tuple) or not all(isinstance(a, str) for a in self.argv):
            raise ApprovalForgeryError("an approval's argv must be a tuple of strings")
        if not self.argv or not self.argv[0].startswith("/"):
            raise ApprovalForgeryError("an approval needs an argv with an absolute binary path")

    @property
    def display(self) -> str:
        """The argv as a person reads it, with the binary's short name."""
        return " ".join((self.argv[0].rsplit("/", 1)[-1], *self.argv[1:]))


def _approve(
    argv: tuple[str, ...], command: str, rule: str, *, destructive: bool, node: str | None = None
) -> Approval:
    """Make an approval.  Guard-internal: nothing outside ``guard/`` may call this."""
    seal = _Seal(_GUARD_TOKEN, (argv, command, rule, destructive, node))
    return Approval(argv, command, rule, destructive, seal, node)


@dataclass(frozen=True, slots=True)
class Allowed:
    """The command may run as ``approval.argv`` now."""

    approval: Approval


@dataclass(frozen=True, slots=True)
class NeedsConfirmation:
    """The command changes state: it runs as ``approval.argv`` only after a person confirms.

    ``why`` is read to them; ``say`` names the action when they confirm aloud ("confirm
    restart"): a spoken confirmation that names another action, or none, runs nothing.
    """

    approval: Approval
    why: str
    say: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The command must not run; ``reason`` is for a person, ``rule`` names the rule that fired
    and ``node`` the fleet node it was checked for (``None`` without a fleet)."""

    command: str
    reason: str
    rule: str
    node: str | None = None


Decision = Allowed | NeedsConfirmation | Refused
