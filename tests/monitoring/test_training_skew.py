"""`monitor run` against the serving version's signed reference profile (training_skew),
and text features measured against the model's vocabulary."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import skops.io as sio
from monitoring_helpers import NOW, generated, insert_predictions, prediction_rows

from riskops.config import Workspace
from riskops.monitoring.job import run_model_monitoring
from riskops.registry.loader import BUILTIN_TRUSTED_TYPES
from riskops.registry.service import Registry
from riskops.scenarios import get_scenario
from riskops.training.pipeline import train_scenario

META = {"now": NOW.isoformat()}
PROFILE = "models/{model}/{version}/reference-profile.json"


def _train(ws: Workspace, tmp_path: Path, scenario: str, rows: int) -> Path:
    """Train on ``rows`` generated rows from a year before NOW; the profile's path."""
    frame = get_scenario(scenario).generate(rows, start=(NOW - timedelta(days=400)).date(),
                                            days=60, seed=5)
    data = tmp_path / f"{scenario}.parquet"
    frame.to_parquet(data, index=False)
    summary = train_scenario(ws, scenario, data, actor="local:test")
    return ws.store_dir / PROFILE.format(model=scenario, version=summary["version"])


def _model_scores(ws: Workspace, scenario: str, frame) -> list[float]:
    model = sio.load(ws.store_dir / f"models/{scenario}/1/model.skops",
                     trusted=list(BUILTIN_TRUSTED_TYPES))
    return get_scenario(scenario).risk_scores(model, frame).tolist()


def _served(ws: Workspace, scenario: str, frame, *, threshold: float = 0.5) -> None:
    rows = prediction_rows(frame, scenario, scores=_model_scores(ws, scenario, frame),
                           model_name=scenario, threshold=threshold)
    insert_predictions(ws, rows)


def _skew(summary, feature=None):
    return [r for r in summary["results"] if r["check"] == "training_skew"
            and (feature is None or r["feature"] == feature)]


@pytest.fixture
def fraud(workspace: Workspace, tmp_path: Path) -> Path:
    return _train(workspace, tmp_path, "fraud", 3000)


def test_training_skew_flags_the_skewed_feature_only(workspace: Workspace, fraud: Path):
    frame = generated(rows=3000, days=8, drift_features=("amount",), drift_days=8)
    _served(workspace, "fraud", frame)

    summary = run_model_monitoring(workspace, META)

    checked = [r for r in _skew(summary) if r["status"] == "checked"]
    features = {r["feature"] for r in checked}
    assert set(get_scenario("fraud").schema.feature_names) | {"score"} == features
    assert {r["feature"] for r in checked if r["drift"] and r["feature"] != "score"} == {"amount"}
    amount = _skew(summary, "amount")[0]
    assert amount["psi"] > 0.25 and amount["verdict"] == "alert"
    assert amount["modelVersion"] == 1
    assert amount["reference"] == "reference-profile.json of fraud v1"
    assert "ks_statistic" not in amount and "need the raw training values" in amount[
        "not_computed"]
    assert summary["skewChecked"] == len(checked)
    assert summary["skewDetected"] == sum(1 for r in checked if r["drift"])
    # no reference window (nothing 30-60 days ago): window drift is skipped, skew is not
    assert all(r["status"] == "skipped" for r in summary["results"] if r["check"] == "drift")


def test_tampered_profile_skips_skew_naming_the_file_and_other_checks_run(
    workspace: Workspace, fraud: Path, cli  # type: ignore[no-untyped-def]
):
    os.chmod(fraud, 0o644)  # the store keeps files read-only
    fraud.write_bytes(fraud.read_bytes().replace(b'"count"', b'"cuont"', 1))
    frame = generated(rows=1500, days=40)
    _served(workspace, "fraud", frame)

    summary = run_model_monitoring(workspace, META)

    [skew] = _skew(summary)
    assert skew["status"] == "skipped" and skew["feature"] is None
    assert skew["reason"].startswith(PROFILE.format(model="fraud", version=1) + ": sha256 "
                                     "mismatch")
    assert "failed verification; skew not checked" in skew["reason"]
    assert any(r["check"] == "data_drift" and r["status"] == "checked"
               for r in summary["results"])
    assert any(r["check"] == "performance" and r["status"] == "checked"
               for r in summary["results"])
    verify = cli("verify", "fraud")
    assert verify.code == 1
    assert "models/fraud/1/reference-profile.json" in verify.out + verify.err


