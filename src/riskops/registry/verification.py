"""`riskops verify`: the manifest signature and every artifact, in one report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry import ossf
from riskops.registry.integrity import (
    Failure,
    unlisted_files,
    unlisted_version_folders,
    verify_artifacts,
)
from riskops.registry.manifest import read_verified_manifest
from riskops.registry.store import version_folder
from riskops.storage import db, repository


@dataclass
class IntegrityReport:
    """Outcome of a verification; ``ok`` when nothing failed."""

    manifest_version: int | None = None
    checked: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "pass" if self.ok else "fail",
            "checked_at": datetime.now(UTC).isoformat(),
            "manifest_version": self.manifest_version,
            "versions": self.checked,
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "failures": [f.as_dict() for f in self.failures],
        }


def verify_workspace(
    ws: Workspace, model: str | None = None, version: int | None = None, *,
    openssf: bool = True, progress: Callable[[int, int], None] | None = None,
) -> IntegrityReport:
    """Verify the manifest, then every artifact of the selected versions.

    Never raises for a failed check: failures go into the report. Unknown
    model or version names still raise (they are usage errors).
    ``progress(done_bytes, total_bytes)`` is called after each version.
    """
    report = IntegrityReport()
    try:
        verified = read_verified_manifest(ws.manifest_path, ws.signature_path,
                                          ws.public_key_path)
    except IntegrityError as exc:
        report.failures += [Failure(s, r) for s, r in exc.failures] or [
            Failure(ws.manifest_path.name, str(exc))]
        return report
    manifest = verified.manifest
    report.manifest_version = manifest.manifest_version
    stale = _staleness(ws, verified.raw, manifest.manifest_version)
    if stale is not None:
        report.failures.append(stale)
    if model is None:
        selected = [(m, v) for m, entry in manifest.models.items()
                    for v in sorted(map(int, entry.versions))]
    elif version is None:
        selected = [(model, v) for v in sorted(map(int, manifest.model(model).versions))]
    else:
        manifest.version(model, version)
        selected = [(model, version)]
    root = verified.artifact_root
    total = sum(a.size for m, v in selected for a in manifest.version(m, v).artifacts)
    for name, number in selected:
        entry = manifest.version(name, number)
        folder = version_folder(name, number)
        failures = verify_artifacts(root, entry.artifacts)
        failures += unlisted_files(root, folder, [a.path for a in entry.artifacts])
        if openssf and entry.signature is not None and not failures:
            try:
                ossf.verify_folder(root / folder, ws.public_key_path, name=folder)
            except IntegrityError as exc:
                failures += [Failure(s, r) for s, r in exc.failures]
        report.failures += failures
        report.files_checked += len(entry.artifacts)
        report.bytes_checked += sum(a.size for a in entry.artifacts)
        report.checked.append({"model": name, "version": number,
                               "status": "fail" if failures else "pass"})
        if progress is not None:
            progress(report.bytes_checked, total)
    if model is None:
        report.failures += unlisted_version_folders(root, selected)
    return report


def _staleness(ws: Workspace, raw: bytes, on_disk: int) -> Failure | None:
    """A failure if the verified file is not the database's newest published manifest.

    Catches an older, correctly signed manifest put back in place (replay) and
    a publish interrupted between commit and file write.
    """
    with db.read_session(ws.database_url) as session:
        newest = repository.latest_manifest(session)
    if newest is None or newest.body.encode() == raw:
        return None
    if newest.manifest_version > on_disk:
        reason = (f"stale: v{on_disk} on disk, the database published v{newest.manifest_version} "
                  "(an older manifest put back, or an interrupted publish); "
                  "riskops init rewrites it from the database")
    else:
        reason = (f"v{on_disk} on disk is not the database's newest manifest "
                  f"v{newest.manifest_version}")
    return Failure(ws.manifest_path.name, reason)
