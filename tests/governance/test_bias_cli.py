"""``riskops audit bias``: a vendor's scored file, refusals, and a registered version's
audit stored with its audit-log entry and alert."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import false_positive_rate_difference
from sklearn.metrics import brier_score_loss
from sqlalchemy import select

from riskops.config import Workspace
from riskops.governance.bias_audit import latest_version_audit
from riskops.governance.digests import artifacts_digest
from riskops.storage import db, repository
from riskops.storage.tables import BiasAuditRow, OutboxEventRow

FILE_ARGS = ("--score-col", "risk", "--label-col", "outcome", "--sensitive", "segment")


def vendor_frame(rows: int = 3_000, *, seed: int = 5) -> pd.DataFrame:
    """A vendor's scores, made outside riskops: group "B"'s legitimate cases score higher,
    so B's false positive rate is well above A's at 0.5."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(np.array(["A", "B"]), size=rows)
    outcome = (rng.random(rows) < 0.2).astype(int)
    lift = np.where((segment == "B") & (outcome == 0), 0.25, 0.0)
    risk = np.clip(rng.normal(0.25 + 0.45 * outcome + lift, 0.12), 0.0, 1.0)
    return pd.DataFrame({"case": np.arange(rows), "risk": risk.round(6), "outcome": outcome,
                         "segment": segment})


@pytest.fixture
def vendor_csv(tmp_path: Path) -> Path:
    path = tmp_path / "vendor.csv"
    vendor_frame().to_csv(path, index=False)
    return path


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return lines[0]


# -- a scored file ----------------------------------------------------------------------