def test_version_trained_before_profiles_is_skipped_saying_so(
    workspace: Workspace, model_dir: Path
):
    Registry(workspace).register("fraud", model_dir, actor="local:test")
    insert_predictions(workspace, prediction_rows(generated(rows=300, days=5)))

    summary = run_model_monitoring(workspace, META)

    [skew] = _skew(summary)
    assert skew["status"] == "skipped" and skew["modelVersion"] == 1
    assert skew["reason"] == ("version 1 has no reference profile (trained before profiles; "
                              "retrain to add one)")


def test_unregistered_model_and_small_versions_are_skipped(workspace: Workspace, fraud: Path):
    rows = prediction_rows(generated(rows=600, days=5))
    for row in rows[:10]:
        row["model_version"] = 2  # a canary with too few rows; not even registered
    insert_predictions(workspace, rows)

    summary = run_model_monitoring(workspace, META)

    by_version = {r["modelVersion"]: r for r in _skew(summary) if r["status"] == "skipped"}
    assert by_version[2]["reason"].startswith("fraud v2 is not in manifest v")
    assert by_version[2]["reason"].endswith("(versions: 1); skew not checked")
    assert any(r["modelVersion"] == 1 and r["status"] == "checked" for r in _skew(summary))


def test_heuristic_predictions_get_no_skew_check(workspace: Workspace):
    rows = prediction_rows(generated(rows=300, days=5), model_name=None, method="heuristic")
    insert_predictions(workspace, rows)
    assert _skew(run_model_monitoring(workspace, META)) == []


# --- text ------------------------------------------------------------------------------------


@pytest.fixture
def incident(workspace: Workspace, tmp_path: Path) -> Path:
    return _train(workspace, tmp_path, "incident", 2500)


def test_incident_profile_has_the_vocabulary_and_top_terms(incident: Path):
    entry = json.loads(incident.read_bytes())["features"]["text"]
    terms = entry["terms"]
    assert len(terms["top_terms"]) == 20 and len(terms["shares"]) == 21
    assert terms["analyzer"]["ngram_range"] == [1, 2]
    assert terms["vocabulary"] == sorted(terms["vocabulary"]) and len(terms["vocabulary"]) > 500
    assert terms["oov_rate"]["mean"] < 0.1  # the model learned these words
    assert entry["length"]["shares"] and entry["terms_reason"] is None


def test_new_words_raise_the_oov_rate_and_are_flagged(workspace: Workspace, incident: Path):
    # 60 days of reports; the last 7 written with new product names and synonyms
    frame = generated("incident", rows=4000, days=60, drift_features=("text",), drift_days=7)
    _served(workspace, "incident", frame, threshold=0.6)

    summary = run_model_monitoring(workspace, META)

    skew = {r["feature"]: r for r in _skew(summary) if r["status"] == "checked"}
    assert skew["text:oov_rate"]["drift"] and skew["text:oov_rate"]["psi"] > 1.0
    assert skew["text:oov_rate"]["current_mean"] > 5 * skew["text:oov_rate"]["reference_mean"]
    assert not skew["source"]["drift"] and not skew["service_tier"]["drift"]
    # the top 20 terms are the reports' boilerplate ("users affected", "help needed"),
    # which the drift keeps: their shares hold; the new words show in the OOV rate
    top = skew["text:top_terms"]
    assert not top["drift"] and len(top["terms"]) == 21
    assert top["terms"]["(other)"]["current"] > top["terms"]["(other)"]["reference"]
    window = {r["feature"]: r for r in summary["results"]
              if r["check"] == "data_drift" and r["status"] == "checked"}
    assert {"text", "text:oov_rate", "text:top_terms"} <= set(window)
    assert window["text:oov_rate"]["drift"] and not window["text"]["drift"]
    assert window["text:oov_rate"]["ks_pvalue"] < 1e-6
    assert window["text:oov_rate"]["measure"] == ("share of a text's terms not in the "
                                                 "model's vocabulary")


def test_unchanged_texts_are_not_flagged(workspace: Workspace, incident: Path):
    _served(workspace, "incident", generated("incident", rows=3000, days=60), threshold=0.6)

    summary = run_model_monitoring(workspace, META)

    flagged = {(r["check"], r["feature"]) for r in summary["results"]
               if r["check"] in ("data_drift", "training_skew") and r.get("drift")}
    assert not {f for f in flagged if f[1] and f[1].startswith("text")}
