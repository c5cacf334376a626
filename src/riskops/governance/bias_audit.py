"""Bias audits: of a scored file a user brings, and of a registered version's held-out rows.

    report = audit_file(Path("vendor.csv"), score_col="score", label_col="fraud",
                        sensitive=["age_band"], threshold=0.5, limits=BiasLimits())
    report = audit_version(ws, "fraud", 3, actor="local:ana")   # stored, audit-logged
    latest_version_audit(ws, "fraud", 3)                         # what the promotion gate reads

The maths and the verdict are ``governance.bias``; this module reads the rows,
turns them into scores, 0/1 labels and groups, and stores a version's result.

A version is audited on ``holdout-rows.parquet`` (its validation and golden
rows, each with ``_score``), read only through the signed manifest
(``registry.loader.read_artifact``): label, label values, sensitive column and
segments come from the ``feature_schema`` of its ``reproducibility-report.json``
(what it was trained with), the threshold from ``evaluation-report.json``
(``threshold.value``, else the version's ``threshold`` metric), the limits
from ``[governance.bias]``. The stored row, the audit-log entry
``model.bias_audited`` and, on fail, the ``model_bias_alert`` event commit in
one transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.governance.approvals import version_digest
from riskops.governance.bias import bias_report
from riskops.governance.policy import BiasLimits, governance_policy
from riskops.metrics import MODEL_BIAS_ALERTS
from riskops.training.reports import EVALUATION_FILE, HOLDOUT_FILE, REPRODUCIBILITY_FILE
from riskops.user_tables import Column, TableSpec, read_table_file, validate_table

__all__ = ["audit_file", "audit_version", "latest_version_audit"]

_POSITIVE = frozenset({"1", "true"})
_NEGATIVE = frozenset({"0", "false"})


# -- a scored file ----------------------------------------------------------------------


def audit_file(path: Path, *, score_col: str, label_col: str, sensitive: list[str],
               threshold: float = 0.5, positive_label: str | None = None,
               limits: BiasLimits) -> dict[str, Any]:
    """The bias report of a scored, labelled CSV or Parquet file, with its ``source``.

    Parameters
    ----------
    path : Path
        ``.csv`` or ``.parquet`` file, one row per decision.
    score_col : str
        Risk scores, numbers in [0, 1], never empty.
    label_col : str
        Outcomes. Without ``positive_label``: 0/1 or true/false (any case).
    sensitive : list of str
        Columns whose groups are compared; empty cells are the group "(missing)".
    threshold : float, default=0.5
        Scores at or above it are predicted positive.
    positive_label : str, optional
        The label value meaning the risky outcome; any other value is negative.
    limits : BiasLimits

    Returns
    -------
    report : dict
        :func:`riskops.governance.bias.bias_report` plus ``source``:
        ``{"file", "sha256", "rows"}``.

    Raises
    ------
    InputError
        If the file is missing, empty or unreadable; a column is missing; a
        score is empty, text or outside [0, 1]; the labels are not 0/1 or
        true/false and no ``positive_label`` is given; ``positive_label`` is
        not among the labels; the threshold is outside [0, 1].
    """
    _check_threshold(threshold)
    if not sensitive:
        raise InputError("give at least one --sensitive COLUMN whose groups to compare.")
    names = [score_col, label_col, *sensitive]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise InputError(f"column {doubled[0]!r} is given twice (--score-col, --label-col and "
                         "--sensitive must name different columns).")
    table = read_table_file(Path(path), source=f"--data {path}")
    spec = TableSpec((
        Column(score_col, "numeric", allow_empty=False, role="score column",
                hint="--score-col must name a column of risk scores in [0, 1]"),
        Column(label_col, "label", both_classes=False, role="label column"),
        *(Column(name, "category", role="sensitive column") for name in sensitive),
    ), owner="the bias audit", purpose="the bias audit")
    frame = validate_table(table.frame, spec, source=table.source)
    scores = _unit_scores(frame[score_col], score_col, table.source)
    labels = _binary_labels(frame[label_col], label_col, positive_label, table.source)
    report = bias_report(scores, labels, {name: frame[name] for name in sensitive},
                         threshold=threshold, limits=limits)
    report["source"] = {"file": str(table.path), "sha256": table.sha256, "rows": len(frame)}
    return report


def _check_threshold(threshold: float) -> None:
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold {threshold} must be a number between 0 and 1 (scores "
                         "at or above it are predicted positive).")


def _unit_scores(values: pd.Series, column: str, source: str) -> np.ndarray:
    scores = values.to_numpy(dtype=np.float64)
    bad = (scores < 0) | (scores > 1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{source}: score column {column!r} must hold numbers in [0, 1]; "
            f"{int(bad.sum())} row(s) do not (first: {scores[first]:g} at data row "
            f"{first + 1}); give probabilities, not raw model outputs or percentages.")
    return scores


def _binary_labels(values: pd.Series, column: str, positive_label: str | None,
                   source: str) -> np.ndarray:
    text = values.astype(str)
    seen = sorted(set(text.tolist()))
    if positive_label is not None:
        if positive_label not in seen:
            raise InputError(f"{source}: --positive-label {positive_label!r} is not a value of "
                             f"label column {column!r}; it holds "
                             f"{', '.join(repr(v) for v in seen)}.")
        return (text == positive_label).to_numpy(dtype=np.int64)
    # 0.0/1.0 is how pandas writes a 0/1 column that once held a missing value.
    lowered = text.str.lower().replace({"1.0": "1", "0.0": "0"})
    if not set(lowered.tolist()) <= _POSITIVE | _NEGATIVE:
        raise InputError(f"{source}: label column {column!r} holds "
                         f"{', '.join(repr(v) for v in seen)}, not 0/1 or true/false; name "
                         "the risky outcome with --positive-label VALUE.")
    return lowered.isin(_POSITIVE).to_numpy(dtype=np.int64)


# -- a registered version ---------------------------------------------------------------


def audit_version(ws: Workspace, model: str, version: int, *, actor: str) -> dict[str, Any]:
    """Audit ``model`` v``version`` on its held-out rows, store the result and report it.

    Returns the report of :func:`riskops.governance.bias.bias_report` with
    ``model``, ``version`` and ``source`` ("holdout-rows.parquet") added.

    Raises
    ------
    UnknownModel, UnknownVersion
        If the signed manifest does not list the version.
    InputError
        If the version has no holdout-rows.parquet (trained before it was kept,
        or registered by hand), its reports lack the schema or threshold, or
        its schema names no sensitive or segment column present in the rows.
    IntegrityError
        If the manifest's signature or an artifact read fails verification;
        nothing is stored.
    """
    from riskops.events import emit
    from riskops.registry.publish import record_change, sync_manifest_files
    from riskops.registry.service import check_model_name
    from riskops.storage import db, repository
    from riskops.storage.tables import BiasAuditRow

    check_model_name(model)
    limits = governance_policy(ws).bias
    frame, schema, threshold = _holdout(ws, model, version)
    label, positive = schema["label"], schema["labels"][-1]
    columns = [c for c in dict.fromkeys([schema.get("sensitive"), *schema.get("segments", [])])
               if c is not None and c in frame.columns]
    if not columns:
        raise InputError(f"{model} v{version}: its feature schema names no sensitive or "
                         "segment column found in the held-out rows; audit a scored file "
                         "with riskops audit bias --data FILE --sensitive COL.")
    labels = (frame[label].astype(str) == str(positive)).to_numpy(dtype=np.int64)
    # The sensitive attribute is judged; segments (industry, region, ...) are reported
    # beside it, since their base rates legitimately differ. Without one, segments are.
    sensitive = schema.get("sensitive")
    judged = [sensitive] if sensitive in columns else columns
    report = bias_report(frame["_score"].to_numpy(dtype=np.float64), labels,
                         {c: frame[c] for c in columns}, threshold=threshold, limits=limits,
                         judged=judged)
    report.update({"model": model, "version": version, "source": HOLDOUT_FILE})
    text = json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False)
    report_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with db.write_transaction(ws.database_url) as session:
        now = datetime.now(UTC)
        digest = version_digest(session, model, version)
        repository.add_bias_audit(session, BiasAuditRow(
            model_name=model, version=version, status=report["status"], report=text,
            artifacts_sha256=digest, actor=actor, created_at=now))
        record_change(session, ws, now=now, actor=actor, action="model.bias_audited",
                      subject=f"{model}/{version}",
                      data={"model": model, "version": version, "status": report["status"],
                            "reasons": report["reasons"], "report_sha256": report_sha256})
        if report["status"] == "fail":
            emit(session, ws, type="model_bias_alert", subject=model, source="governance",
                 data={"modelId": model, "version": version, "status": "fail",
                       "reasons": report["reasons"]})
    if report["status"] == "fail":  # counted once the alert is stored with the audit
        MODEL_BIAS_ALERTS.labels(model=model).inc()
    sync_manifest_files(ws)
    return report


def latest_version_audit(ws: Workspace, model: str, version: int) -> dict[str, Any] | None:
    """The newest stored bias audit of ``model`` v``version``, or ``None`` if never audited.

    The stored report plus ``status``, ``created_at`` (ISO 8601), ``actor`` and
    ``artifacts_sha256`` (:func:`riskops.governance.digests.artifacts_digest`
    of the version's artifacts when it was audited).
    """
    from riskops.governance.bias_records import stored_audit
    from riskops.storage import db

    with db.read_session(ws.database_url) as session:
        audit = stored_audit(session, model, version)
    if audit is None:
        return None
    report = audit.pop("report")
    return {**report, **audit}


def _holdout(ws: Workspace, model: str, version: int,
             ) -> tuple[pd.DataFrame, dict[str, Any], float]:
    """The verified held-out rows, the feature schema and the threshold of a version."""
    from riskops.registry.loader import read_artifact
    from riskops.registry.store import version_folder
    from riskops.registry.trust import read_workspace_manifest

    verified = read_workspace_manifest(ws)
    entry = verified.manifest.version(model, version)
    listed = {a.path for a in entry.artifacts}
    folder = version_folder(model, version)
    if f"{folder}/{HOLDOUT_FILE}" not in listed:
        raise InputError(
            f"{model} v{version} has no {HOLDOUT_FILE} (trained before versions kept their "
            "held-out rows, or registered by hand), so it cannot be audited in place; audit "
            "its scored rows with riskops audit bias --data FILE --score-col S --label-col L "
            "--sensitive COL.")
    for name in (REPRODUCIBILITY_FILE, EVALUATION_FILE):
        if f"{folder}/{name}" not in listed:
            raise InputError(f"{model} v{version} has no {name}, which a bias audit needs for "
                             "its schema and threshold; audit a scored file with riskops "
                             "audit bias --data FILE.")
    action = "audited for bias"
    reproducibility = _json(read_artifact(verified, model, version, REPRODUCIBILITY_FILE,
                                          action=action), f"{folder}/{REPRODUCIBILITY_FILE}")
    evaluation = _json(read_artifact(verified, model, version, EVALUATION_FILE,
                                     action=action), f"{folder}/{EVALUATION_FILE}")
    schema = reproducibility.get("feature_schema")
    if not isinstance(schema, dict) or not schema.get("labels") or "label" not in schema:
        raise InputError(f"{folder}/{REPRODUCIBILITY_FILE} has no feature_schema with label "
                         "and labels; audit a scored file with riskops audit bias --data FILE.")
    threshold = _threshold(evaluation, entry.metrics, f"{folder}/{EVALUATION_FILE}")
    data = read_artifact(verified, model, version, HOLDOUT_FILE, action=action)
    frame = pd.read_parquet(io.BytesIO(data))
    missing = [c for c in (schema["label"], "_score") if c not in frame.columns]
    if missing:
        raise InputError(f"{folder}/{HOLDOUT_FILE} lacks column(s) {', '.join(missing)}; "
                         "retrain the version to audit it in place.")
    return frame, schema, threshold


def _threshold(evaluation: dict[str, Any], metrics: Any, source: str) -> float:
    found = evaluation.get("threshold")
    value = found.get("value") if isinstance(found, dict) else None
    if value is None and isinstance(metrics, dict):
        value = metrics.get("threshold")
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{source} records no decision threshold in [0, 1] "
                         "(threshold.value); audit a scored file with --threshold.")
    return float(value)


def _json(data: bytes, source: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{source} is not valid JSON ({exc}).") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{source} must be a JSON object.")
    return parsed