def test_vendor_file_fpr_gap_matches_fairlearn_and_fails(
    vendor_csv: Path, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "bias-report.json"
    result = cli("audit", "bias", "--data", vendor_csv, *FILE_ARGS, "--json-out", out)

    assert result.code == 1, result.err
    report = json.loads(out.read_text())
    frame = pd.read_csv(vendor_csv)
    expected = false_positive_rate_difference(frame["outcome"], frame["risk"] >= 0.5,
                                              sensitive_features=frame["segment"])
    assert expected > 0.2
    assert report["sensitive"]["segment"]["differences"]["fpr_difference"] == pytest.approx(
        expected)
    assert report["status"] == "fail"
    assert report["reasons"][0].startswith("segment: equalized odds difference ")
    assert "(fpr " in report["reasons"][0] and "in 'B' vs " in report["reasons"][0]
    assert report["source"]["rows"] == 3_000
    assert report["source"]["sha256"] == hashlib.sha256(vendor_csv.read_bytes()).hexdigest()
    assert "status: fail" in result.out and "segment:" in result.out


def test_parquet_gives_the_same_report_as_csv(
    vendor_csv: Path, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    parquet = tmp_path / "vendor.parquet"
    vendor_frame().to_parquet(parquet, index=False)
    from_csv = cli("audit", "bias", "--data", vendor_csv, *FILE_ARGS, "--json").json()
    from_parquet = cli("audit", "bias", "--data", parquet, *FILE_ARGS, "--json").json()
    assert from_parquet["sensitive"] == from_csv["sensitive"]
    assert from_parquet["status"] == from_csv["status"] == "fail"


def test_text_labels_with_positive_label_and_threshold(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    frame = vendor_frame()
    frame["outcome"] = np.where(frame["outcome"] == 1, "fraud", "legit")
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    result = cli("audit", "bias", "--data", path, *FILE_ARGS, "--positive-label", "fraud",
                 "--threshold", "0.9", "--json")
    report = result.json()
    assert report["threshold"] == 0.9
    assert report["sensitive"]["segment"]["groups"]["A"]["positives"] == int(
        (frame[frame["segment"] == "A"]["outcome"] == "fraud").sum())


def test_boolean_labels_need_no_positive_label(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    frame = vendor_frame()
    frame["outcome"] = np.where(frame["outcome"] == 1, "True", "False")
    path = tmp_path / "bool.csv"
    frame.to_csv(path, index=False)
    report = cli("audit", "bias", "--data", path, *FILE_ARGS, "--json").json()
    assert report["sensitive"]["segment"]["groups"]["B"]["positives"] == int(
        (frame[frame["segment"] == "B"]["outcome"] == "True").sum())


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("case", "message"), [
    ("missing-file", "--data nothing.csv: no such file."),
    ("missing-column", "missing sensitive column 'segment' (the bias audit needs risk, "
                       "outcome, segment)."),
    ("score-above-one", "score column 'risk' must hold numbers in [0, 1]; 1 row(s) do not "
                        "(first: 1.5 at data row 3)"),
    ("score-text", "score column 'risk' must be numeric"),
    ("labels-not-binary", "label column 'outcome' holds 'no', 'yes', not 0/1 or true/false; "
                          "name the risky outcome with --positive-label VALUE."),
    ("model-and-data", "give either MODEL VERSION (a registered version) or --data FILE"),
    ("empty-file", "the file is empty"),
    ("json-out-folder", "does not exist; create it or write the report elsewhere."),
    ("no-sensitive", "--data needs --sensitive COL"),
    ("neither", "give MODEL VERSION to audit a registered version"),
])
def test_bad_input_is_one_line_and_exit_2(case: str, message: str, tmp_path: Path,
                                          cli) -> None:  # type: ignore[no-untyped-def]
    frame = vendor_frame(20)
    args: list[str | Path] = ["--data", _write(tmp_path / "ok.csv", frame), *FILE_ARGS]
    if case == "missing-file":
        args = ["--data", "nothing.csv", *FILE_ARGS]
    elif case == "missing-column":
        args = ["--data", _write(tmp_path / "c.csv", frame.drop(columns="segment")),
                *FILE_ARGS]
    elif case == "score-above-one":
        frame.loc[2, "risk"] = 1.5
        args = ["--data", _write(tmp_path / "s.csv", frame), *FILE_ARGS]
    elif case == "score-text":
        frame["risk"] = frame["risk"].astype(object)
        frame.loc[4, "risk"] = "high"
        args = ["--data", _write(tmp_path / "t.csv", frame), *FILE_ARGS]
    elif case == "labels-not-binary":
        frame["outcome"] = np.where(frame["outcome"] == 1, "yes", "no")
        args = ["--data", _write(tmp_path / "l.csv", frame), *FILE_ARGS]
    elif case == "model-and-data":
        args = ["fraud", "1", *args]
    elif case == "empty-file":
        (tmp_path / "empty.csv").write_text("")
        args = ["--data", tmp_path / "empty.csv", *FILE_ARGS]
    elif case == "json-out-folder":
        args = [*args, "--json-out", tmp_path / "no" / "such" / "r.json"]
    elif case == "no-sensitive":
        args = args[:-2]
    elif case == "neither":
        args = []
    line = _one_error_line(cli("audit", "bias", *args))
    assert message in line


# -- a registered version -------------------------------------------------------------


@pytest.fixture
def trained(workspace: Workspace, tmp_path: Path, cli) -> Workspace:  # type: ignore[no-untyped-def]
    data = tmp_path / "fraud.csv"
    made = cli("data", "generate", "fraud", "--rows", "3000", "--start", "2024-01-01",
               "--days", "60", "--out", data)
    assert made.code == 0, made.err
    result = cli("train", "fraud", "--data", data, "--json")
    assert result.code == 0, result.err
    return workspace


def _audits(ws: Workspace) -> list[BiasAuditRow]:
    with db.read_session(ws.database_url) as session:
        return list(session.scalars(select(BiasAuditRow)))


def _alerts(ws: Workspace) -> list[dict]:  # type: ignore[type-arg]
    with db.read_session(ws.database_url) as session:
        rows = session.scalars(select(OutboxEventRow)
                               .where(OutboxEventRow.type == "model_bias_alert"))
        return [json.loads(r.envelope) for r in rows]


def test_version_audit_is_stored_logged_and_alerted(
    trained: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "bias-report.json"
    result = cli("audit", "bias", "fraud", "1", "--json-out", out)

    report = json.loads(out.read_text())
    assert result.code == (1 if report["status"] == "fail" else 0)
    assert report["status"] == "fail"  # the small model's segments differ a lot
    assert (report["model"], report["version"], report["source"]) == (
        "fraud", 1, "holdout-rows.parquet")
    assert set(report["sensitive"]) == {"cardholder_age_band", "industry", "region",
                                        "size_band"}
    evaluation = json.loads((trained.store_dir / "models/fraud/1/evaluation-report.json")
                            .read_text())
    assert report["threshold"] == evaluation["threshold"]["value"]
    holdout = pd.read_parquet(trained.store_dir / "models/fraud/1/holdout-rows.parquet")
    assert report["rows"] == len(holdout)
    # the segment section (reported, not judged) holds calibration per value too
    region = report["sensitive"]["region"]
    assert region["judged"] is False and region["calibration"]["n_bins"] == 10
    y = (holdout["label"].astype(str) == "1").to_numpy(dtype=int)
    for value, entry in region["calibration"]["groups"].items():
        rows = (holdout["region"].astype(str) == value).to_numpy()
        assert entry["rows"] == rows.sum()
        if entry["status"] == "checked":
            assert entry["brier"] == pytest.approx(brier_score_loss(y[rows],
                                                                    holdout["_score"][rows]))

    (row,) = _audits(trained)
    assert (row.model_name, row.version, row.status) == ("fraud", 1, "fail")
    assert json.loads(row.report) == report
    with db.read_session(trained.database_url) as session:
        artifacts = [(a.path, a.sha256, a.size)
                     for a in repository.list_artifacts(session, "fraud") if a.version == 1]
        entries = repository.audit_entries(session)
    assert row.artifacts_sha256 == artifacts_digest(artifacts)
    entry = entries[-1]
    assert (entry.action, entry.subject) == ("model.bias_audited", "fraud/1")
    data = json.loads(entry.data)
    assert (data["model"], data["version"], data["status"]) == ("fraud", 1, "fail")
    assert data["reasons"] == report["reasons"]
    assert data["report_sha256"] == hashlib.sha256(row.report.encode()).hexdigest()
    (alert,) = _alerts(trained)
    assert alert["subject"] == "fraud"
    assert alert["data"] == {"modelId": "fraud", "version": 1, "status": "fail",
                             "reasons": report["reasons"]}
    latest = latest_version_audit(trained, "fraud", 1)
    assert latest is not None
    assert (latest["status"], latest["artifacts_sha256"]) == ("fail", row.artifacts_sha256)
    assert latest["actor"].startswith("local:")
    assert cli("audit-log", "verify").code == 0


def test_version_audit_passes_under_lenient_limits(trained: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with trained.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[governance.bias]\nmax_equalized_odds_difference = 1.0\n"
                 "min_demographic_parity_ratio = 0.0\n")
    result = cli("audit", "bias", "fraud", "1", "--json")
    assert result.code == 0, result.err
    assert result.json()["status"] == "pass"
    assert [r.status for r in _audits(trained)] == ["pass"]
    assert _alerts(trained) == []


def test_tampered_holdout_is_an_integrity_error_and_nothing_is_stored(
    trained: Workspace, cli  # type: ignore[no-untyped-def]
) -> None:
    path = trained.store_dir / "models/fraud/1/holdout-rows.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = cli("audit", "bias", "fraud", "1")
    assert result.code == 1
    assert result.err.startswith("error: models/fraud/1/holdout-rows.parquet: ")
    assert "Traceback" not in result.err
    assert _audits(trained) == [] and _alerts(trained) == []
    assert latest_version_audit(trained, "fraud", 1) is None


def test_version_without_holdout_points_at_the_file_audit(
    workspace: Workspace, model_dir: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    assert cli("models", "register", "byo", "--from", model_dir).code == 0
    line = _one_error_line(cli("audit", "bias", "byo", "1"))
    assert "byo v1 has no holdout-rows.parquet" in line
    assert "riskops audit bias --data FILE" in line
    assert _audits(workspace) == []


def test_file_options_are_refused_with_a_version(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    line = _one_error_line(cli("audit", "bias", "fraud", "1", "--threshold", "0.3"))
    assert "--threshold only applies with --data FILE" in line
