"""The command guard: proposed command text → allowed argv, needs confirmation, or refused.

``Guard(load_policy()).check("systemctl status nginx")`` returns a :data:`Decision`; only the
guard can make the :class:`Approval` an executor needs.  The policy format is documented at the
top of ``guard/default_policy.toml``.
"""

from guard.decision import (
    Allowed,
    Approval,
    ApprovalForgeryError,
    Decision,
    NeedsConfirmation,
    Refused,
)
from guard.engine import DEFAULT_TRUSTED_PATH, Guard
from guard.loader import load_policy, parse_policy
from guard.policy import Policy, PolicyError

__all__ = [
    "DEFAULT_TRUSTED_PATH",
    "Allowed",
    "Approval",
    "ApprovalForgeryError",
    "Decision",
    "Guard",
    "NeedsConfirmation",
    "Policy",
    "PolicyError",
    "Refused",
    "load_policy",
    "parse_policy",
]
