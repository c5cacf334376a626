"""Users, their API tokens, and the identity behind a command.

A user holds one or more roles (``riskops.roles``); a token belongs to one
user and acts with all of that user's roles, so adding a role or disabling
the user takes effect on every token at once. Tokens are shown once and
stored as SHA-256 digests. The command line acts as the user holding
``$RISKOPS_TOKEN`` when it is set, otherwise as the local operating-system
user (``local:NAME``, no roles), which is what the audit log records.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, InvalidToken, PermissionDenied
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.roles import ROLES, allowed, check_roles, who_may
from riskops.storage import db, repository
from riskops.storage.tables import ApiTokenRow, UserRow

ENV_TOKEN = "RISKOPS_TOKEN"
PREFIX = "rko_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")

__all__ = ["ROLES", "Identity", "authorize", "create_token", "current_identity", "identify"]


@dataclass(frozen=True)
class Identity:
    """Who acts: a user and the roles it holds (none for ``local:NAME``)."""

    name: str
    roles: tuple[str, ...] = ()
    token: str | None = None  # the token's name; None for a local user

    @property
    def actor(self) -> str:
        return self.name

    @property
    def is_local(self) -> bool:
        return self.token is None

    @property
    def role(self) -> str | None:
        """The roles as one text (``risk_lead,reviewer``), for messages and listings."""
        return ",".join(self.roles) or None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str, option: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(f"{option} {name[:64]!r} is invalid: 1-128 letters, digits, '_', '.', "
                         "'@' or '-', starting with a letter or digit.")
    return name


def parse_roles(text: str, option: str = "--roles") -> tuple[str, ...]:
    """``risk_lead,reviewer`` as a sorted tuple of known roles, or an ``InputError``."""
    try:
        return check_roles(text.split(","))
    except ValueError as exc:
        raise InputError(f"{option} {text[:64]!r}: {exc}.") from None


# --- users ---------------------------------------------------------------------------


def ensure_user(session: Any, *, name: str, roles: tuple[str, ...], actor: str,
                now: datetime) -> UserRow:
    """The user ``name``, created with ``roles`` if absent (inside a write transaction)."""
    row = repository.get_user(session, name)
    if row is None:
        row = UserRow(name=name, roles=json.dumps(list(roles)), created_at=now,
                      created_by=actor)
        repository.add_user(session, row)
    return row


def user_roles(row: UserRow) -> tuple[str, ...]:
    return tuple(json.loads(row.roles))


def add_user(ws: Workspace, *, name: str, roles: tuple[str, ...], actor: str) -> dict[str, Any]:
    check_name(name, "NAME")
    if name.startswith("local:"):
        raise InputError(f"NAME {name!r}: 'local:' names the operating-system user; pick another.")
    with db.write_transaction(ws.database_url) as session:
        if repository.get_user(session, name) is not None:
            raise InputError(f"a user named {name!r} exists already; see riskops users list.")
        now = datetime.now(UTC)
        ensure_user(session, name=name, roles=roles, actor=actor, now=now)
        record_change(session, ws, now=now, actor=actor, action="user.added", subject=name,
                      data={"name": name, "roles": list(roles)})
    sync_manifest_files(ws)
    return {"name": name, "roles": list(roles), "created_at": now.isoformat()}


def disable_user(ws: Workspace, *, name: str, actor: str) -> None:
    """Disable ``name``: every token of the user is refused from now on."""
    with db.write_transaction(ws.database_url) as session:
        row = repository.get_user(session, name)
        if row is None:
            raise InputError(f"no user named {name!r}; see riskops users list.")
        if row.disabled_at is not None:
            raise InputError(f"user {name!r} is already disabled.")
        now = datetime.now(UTC)
        row.disabled_at = now
        record_change(session, ws, now=now, actor=actor, action="user.disabled", subject=name,
                      data={"name": name})
    sync_manifest_files(ws)


def list_users(ws: Workspace) -> list[dict[str, Any]]:
    with db.read_session(ws.database_url) as session:
        return [
            {"name": u.name, "roles": list(user_roles(u)), "created_at": u.created_at.isoformat(),
             "created_by": u.created_by,
             "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
             "tokens": [t.name for t in repository.tokens_of(session, u.name)
                        if t.revoked_at is None]}
            for u in repository.list_users(session)
        ]


# --- tokens --------------------------------------------------------------------------


def create_token(ws: Workspace, *, name: str, actor: str, role: str | None = None,
                 user: str | None = None) -> str:
    """Create a token for ``user`` (or, with ``role``, for a user ``name`` holding ``role``).

    Returns the token; only its digest is stored.
    """
    check_name(name, "--name")
    if (role is None) == (user is None):
        raise InputError("give --user NAME (a token for an existing user) or --role ROLE "
                         "(a user named like the token, holding that role), not both.")
    if role is not None and role not in ROLES:
        raise InputError(f"--role {role!r} is not one of {', '.join(ROLES)}.")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.write_transaction(ws.database_url) as session:
        if repository.token_by_name(session, name) is not None:
            raise InputError(f"a token named {name!r} exists already; pick another --name.")
        now = datetime.now(UTC)
        if user is not None:
            owner = repository.get_user(session, user)
            if owner is None:
                raise InputError(f"--user {user!r} does not exist; add it first with "
                                 f"riskops users add {user} --roles ROLE[,ROLE].")
        else:
            owner = ensure_user(session, name=name, roles=(str(role),), actor=actor, now=now)
            if role not in user_roles(owner):
                raise InputError(f"user {name!r} exists with roles {owner.roles}, not {role!r}; "
                                 f"create its token with --user {name} instead.")
        if owner.disabled_at is not None:
            raise InputError(f"user {owner.name!r} is disabled; it gets no new tokens.")
        roles = user_roles(owner)
        repository.add_token(session, ApiTokenRow(
            name=name, role=",".join(roles)[:64], token_hash=hash_token(token), created_at=now,
            user_name=owner.name))
        # Publishing a manifest anchors this entry, so deleting it is caught too.
        record_change(session, ws, now=now, actor=actor, action="token.created",
                      subject=name, data={"name": name, "user": owner.name,
                                          "roles": list(roles)})
    sync_manifest_files(ws)
    return token


def revoke_token(ws: Workspace, *, name: str, actor: str) -> None:
    with db.write_transaction(ws.database_url) as session:
        row = repository.token_by_name(session, name)
        if row is None:
            raise InputError(f"no token named {name!r}; see riskops token list.")
        if row.revoked_at is not None:
            raise InputError(f"token {name!r} is already revoked.")
        now = datetime.now(UTC)
        row.revoked_at = now
        record_change(session, ws, now=now, actor=actor, action="token.revoked",
                      subject=name, data={"name": name})
    sync_manifest_files(ws)


def list_tokens(ws: Workspace) -> list[dict[str, str | None]]:
    with db.read_session(ws.database_url) as session:
        return [
            {"name": t.name, "user": t.user_name, "role": t.role,
             "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
            for t in repository.list_tokens(session)
        ]


# --- identity ------------------------------------------------------------------------


def identity_of(session: Any, token_hash: str) -> Identity | None:
    """The identity behind a token digest; ``None`` if unknown, revoked or its user disabled."""
    row = repository.token_by_hash(session, token_hash)
    if row is None or row.revoked_at is not None:
        return None
    owner = repository.get_user(session, row.user_name or row.name)
    if owner is None or owner.disabled_at is not None:
        return None
    return Identity(name=owner.name, roles=user_roles(owner), token=row.name)


def identify(ws: Workspace, token: str | None) -> Identity:
    """The identity holding ``token``; ``InvalidToken`` if unknown, revoked or disabled."""
    if not token:
        raise InvalidToken("empty API token.")
    with db.read_session(ws.database_url) as session:
        digest = hash_token(token.strip())
        found = identity_of(session, digest)
        if found is not None:
            return found
        row = repository.token_by_hash(session, digest)
        if row is None:
            raise InvalidToken(f"${ENV_TOKEN} is not a known API token; create one with "
                               "riskops token create --user NAME --name N.")
        if row.revoked_at is not None:
            raise InvalidToken(f"${ENV_TOKEN} belongs to token {row.name!r}, revoked at "
                               f"{row.revoked_at.isoformat()}.")
        raise InvalidToken(f"${ENV_TOKEN} belongs to token {row.name!r} of user "
                           f"{row.user_name!r}, which is disabled.")


def current_identity(ws: Workspace) -> Identity:
    """Who runs this command: the ``$RISKOPS_TOKEN`` holder, else ``local:USER``."""
    token = os.environ.get(ENV_TOKEN)
    if token is not None:
        return identify(ws, token)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return Identity(name=f"local:{user}")


def authorize(identity: Identity, action: str) -> Identity:
    """``identity`` if it may perform ``action``; ``PermissionDenied`` saying who may.

    A local user (no token) may perform the actions of ``roles.LOCAL_ACTIONS``.
    """
    from riskops.roles import LOCAL_ACTIONS

    if identity.is_local:
        if action in LOCAL_ACTIONS:
            return identity
        raise PermissionDenied(
            f"{action.replace('_', ' ')} needs an API token: set ${ENV_TOKEN} to a token of a "
            f"user holding {who_may(action)} (riskops token create --user NAME --name N).")
    if not allowed(action, identity.roles):
        raise PermissionDenied(
            f"{identity.name!r} holds {identity.role or 'no role'}; {action.replace('_', ' ')} "
            f"needs {who_may(action)}.")
    return identity
