"""The one loading function: verified manifest in, estimator out, or nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from riskops.config import Workspace
from riskops.errors import InputError, IntegrityError
from riskops.registry.loader import load_model
from riskops.registry.manifest import read_verified_manifest

SRC = Path(__file__).resolve().parents[2] / "src" / "riskops"


def _verified(ws: Workspace):  # type: ignore[no-untyped-def]
    return read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)


def test_loaded_model_predicts_like_the_original(
    workspace: Workspace, model_dir: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    import skops.io as sio

    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    loaded = load_model(_verified(workspace), "fraud", 1)
    original = sio.load(model_dir / "model.skops")
    rows = np.random.default_rng(1).normal(size=(50, 4))
    np.testing.assert_array_equal(loaded.estimator.predict_proba(rows),
                                  original.predict_proba(rows))
    assert loaded.manifest_version == _verified(workspace).manifest.manifest_version
    assert (loaded.model, loaded.version) == ("fraud", 1)


def test_version_without_entrypoint_is_not_loadable(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "card.md").write_text("# model card\n")
    assert cli("models", "register", "fraud", "--from", tmp_path / "reports").code == 0
    with pytest.raises(InputError, match="no model entrypoint"):
        load_model(_verified(workspace), "fraud", 1)


def test_allowlisted_types_load_only_with_the_allowlist(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    import operator

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    src = tmp_path / "custom"
    src.mkdir()
    sio.dump(FunctionTransformer(func=operator.methodcaller("__abs__")), src / "model.skops")
    workspace.config_path.write_text('[registry]\ntrusted_types = ["operator.methodcaller"]\n')
    assert cli("models", "register", "fraud", "--from", src).code == 0
    with pytest.raises(IntegrityError, match=r"operator\.methodcaller"):
        load_model(_verified(workspace), "fraud", 1)
    loaded = load_model(_verified(workspace), "fraud", 1,
                        trusted_types=["operator.methodcaller"])
    assert loaded.estimator.transform(np.array([[-2.0]])).tolist() == [[2.0]]


def test_there_is_exactly_one_place_that_deserialises_models() -> None:
    pattern = re.compile(r"\b(pickle\.loads?|joblib\.load|cloudpickle\.loads?|dill\.loads?|"
                         r"skops\.io import[^\n]*\bloads?\b|sio\.loads?)\b")
    offenders = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text())
    }
    assert offenders == {"registry/loader.py"}


def test_other_artifacts_are_read_through_the_same_checks(
    workspace: Workspace, model_dir: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    (model_dir / "notes.txt").write_text("reviewed\n")
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0

    loaded = load_model(_verified(workspace), "fraud", 1, read=["notes.txt"])
    assert loaded.files == {"notes.txt": b"reviewed\n"}
    assert load_model(_verified(workspace), "fraud", 1).files == {}
    with pytest.raises(InputError, match=r"^fraud v1 has no golden\.parquet\.$"):
        load_model(_verified(workspace), "fraud", 1, read=["golden.parquet"])

    stored = workspace.store_dir / "models/fraud/1/notes.txt"
    os.chmod(stored, 0o644)
    stored.write_text("edited\n")
    with pytest.raises(IntegrityError, match=r"^fraud v1 failed verification; not checked: "
                                             r"models/fraud/1/notes\.txt: "):
        load_model(_verified(workspace), "fraud", 1, read=["notes.txt"], action="checked")


def test_read_artifact_returns_one_verified_file_without_a_model(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    from riskops.registry.loader import read_artifact

    folder = tmp_path / "only-reports"
    folder.mkdir()
    (folder / "reference-profile.json").write_bytes(b'{"format": "x"}\n')
    assert cli("models", "register", "fraud", "--from", folder).code == 0
    verified = _verified(workspace)

    assert read_artifact(verified, "fraud", 1, "reference-profile.json") == b'{"format": "x"}\n'
    with pytest.raises(InputError, match=re.escape("fraud v1 has no evaluation-report.json")):
        read_artifact(verified, "fraud", 1, "evaluation-report.json")

    stored = workspace.store_dir / "models/fraud/1/reference-profile.json"
    os.chmod(stored, 0o644)
    stored.write_bytes(b'{"format": "y"}\n')
    with pytest.raises(IntegrityError, match=re.escape(
            "models/fraud/1/reference-profile.json: sha256 mismatch")):
        read_artifact(verified, "fraud", 1, "reference-profile.json", action="used for skew")
    stored.unlink()
    with pytest.raises(IntegrityError,
                       match=re.escape("reference-profile.json: missing; not read")):
        read_artifact(verified, "fraud", 1, "reference-profile.json")
