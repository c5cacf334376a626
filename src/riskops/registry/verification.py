"""`riskops verify`: the manifest signature and every artifact, in one report."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry import ossf
from riskops.registry.floor import admit_manifest
from riskops.registry.integrity import (
    Failure,
    unlisted_files,
    unlisted_version_folders,
    verify_artifacts,
)
from riskops.registry.keychain import Trust
from riskops.registry.store import version_folder
from riskops.registry.trust import trusted_pem


@dataclass
class IntegrityReport:
    """Outcome of a verification; ``ok`` when nothing failed."""

    manifest_version: int | None = None
    checked: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    signed_by: str | None = None
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
            "signed_by": self.signed_by,
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
        admission = admit_manifest(ws)
    except IntegrityError as exc:  # a malformed pin (InputError) is a usage error: exit 2
        failures = exc.failures or [(ws.manifest_path.name, str(exc))]
        report.failures += [Failure(str(p), str(r)) for p, r in failures]
        return report
    trust_problems = set(admission.trust.problems)
    report.failures += [Failure("keys", p) for p in admission.problems if p in trust_problems]
    report.failures += [Failure(path, reason) for path, reason in admission.details] or [
        Failure(ws.manifest_path.name, p) for p in admission.problems if p not in trust_problems]
    verified = admission.verified
    if verified is None or admission.refused:
        if verified is not None:
            report.manifest_version = verified.manifest.manifest_version
        return report
    manifest = verified.manifest
    report.manifest_version = manifest.manifest_version
    report.signed_by = verified.signed_by
    if model is None:
        selected = [(m, v) for m, entry in manifest.models.items()
                    for v in sorted(map(int, entry.versions))]
    elif version is None:
        selected = [(model, v) for v in sorted(map(int, manifest.model(model).versions))]
    else:
        manifest.version(model, version)
        selected = [(model, version)]
    root = verified.artifact_root
    trusted_key_file = _pem_file(admission.trust, verified.signed_by)
    total = sum(a.size for m, v in selected for a in manifest.version(m, v).artifacts)
    for name, number in selected:
        entry = manifest.version(name, number)
        folder = version_folder(name, number)
        failures = verify_artifacts(root, entry.artifacts)
        failures += unlisted_files(root, folder, [a.path for a in entry.artifacts])
        if openssf and entry.signature is not None and not failures:
            try:
                ossf.verify_folder(root / folder, trusted_key_file(), name=folder)
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
    admission.record()
    return report


def _pem_file(trust: Trust, key_id: str | None) -> Callable[[], Path]:
    """A function giving a file holding the trusted key's PEM (for ``model_signing``,
    which reads keys from files), made on first use; never ``keys/public.pem``."""
    made: list[Path] = []

    def path() -> Path:
        if not made:
            folder = Path(tempfile.mkdtemp(prefix="riskops-trusted-key-"))
            atexit.register(shutil.rmtree, folder, True)
            made.append(folder / "trusted.pem")
            made[0].write_bytes(trusted_pem(trust, key_id))
        return made[0]

    return path
