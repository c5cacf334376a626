"""ECDSA P-256 keys and detached signatures over exact bytes.

Signatures are DER-encoded ECDSA-SHA256, the format ``openssl dgst -sha256
-sign`` writes, so anyone can check a manifest without riskops::

    openssl dgst -sha256 -verify keys/public.pem \
        -signature manifest.json.sig manifest.json
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from riskops.errors import InputError, IntegrityError
from riskops.files import atomic_write

_ALGORITHM = ec.ECDSA(hashes.SHA256())


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new P-256 key pair: private PKCS#8 PEM (mode 0600), public SPKI PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(private_path, permissions=0o600) as fh:
        fh.write(private_pem)
    with atomic_write(public_path) as fh:
        fh.write(public_pem)


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The workspace signing key; it must be an unencrypted P-256 PEM key."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"signing key {path} is missing; only the workspace that publishes "
            "manifests needs it (riskops init creates it)."
        ) from None
    except OSError as exc:
        raise InputError(f"signing key {path} cannot be read: {exc.strerror}.") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"signing key {path} is not a usable PEM private key: {exc}.") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InputError(f"signing key {path} must be an ECDSA P-256 (secp256r1) key.")
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The P-256 public key verifiers trust.

    Raises
    ------
    IntegrityError
        If the file is missing, is not a PEM public key, or not P-256: nothing
        can be verified, so nothing may be loaded.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(
            f"public key {path} is missing; nothing can be verified.",
            [(str(path), "missing")],
        ) from None
    except OSError as exc:
        raise IntegrityError(
            f"public key {path} cannot be read: {exc.strerror}.",
            [(str(path), f"unreadable: {exc.strerror}")],
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise IntegrityError(
            f"public key {path} is malformed (not a PEM SubjectPublicKeyInfo key).",
            [(str(path), "malformed public key")],
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise IntegrityError(
            f"public key {path} is not an ECDSA P-256 key.",
            [(str(path), "not an ECDSA P-256 key")],
        )
    return key


def sign_bytes(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """DER-encoded ECDSA-SHA256 signature over ``data``."""
    return key.sign(data, _ALGORITHM)


def verify_bytes(
    key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes, *, subject: str
) -> None:
    """Check a detached signature; raise ``IntegrityError`` naming ``subject`` if it fails."""
    if not signature:
        raise IntegrityError(f"{subject}: signature is empty.", [(subject, "empty signature")])
    try:
        decode_dss_signature(signature)
    except ValueError:
        raise IntegrityError(
            f"{subject}: signature is malformed (not a DER ECDSA signature).",
            [(subject, "malformed signature")],
        ) from None
    try:
        key.verify(signature, data, _ALGORITHM)
    except InvalidSignature:
        raise IntegrityError(
            f"{subject}: signature does not match the content and the trusted public key "
            "(content edited after signing, or signed by another key).",
            [(subject, "signature does not verify")],
        ) from None
