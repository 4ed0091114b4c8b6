"""The effective policy as a person reads it (``python -m guard policy``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from guard.policy import CommandRule, Policy


def _rule_lines(rule: CommandRule, indent: str) -> Iterator[str]:
    title = rule.name + (f" — {rule.about}" if rule.about else "")
    yield f"{indent}{title}"
    inner = indent + "    "
    if rule.destructive:
        yield f"{inner}NEEDS CONFIRMATION: {rule.destructive}"
    if rule.subcommands:
        yield f"{inner}subcommands: {', '.join(rule.subcommands)} (nothing else)"
    else:
        flags = [s.describe() for s in rule.unique_switches() if s.value is None]
        options = [s.describe() for s in rule.unique_switches() if s.value is not None]
        yield f"{inner}flags: {', '.join(flags) or 'none'}"
        if options:
            yield f"{inner}options: {', '.join(options)}"
        spec = rule.positionals
        yield f"{inner}arguments: {spec.describe() if spec else 'none'}"
    for entry in rule.require:
        yield f"{inner}requires {'|'.join(entry.names)}: {entry.reason}"
    for entry in rule.forbid:
        yield f"{inner}forbids {'|'.join(entry.names)}: {entry.reason}"
    if rule.add and not rule.subcommands:
        yield f"{inner}adds when missing: {' '.join(rule.add)}"
    for sub in rule.subcommands.values():
        yield from _rule_lines(sub, inner)


def describe_policy(policy: Policy, binaries: Mapping[str, str | None], trusted_path: str) -> str:
    """Every command, subcommand, type and limit of ``policy``, inherited rules applied."""
    lines = [
        f"policy: {policy.source}",
        f"trusted PATH: {trusted_path}",
        f"limits: at most {policy.limits.max_input_chars} characters and "
        f"{policy.limits.max_args} arguments per command",
        "",
        "commands (anything not listed here is refused):",
    ]
    for name, rule in policy.commands.items():
        found = binaries.get(name)
        lines.append("")
        lines.append(f"  [{found or 'not installed on this server'}]")
        lines.extend(_rule_lines(rule, "  "))
    lines.append("")
    lines.append("types:")
    lines.extend(f"  {name}: {arg_type.describe()}" for name, arg_type in policy.types.items())
    return "\n".join(lines)
