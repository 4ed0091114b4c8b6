"""The guard: command text in, a :data:`~guard.decision.Decision` out.

Order of checks: the screen (length, characters, word count), the binary's name, the policy
rule for its flags, options, subcommands and arguments, then where the binary is installed.
Anything not positively allowed is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from guard.decision import Allowed, Decision, NeedsConfirmation, Refused, _approve
from guard.describe import describe_policy
from guard.loader import load_policy
from guard.match import Mismatch, match
from guard.policy import Policy
from guard.screen import Rejected, screen
from guard.targets import allows_binary, applicable, refusal

DEFAULT_TRUSTED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve(name: str, trusted_path: str) -> str | None:
    """The first executable file called ``name`` in the absolute directories of ``trusted_path``.

    Relative entries (``.``, empty) are skipped: they would make the result depend on the
    working directory.
    """
    for directory in trusted_path.split(":"):
        if not directory.startswith("/"):
            continue
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class Guard:
    """Checks proposed commands against a policy; the only maker of approvals.

    Binaries are looked up once, at construction, in ``trusted_path`` (never the process's
    PATH), so what a name means cannot change while the guard runs.  ``groups`` (the fleet's
    group → nodes) say which ``[targets.GROUP]`` sections apply to a node.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        trusted_path: str = DEFAULT_TRUSTED_PATH,
        groups: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.policy = policy if policy is not None else load_policy()
        self.trusted_path = trusted_path
        self.groups: Mapping[str, Sequence[str]] = MappingProxyType(dict(groups or {}))
        self.binaries: Mapping[str, str | None] = MappingProxyType(
            {name: resolve(name, trusted_path) for name in self.policy.commands}
        )

    def check(self, text: str, node: str | None = None) -> Decision:
        """Decide about one command, for fleet node ``node`` when given (its own and its groups'
        ``[targets]`` sections apply, and the approval can run only there).  Never raises: an
        unexpected failure is a refusal."""
        try:
            decision = self._check(text)
            return decision if node is None else self._on_node(decision, node)
        except Exception as exc:  # a guard that crashes must still say no
            return Refused(
                str(text),
                f"the guard could not check this command ({type(exc).__name__})",
                "internal",
                node,
            )

    def binaries_for(self, node: str | None) -> Mapping[str, str | None]:
        """The binaries that can run on ``node`` at all (for its OpenClaw exec approvals)."""
        if node is None:
            return self.binaries
        rules = applicable(self.policy.targets, node, self.groups)
        return {name: path for name, path in self.binaries.items() if allows_binary(rules, name)}

    def _on_node(self, decision: Decision, node: str) -> Decision:
        if isinstance(decision, Refused):
            return replace(decision, node=node)
        approval = decision.approval
        binary = approval.argv[0].rsplit("/", 1)[-1]
        rules = applicable(self.policy.targets, node, self.groups)
        refused = refusal(rules, node, binary, approval.argv[1:])
        if refused is not None:
            return Refused(approval.command, *refused, node)
        placed = _approve(
            approval.argv,
            approval.command,
            approval.rule,
            destructive=approval.destructive,
            node=node,
        )
        if isinstance(decision, NeedsConfirmation):
            return NeedsConfirmation(placed, decision.why, decision.say)
        return Allowed(placed)

    def _check(self, text: str) -> Decision:
        screened = screen(text, self.policy.limits)
        if isinstance(screened, Rejected):
            return Refused(text, screened.reason, screened.rule)
        binary, *rest = screened.words
        if "/" in binary:
            return Refused(
                text, f"name the program, not a path: {binary.rsplit('/', 1)[-1]!r}", "commands"
            )
        rule = self.policy.commands.get(binary)
        if rule is None:
            allowed = ", ".join(sorted(self.policy.commands))
            return Refused(
                text, f"{binary!r} is not in the policy (allowed commands: {allowed})", "commands"
            )
        result = match(rule, tuple(rest))
        if isinstance(result, Mismatch):
            return Refused(text, result.reason, result.rule)
        path = self.binaries[binary]
        if path is None:
            return Refused(
                text,
                f"{binary} is not installed on this server (searched {self.trusted_path})",
                "trusted_path",
            )
        leaf = result.rule
        approval = _approve(
            (path, *result.words), text, leaf.key, destructive=leaf.destructive is not None
        )
        if leaf.destructive is not None:
            assert leaf.say is not None  # the loader gives every destructive rule its word
            return NeedsConfirmation(approval, leaf.destructive, leaf.say)
        return Allowed(approval)

    def describe(self) -> str:
        """The effective policy in readable form, with where each binary was found."""
        return describe_policy(self.policy, self.binaries, self.trusted_path)
