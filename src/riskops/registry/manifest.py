"""The signed manifest: its schema, its canonical bytes, reading it back verified.

``manifest.json`` lists, per model, the live stage pointers, the production
history and every registered version with its artifacts ``{path, sha256,
size}``. ``manifest.json.sig`` is a detached ECDSA P-256 signature over the
exact bytes (see ``signing.py``). Serving only ever acts on a
``VerifiedManifest``, which only ``read_verified_manifest`` creates.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from riskops.errors import IntegrityError, UnknownModel, UnknownVersion
from riskops.registry.signing import load_public_key, verify_bytes

SCHEMA = "riskops.manifest/v1"
_HEX = "0123456789abcdef"


def check_relative_path(value: str, *, what: str = "path") -> str:
    """Return ``value`` if it is a clean relative POSIX path, else raise ``ValueError``.

    Clean means: not empty, not absolute, no ``..`` or ``.`` parts, no
    backslashes, no NUL. Such a path cannot leave the folder it is joined to
    (symlinks are checked separately, on disk).
    """
    if not value or "\x00" in value or "\\" in value:
        raise ValueError(f"{what} {value!r} must be a non-empty POSIX path")
    path = PurePosixPath(value)
    if path.is_absolute() or value.startswith("/"):
        raise ValueError(f"{what} {value!r} is absolute; artifact paths are relative to the store")
    if any(part in ("..", ".", "") for part in value.split("/")):
        raise ValueError(f"{what} {value!r} leaves or re-enters its folder ('..' or '.')")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ArtifactEntry(_Strict):
    path: str
    sha256: str = Field(min_length=64, max_length=64)
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _confined(cls, value: str) -> str:
        return check_relative_path(value)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if any(c not in _HEX for c in value):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        return value


class CanaryPointer(_Strict):
    version: int = Field(ge=1)
    percent: int = Field(ge=0, le=100)


class Stages(_Strict):
    production: int | None = None
    staging: int | None = None
    canary: CanaryPointer | None = None


class VersionEntry(_Strict):
    version: int = Field(ge=1)
    created_at: str
    author: str
    entrypoint: str | None = None
    artifacts: list[ArtifactEntry]
    signature: str | None = None  # OpenSSF model-signing bundle, relative to the store
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    approvals: list[dict[str, Any]] = Field(default_factory=list)
    training_run_id: str | None = None


class ModelEntry(_Strict):
    stages: Stages
    history: list[int]
    versions: dict[str, VersionEntry]
    #: Per-tenant routing pins: tenant -> version, or "heuristic" for no model.
    pins: dict[str, int | Literal["heuristic"]] = Field(default_factory=dict)


class AuditAnchor(_Strict):
    seq: int = Field(ge=1)
    hash: str = Field(min_length=64, max_length=64)


class Manifest(_Strict):
    schema_: Literal["riskops.manifest/v1"] = Field(alias="schema")
    manifest_version: int = Field(ge=1)
    published_at: str
    artifact_root: str
    audit_head: AuditAnchor | None = None
    models: dict[str, ModelEntry]

    @field_validator("artifact_root")
    @classmethod
    def _confined(cls, value: str) -> str:
        return check_relative_path(value, what="artifact_root")

    def model(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise UnknownModel(
                f"model {name!r} is not in manifest v{self.manifest_version} (models: {known})."
            ) from None

    def version(self, name: str, version: int) -> VersionEntry:
        entry = self.model(name).versions.get(str(version))
        if entry is None:
            known = ", ".join(self.model(name).versions) or "none"
            raise UnknownVersion(
                f"{name} v{version} is not in manifest v{self.manifest_version} "
                f"(versions: {known})."
            )
        return entry


def canonical_bytes(manifest: dict[str, Any]) -> bytes:
    """The exact bytes that get signed: sorted keys, 2-space indent, UTF-8, final newline."""
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


@dataclass(frozen=True)
class VerifiedManifest:
    """A manifest whose signature verified against a trusted public key.

    ``artifact_root`` is the resolved store folder its artifact paths are
    relative to; ``signed_by`` the fingerprint of the key that verified it.
    """

    manifest: Manifest
    raw: bytes
    artifact_root: Path
    signed_by: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


def read_verified_manifest(
    manifest_path: Path,
    signature_path: Path,
    public_key: Path | ec.EllipticCurvePublicKey | Mapping[str, ec.EllipticCurvePublicKey],
) -> VerifiedManifest:
    """Read ``manifest.json`` and its ``.sig``, verify, parse and validate.

    ``public_key`` is a key file, a key, or several keys by fingerprint (the
    keys a verifier trusts, ``registry.trust``): the signature must verify
    with one of them. A publisher replaces the two files one after the other, so a read that
    lands in between is retried while the files keep changing.

    Raises
    ------
    IntegrityError
        Missing or empty files, a malformed or non-matching signature,
        malformed JSON or a manifest that breaks the schema (for example an
        artifact path that is absolute or contains ``..``).
    """
    from riskops.registry.keychain import fingerprint

    if isinstance(public_key, Mapping):
        keys = dict(public_key)
    else:
        key = public_key if isinstance(public_key, ec.EllipticCurvePublicKey) else (
            load_public_key(public_key))
        keys = {fingerprint(key): key}
    previous: tuple[bytes, bytes] | None = None
    signed_by = None
    for _attempt in range(5):
        raw = _read(manifest_path, "manifest")
        signature = _read(signature_path, "signature")
        try:
            signed_by = verify_with_any(keys, raw, signature, subject=manifest_path.name)
            break
        except IntegrityError:
            if previous == (raw, signature):
                raise
            previous = (raw, signature)
            time.sleep(0.05)
    else:  # pragma: no cover - the files changed on every attempt
        raise IntegrityError(
            f"{manifest_path.name}: kept changing while being read; try again.",
            [(manifest_path.name, "changing while read")],
        )
    manifest = parse_manifest(raw, subject=manifest_path.name)
    root = (manifest_path.parent / manifest.artifact_root).resolve()
    return VerifiedManifest(manifest=manifest, raw=raw, artifact_root=root, signed_by=signed_by)


def verify_with_any(keys: Mapping[str, ec.EllipticCurvePublicKey], data: bytes,
                    signature: bytes, *, subject: str) -> str:
    """The fingerprint of the first of ``keys`` the signature verifies with.

    Raises
    ------
    IntegrityError
        If there are no keys, or the signature verifies with none of them
        (the message of the last attempt; malformed signatures fail at once).
    """
    if not keys:
        raise IntegrityError(f"{subject}: no trusted key to verify it with.",
                             [(subject, "no trusted key")])
    *others, (last_id, last_key) = keys.items()
    for key_id, key in others:
        try:
            verify_bytes(key, data, signature, subject=subject)
            return key_id
        except IntegrityError:
            continue
    verify_bytes(last_key, data, signature, subject=subject)  # raises naming the reason
    return last_id


def parse_manifest(raw: bytes, *, subject: str = "manifest.json") -> Manifest:
    """Parse and validate manifest bytes; ``IntegrityError`` names the bad field."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(
            f"{subject}: malformed JSON ({exc}).", [(subject, "malformed JSON")]
        ) from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise IntegrityError(
            f"{subject}: field {where} is invalid: {first['msg']}.",
            [(subject, f"{where}: {first['msg']}")],
        ) from None


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(
            f"{path.name}: {what} file is missing ({path}).", [(path.name, "missing")]
        ) from None
    except IsADirectoryError:
        raise IntegrityError(f"{path.name}: is a directory.", [(path.name, "not a file")]) from None
    if not data:
        raise IntegrityError(f"{path.name}: {what} file is empty.", [(path.name, "empty")])
    return data
