"""`riskops models register`: what is stored, and every bad source folder refused
with one clear line, exit 2, and nothing changed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import admin_token, make_model_dir
from riskops.config import Workspace


def _state(ws: Workspace) -> tuple[bytes, list[str]]:
    """What must not change after a refused registration: manifest and store contents."""
    files = sorted(
        p.relative_to(ws.store_dir).as_posix()
        for p in ws.store_dir.rglob("*") if p.is_file() and "incoming" not in p.parts
    )
    return ws.manifest_path.read_bytes(), files


def _refused(cli, ws: Workspace, *args, needle: str) -> str:  # type: ignore[no-untyped-def]
    before = _state(ws)
    result = cli("models", "register", *args)
    assert result.code == 2, result.out + result.err
    assert needle in result.err, result.err
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert _state(ws) == before
    assert not any((ws.store_dir / "incoming").glob("*"))
    return result.err


def test_register_stores_each_file_by_digest(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("models", "register", "fraud", "--from", model_dir, "--metrics",
                 '{"roc_auc": 0.91}', "--params", '{"C": 1.0}', "--run-id", "run-7", "--json")
    assert result.code == 0, result.err
    info = result.json()
    assert info["version"] == 1 and info["entrypoint"] == "model.skops"
    by_path = {a["path"]: a for a in info["artifacts"]}
    for name in ("model.skops", "evaluation-report.json"):
        data = (model_dir / name).read_bytes()
        entry = by_path[f"models/fraud/1/{name}"]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
        blob = workspace.store_dir / "blobs/sha256" / entry["sha256"][:2] / entry["sha256"]
        assert blob.read_bytes() == data
    assert "models/fraud/1/model.sig" in by_path
    shown = cli("models", "show", "fraud", "--json").json()
    version = shown["versions"][0]
    assert version["metrics"] == {"roc_auc": 0.91} and version["params"] == {"C": 1.0}
    assert version["training_run_id"] == "run-7" and version["author"].startswith("local:")
    assert version["created_at"].endswith("+00:00")
    assert shown["stages"]["production"] is None  # registered, not live


def test_versions_count_up_and_identical_content_is_stored_once(
    workspace: Workspace, model_dir: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    for expected in (1, 2, 3):
        assert cli("models", "register", "fraud", "--from", model_dir, "--json").json()[
            "version"] == expected
    blobs = [p for p in (workspace.store_dir / "blobs/sha256").rglob("*") if p.is_file()]
    assert len(blobs) == 2  # the two source files, shared by all three versions
    listed = cli("models", "list", "--json").json()
    assert listed == [{"model": "fraud", "production": None, "staging": None, "canary": None,
                       "canary_percent": None, "versions": [1, 2, 3], "latest": 3}]


def test_nested_folders_keep_their_layout(workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    src = make_model_dir(tmp_path / "nested", extra={"reports/drift/baseline.json": b"{}"})
    info = cli("models", "register", "fraud", "--from", src, "--json").json()
    assert "models/fraud/1/reports/drift/baseline.json" in {a["path"] for a in info["artifacts"]}
    assert cli("verify").code == 0


def test_missing_folder(workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, "fraud", "--from", tmp_path / "nope", needle="does not exist")


def test_empty_folder(workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    _refused(cli, workspace, "fraud", "--from", tmp_path / "empty", needle="folder is empty")


def test_a_file_instead_of_a_folder(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, "fraud", "--from", model_dir / "model.skops", needle="not a folder")


def test_symlink_inside_the_source(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (model_dir / "passwd").symlink_to("/etc/passwd")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="passwd is a symbolic link")


@pytest.mark.parametrize("name", ["model.pkl", "weights.joblib", "x.PICKLE"])
def test_raw_pickle_is_refused(workspace: Workspace, model_dir: Path, cli, name) -> None:  # type: ignore[no-untyped-def]
    (model_dir / name).write_bytes(b"\x80\x04K\x01.")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="raw pickle")


def test_reserved_signature_name(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (model_dir / "model.sig").write_text("{}")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="reserved")


def test_skops_with_untrusted_types(workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    src = tmp_path / "hostile"
    src.mkdir()
    sio.dump(FunctionTransformer(func=eval), src / "model.skops")
    err = _refused(cli, workspace, "fraud", "--from", src, needle="builtins.eval")
    assert "trusted_types" in err


def test_skops_file_that_is_not_skops(workspace: Workspace, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "fake"
    src.mkdir()
    (src / "model.skops").write_bytes(os.urandom(256))
    _refused(cli, workspace, "fraud", "--from", src, needle="not a readable skops file")


def test_several_entrypoints_need_a_choice(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (model_dir / "other.skops").write_bytes((model_dir / "model.skops").read_bytes())
    (model_dir / "model.skops").rename(model_dir / "first.skops")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="--entrypoint")
    result = cli("models", "register", "fraud", "--from", model_dir, "--entrypoint",
                 "other.skops", "--json")
    assert result.code == 0 and result.json()["entrypoint"] == "other.skops"
    _refused(cli, workspace, "fraud", "--from", model_dir, "--entrypoint", "absent.skops",
             needle="not a file")


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--metrics", "{not json", "--metrics is not valid JSON"),
        ("--metrics", "[1, 2]", "--metrics must be a JSON object"),
        ("--params", "nan", "--params"),
    ],
)
def test_malformed_json_options(workspace, model_dir, cli, option, value, needle) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, "fraud", "--from", model_dir, option, value, needle=needle)


@pytest.mark.parametrize(
    "name", ["../etc", "Fraud", "a/b", "", "x" * 65, "_lead", ".hidden", "fraud\n"]
)
def test_hostile_model_names(workspace: Workspace, model_dir: Path, cli, name: str) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, name, "--from", model_dir, needle="model name")


def test_oversized_source(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    workspace.config_path.write_text("[registry]\nmax_artifact_bytes = 1000\n")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="max_artifact_bytes")


def test_unknown_model_and_version_in_views(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    for args, needle in [
        (("models", "show", "tax"), "'tax' is not registered"),
        (("models", "history", "tax"), "'tax' is not registered"),
        (("promote", "fraud", "9"), "fraud has no version 9"),
        (("verify", "fraud", "9"), "fraud v9 is not in manifest"),
        (("verify", "tax"), "'tax' is not in manifest"),
        (("promote", "fraud", "1", "--stage", "canary"), "--stage canary needs --percent N"),
        (("promote", "fraud", "1", "--stage", "canary", "--percent", "101"),
         "--percent 101 is out of range 1-100"),
        (("promote", "fraud", "1", "--stage", "qa"), "--stage 'qa' is not one of"),
        (("rollback", "fraud"), "no production version"),
        (("promote", "fraud", "x"), "Invalid value"),
    ]:
        result = cli(*args, token=admin_token())
        assert result.code == 2, (args, result.err)
        assert needle in result.err, (args, result.err)
        assert "Traceback" not in result.err


def test_json_views_are_machine_readable(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    history = cli("models", "history", "fraud", "--json").json()
    assert [(h["action"], h["from"], h["to"]) for h in history] == [("promote", None, 1)]
    assert json.loads(workspace.manifest_path.read_text())["models"]["fraud"]["history"] == [1]


@pytest.mark.parametrize(
    ("name", "needle"),
    [("a\\b.txt", "POSIX path"), ("line\nbreak.txt", "control character"),
     ("tab\there.json", "control character")],
    ids=["backslash", "newline", "tab"],
)
def test_file_names_no_manifest_reader_accepts(
    workspace: Workspace, model_dir: Path, cli, name: str, needle: str  # type: ignore[no-untyped-def]
) -> None:
    (model_dir / name).write_text("x")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle=needle)


def test_non_utf8_file_name(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    with open(os.path.join(os.fsencode(model_dir), b"caf\xe9.txt"), "wb") as fh:
        fh.write(b"x")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="not valid UTF-8")


def test_fifo_in_the_source(workspace: Workspace, model_dir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(model_dir / "pipe")
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="pipe is not a regular file")


def test_source_inside_the_workspace(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, "leak", "--from", workspace.keys_dir, needle="inside the workspace")


def test_file_swapped_for_a_link_after_the_scan_is_not_followed(
    workspace: Workspace, model_dir: Path, cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    from riskops.registry import store

    secret = tmp_path / "secret.txt"
    secret.write_text("root:*:20228:0:99999:7:::\n")
    original = store.scan_source

    def scan_then_swap(source: Path, *, max_bytes: int) -> list[Path]:
        files = original(source, max_bytes=max_bytes)
        report = source / "evaluation-report.json"
        report.unlink()
        report.symlink_to(secret)
        return files

    monkeypatch.setattr(store, "scan_source", scan_then_swap)
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="cannot open")
    assert not list(workspace.store_dir.rglob("evaluation-report.json"))


def test_file_grown_after_the_scan_hits_the_limit(
    workspace: Workspace, model_dir: Path, cli, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from riskops.registry import store

    limit = sum(p.stat().st_size for p in model_dir.iterdir()) + 10
    workspace.config_path.write_text(f"[registry]\nmax_artifact_bytes = {limit}\n")
    original = store.scan_source

    def scan_then_grow(source: Path, *, max_bytes: int) -> list[Path]:
        files = original(source, max_bytes=max_bytes)
        with open(source / "evaluation-report.json", "ab") as fh:
            fh.write(b" " * 5000)
        return files

    monkeypatch.setattr(store, "scan_source", scan_then_grow)
    _refused(cli, workspace, "fraud", "--from", model_dir, needle="grew past")


@pytest.mark.parametrize("value", ['{"auc": NaN}', '{"auc": Infinity}', '{"auc": -Infinity}'])
def test_non_finite_metrics_are_refused(workspace, model_dir, cli, value) -> None:  # type: ignore[no-untyped-def]
    _refused(cli, workspace, "fraud", "--from", model_dir, "--metrics", value,
             needle="is not a JSON number")


def test_unwritable_report_path(workspace: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for target in (tmp_path / "missing-dir" / "x.json", tmp_path):
        result = cli("verify", "--json-out", target)
        assert result.code == 2 and "cannot write the report" in result.err, result.err


def test_key_paths_that_are_folders(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    workspace.public_key_path.unlink()
    workspace.public_key_path.mkdir()
    result = cli("verify")
    assert result.code == 1 and "cannot be read: Is a directory" in result.err
