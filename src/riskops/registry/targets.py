"""The version a pointer change targets: its files must hold before a manifest points at it.

A promotion (any stage), a rollback to a version and a tenant pin each sign a
manifest that sends traffic to one version. Every file the database lists for
that version is checked on disk (size and SHA-256, the ``model.sig`` bundle
included, as ``riskops verify`` does) and the version folder may hold nothing
else; otherwise the change is refused and nothing is written. Rolling back to
the heuristic and unpinning name no version, so they need no check.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry.integrity import Failure, unlisted_files, verify_artifacts
from riskops.registry.manifest import ArtifactEntry
from riskops.registry.store import version_folder
from riskops.storage import repository

#: Failures spelled out in the refusal; the rest are counted (all are in ``exc.failures``).
SHOWN = 5


def verify_version_artifacts(ws: Workspace, session: Any, model: str, version: int, *,
                             action: str) -> None:
    """Refuse, before anything is signed, a change that would point at a broken version.

    Parameters
    ----------
    ws : Workspace
        Its store (``ws.store_dir``) holds the version folder.
    session : Session
        The change's write transaction; the artifact rows are read from it.
    model, version : str, int
        The version the change would point at.
    action : str
        What the change would do, as it reads after "fraud v2 cannot be", e.g.
        ``"promoted to production"`` or ``"pinned for tenant 'acme'"``.

    Raises
    ------
    IntegrityError
        A listed file is missing, truncated, grown, altered, a link or not a
        regular file, or the folder holds a file the database does not list;
        ``failures`` names each one.
    """
    rows = [r for r in repository.list_artifacts(session, model) if r.version == version]
    entries: list[ArtifactEntry] = []
    failures: list[Failure] = []
    for row in rows:
        try:
            entries.append(ArtifactEntry(path=row.path, sha256=row.sha256, size=row.size))
        except ValidationError as exc:
            failures.append(Failure(row.path, f"unusable artifact record: "
                                              f"{exc.errors()[0]['msg']}"))
    failures += verify_artifacts(ws.store_dir, entries)
    failures += unlisted_files(ws.store_dir, version_folder(model, version),
                               [e.path for e in entries])
    if failures:
        raise IntegrityError(refusal(model, version, action, failures),
                             [(f.path, f.reason) for f in failures])


def refusal(model: str, version: int, action: str, failures: list[Failure]) -> str:
    """The refusal: the version, the action, each failing file with its reason, the way out.

    ``fraud v2 cannot be promoted to production: models/fraud/2/model.skops: truncated:
    size 10, expected 1234; nothing was changed.`` and a ``next:`` line.
    """
    listed = "; ".join(f"{f.path}: {f.reason}" for f in failures[:SHOWN])
    if len(failures) > SHOWN:
        listed += f"; and {len(failures) - SHOWN} more"
    return (f"{model} v{version} cannot be {action}: {listed}; nothing was changed.\n"
            f"  next: riskops verify {model} {version} lists every failure; put the registered "
            "files back, or register the model again and use the new version.")
