"""The one way a model artifact is loaded for execution.

``load_model`` takes a ``VerifiedManifest`` (which only
``read_verified_manifest`` creates), re-checks every artifact of the version,
then reads the entrypoint into memory, checks those very bytes against the
signed digest (no window between check and use) and deserialises them with
skops, trusting only skops' default types plus the workspace allowlist.
Raw pickles are never loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskops.errors import InputError, IntegrityError
from riskops.registry.integrity import confinement_failure, unlisted_files, verify_artifacts
from riskops.registry.manifest import VerifiedManifest
from riskops.registry.store import version_folder

#: scikit-learn internals used by riskops' own model families that skops does
#: not trust by default; reviewed: plain data holders, no callables.
BUILTIN_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


@dataclass(frozen=True)
class LoadedModel:
    model: str
    version: int
    estimator: Any
    sha256: str
    manifest_version: int


def untrusted_types_in(data: bytes, allowed: Iterable[str], *, subject: str) -> str | None:
    """A message naming the types skops would not trust in ``data``, else ``None``."""
    from skops.io import get_untrusted_types

    try:
        untrusted = get_untrusted_types(data=data)
    except Exception as exc:  # skops raises zipfile/JSON/KeyError on malformed files
        return f"{subject} is not a readable skops file ({type(exc).__name__}: {exc})."
    extra = sorted(set(untrusted) - set(allowed) - set(BUILTIN_TRUSTED_TYPES))
    if extra:
        return (
            f"{subject} needs types skops does not trust by default: {', '.join(extra)}; "
            "review them, then list them under [registry] trusted_types in riskops.toml."
        )
    return None


def load_model(
    verified: VerifiedManifest, model: str, version: int, *, trusted_types: Iterable[str] = ()
) -> LoadedModel:
    """Verify ``model`` v``version`` against the signed manifest and load its entrypoint.

    Raises
    ------
    UnknownModel, UnknownVersion
        If the manifest does not list it.
    IntegrityError
        If any artifact of the version is missing, altered, unlisted or
        escapes the store, or the entrypoint needs untrusted types.
    InputError
        If the version has no loadable entrypoint.
    """
    from skops.io import loads

    entry = verified.manifest.version(model, version)
    if entry.entrypoint is None:
        raise InputError(f"{model} v{version} has no model entrypoint (.skops file) to load.")
    root = verified.artifact_root
    folder = version_folder(model, version)
    failures = verify_artifacts(root, entry.artifacts)
    failures += unlisted_files(root, folder, [a.path for a in entry.artifacts])
    if failures:
        raise IntegrityError(
            f"{model} v{version} failed verification; not loaded: "
            + "; ".join(f"{f.path}: {f.reason}" for f in failures),
            [(f.path, f.reason) for f in failures],
        )
    path = f"{folder}/{entry.entrypoint}"
    listed = {a.path: a for a in entry.artifacts}
    if path not in listed:
        raise IntegrityError(f"{path}: entrypoint is not listed in the manifest.",
                             [(path, "entrypoint not listed")])
    bad = confinement_failure(root, path)
    if bad is not None:
        raise IntegrityError(f"{path}: {bad.reason}", [(path, bad.reason)])
    data = _read_no_follow(root / path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != listed[path].sha256 or len(data) != listed[path].size:
        raise IntegrityError(f"{path}: changed while loading; not loaded.",
                             [(path, "changed while loading")])
    problem = untrusted_types_in(data, trusted_types, subject=path)
    if problem is not None:
        raise IntegrityError(problem, [(path, "untrusted types")])
    estimator = loads(data, trusted=[*BUILTIN_TRUSTED_TYPES, *trusted_types])
    return LoadedModel(model, version, estimator, digest, verified.manifest.manifest_version)


def _read_no_follow(path: os.PathLike[str] | str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()
