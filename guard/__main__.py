"""``python -m guard`` (console script ``voiceops-guard``): try the policy from a shell.

    python -m guard check [--policy FILE] [--trusted-path DIRS] [--json] -- COMMAND TEXT
    python -m guard policy [--policy FILE] [--trusted-path DIRS]
    python -m guard openclaw-approvals [--policy FILE] [--trusted-path DIRS] [--agent ID]

Every action takes ``--fleet FILE --node NAME``: the node's ``[targets]`` sections apply.

``openclaw-approvals`` prints the OpenClaw exec-approvals document (JSON) that allows exactly the
binaries this policy can approve; ``openclaw approvals set --node NODE --file F`` installs it.
With ``--node`` the node's own ``[targets]`` sections (and its groups' from ``--fleet``) narrow
it; with ``--fleet`` and no ``--node`` it prints ``{node: document}`` for every node of the fleet.

``check`` exits 0 when the command is allowed, 3 when it needs confirmation, 4 when it is
refused; 2 means the call itself (or the policy file) is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fleet import FleetError, load_fleet
from guard.decision import Allowed, Decision, NeedsConfirmation, Refused
from guard.engine import DEFAULT_TRUSTED_PATH, Guard
from guard.loader import load_policy
from guard.openclaw import AGENT_ID, exec_approvals
from guard.policy import PolicyError

EXIT_ALLOW = 0
EXIT_USAGE = 2
EXIT_CONFIRM = 3
EXIT_REFUSE = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceops-guard", description="Check commands against the voiceops guard policy."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--policy", type=Path, help="policy TOML file (default: the shipped default policy)"
    )
    common.add_argument(
        "--trusted-path",
        default=DEFAULT_TRUSTED_PATH,
        help="colon-separated directories binaries are looked up in (default: %(default)s)",
    )
    common.add_argument("--fleet", type=Path, help="fleet TOML (its groups) for [targets]")
    common.add_argument("--node", help="check for this fleet node (its [targets] sections apply)")
    check = sub.add_parser(
        "check",
        parents=[common],
        help="decide about one command (exit 0 allow, 3 confirm, 4 refuse)",
    )
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    check.add_argument("command", nargs="+", help="the command text, after --")
    sub.add_parser("policy", parents=[common], help="print the effective policy")
    approvals = sub.add_parser(
        "openclaw-approvals",
        parents=[common],
        help="print OpenClaw exec approvals (JSON) allowing exactly this policy's binaries",
    )
    approvals.add_argument("--agent", default=AGENT_ID, help="agent id (default: %(default)s)")
    return parser


def _as_json(decision: Decision) -> str:
    if isinstance(decision, Allowed):
        body = {
            "decision": "allow",
            "argv": list(decision.approval.argv),
            "reason": f"allowed by {decision.approval.rule}",
            "rule": decision.approval.rule,
        }
    elif isinstance(decision, NeedsConfirmation):
        body = {
            "decision": "confirm",
            "argv": list(decision.approval.argv),
            "reason": decision.why,
            "rule": decision.approval.rule,
        }
    else:
        body = {"decision": "refuse", "argv": [], "reason": decision.reason, "rule": decision.rule}
    node = decision.node if isinstance(decision, Refused) else decision.approval.node
    return json.dumps(body if node is None else {**body, "node": node})


def _as_text(decision: Decision) -> str:
    if isinstance(decision, Allowed):
        return f"allow: {decision.approval.display}\n  argv: {list(decision.approval.argv)}"
    if isinstance(decision, NeedsConfirmation):
        return (
            f"confirm: {decision.approval.display}\n  why: {decision.why}"
            f"\n  argv: {list(decision.approval.argv)}"
        )
    return f"refuse: {decision.reason}\n  rule: {decision.rule}"


def _exit_code(decision: Decision) -> int:
    if isinstance(decision, Allowed):
        return EXIT_ALLOW
    if isinstance(decision, NeedsConfirmation):
        return EXIT_CONFIRM
    return EXIT_REFUSE


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        fleet = load_fleet(args.fleet) if args.fleet is not None else None
        groups = fleet.groups if fleet is not None else {}
        guard = Guard(load_policy(args.policy), trusted_path=args.trusted_path, groups=groups)
    except (PolicyError, FleetError) as exc:
        print(f"voiceops-guard: bad policy or fleet: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "policy":
        print(guard.describe())
        return 0
    if args.action == "openclaw-approvals":
        if fleet is not None and args.node is None:
            every = {n: exec_approvals(guard.binaries_for(n), args.agent) for n in fleet.nodes}
            print(json.dumps(every, indent=2))
        else:
            print(json.dumps(exec_approvals(guard.binaries_for(args.node), args.agent), indent=2))
        return 0
    decision = guard.check(" ".join(args.command), args.node)
    print(_as_json(decision) if args.json else _as_text(decision))
    return _exit_code(decision)


if __name__ == "__main__":
    sys.exit(main())
