"""Every tamper case of the foundation issue, caught through `riskops verify`,
and the loader refusing to execute what fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import admin_token
from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry.loader import load_model
from riskops.registry.manifest import canonical_bytes, read_verified_manifest
from riskops.registry.signing import generate_key_pair, load_private_key, sign_bytes

MODEL = "models/fraud/1/model.skops"
REPORT = "models/fraud/1/evaluation-report.json"


@pytest.fixture
def registered(workspace: Workspace, model_dir: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    assert cli("verify").code == 0
    return workspace


def _verify_fails(cli, *needles: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("verify")
    assert result.code == 1, result.out + result.err
    for needle in needles:
        assert needle in result.err, result.err
    assert "Traceback" not in result.err
    return result.err


def _load(ws: Workspace):  # type: ignore[no-untyped-def]
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    return load_model(verified, "fraud", 1)


def _resign(ws: Workspace, edit) -> None:  # type: ignore[no-untyped-def]
    """Edit the manifest and sign it again with the real key (a compromised publisher)."""
    document = json.loads(ws.manifest_path.read_bytes())
    edit(document)
    body = canonical_bytes(document)
    ws.manifest_path.write_bytes(body)
    ws.signature_path.write_bytes(sign_bytes(load_private_key(ws.private_key_path), body))


def test_untouched_workspace_verifies_and_loads(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("verify", "fraud", "1", "--json-out", "integrity.json")
    assert result.code == 0
    report = json.loads(Path("integrity.json").read_text())
    assert report["status"] == "pass" and report["failures"] == []
    loaded = _load(registered)
    assert loaded.estimator.predict_proba([[0.1, 0.2, 0.3, 0.4]]).shape == (1, 2)


def test_flipped_byte_is_named(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    path = registered.store_dir / MODEL
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    _verify_fails(cli, MODEL, "sha256 mismatch")
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        _load(registered)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "truncated"),
        (lambda p: p.unlink(), "missing"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(p.read_bytes() + b"x"), "grown"),
    ],
    ids=["truncated", "missing", "empty", "grown"],
)
def test_damaged_artifact_is_named(registered: Workspace, cli, mutate, reason) -> None:  # type: ignore[no-untyped-def]
    path = registered.store_dir / REPORT
    os.chmod(path, 0o644)
    mutate(path)
    _verify_fails(cli, REPORT, reason)
    with pytest.raises(IntegrityError, match=reason):
        _load(registered)


def test_extra_unlisted_file_is_reported(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    (registered.store_dir / "models/fraud/1/backdoor.py").write_text("import os\n")
    _verify_fails(cli, "models/fraud/1/backdoor.py", "unlisted")
    with pytest.raises(IntegrityError, match="unlisted"):
        _load(registered)


def test_every_failing_file_is_named_with_json_report(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    (registered.store_dir / REPORT).unlink()
    (registered.store_dir / "models/fraud/1/extra.bin").write_bytes(b"\x00")
    result = cli("verify", "--json-out", "report.json")
    assert result.code == 1
    report = json.loads(Path("report.json").read_text())
    assert report["status"] == "fail"
    assert {f["path"] for f in report["failures"]} == {REPORT, "models/fraud/1/extra.bin"}


def test_manifest_edited_after_signing(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    text = registered.manifest_path.read_text()
    registered.manifest_path.write_text(text.replace('"production": 1', '"production": 2'))
    _verify_fails(cli, "manifest.json", "signature does not verify")
    with pytest.raises(IntegrityError, match="signature does not match"):
        _load(registered)


def test_signature_from_another_key(registered: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    other = load_private_key(tmp_path / "other.pem")
    registered.signature_path.write_bytes(sign_bytes(other, registered.manifest_path.read_bytes()))
    _verify_fails(cli, "signature does not verify")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "missing"), (b"", "empty"), (b"not a DER signature", "malformed signature")],
    ids=["missing", "empty", "malformed"],
)
def test_bad_signature_file(registered: Workspace, cli, content, reason) -> None:  # type: ignore[no-untyped-def]
    if content is None:
        registered.signature_path.unlink()
    else:
        registered.signature_path.write_bytes(content)
    _verify_fails(cli, reason)
    with pytest.raises(IntegrityError):
        _load(registered)


def test_malformed_manifest_json_signed_by_the_real_key(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    body = b'{"schema": "riskops.manifest/v1", "models": {'
    registered.manifest_path.write_bytes(body)
    key = load_private_key(registered.private_key_path)
    registered.signature_path.write_bytes(sign_bytes(key, body))
    _verify_fails(cli, "malformed JSON")


@pytest.mark.parametrize(
    "bad_path", ["../x", "/etc/passwd", "models/fraud/1/../../../../x", "models\\fraud"]
)
def test_artifact_path_outside_the_store_is_refused(registered: Workspace, cli, bad_path) -> None:  # type: ignore[no-untyped-def]
    def edit(doc):  # type: ignore[no-untyped-def]
        doc["models"]["fraud"]["versions"]["1"]["artifacts"][0]["path"] = bad_path

    _resign(registered, edit)
    err = _verify_fails(cli, "manifest.json")
    assert "artifacts" in err


def test_symlink_out_of_the_store(registered: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "evil.json"
    target = registered.store_dir / REPORT
    outside.write_bytes(target.read_bytes())  # same bytes, so only the link gives it away
    target.unlink()
    target.symlink_to(outside)
    _verify_fails(cli, REPORT, "symbolic link to outside the store")
    with pytest.raises(IntegrityError, match="symbolic link"):
        _load(registered)


def test_symlinked_version_folder_is_refused(registered: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = registered.store_dir / "models/fraud/1"
    moved = tmp_path / "moved"
    folder.rename(moved)
    folder.symlink_to(moved, target_is_directory=True)
    _verify_fails(cli, "symbolic link")


@pytest.mark.parametrize(
    "content",
    [b"", b"-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", None, "rsa"],
    ids=["empty", "garbage", "missing", "rsa-key"],
)
def test_bad_public_key(registered: Workspace, cli, content) -> None:  # type: ignore[no-untyped-def]
    if content is None:
        registered.public_key_path.unlink()
    elif content == "rsa":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        registered.public_key_path.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    else:
        registered.public_key_path.write_bytes(content)
    err = _verify_fails(cli, "public.pem")
    assert "key" in err


def test_public_key_of_another_p256_pair(registered: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    generate_key_pair(tmp_path / "k.pem", registered.public_key_path)
    _verify_fails(cli, "which is not a trusted key")
    assert isinstance(load_private_key(tmp_path / "k.pem"), ec.EllipticCurvePrivateKey)


def test_openssf_bundle_tampered_alone(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    sig = registered.store_dir / "models/fraud/1/model.sig"
    os.chmod(sig, 0o644)
    sig.write_bytes(sig.read_bytes().replace(b'"', b"'", 1))
    _verify_fails(cli, "models/fraud/1/model.sig")


def test_version_folder_replaced_by_a_file(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    import shutil

    folder = registered.store_dir / "models/fraud/1"
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    _verify_fails(cli, MODEL, "cannot be opened")


def test_fifo_in_place_of_an_artifact_does_not_hang(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    target = registered.store_dir / REPORT
    target.unlink()
    os.mkfifo(target)
    _verify_fails(cli, REPORT, "not a regular file")
    with pytest.raises(IntegrityError, match="not a regular file"):
        _load(registered)


def test_older_signed_manifest_put_back_is_caught(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    archive = registered.manifest_archive_dir
    older = sorted(archive.glob("manifest-*.json"))[0]
    registered.manifest_path.write_bytes(older.read_bytes())
    registered.signature_path.write_bytes(older.with_name(older.name + ".sig").read_bytes())
    _verify_fails(cli, "manifest.json", "stale: v1 on disk")
