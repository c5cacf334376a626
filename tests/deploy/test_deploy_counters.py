"""The counters behind the alert rules in deploy/prometheus/alerts.yml go up exactly
when their event is produced: ``model_integrity_failed``, ``model_bias_alert`` and
``workflow.job.failed``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from conftest import make_model_dir
from riskops.config import Workspace
from riskops.jobs.runner import run_job
from riskops.serving.state import ServingState
from riskops.storage import db
from riskops.storage.tables import OutboxEventRow


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def events(ws: Workspace, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with db.read_session(ws.database_url) as session:
        rows = session.scalars(select(OutboxEventRow).where(OutboxEventRow.type == kind))
        return [json.loads(r.envelope) for r in rows]


def test_failed_integrity_job_counts_the_model_and_the_failed_run(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    model = "deploytamper"
    assert cli("models", "register", model, "--from", make_model_dir(tmp_path / "m")).code == 0
    integrity = sample("ml_model_integrity_failures_total", model=model)
    failed = sample("batch_job_failures_total", job_name="integrity-check")
    assert run_job(workspace, "integrity-check").status == "succeeded"
    assert sample("ml_model_integrity_failures_total", model=model) == integrity
    assert sample("batch_job_failures_total", job_name="integrity-check") == failed

    artifact = workspace.store_dir / "models" / model / "1" / "model.skops"
    artifact.write_bytes(artifact.read_bytes() + b"tampered")
    outcome = run_job(workspace, "integrity-check")

    assert outcome.status == "failed"
    assert [e["subject"] for e in events(workspace, "model_integrity_failed")] == [model]
    assert [e["data"]["job"] for e in events(workspace, "workflow.job.failed")] == [
        "integrity-check"]
    assert sample("ml_model_integrity_failures_total", model=model) == integrity + 1
    assert sample("batch_job_failures_total", job_name="integrity-check") == failed + 1


def test_serving_integrity_failure_is_counted_with_its_event(workspace: Workspace) -> None:
    before = sample("ml_model_integrity_failures_total", model="deployserved")
    state = SimpleNamespace(ws=workspace)
    ServingState._integrity_failed(state, "digest mismatch",  # type: ignore[arg-type]
                                   {"modelId": "deployserved"})
    assert [e["subject"] for e in events(workspace, "model_integrity_failed")] == [
        "deployserved"]
    assert sample("ml_model_integrity_failures_total", model="deployserved") == before + 1


@pytest.mark.slow
def test_failed_bias_audit_counts_its_alert_and_a_passing_one_does_not(
    workspace: Workspace, tmp_path: Path, cli  # type: ignore[no-untyped-def]
) -> None:
    data = tmp_path / "fraud.csv"
    assert cli("data", "generate", "fraud", "--rows", "3000", "--start", "2024-01-01",
               "--days", "60", "--out", data).code == 0
    assert cli("train", "fraud", "--data", data, "--json").code == 0
    before = sample("ml_model_bias_alerts_total", model="fraud")

    assert cli("audit", "bias", "fraud", "1", "--json").code == 1  # small model: it fails
    assert len(events(workspace, "model_bias_alert")) == 1
    assert sample("ml_model_bias_alerts_total", model="fraud") == before + 1

    with workspace.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[governance.bias]\nmax_equalized_odds_difference = 1.0\n"
                 "min_demographic_parity_ratio = 0.0\n")
    assert cli("audit", "bias", "fraud", "1", "--json").code == 0
    assert len(events(workspace, "model_bias_alert")) == 1
    assert sample("ml_model_bias_alerts_total", model="fraud") == before + 1
