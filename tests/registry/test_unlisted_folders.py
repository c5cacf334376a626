"""`riskops verify` of the whole store flags what sits in ``models/`` without being listed
in the signed manifest: a version folder, a model folder's files, links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.registry.integrity import Failure, unlisted_version_folders

FOLDER = "unlisted version folder (not in the signed manifest)"


def _tree(root: Path, *paths: str) -> Path:
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
    return root


def test_only_the_listed_version_folders_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, "models/fraud/1/model.skops", "models/fraud/2/model.skops",
                 "models/fraud/99/", "models/evil/1/model.skops", "models/evil/notes.txt",
                 "models/README", "models/fraud/01/", "blobs/sha256/ab/abcd",
                 "incoming/0f3a/model.skops")
    (root / "models/link").symlink_to(root / "models/fraud")
    (root / "models/fraud/3").symlink_to(root / "models/fraud/1")
    assert unlisted_version_folders(root, [("fraud", 1), ("fraud", 2)]) == [
        Failure("models/README", "unlisted file (not in the signed manifest)"),
        Failure("models/evil/1", FOLDER),
        Failure("models/evil/notes.txt", "unlisted file (not in the signed manifest)"),
        Failure("models/fraud/01", FOLDER),
        Failure("models/fraud/3", "unlisted symbolic link (not in the signed manifest)"),
        Failure("models/fraud/99", FOLDER),
        Failure("models/link", "unlisted symbolic link (not in the signed manifest)"),
    ]


def test_an_empty_model_folder_or_store_is_not_flagged(tmp_path: Path) -> None:
    # A registration of a new model that failed before its commit leaves models/<name>/.
    assert unlisted_version_folders(_tree(tmp_path, "models/claims/"), []) == []
    assert unlisted_version_folders(tmp_path / "nowhere", []) == []


def test_names_are_shown_escaped(tmp_path: Path) -> None:
    root = _tree(tmp_path, "models/fraud/1\nok: all good/")
    assert unlisted_version_folders(root, []) == [Failure("models/fraud/1\\nok: all good",
                                                          FOLDER)]


@pytest.fixture
def registered(workspace: Workspace, model_dir: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    return workspace


def test_verify_names_unlisted_version_folders(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    store = registered.store_dir
    assert cli("verify").code == 0
    _tree(store, "models/evil/1/model.skops", "models/fraud/99/model.skops")
    result = cli("verify")
    assert result.code == 1
    assert f"FAIL models/evil/1: {FOLDER}" in result.err
    assert f"FAIL models/fraud/99: {FOLDER}" in result.err
    report = cli("verify", "--json").json()
    assert report["status"] == "fail"
    assert [f["path"] for f in report["failures"]] == ["models/evil/1", "models/fraud/99"]
    assert cli("verify", "fraud").code == 0  # a scoped check looks at fraud's versions only


def test_verify_passes_a_clean_store_with_blobs_and_staging(registered: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    store = registered.store_dir
    assert any((store / "blobs").rglob("*"))
    (store / "incoming" / "0f3a").mkdir(parents=True)  # a registration being staged
    (store / "models" / "claims").mkdir()  # left by a registration that failed
    result = cli("verify", "--json")
    assert result.code == 0, result.out
    assert json.loads(result.out)["failures"] == []
