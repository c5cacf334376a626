"""``monitor run``: calibration per segment value, and its degraded events with ``segment``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from monitoring_helpers import (
    NOW,
    generated,
    in_window,
    insert_outcomes,
    insert_predictions,
    outbox,
    prediction_rows,
)
from rich.console import Console
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from riskops.cli.monitor import summary_table
from riskops.config import Workspace
from riskops.errors import InputError
from riskops.monitoring.alerting import evaluations
from riskops.monitoring.job import run_model_monitoring
from riskops.monitoring.report import run_report_html
from riskops.monitoring.windows import MonitoringConfig

META = {"now": NOW.isoformat(), "consecutive": 1, "segmentMinSamples": 100}
BAD_REGION = "apac"


def _apac_miscalibrated(ws: Workspace) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Fraud predictions with segments; scores 0.02 or 0.08 everywhere, outcomes drawn
    at the score except in apac, whose outcomes come 0.3 more often (concept drift in
    one region). Outcomes for the current window only."""
    frame = generated(rows=20_000, seed=11)
    rng = np.random.default_rng(11)
    scores = rng.choice([0.02, 0.08], size=len(frame))
    rows = prediction_rows(frame, scores=scores, segments=True)
    insert_predictions(ws, rows)
    frame = frame.assign(pid=[r["id"] for r in rows], score=scores)
    current = in_window(frame, 7, 0)
    truth = current["score"] + np.where(current["region"] == BAD_REGION, 0.3, 0.0)
    y = (rng.uniform(size=len(current)) < truth).astype(int)
    labels = dict(zip(current["pid"], map(str, y), strict=True))
    insert_outcomes(ws, labels)
    return rows, labels


def test_only_the_miscalibrated_region_is_degraded_and_emitted(workspace: Workspace):
    rows, labels = _apac_miscalibrated(workspace)

    summary = run_model_monitoring(workspace, META)

    [perf] = [r for r in summary["results"] if r["check"] == "performance"]
    assert perf["mode"] == "labelled" and perf["degraded"] == []
    section = perf["segment_calibration"]
    assert section["thresholds"] == {"brier": 0.2, "ece": 0.1}
    assert section["min_rows"] == 100 and section["n_bins"] == 10
    by_segment = {e["segment"]: e for e in section["segments"]}
    assert {"region=apac", "region=europe", "industry=retail", "size_band=small"} <= set(
        by_segment)
    degraded = {s: [d["metric"] for d in e["degraded"]] for s, e in by_segment.items()
                if e["degraded"]}
    assert degraded == {"region=apac": ["brier", "ece"]}

    # the numbers are scikit-learn's on the same labelled rows of the region
    apac_ids = [r["id"] for r in rows if r["id"] in labels
                and '"region": "apac"' in r["inputs"]]
    y = np.array([int(labels[i]) for i in apac_ids])
    s = np.array([next(r["score"] for r in rows if r["id"] == i) for i in apac_ids])
    apac = by_segment["region=apac"]
    assert apac["rows"] == len(apac_ids)
    assert apac["brier"] == pytest.approx(brier_score_loss(y, s))
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
    table = apac["reliability"]
    assert [v for v in table["observed_rate"] if v is not None] == pytest.approx(prob_true)
    assert [v for v in table["mean_predicted"] if v is not None] == pytest.approx(prob_pred)

    events = outbox(workspace, "ml.model.performance.degraded")
    assert sorted(e["data"]["metric"] for e in events) == ["brier", "ece"]
    for event in events:
        metric = event["data"]["metric"]
        assert event["data"] == {
            "modelId": "fraud", "tenantId": "acme", "scenario": "fraud",
            "segment": "region=apac", "metric": metric, "value": apac[metric],
            "threshold": section["thresholds"][metric], "consecutive": 1}
        assert event["subject"] == "fraud/acme"
    assert sorted(summary["events"]) == sorted(e["id"] for e in events)
    assert apac["alerts"] == {"brier": {"alert": "firing", "consecutive": 1},
                              "ece": {"alert": "firing", "consecutive": 1}}
    assert by_segment["region=europe"]["alerts"]["ece"] == {"alert": "ok", "consecutive": 0}

    console = Console(record=True, width=250)
    for line in summary_table(summary):
        console.print(line)
    [apac_line] = [line for line in console.export_text().splitlines() if "region=apac]" in line
                   and "calibration" in line]
    assert "degraded: brier over 0.20, ece over 0.10 (event)" in apac_line
    html = run_report_html(summary)
    assert "Calibration per segment" in html and "region=apac" in html


