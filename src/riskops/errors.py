"""Errors riskops raises on purpose.

Every error carries an ``exit_code`` for the command line (DESIGN: 0 ok, 1 a
check failed, 2 usage or input error) and a message that names the input, the
rule it broke and what to do next. ``cli.py`` prints ``str(exc)`` and exits.

    RiskopsError
    ├── InputError            (2) bad argument, file, config or directory
    │   ├── WorkspaceNotFound
    │   ├── UnknownModel
    │   ├── UnknownVersion
    │   └── InvalidToken
    └── CheckFailed           (1) a verification or a rule said no
        ├── IntegrityError    signature, digest, size or confinement failure
        ├── AuditLogBroken    the hash chain does not hold
        └── ConcurrentUpdate  another process changed the same pointer first
"""

from __future__ import annotations


class RiskopsError(Exception):
    """Base class; ``exit_code`` tells the command line how to exit."""

    exit_code = 2


class InputError(RiskopsError):
    """An argument, file, directory or config value is unusable."""

    exit_code = 2


class WorkspaceNotFound(InputError):
    """No initialised workspace at the given or default home."""


class UnknownModel(InputError):
    """The registry holds no model of that name."""


class UnknownVersion(InputError):
    """The model exists but not that version."""


class InvalidToken(InputError):
    """An API token is unknown, revoked or malformed."""


class CheckFailed(RiskopsError):
    """A verification or a rule failed; the input itself was well formed."""

    exit_code = 1


class IntegrityError(CheckFailed):
    """Signature, digest, size or confinement check failed.

    ``failures`` lists ``(subject, reason)`` pairs, one per failing file.
    """

    def __init__(self, message: str, failures: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


class AuditLogBroken(CheckFailed):
    """The audit log's hash chain is broken at ``seq``."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class ConcurrentUpdate(CheckFailed):
    """Another process changed the same stage pointer between read and write."""
