"""The model-monitoring job end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from monitoring_helpers import (
    NOW,
    generated,
    in_window,
    insert_outcomes,
    insert_overrides,
    insert_predictions,
    outbox,
    prediction_rows,
)
from prometheus_client import REGISTRY
from sklearn.metrics import brier_score_loss

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.monitoring.job import last_results, last_run_path, run_model_monitoring

DRIFTED = ("amount", "distance_from_home_km")
META = {"now": NOW.isoformat()}
#: An alert fires on the first breach: for tests of what one run finds.
AT_ONCE = {**META, "consecutive": 1}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest) -> Workspace:
    name = "workspace" if request.param == "sqlite" else "pg_workspace"
    return request.getfixturevalue(name)


def _by(results, check, feature=None, segment=None):
    return [r for r in results if r["check"] == check
            and (feature is None or r.get("feature") == feature)
            and r.get("segment") == segment]


def test_covariate_drift_is_detected_and_emitted(ws: Workspace):
    insert_predictions(ws, prediction_rows(generated(drift_features=DRIFTED)))

    summary = run_model_monitoring(ws, AT_ONCE)

    drifted = {r["feature"] for r in _by(summary["results"], "data_drift") if r["drift"]}
    assert drifted == set(DRIFTED)
    amount = _by(summary["results"], "data_drift", "amount")[0]
    assert amount["psi"] > 0.25 and amount["verdict"] == "alert"
    assert amount["ks_pvalue"] < 1e-6 and amount["z_score_alert"]
    events = outbox(ws, "ml.model.drift.detected")
    assert [e["id"] for e in events] == summary["events"]
    assert {e["data"]["feature"] for e in events} == set(DRIFTED)
    data = next(e["data"] for e in events if e["data"]["feature"] == "amount")
    assert data == {"modelId": "fraud", "tenantId": "acme", "scenario": "fraud",
                    "check": "data_drift", "feature": "amount", "metric": "psi",
                    "value": amount["psi"], "threshold": 0.2,
                    "delta": pytest.approx(amount["psi"] - 0.2), "consecutive": 1}
    assert amount["alert"] == "firing" and amount["consecutive"] == 1
    assert events[0]["subject"] == "fraud/acme"
    assert events[0]["source"] == "/riskops/monitoring"
    assert summary["driftChecked"] == 1 + 9  # score + nine fraud features
    assert summary["performanceChecked"] == 1


def test_no_drift_means_no_event(ws: Workspace):
    insert_predictions(ws, prediction_rows(generated(seed=4)))

    summary = run_model_monitoring(ws, META)

    checks = _by(summary["results"], "data_drift") + _by(summary["results"], "prediction_drift")
    assert len(checks) == 10
    assert all(r["status"] == "checked" and not r["drift"] for r in checks)
    assert max(r["psi"] for r in checks) < 0.1
    assert summary["events"] == [] and outbox(ws) == []


def test_fewer_than_30_rows_skips_and_says_so(ws: Workspace):
    frame = generated(rows=3000)
    reference = in_window(frame, 60, 30)
    current = in_window(frame, 7, 0).head(20)
    insert_predictions(ws, prediction_rows(reference) + prediction_rows(current))

    summary = run_model_monitoring(ws, META)

    [drift] = _by(summary["results"], "drift")
    assert drift["status"] == "skipped"
    assert drift["reason"] == ("current window has 20 predictions, fewer than the 30 a drift "
                               "check needs")
    [perf] = _by(summary["results"], "performance")
    assert perf["status"] == "skipped" and "fewer than the 30" in perf["reason"]
    assert summary["driftChecked"] == summary["performanceChecked"] == 0
    assert outbox(ws) == []


def test_outcomes_give_brier_and_mae_and_flag_bad_scores(ws: Workspace):
    frame = generated(rows=3000, seed=2)
    y = (frame["label"].astype(str) == "1").to_numpy()
    bad_scores = np.where(y, 0.1, 0.6)  # confidently wrong on frauds, mediocre elsewhere
    rows = prediction_rows(frame, scores=bad_scores)
    insert_predictions(ws, rows)
    current_ids = set(in_window(frame.assign(pid=[r["id"] for r in rows]), 7, 0)["pid"])
    labels = {r["id"]: str(int(flag)) for r, flag in zip(rows, y, strict=True)
              if r["id"] in current_ids}
    insert_outcomes(ws, labels)

    summary = run_model_monitoring(ws, AT_ONCE)

    [perf] = _by(summary["results"], "performance")
    assert perf["mode"] == "labelled" and perf["labelled_rows"] == len(labels)
    assert perf["alerts"] == {"brier": {"alert": "firing", "consecutive": 1},
                              "mae": {"alert": "firing", "consecutive": 1}}
    chosen = [r for r in rows if r["id"] in labels]
    truth = [int(labels[r["id"]]) for r in chosen]
    scores = [r["score"] for r in chosen]
    assert perf["metrics"]["brier"] == pytest.approx(brier_score_loss(truth, scores))
    assert perf["metrics"]["mae"] == pytest.approx(np.mean(np.abs(np.array(truth) - scores)))
    assert {d["metric"] for d in perf["degraded"]} == {"brier", "mae"}
    events = outbox(ws, "ml.model.performance.degraded")
    assert {e["data"]["metric"] for e in events} == {"brier", "mae"}
    brier = next(e["data"] for e in events if e["data"]["metric"] == "brier")
    assert brier["value"] == pytest.approx(perf["metrics"]["brier"])
    assert brier["threshold"] == 0.2 and brier["modelId"] == "fraud"


def test_good_scores_with_outcomes_are_not_degraded(workspace: Workspace):
    frame = generated(rows=3000, seed=3)
    y = (frame["label"].astype(str) == "1").to_numpy()
    rows = prediction_rows(frame, scores=np.where(y, 0.8, 0.05))
    insert_predictions(workspace, rows)
    insert_outcomes(workspace, {r["id"]: str(int(f)) for r, f in zip(rows, y, strict=True)})

    summary = run_model_monitoring(workspace, META)

    [perf] = _by(summary["results"], "performance")
    assert perf["mode"] == "labelled" and perf["degraded"] == []
    assert outbox(workspace, "ml.model.performance.degraded") == []


def test_newest_outcome_wins(workspace: Workspace):
    frame = in_window(generated(rows=3000, seed=5), 7, 0).head(40)
    rows = prediction_rows(frame, scores=np.full(len(frame), 0.9))
    insert_predictions(workspace, rows)
    insert_outcomes(workspace, {r["id"]: "0" for r in rows}, at=NOW)
    insert_outcomes(workspace, {r["id"]: "1" for r in rows}, at=NOW + timedelta(hours=1))

    summary = run_model_monitoring(workspace, META)

    [perf] = _by(summary["results"], "performance")
    assert perf["metrics"]["positive_rate"] == 1.0
    assert perf["metrics"]["brier"] == pytest.approx(0.01)


def test_without_outcomes_performance_is_estimated_with_proxies(workspace: Workspace):
    frame = generated(rows=3000, seed=6)
    rows = prediction_rows(frame, scores=np.full(len(frame), 0.1))
    insert_predictions(workspace, rows)
    current = [r["id"] for r in rows if r["created_at"] >= NOW - timedelta(days=7)]
    insert_overrides(workspace, current[:10])
    reference_ids = set(in_window(frame.assign(pid=[r["id"] for r in rows]), 60, 30)["pid"])
    insert_outcomes(workspace, {pid: "1" if i % 5 == 0 else "0"
                                for i, pid in enumerate(sorted(reference_ids))})

    summary = run_model_monitoring(workspace, META)

    [perf] = _by(summary["results"], "performance")
    assert perf["mode"] == "estimated"
    assert "fewer than 30: performance estimated from the scores (CBPE)" in perf["reason"]
    assert perf["calibration"].startswith("isotonic, fitted on")
    # every score is 0.1, calibrated to the reference positive rate of 20%
    assert perf["metrics"]["positive_rate"] == pytest.approx(0.2, abs=0.01)
    assert perf["proxies"]["override_rate"] == pytest.approx(10 / len(current))
    assert perf["proxies"]["label_mix"] == {"0": 1.0}


def test_heuristic_predictions_are_a_model_of_their_own(workspace: Workspace):
    frame = generated(rows=3000, seed=7)
    insert_predictions(workspace, prediction_rows(frame, model_name=None, method="heuristic"))

    summary = run_model_monitoring(workspace, META)

    assert {r["modelId"] for r in summary["results"]} == {"fraud-heuristic"}
    [perf] = _by(summary["results"], "performance")
    assert perf["degraded"] == [] and "never alerted on" in perf["note"]


def test_tenant_filter_checks_only_that_tenant(workspace: Workspace):
    insert_predictions(workspace, prediction_rows(generated(rows=6000, tenants=2)))

    summary = run_model_monitoring(workspace, {**META, "tenantIds": ["globex"]})

    assert {r["tenantId"] for r in summary["results"]} == {"globex"}
    assert summary["tenantIds"] == ["globex"]


def test_segments_in_inputs_get_prediction_drift_per_value(workspace: Workspace):
    frame = generated(rows=8000, seed=8)
    insert_predictions(workspace, prediction_rows(frame, segments=True))

    summary = run_model_monitoring(workspace, {**META, "segmentMinSamples": 100})

    segments = [r for r in summary["results"] if r.get("segment")]
    assert {r["segment"] for r in segments} >= {"region=europe", "size_band=small"}
    small = [r for r in segments if r["status"] == "skipped"]
    assert all("fewer than the 100" in r["reason"] for r in small)


def test_gauges_hold_the_latest_psi_and_z_score(workspace: Workspace):
    insert_predictions(workspace, prediction_rows(generated(drift_features=DRIFTED)))
    before = REGISTRY.get_sample_value("ml_drift_detections_total") or 0.0

    summary = run_model_monitoring(workspace, META)

    amount = _by(summary["results"], "data_drift", "amount")[0]
    labels = {"model": "fraud", "feature": "amount"}
    assert REGISTRY.get_sample_value("last_data_drift_psi", labels) == amount["psi"]
    assert REGISTRY.get_sample_value("ml_feature_drift_score", labels) == amount["z_score"]
    assert REGISTRY.get_sample_value("ml_drift_detections_total") == before + 2


def test_last_results_reads_the_persisted_run(workspace: Workspace):
    assert last_results(workspace) is None
    insert_predictions(workspace, prediction_rows(generated(rows=2000)))

    summary = run_model_monitoring(workspace, META)

    assert last_results(workspace) == json.loads(json.dumps(summary))
    assert list(last_run_path(workspace).parent.iterdir()) == [last_run_path(workspace)]


def test_corrupt_last_run_names_the_file_and_the_fix(workspace: Workspace):
    last_run_path(workspace).parent.mkdir(parents=True)
    last_run_path(workspace).write_text("{not json")
    with pytest.raises(InputError, match=r"last-run.json is not valid JSON .*riskops monitor run"):
        last_results(workspace)


@pytest.mark.parametrize(("metadata", "message"), [
    ({"now": "yesterday"}, "now has value 'yesterday', which is not an ISO 8601 time"),
    ({"tenantIds": "acme"}, "tenantIds must be a list of non-empty strings"),
    ({"currentDays": 0}, "currentDays must be a positive number, got 0"),
    ({"referenceFromDays": 20}, r"referenceFromDays \(20\) must be larger than referenceToDays"),
    ({"minSamples": 2.5}, "minSamples must be a positive integer, got 2.5"),
])
def test_bad_metadata_names_the_key(workspace: Workspace, metadata, message):
    with pytest.raises(InputError, match=message):
        run_model_monitoring(workspace, metadata)


@pytest.mark.parametrize("value", [0, 101, 2.5, "3", True])
def test_bad_consecutive_names_the_key_and_the_range(workspace: Workspace, value):
    with pytest.raises(InputError, match=r"^consecutive must be an integer from 1 to 100, got "
                                         r".*e\.g\. \{\"consecutive\": 3\}\.$"):
        run_model_monitoring(workspace, {"consecutive": value})
