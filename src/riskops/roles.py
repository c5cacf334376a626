"""Who may do what: the one role table the command line and the HTTP API both use.

A user holds one or more roles; a token acts with every role of its user.
``admin`` may do everything except exercise a sign-off role it does not hold
(an approval names the role it is given under, see ``governance.approvals``).
``validator`` is the independent reviewer of model-risk management: it signs
approvals and re-validations, and may not have built the model it validates.
Without a token the command line acts as ``local:NAME`` and may only do what
``LOCAL_ACTIONS`` lists: read, train, register and the operational jobs that
run on the workspace host. The table is drawn in docs/governance.md and a
test checks the drawing against it.
"""

from __future__ import annotations

from collections.abc import Iterable

ROLES = ("admin", "service", "scorer", "reviewer", "risk_lead", "platform_owner", "validator")

#: action -> roles that may perform it (``admin`` always may).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # reading
    "read": ("scorer", "reviewer", "risk_lead", "platform_owner", "validator", "service"),
    "metrics": ("service",),
    # scoring and review
    "score": ("scorer", "service"),
    "review": ("reviewer", "risk_lead", "service"),
    # model lifecycle
    "train": ("risk_lead", "platform_owner", "service"),
    "register": ("risk_lead", "platform_owner", "service"),
    "audit": ("reviewer", "risk_lead", "platform_owner", "validator", "service"),
    "approve": ("risk_lead", "platform_owner", "validator"),
    "promote": ("platform_owner",),
    "rollback": ("risk_lead", "platform_owner"),
    "pin": ("risk_lead", "platform_owner"),
    "operate": ("platform_owner", "service"),  # monitoring runs, imports, jobs, event delivery
    # model-risk inventory
    # owner, tier, purpose, uses, limitations; lowering a tier: validator only
    "describe": ("risk_lead", "platform_owner", "validator"),
    "retire": ("risk_lead", "platform_owner"),
    "freeze": ("risk_lead", "platform_owner"),  # halt a model's promotions, canary off
    "unfreeze": (),  # lift a freeze (also one an automatic rollback set)
    # administration
    "break_glass": (),
    "manage_users": (),
    "manage_tokens": (),
    "manage_keys": (),  # signing-key rotation and revocation, resetting the replay floor
}

#: What the command line may do without ``$RISKOPS_TOKEN`` (author ``local:NAME``).
LOCAL_ACTIONS = frozenset({"read", "train", "register", "audit", "operate", "metrics"})


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """``roles`` de-duplicated and sorted, each one of ``ROLES``; ``ValueError`` naming the
    first unknown one."""
    found = sorted({r.strip() for r in roles if r.strip()})
    if not found:
        raise ValueError(f"give at least one role: {', '.join(ROLES)}")
    for role in found:
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return tuple(found)


def allowed(action: str, roles: Iterable[str]) -> bool:
    """Whether a holder of ``roles`` may perform ``action`` (an unknown action: no one)."""
    held = set(roles)
    return "admin" in held or bool(held & set(PERMISSIONS.get(action, ())))


def who_may(action: str) -> str:
    """``risk_lead, platform_owner (or admin)`` for messages."""
    listed = ", ".join(PERMISSIONS.get(action, ()))
    return f"{listed} (or admin)" if listed else "admin"