def test_segments_under_the_floor_are_skipped_and_never_evaluated(workspace: Workspace):
    _apac_miscalibrated(workspace)

    summary = run_model_monitoring(workspace, {**META, "segmentMinSamples": 400})

    [perf] = [r for r in summary["results"] if r["check"] == "performance"]
    entries = {e["segment"]: e for e in perf["segment_calibration"]["segments"]}
    apac = entries["region=apac"]
    assert apac["status"] == "skipped" and apac["reason"] == (
        f"{apac['rows']} labelled rows, fewer than the 400 a calibration check needs")
    assert outbox(workspace, "ml.model.performance.degraded") == []


def test_thresholds_come_from_the_job_metadata(workspace: Workspace):
    _apac_miscalibrated(workspace)

    summary = run_model_monitoring(workspace, {**META, "segmentBrierThreshold": 0.5,
                                               "segmentEceThreshold": 0.26})

    [perf] = [r for r in summary["results"] if r["check"] == "performance"]
    apac = next(e for e in perf["segment_calibration"]["segments"]
                if e["segment"] == "region=apac")
    assert perf["segment_calibration"]["thresholds"] == {"brier": 0.5, "ece": 0.26}
    assert [d["metric"] for d in apac["degraded"]] == (["ece"] if apac["ece"] > 0.26 else [])


def test_the_segment_brier_threshold_follows_brier_threshold() -> None:
    config = MonitoringConfig.from_metadata({"brierThreshold": 0.3})
    assert config.segment_calibration == {"brier": 0.3, "ece": 0.1}


@pytest.mark.parametrize(("key", "value"), [
    ("segmentEceThreshold", 0), ("segmentEceThreshold", 1.5), ("segmentBrierThreshold", "0.2"),
    ("segmentBrierThreshold", True), ("segmentEceThreshold", float("nan")),
])
def test_bad_threshold_metadata_names_the_key(key: str, value: Any):
    with pytest.raises(InputError, match=rf"^{key} must be a number above 0 and at most 1, "
                                         rf"got .*; e\.g\. \{{\"{key}\": "):
        MonitoringConfig.from_metadata({key: value})


def test_a_segment_evaluation_is_keyed_by_its_segment() -> None:
    result = {"check": "performance", "status": "checked", "tenantId": "acme",
              "modelId": "fraud", "scenario": "fraud", "mode": "labelled",
              "metrics": {"brier": 0.1, "mae": 0.1}, "degraded": [],
              "segment_calibration": {"thresholds": {"brier": 0.2, "ece": 0.1}, "segments": [
                  {"segment": "region=apac", "status": "checked", "brier": 0.3, "ece": 0.05,
                   "degraded": [{"metric": "brier", "value": 0.3, "threshold": 0.2}]},
                  {"segment": "region=latam", "status": "skipped", "reason": "few"}]}}

    found = evaluations([result], {"brier": 0.2, "mae": 0.2})

    segmented = [(e.key, e.breach, e.data["metric"]) for e in found if e.data.get("segment")]
    assert segmented == [
        (("performance", "acme", "fraud", "region=apac", "", "brier"), True, "brier"),
        (("performance", "acme", "fraud", "region=apac", "", "ece"), False, "ece")]


def test_a_scenario_sets_its_own_loss_thresholds_and_a_run_overrides_them() -> None:
    from riskops.monitoring.windows import MonitoringConfig
    from riskops.scenarios import get_scenario

    deal, fraud = get_scenario("deal"), get_scenario("fraud")
    plain = MonitoringConfig.from_metadata({})
    # Most deals are lost: a healthy model's MAE is about 0.3, over the default 0.2.
    assert plain.degradation_for(deal) == {"brier": 0.2, "mae": 0.4}
    assert plain.degradation_for(fraud) == {"brier": 0.2, "mae": 0.2}
    assert plain.degradation_for(None) == {"brier": 0.2, "mae": 0.2}
    strict = MonitoringConfig.from_metadata({"maeThreshold": 0.35})
    assert strict.degradation_for(deal) == {"brier": 0.2, "mae": 0.35}
