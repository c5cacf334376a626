"""Every metric a dashboard or an alert rule queries is one riskops exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from deploy_helpers import (
    DEPLOY,
    dashboard_exprs,
    exported_series,
    metric_names,
    unknown_metrics,
)

DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))


def rule_exprs() -> list[str]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def test_metric_names_leave_out_functions_labels_ranges_and_variables() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, scenario) (rate('
            'ml_inference_duration_seconds_bucket{scenario=~"$scenario", method="ml"}'
            '[$__rate_interval]))) / on (scenario) group_left max without (instance) '
            '(up offset 1h) and ALERTS{alertname=~"Riskops.*"} or vector(1) > bool 2')
    assert metric_names(expr) == {"ml_inference_duration_seconds_bucket", "up", "ALERTS"}


def test_exported_series_come_from_riskops_metrics() -> None:
    names = exported_series()
    assert {"ml_predictions_total", "ml_inference_duration_seconds_bucket",
            "ml_inference_duration_seconds_count", "ml_feature_drift_score",
            "batch_job_failures_total", "ml_model_integrity_failures_total",
            "ml_model_bias_alerts_total"} <= names
    assert "ml_inference_duration_seconds" not in names  # a histogram's name is no series


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_only_exported_metrics(path: Path) -> None:
    exprs = dashboard_exprs(json.loads(path.read_text()))
    assert exprs
    assert unknown_metrics(exprs) == {}


def test_alert_rules_query_only_exported_metrics() -> None:
    exprs = rule_exprs()
    assert len(exprs) == 7
    assert unknown_metrics(exprs) == {}


def test_dashboards_are_the_two_named_ones() -> None:
    titles = {json.loads(p.read_text())["title"]: p.name for p in DASHBOARDS}
    assert titles == {"ML Service Inference Overview": "inference-overview.json",
                      "Model Drift Deep Dive": "drift-deep-dive.json"}
    for path in DASHBOARDS:
        document = json.loads(path.read_text())
        assert document["schemaVersion"] == 39 and document["uid"]
        for panel in document["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def test_a_doctored_dashboard_with_an_unknown_metric_fails(tmp_path: Path) -> None:
    source = DEPLOY / "grafana" / "dashboards" / "inference-overview.json"
    doctored = tmp_path / source.name
    doctored.write_text(source.read_text().replace("ml_inference_fallbacks_total",
                                                   "ml_inference_fallback_total"))
    unknown = unknown_metrics(dashboard_exprs(json.loads(doctored.read_text())))
    assert set().union(*unknown.values()) == {"ml_inference_fallback_total"}
    # a histogram queried by its bare name is caught too
    assert unknown_metrics(["rate(ml_inference_duration_seconds[5m])"]) == {
        "rate(ml_inference_duration_seconds[5m])": {"ml_inference_duration_seconds"}}
