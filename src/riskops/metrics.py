"""Every Prometheus metric riskops exports, with the names fixed by DESIGN.md.

One module owns them all so a name is defined once. ``riskops serve
--workers N`` runs prometheus-client in multiprocess mode: the CLI sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker imports this module, each
worker writes its samples to memory-mapped files there, and ``/metrics``
merges them (``registry_for_scrape``). Gauges say how to merge across
workers (``multiprocess_mode``); ``mostrecent`` keeps the newest value.

Three counters go beyond DESIGN.md's list, for the alert rules in
``deploy/prometheus/alerts.yml``: ``ml_model_integrity_failures_total``,
``ml_model_bias_alerts_total`` and ``batch_job_failures_total``, each counted
where its event (``model_integrity_failed``, ``model_bias_alert``,
``workflow.job.failed``) is produced.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Single-row scoring takes about a millisecond; buckets resolve 0.5 ms .. 2.5 s.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
_JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)

INFERENCE_DURATION = Histogram(
    "ml_inference_duration_seconds", "Time to score one request, model or heuristic.",
    ["model", "scenario"], buckets=_LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "ml_predictions_total", "Predictions served, by scoring method (ml or heuristic).",
    ["model", "scenario", "method"],
)
MODEL_FALLBACKS = Counter(
    "ml_inference_fallbacks_total",
    "Requests routed to a model that the heuristic answered because the model failed.",
    ["scenario", "error"],
)
RISK_REQUESTS = Counter(
    "risk_requests_total", "Scoring requests answered, by scoring method.", ["method"],
)
RISK_SCORE = Histogram(
    "risk_score_value", "Distribution of served risk scores.", buckets=_SCORE_BUCKETS,
)
FEATURE_DRIFT_SCORE = Gauge(
    "ml_feature_drift_score", "Z-score drift score per feature from the latest check.",
    ["model", "feature"], multiprocess_mode="mostrecent",
)
LAST_DATA_DRIFT_PSI = Gauge(
    "last_data_drift_psi", "PSI per feature from the latest drift check.",
    ["model", "feature"], multiprocess_mode="mostrecent",
)
ERROR_BUDGET_REMAINING = Gauge(
    "ml_inference_error_budget_remaining",
    "Share (0..1) of the scenario's error budget left in the trailing window.",
    ["scenario"], multiprocess_mode="mostrecent",
)
OUT_OF_RANGE_INPUTS = Counter(
    "ml_out_of_range_inputs_total",
    "Model-scored inputs outside the range the version's training data covered.",
    ["model", "feature"],
)
DRIFT_CHECKS = Counter("ml_drift_checks_total", "Drift checks run.")
DRIFT_DETECTIONS = Counter("ml_drift_detections_total", "Drift checks that found drift.")
PERFORMANCE_DEGRADED = Counter(
    "ml_performance_degraded_total", "Performance checks over their threshold.",
    ["model", "metric"],
)
BATCH_JOB_DURATION = Histogram(
    "batch_job_duration_seconds", "Wall time of batch job runs.", ["job_name"],
    buckets=_JOB_BUCKETS,
)
BATCH_JOB_FAILURES = Counter(
    "batch_job_failures_total",
    "Batch job runs recorded failed (each one also emits workflow.job.failed).",
    ["job_name"],
)
BATCH_JOB_TRIGGERS = Counter(
    "batch_job_triggers_total", "Batch job runs triggered (schedule, message or manual).",
    ["batch_job"],
)
MODEL_INTEGRITY_FAILURES = Counter(
    "ml_model_integrity_failures_total",
    "Integrity failures found (each emits model_integrity_failed), per model named; a "
    "failure of the manifest itself counts under model=\"manifest.json\".",
    ["model"],
)
MODEL_BIAS_ALERTS = Counter(
    "ml_model_bias_alerts_total",
    "Bias audits of a version that failed (each emits model_bias_alert).", ["model"],
)
MODEL_INFO = Gauge(
    "ml_model_info", "1 for each model version loaded for serving.",
    ["model", "version", "sha256"], multiprocess_mode="livemostrecent",
)
MODEL_FAST_PATH = Gauge(
    "ml_model_fast_path",
    "1 for a loaded model version scored by its checked fast path, 0 by its estimator.",
    ["model", "version"], multiprocess_mode="livemostrecent",
)


def registry_for_scrape() -> CollectorRegistry:
    """The registry ``/metrics`` renders: merged across workers in multiprocess mode."""
    from prometheus_client import REGISTRY

    if os.environ.get(ENV_MULTIPROC_DIR):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def render() -> tuple[bytes, str]:
    """Prometheus text exposition and its content type."""
    return generate_latest(registry_for_scrape()), CONTENT_TYPE_LATEST
