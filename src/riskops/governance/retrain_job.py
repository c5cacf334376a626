"""The ``retrain`` job: train a candidate on the model's data source, audit it, stop.

Metadata: ``{"model": "fraud", "firing": "retrain:fraud:schedule:..."}`` as
``retrain-triggers`` sends it (``firing`` may be left out to retrain by hand,
e.g. ``riskops jobs run retrain --metadata '{"model": "fraud"}'``).

The data source is ``[governance.retrain.models.NAME] data`` (default ``lake``):

- a file or glob (CSV or Parquet; a relative path resolves against the
  workspace folder). One file is trained on as it is; several matches are
  concatenated into one Parquet file under ``retrain/`` in the workspace, kept
  so ``riskops train --reproduce`` finds the very bytes;
- ``lake``: the predictions of the model's scenario logged in the trailing
  ``lake_days``, their inputs joined with a label: the newest feedback label
  when a reviewer gave one (it overrides the outcome), else the newest
  outcome; rows with neither are left out and counted. Written under
  ``retrain/`` too.

A custom scenario is trained from the signed definition of its production
version (written beside the data as ``MODEL-vN.toml``). Training is exactly
``riskops train`` (``training.pipeline.train_scenario``): a candidate version
with its evaluation report (with the comparison with production), its
reproducibility report and golden set. The bias audit of the candidate runs
next (``governance.bias_audit.audit_version``). Nothing is promoted.

Idempotent per firing: the job takes the firing from ``queued`` to
``training`` with one conditional update; a redelivered trigger finds it
taken and does nothing. The firing ends ``trained`` (with the version) or
``failed`` (with the error).
"""

from __future__ import annotations

import glob
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from riskops.config import Workspace
from riskops.errors import InputError, InvalidTrainingData, RiskopsError
from riskops.scenarios.base import Scenario

log = logging.getLogger(__name__)

ACTOR = "system:retrain"
LAKE = "lake"
FOLDER = "retrain"
TRAINING, TRAINED, FAILED = "training", "trained", "failed"
QUEUED = "queued"
COMPLETED_ACTION = "model.retrain.completed"


