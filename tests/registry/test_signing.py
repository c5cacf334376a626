"""Detached ECDSA P-256 signatures, checked against the openssl command line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from riskops.errors import InputError, IntegrityError
from riskops.registry.signing import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_bytes,
    verify_bytes,
)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    generate_key_pair(tmp_path / "signing.pem", tmp_path / "public.pem")
    return tmp_path / "signing.pem", tmp_path / "public.pem"


def test_private_key_is_owner_only(keys: tuple[Path, Path]) -> None:
    assert keys[0].stat().st_mode & 0o777 == 0o600


def test_round_trip(keys: tuple[Path, Path]) -> None:
    signature = sign_bytes(load_private_key(keys[0]), b"manifest bytes")
    verify_bytes(load_public_key(keys[1]), b"manifest bytes", signature, subject="m")


def test_one_changed_byte_fails(keys: tuple[Path, Path]) -> None:
    signature = sign_bytes(load_private_key(keys[0]), b"manifest bytes")
    with pytest.raises(IntegrityError, match="m: signature does not match"):
        verify_bytes(load_public_key(keys[1]), b"manifest bytez", signature, subject="m")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_verifies_our_signature(keys: tuple[Path, Path], tmp_path: Path) -> None:
    data = tmp_path / "manifest.json"
    data.write_bytes(b'{"manifest_version": 1}\n')
    (tmp_path / "manifest.json.sig").write_bytes(sign_bytes(load_private_key(keys[0]),
                                                            data.read_bytes()))
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(keys[1]), "-signature",
         str(tmp_path / "manifest.json.sig"), str(data)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0 and "Verified OK" in result.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_we_verify_an_openssl_signature(keys: tuple[Path, Path], tmp_path: Path) -> None:
    data = tmp_path / "blob"
    data.write_bytes(b"signed by openssl")
    subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(keys[0]), "-out", str(tmp_path / "sig"),
         str(data)], check=True,
    )
    verify_bytes(load_public_key(keys[1]), data.read_bytes(), (tmp_path / "sig").read_bytes(),
                 subject="blob")


def test_encrypted_or_garbage_private_key_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(InputError, match="not a usable PEM private key"):
        load_private_key(tmp_path / "k.pem")
    with pytest.raises(InputError, match="missing"):
        load_private_key(tmp_path / "absent.pem")


def test_p384_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(IntegrityError, match="not an ECDSA P-256 key"):
        load_public_key(tmp_path / "pub.pem")
