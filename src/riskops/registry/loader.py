"""The one way a version's artifacts are read for use.

``load_model`` takes a ``VerifiedManifest`` (which only
``read_verified_manifest`` creates), re-checks every artifact of the version
(digest, size, confinement, nothing unlisted), then reads the entrypoint into
memory, checks those very bytes against the signed digest (no window between
check and use) and deserialises them with skops, trusting only skops' default
types plus the workspace allowlist. Raw pickles are never loaded. Other
artifacts a caller needs (``train --reproduce``: the reproducibility report
and the golden predictions) are read through the same door with ``read=``;
``read_artifact`` reads one listed artifact without loading the model
(``monitor run``: a version's reference profile).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskops.errors import InputError, IntegrityError, exception_line
from riskops.registry.integrity import (
    check_artifact,
    confinement_failure,
    unlisted_files,
    verify_artifacts,
)
from riskops.registry.manifest import ArtifactEntry, VerifiedManifest
from riskops.registry.store import version_folder

#: scikit-learn internals used by riskops' own model families that skops does
#: not trust by default; reviewed: plain data holders, no callables.
BUILTIN_TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",  # SimpleImputer's fit dtype, in the linear family's numeric block
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


@dataclass(frozen=True)
class LoadedModel:
    """A verified, deserialised model version.

    ``files`` holds the other artifacts asked for with ``load_model(read=...)``,
    by name within the version folder, as bytes checked against the manifest.
    """

    model: str
    version: int
    estimator: Any
    sha256: str
    manifest_version: int
    files: Mapping[str, bytes] = field(default_factory=dict)


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
    verified: VerifiedManifest, model: str, version: int, *, trusted_types: Iterable[str] = (),
    read: Iterable[str] = (), action: str = "loaded",
) -> LoadedModel:
    """Verify ``model`` v``version`` against the signed manifest and load its entrypoint.

    Parameters
    ----------
    verified : VerifiedManifest
        The manifest whose signature was checked.
    model, version
        The version to load.
    trusted_types : iterable of str
        Types skops may create beyond its defaults (``[registry] trusted_types``).
    read : iterable of str
        Other artifacts of the version to return in ``LoadedModel.files``
        (names within the version folder, e.g. ``"reproducibility-report.json"``).
    action : str, default="loaded"
        What the caller does with the version, for refusals ("...; not loaded").

    Raises
    ------
    UnknownModel, UnknownVersion
        If the manifest does not list it.
    IntegrityError
        If any artifact of the version is missing, altered, unlisted or
        escapes the store, changes while being read, or the entrypoint needs
        untrusted types.
    InputError
        If the version has no loadable entrypoint, or lacks a file in ``read``.
    """
    entry = verified.manifest.version(model, version)
    if entry.entrypoint is None:
        raise InputError(f"{model} v{version} has no model entrypoint (.skops file) to load.")
    folder = version_folder(model, version)
    verify_version(verified, model, version, action=action)
    listed = {a.path: a for a in entry.artifacts}
    path = f"{folder}/{entry.entrypoint}"
    if path not in listed:
        raise IntegrityError(f"{path}: entrypoint is not listed in the manifest.",
                             [(path, "entrypoint not listed")])
    files: dict[str, bytes] = {}
    for name in read:
        if f"{folder}/{name}" not in listed:
            raise InputError(f"{model} v{version} has no {name}.")
        files[name] = _read_listed(verified, listed[f"{folder}/{name}"], action=action)
    data = _read_listed(verified, listed[path], action=action)
    problem = untrusted_types_in(data, trusted_types, subject=path)
    if problem is not None:
        raise IntegrityError(problem, [(path, "untrusted types")])
    estimator = _deserialise(data, trusted_types)
    return LoadedModel(model, version, estimator, listed[path].sha256,
                       verified.manifest.manifest_version, files)


def verify_version(verified: VerifiedManifest, model: str, version: int, *,
                   action: str = "loaded") -> None:
    """Check every artifact of ``model`` v``version`` on disk against ``verified`` (digest,
    size, nothing unlisted in its folder) without loading anything.

    Raises
    ------
    IntegrityError
        Naming each file that failed and why ("...; not {action}").
    """
    entry = verified.manifest.version(model, version)
    root = verified.artifact_root
    failures = verify_artifacts(root, entry.artifacts)
    failures += unlisted_files(root, version_folder(model, version),
                               [a.path for a in entry.artifacts])
    if failures:
        raise IntegrityError(
            f"{model} v{version} failed verification; not {action}: "
            + "; ".join(f"{f.path}: {f.reason}" for f in failures),
            [(f.path, f.reason) for f in failures],
        )


def load_unregistered(data: bytes, *, trusted_types: Iterable[str], subject: str) -> Any:
    """Deserialise a ``.skops`` file that is not registered yet (a model brought with
    ``models register --from``, checked before it is stored), with the same type rules as
    ``load_model``.

    Raises
    ------
    InputError
        Naming ``subject``: not a skops file, untrusted types, or it cannot be loaded.
    """
    problem = untrusted_types_in(data, trusted_types, subject=subject)
    if problem is not None:
        raise InputError(problem)
    try:
        return _deserialise(data, trusted_types)
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise InputError(f"{subject}: cannot be loaded ({exception_line(exc)}).") from None


def _deserialise(data: bytes, trusted_types: Iterable[str]) -> Any:
    """The one call that turns bytes into an estimator (skops, never pickle)."""
    from skops.io import loads

    return loads(data, trusted=[*BUILTIN_TRUSTED_TYPES, *trusted_types])


def read_artifact(verified: VerifiedManifest, model: str, version: int, name: str, *,
                  action: str = "read") -> bytes:
    """The bytes of one artifact of ``model`` v``version``, checked against the signed manifest.

    Only that file is checked (confinement, size, SHA-256, and again as it is
    read); the model is not deserialised.

    Raises
    ------
    UnknownModel, UnknownVersion
        If the manifest does not list the version.
    InputError
        If the version lists no artifact ``name``.
    IntegrityError
        If the file is missing, altered, a link or escapes the store.
    """
    entry = verified.manifest.version(model, version)
    path = f"{version_folder(model, version)}/{name}"
    listed = {a.path: a for a in entry.artifacts}
    if path not in listed:
        raise InputError(f"{model} v{version} has no {name}.")
    failure = check_artifact(verified.artifact_root, listed[path])
    if failure is not None:
        raise IntegrityError(f"{failure.path}: {failure.reason}; not {action}.",
                             [(failure.path, failure.reason)])
    return _read_listed(verified, listed[path], action=action)


def _read_listed(verified: VerifiedManifest, listed: ArtifactEntry, *, action: str) -> bytes:
    """The bytes of one listed artifact, read without following links, checked as read."""
    path = listed.path
    root = verified.artifact_root
    bad = confinement_failure(root, path)
    if bad is not None:
        raise IntegrityError(f"{path}: {bad.reason}", [(path, bad.reason)])
    fd = os.open(root / path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != listed.sha256 or len(data) != listed.size:
        raise IntegrityError(f"{path}: changed while being read; not {action}.",
                             [(path, "changed while being read")])
    return data
