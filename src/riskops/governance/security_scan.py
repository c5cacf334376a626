"""``riskops audit security``: one report on the installation's security.

Four checks, each a list of findings (``security_findings.Finding``):

- ``dependencies``: known vulnerabilities of the installed packages
  (``dependency_audit``); severity ``unknown`` when the source gives none;
- ``artifacts``: links, unlisted files and untrusted ``.skops`` in the store
  (``store_audit``);
- ``keys``: the private signing key (and retired ones) readable or writable
  by group or others, the keys folder writable by others (high); no private
  key at all (info: a verifier-only host);
- ``tokens``: active API tokens older than ``governance.token_max_age_days`` (medium).

The scan fails when a finding is at or above ``governance.security_fail_on``
(default ``high``; ``unknown`` counts as ``high``). An unavailable dependency
check does not fail it.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.governance.dependency_audit import (
    DEFAULT_TIMEOUT,
    DependencyAudit,
    Runner,
    audit_dependencies,
)
from riskops.governance.policy import governance_policy
from riskops.governance.security_findings import Finding, count_by_severity, verdict
from riskops.governance.store_audit import StoreAudit, audit_store
from riskops.storage import db, repository

SCHEMA = "riskops.security-scan/v1"


@dataclass(frozen=True)
class TokenAge:
    """An active token as the age check needs it."""

    name: str
    user: str | None
    created_at: datetime


@dataclass(frozen=True)
class SecurityReport:
    """Everything the scan found, and the verdict under ``fail_on``."""

    created_at: datetime
    fail_on: str
    dependencies: DependencyAudit
    versions_scanned: int
    store: StoreAudit
    keys: tuple[Finding, ...]
    tokens: tuple[Finding, ...]

    @property
    def findings(self) -> list[Finding]:
        return [*self.dependencies.findings, *self.store.findings, *self.keys, *self.tokens]

    @property
    def status(self) -> str:
        return verdict(self.findings, self.fail_on)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "fail_on": self.fail_on,
            "dependencies": self.dependencies.as_dict(),
            "artifacts": {"versions_scanned": self.versions_scanned,
                          "files_scanned": self.store.files_scanned,
                          "findings": [f.as_dict() for f in self.store.findings],
                          "digests": "checked by 'riskops verify', not here"},
            "keys": {"findings": [f.as_dict() for f in self.keys]},
            "tokens": {"findings": [f.as_dict() for f in self.tokens]},
            "counts": count_by_severity(self.findings),
        }


def scan_security(ws: Workspace, *, offline: bool = False, runner: Runner | None = None,
                  timeout: float = DEFAULT_TIMEOUT, now: datetime | None = None
                  ) -> SecurityReport:
    """Run every check on ``ws``.

    Parameters
    ----------
    ws : Workspace
    offline : bool, default=False
        Skip the advisory look-up; the dependency check is ``unavailable``.
    runner : callable, optional
        Runs pip-audit: ``runner(command, timeout)`` -> ``(returncode, stdout,
        stderr)``; default ``dependency_audit.run_command``, a subprocess.
    timeout : float, default=120.0
        Seconds pip-audit may take.
    now : datetime, optional
        The time token ages are measured at (default: now, UTC).

    Returns
    -------
    SecurityReport

    Raises
    ------
    InputError
        If ``[governance]`` in the config is invalid.
    """
    policy = governance_policy(ws)
    now = now or datetime.now(UTC)
    with db.read_session(ws.database_url) as session:
        versions = len(repository.list_versions(session))
        listed = [(row.path, row.sha256) for row in repository.list_artifacts(session)]
        tokens = [TokenAge(row.name, row.user_name, row.created_at)
                  for row in repository.list_tokens(session) if row.revoked_at is None]
    return SecurityReport(
        created_at=now,
        fail_on=policy.security_fail_on,
        dependencies=audit_dependencies(runner=runner, timeout=timeout, offline=offline),
        versions_scanned=versions,
        store=audit_store(ws.store_dir, listed, trusted_types=ws.settings.trusted_types),
        keys=tuple(key_findings(ws.private_key_path, ws.keys_dir)),
        tokens=tuple(stale_tokens(tokens, now=now, max_age_days=policy.token_max_age_days)),
    )


def key_findings(private_key: Path, keys_dir: Path) -> list[Finding]:
    """Loose permissions on the signing keys and their folder.

    The private key (and every retired one under ``keys_dir/retired-*``) must
    be readable and writable by its owner only (mode ``& 0o077 == 0``); the
    folder must not be writable by others. A missing private key is ``info``.
    """
    found: list[Finding] = []
    if keys_dir.is_dir():
        mode = stat.S_IMODE(keys_dir.lstat().st_mode)
        if mode & 0o002:
            found.append(Finding(
                "keys_folder_permissions", "high", str(keys_dir),
                f"mode {mode:04o}: anyone on the host may add or replace keys",
                f"chmod 700 {keys_dir}"))
    if not private_key.exists():
        found.append(Finding(
            "private_key_missing", "info", str(private_key),
            "no private signing key: a verifier-only host, which cannot publish",
            "nothing to do on a verifier; publishers need the key"))
    retired = sorted(keys_dir.glob("retired-*/signing.pem")) if keys_dir.is_dir() else []
    for key in [p for p in (private_key, *retired) if p.exists()]:
        mode = stat.S_IMODE(key.stat().st_mode)
        if mode & 0o077:
            found.append(Finding(
                "private_key_permissions", "high", str(key),
                f"mode {mode:04o}: group or others may read or write the signing key",
                f"chmod 600 {key}; if others may have read it, replace the keys "
                "with 'riskops init --force'"))
    return found


def stale_tokens(tokens: Iterable[TokenAge], *, now: datetime,
                 max_age_days: int) -> list[Finding]:
    """Active tokens created more than ``max_age_days`` before ``now``.

    Examples
    --------
    >>> now = datetime(2024, 6, 1, tzinfo=UTC)
    >>> old = TokenAge("ci", "ci-bot", datetime(2024, 1, 1, tzinfo=UTC))
    >>> [f.severity for f in stale_tokens([old], now=now, max_age_days=90)]
    ['medium']
    """
    limit = timedelta(days=max_age_days)
    found = []
    for token in tokens:
        age = now - token.created_at
        if age > limit:
            user = token.user or token.name
            found.append(Finding(
                "token_age", "medium", f"token {token.name}",
                f"token {token.name!r} of user {user!r} is {age.days} days old "
                f"(created {token.created_at:%Y-%m-%d}); governance.token_max_age_days is "
                f"{max_age_days}",
                f"give {user!r} a new token (riskops token create), then "
                f"riskops token revoke --name {token.name}",
                extra={"token": token.name, "user": user, "age_days": age.days}))
    return found
