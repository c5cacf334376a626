"""Each version folder carries an OpenSSF model-signing bundle that the standard
`model_signing` CLI accepts untouched and rejects once tampered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.registry import ossf


def _model_signing_cli(ws: Workspace, folder: Path) -> subprocess.CompletedProcess[str]:
    """The upstream tool, exactly as a third party would run it."""
    return subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", str(folder),
         "--signature", str(folder / "model.sig"),
         "--public_key", str(ws.public_key_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def folder(workspace: Workspace, model_dir: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    return workspace.store_dir / "models/fraud/1"


def test_bundle_is_an_in_toto_statement_of_every_file(folder: Path) -> None:
    import base64

    bundle = json.loads((folder / "model.sig").read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    names = {r["name"] for r in statement["predicate"]["resources"]}
    assert names == {"model.skops", "evaluation-report.json"}


def test_model_signing_cli_accepts_an_untouched_version(workspace: Workspace, folder: Path) -> None:
    result = _model_signing_cli(workspace, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    ossf.verify_folder(folder, workspace.public_key_path)


def test_model_signing_cli_rejects_a_tampered_version(workspace: Workspace, folder: Path) -> None:
    target = folder / "evaluation-report.json"
    os.chmod(target, 0o644)
    target.write_text('{"roc_auc": 0.99}')
    result = _model_signing_cli(workspace, folder)
    assert result.returncode != 0
    assert "evaluation-report.json" in result.stdout + result.stderr
    with pytest.raises(IntegrityError, match="OpenSSF signature check failed"):
        ossf.verify_folder(folder, workspace.public_key_path)


def test_model_signing_cli_rejects_an_added_file(workspace: Workspace, folder: Path) -> None:
    (folder / "extra.py").write_text("print('hi')\n")
    assert _model_signing_cli(workspace, folder).returncode != 0


def test_bundle_from_another_key_is_rejected(
    workspace: Workspace, folder: Path, tmp_path: Path
) -> None:
    from riskops.registry.signing import generate_key_pair

    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    ossf.sign_folder(folder, tmp_path / "other.pem")
    with pytest.raises(IntegrityError):
        ossf.verify_folder(folder, workspace.public_key_path)


def test_missing_bundle_is_named(workspace: Workspace, folder: Path) -> None:
    (folder / "model.sig").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        ossf.verify_folder(folder, workspace.public_key_path, name="models/fraud/1")


def test_model_signing_cli_accepts_a_version_re_signed_by_key_rotation(
    workspace: Workspace, folder: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    old_public = workspace.public_key_path.read_bytes()
    assert cli("init", "--force").code == 0
    assert workspace.public_key_path.read_bytes() != old_public
    result = _model_signing_cli(workspace, folder)
    assert result.returncode == 0, result.stdout + result.stderr