def run(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Retrain the model named in ``metadata`` once per firing; see the module."""
    from riskops.storage.rule_firings import take_firing

    model, key = _check_metadata(metadata)
    if key is not None and not take_firing(ws.database_url, key, expected=QUEUED,
                                           status=TRAINING):
        from riskops.storage.rule_firings import firing

        found = firing(ws.database_url, key)
        if found is None:
            raise InputError(f"retrain: no rule firing {key!r}; the retrain job runs for "
                             "firings of retrain-triggers, or with only a model.")
        return {"model": model, "firing": key, "status": "duplicate",
                "firing_status": found["status"]}
    try:
        result = retrain(ws, model, now=datetime.now(UTC), firing_key=key)
    except Exception as exc:
        if key is not None:
            _finish(ws, key, FAILED, {"error": f"{type(exc).__name__}: {exc}"}, model=model,
                    audit=None)
        raise
    if key is not None:
        _finish(ws, key, TRAINED, {"version": result["version"]}, model=model,
                audit=result)
    return result


def retrain(ws: Workspace, model: str, *, now: datetime,
            firing_key: str | None = None) -> dict[str, Any]:
    """Train, register and bias-audit a candidate of ``model``; never promote.

    Returns ``model``, ``version``, ``data`` (source, path, rows, and for the lake
    ``unlabelled`` and label sources), ``comparison`` (with production), ``bias``
    (audit status, or why it did not run) and ``promoted: False``.
    """
    from riskops.governance.policy import governance_policy
    from riskops.training.pipeline import train_scenario

    source = governance_policy(ws).retrain.source(model)
    scenario, config, production = _scenario(ws, model)
    folder = ws.home / FOLDER
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    data = source.data or LAKE
    if data == LAKE:
        path, info = lake_file(ws, scenario, since=now - timedelta(days=source.lake_days),
                               until=now, out=folder / f"{model}-lake-{stamp}.parquet")
    else:
        path, info = data_file(ws, data, out=folder / f"{model}-data-{stamp}.parquet")
    summary = train_scenario(ws, model, path, seed=0, actor=ACTOR, config=config)
    version = int(summary["version"])
    bias = _bias_audit(ws, model, version)
    return {"model": model, "version": version, "firing": firing_key,
            "production_version": production, "promoted": False,
            "data": {"source": data, "path": str(path), **info},
            "metrics": summary["metrics"].get("validation"),
            "comparison": summary["comparison"], "bias": bias,
            "manifest_version": summary["manifest_version"]}


def data_file(ws: Workspace, pattern: str, *, out: Path) -> tuple[Path, dict[str, Any]]:
    """The file ``pattern`` names (relative to the workspace folder), or its glob's matches
    concatenated into ``out``.

    Raises
    ------
    InvalidTrainingData
        No file matches, or a match cannot be read.
    """
    from riskops.user_tables import read_table_file

    base = Path(pattern).expanduser()
    full = base if base.is_absolute() else ws.home / base
    matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True)
                     if Path(p).is_file() and Path(p).suffix.lower() in (".csv", ".parquet"))
    if not matches:
        raise InvalidTrainingData(
            f"retrain data {pattern!r} matches no .csv or .parquet file (looked for {full}); "
            "fix [governance.retrain.models.NAME] data in riskops.toml.")
    if len(matches) == 1:
        return matches[0], {"files": [str(matches[0])]}
    frames = []
    for path in matches:
        try:
            frames.append(read_table_file(path, source=f"retrain data {path}").frame)
        except InputError as exc:
            raise InvalidTrainingData(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames, ignore_index=True).to_parquet(out, index=False)
    return out, {"files": [str(p) for p in matches]}


def lake_file(ws: Workspace, scenario: Scenario, *, since: datetime, until: datetime,
              out: Path) -> tuple[Path, dict[str, Any]]:
    """The labelled predictions of ``scenario`` logged in ``(since, until]`` as a training
    table at ``out``: logged inputs, id, timestamp, tenant and label columns.

    Raises
    ------
    InvalidTrainingData
        No prediction of the window has a label (the rows left out are counted).
    """
    from riskops.storage.retrain_reads import lake_rows

    found = lake_rows(ws.database_url, scenario.name, since=since, until=until)
    names = _column_names(scenario)
    records = []
    for row in found.rows:
        try:
            inputs = json.loads(row["inputs"])
        except ValueError:
            inputs = {}
        record = dict(inputs) if isinstance(inputs, dict) else {}
        record[names["id"]] = row["id"]
        record.setdefault(names["timestamp"], row["created_at"])
        record.setdefault(names["tenant"], row["tenant_id"])
        record[names["label"]] = row["label"]
        records.append(record)
    by_source = {"feedback": sum(1 for r in found.rows if r["source"] == "feedback"),
                 "outcome": sum(1 for r in found.rows if r["source"] == "outcome")}
    info = {"since": since.isoformat(), "until": until.isoformat(), "rows": len(records),
            "unlabelled": found.unlabelled, "labels_from": by_source}
    if not records:
        raise InvalidTrainingData(
            f"retrain {scenario.name} from the lake: no prediction logged from "
            f"{since.date()} to {until.date()} has a feedback label or an outcome "
            f"({found.unlabelled} unlabelled left out); record outcomes (POST /outcomes) "
            "or configure a data file.")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame.from_records(records)
    frame[names["timestamp"]] = pd.to_datetime(frame[names["timestamp"]], utc=True)
    frame.to_parquet(out, index=False)
    return out, info


# --- helpers -----------------------------------------------------------------------------


def _check_metadata(metadata: dict[str, Any]) -> tuple[str, str | None]:
    from riskops.registry.service import check_model_name

    model, key = metadata.get("model"), metadata.get("firing")
    if not isinstance(model, str) or not model:
        raise InputError("retrain: metadata model must name the model, e.g. "
                         "{\"model\": \"fraud\"}.")
    check_model_name(model)
    if key is not None and (not isinstance(key, str) or not key.startswith(f"retrain:{model}:")):
        raise InputError(f"retrain: metadata firing {key!r} is not a retrain firing of "
                         f"{model} (retrain:{model}:RULE:...).")
    return model, key


def _scenario(ws: Workspace, model: str) -> tuple[Scenario, Path | None, int | None]:
    """The scenario to train, the config file of a custom one (written from the production
    version's signed definition), and the production version."""
    import tomli_w

    from riskops.registry.definitions import version_scenario
    from riskops.registry.service import Registry
    from riskops.registry.trust import read_workspace_manifest
    from riskops.scenarios import REFERENCE, get_scenario

    production = Registry(ws).show_model(model)["stages"]["production"]
    if model in REFERENCE:
        return get_scenario(model), None, production
    if production is None:
        raise InputError(f"retrain {model}: a custom scenario is retrained from its production "
                         "version's definition, and it has none; train it with riskops train "
                         f"{model} --config FILE --data FILE.")
    scenario = version_scenario(read_workspace_manifest(ws), model, production)
    document = getattr(getattr(scenario, "config", None), "document", None)
    if document is None:
        raise InputError(f"retrain {model}: v{production} carries no scenario definition.")
    path = ws.home / FOLDER / f"{model}-v{production}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(dict(document)), encoding="utf-8")
    return get_scenario(model, config=path), path, production


def _column_names(scenario: Scenario) -> dict[str, str]:
    """The id, timestamp, tenant and label column names a training file of ``scenario``
    has: a custom scenario's ``[columns]``, else riskops' layout."""
    schema = scenario.schema
    names = {"id": schema.id, "timestamp": schema.timestamp, "tenant": schema.tenant,
             "label": schema.label}
    columns = getattr(getattr(scenario, "config", None), "columns", None)
    if isinstance(columns, dict):
        names.update({k: v for k, v in columns.items() if k in names and isinstance(v, str)})
    return names


def _bias_audit(ws: Workspace, model: str, version: int) -> dict[str, Any]:
    from riskops.governance.bias_audit import audit_version

    try:
        report = audit_version(ws, model, version, actor=ACTOR)
    except RiskopsError as exc:
        log.warning("bias audit of %s v%s did not run: %s", model, version, exc)
        return {"status": "not-run", "reason": str(exc)}
    return {"status": report["status"], "reasons": report.get("reasons", [])}


def _finish(ws: Workspace, key: str, status: str, data: dict[str, Any], *, model: str,
            audit: dict[str, Any] | None) -> None:
    """Record how the firing ended; a trained one also gets an audit entry."""
    from riskops.registry.publish import record_change, sync_manifest_files
    from riskops.storage import db
    from riskops.storage.rule_firings import set_firing

    with db.write_transaction(ws.database_url) as session:
        set_firing(session, key, status=status, data=data)
        if audit is not None:
            record_change(session, ws, now=datetime.now(UTC), actor=ACTOR,
                          action=COMPLETED_ACTION, subject=f"{model}/{audit['version']}",
                          data={"model": model, "version": audit["version"], "firing": key,
                                "data": audit["data"], "bias": audit["bias"]["status"],
                                "comparison": audit["comparison"].get("status"),
                                "promoted": False})
    if audit is not None:
        sync_manifest_files(ws)
