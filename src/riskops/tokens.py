"""API tokens and the identity behind a command.

Tokens are shown once and stored as SHA-256 digests. The command line acts as
the holder of ``$RISKOPS_TOKEN`` when it is set, otherwise as the local
operating-system user (``local:NAME``), which is what the audit log records.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from riskops.config import Workspace
from riskops.errors import InputError, InvalidToken
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.storage import db, repository
from riskops.storage.tables import ApiTokenRow

ROLES = ("admin", "service", "scorer", "reviewer", "risk_lead", "platform_owner")
ENV_TOKEN = "RISKOPS_TOKEN"
PREFIX = "rko_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


@dataclass(frozen=True)
class Identity:
    name: str
    role: str | None  # None for a local user without a token

    @property
    def actor(self) -> str:
        return self.name


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ws: Workspace, *, name: str, role: str, actor: str) -> str:
    """Create a token and return it; only its digest is stored."""
    if not _NAME.fullmatch(name):
        raise InputError(f"--name {name!r} is invalid: 1-128 letters, digits, '_', '.', '@', '-'.")
    if role not in ROLES:
        raise InputError(f"--role {role!r} is not one of {', '.join(ROLES)}.")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.write_transaction(ws.database_url) as session:
        if repository.token_by_name(session, name) is not None:
            raise InputError(f"a token named {name!r} exists already; pick another --name.")
        now = datetime.now(UTC)
        repository.add_token(session, ApiTokenRow(name=name, role=role,
                                                  token_hash=hash_token(token), created_at=now))
        # Publishing a manifest anchors this entry, so deleting it is caught too.
        record_change(session, ws, now=now, actor=actor, action="token.created",
                      subject=name, data={"name": name, "role": role})
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
            {"name": t.name, "role": t.role, "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
            for t in repository.list_tokens(session)
        ]


def identify(ws: Workspace, token: str | None) -> Identity:
    """The identity holding ``token``; ``InvalidToken`` if unknown or revoked."""
    if not token:
        raise InvalidToken("empty API token.")
    with db.read_session(ws.database_url) as session:
        row = repository.token_by_hash(session, hash_token(token.strip()))
        if row is None:
            raise InvalidToken(f"${ENV_TOKEN} is not a known API token; create one with "
                               "riskops token create --name N --role R.")
        if row.revoked_at is not None:
            raise InvalidToken(f"${ENV_TOKEN} belongs to token {row.name!r}, revoked at "
                               f"{row.revoked_at.isoformat()}.")
        return Identity(name=row.name, role=row.role)


def current_identity(ws: Workspace) -> Identity:
    """Who runs this command: the ``$RISKOPS_TOKEN`` holder, else ``local:USER``."""
    token = os.environ.get(ENV_TOKEN)
    if token is not None:
        return identify(ws, token)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return Identity(name=f"local:{user}", role=None)
