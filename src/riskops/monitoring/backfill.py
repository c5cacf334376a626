"""Backfill the inference log from a file of historical predictions (`riskops monitor import`).

    result = import_predictions(ws, Path("scored-2025.parquet"), scenario="fraud",
                                timestamp_col="scored_at", score_col="score",
                                label_col="outcome", id_col="loan_id")
    result.added, result.present, result.outcomes

Each row becomes a prediction made at its own timestamp, with ``method``
``imported`` and ``route`` ``import``; its ``inputs`` are the scenario's
features (and segment columns) read from the file, as served predictions
store them. The label is the score's at the threshold: the version's when
``model``/``version`` name a registered version (checked against the verified
manifest), else the scenario's default. A label column gives outcomes.

Idempotent: a prediction's id is derived from (scenario, model, the id
column's value), or from the row's content when there is no id column, so
importing the same file again adds nothing. Rows are stored in batches of
``BATCH_ROWS``, each batch in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.scenarios.base import COLUMN_KINDS, Scenario
from riskops.user_tables import Column, TableSpec, load_table

METHOD = "imported"
ROUTE = "import"
#: The tenant of rows without a tenant column: the one serving uses without X-Tenant-ID.
DEFAULT_TENANT = "default"
#: Rows stored per transaction.
BATCH_ROWS = 5000
#: Longest tenant id the inference log holds.
MAX_TENANT_LENGTH = 128


@dataclass(frozen=True)
class ImportResult:
    """What one import read and stored.

    ``present`` counts rows whose prediction was already in the log,
    ``duplicates`` rows identical to an earlier row of the same file (only
    without an id column; with one, duplicated ids are refused).
    """

    source: str
    scenario: str
    model_id: str
    model: str | None
    version: int | None
    threshold: float
    ids_from: str
    rows: int
    added: int
    present: int
    duplicates: int
    labelled: int
    outcomes: int
    first: str
    last: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_predictions(
    ws: Workspace, path: Path, *, scenario: str, timestamp_col: str, score_col: str,
    model: str | None = None, version: int | None = None, label_col: str | None = None,
    tenant_col: str | None = None, id_col: str | None = None, config: Path | None = None,
    actor: str = "import", batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import the predictions in ``path`` (CSV or Parquet) into the inference log.

    ``config`` is a custom scenario's TOML file. ``progress(done, total)`` is
    called after each batch.

    Raises
    ------
    InputError
        One line naming the option, file, column and first bad row: unknown
        scenario, model or version; a missing or unreadable file; a missing
        column; a timestamp, score, label or tenant that breaks its rule;
        duplicated ids.
    """
    from riskops.scenarios import get_scenario
    from riskops.storage.imports import add_imported

    spec_scenario = get_scenario(scenario, config=config)
    threshold, manifest_version, version = _model(ws, spec_scenario, model, version)
    source = f"--from {path}"
    spec = _spec(spec_scenario, timestamp_col=timestamp_col, score_col=score_col,
                 label_col=label_col, tenant_col=tenant_col, id_col=id_col)
    frame = load_table(Path(path), spec, source=source)
    scores = _scores(frame[score_col], score_col, source)
    tenants = (_tenants(frame[tenant_col], tenant_col, source) if tenant_col
               else [DEFAULT_TENANT] * len(frame))
    labels = (_labels(frame[label_col], label_col, spec_scenario.schema.labels, source)
              if label_col else [None] * len(frame))
    names = spec_scenario.schema.feature_names + [
        s for s in spec_scenario.schema.segments
        if s in frame.columns and s not in spec_scenario.schema.feature_names]
    inputs = _inputs(frame, names)
    # The log keeps microseconds, as Python datetimes do.
    stamps = [t.to_pydatetime() for t in frame[timestamp_col].dt.floor("us")]
    if id_col:
        ids = [prediction_id(scenario, model, str(v)) for v in frame[id_col]]
    else:
        ids = [prediction_id(scenario, model, json.dumps(
            [t.isoformat(), tenant, repr(float(s)), i], sort_keys=True, ensure_ascii=False))
            for t, tenant, s, i in zip(stamps, tenants, scores, inputs, strict=True)]

    recorded_at = datetime.now(UTC)
    seen: set[str] = set()
    duplicates = added = outcomes = 0
    order = frame[timestamp_col].argsort(kind="stable").to_numpy()
    total = len(frame)
    for start in range(0, total, batch_rows):
        batch, results = [], []
        for i in order[start:start + batch_rows]:
            if ids[i] in seen:
                duplicates += 1
                continue
            seen.add(ids[i])
            score = float(scores[i])
            batch.append({
                "id": ids[i], "created_at": stamps[i], "tenant_id": tenants[i],
                "scenario": scenario, "model_name": model, "model_version": version,
                "manifest_version": manifest_version, "method": METHOD, "route": ROUTE,
                "inputs": json.dumps(inputs[i], separators=(",", ":"), ensure_ascii=False),
                "score": score, "label": spec_scenario.label_for(score, threshold),
                "threshold": threshold, "reasons": "[]", "latency_ms": 0.0})
            if labels[i] is not None:
                results.append({"prediction_id": ids[i], "label": labels[i],
                                "observed_at": stamps[i], "recorded_at": recorded_at,
                                "actor": actor})
        counts = add_imported(ws.database_url, batch, results)
        added += counts.predictions
        outcomes += counts.outcomes
        if progress is not None:
            progress(min(start + batch_rows, total), total)
    monitored = model or f"{scenario}-imported"
    return ImportResult(
        source=str(path), scenario=scenario, model_id=monitored, model=model, version=version,
        threshold=threshold, ids_from=f"column {id_col}" if id_col else "row content",
        rows=total, added=added, present=total - duplicates - added, duplicates=duplicates,
        labelled=sum(label is not None for label in labels), outcomes=outcomes,
        first=min(stamps).isoformat(), last=max(stamps).isoformat())


def prediction_id(scenario: str, model: str | None, key: str) -> str:
    """The id an import gives the row whose id column holds ``key`` (36 characters).

    Without an id column, ``key`` is the row's content: timestamp, tenant, score
    and inputs as JSON.
    """
    text = json.dumps(["riskops-import", scenario, model or "", key], ensure_ascii=False)
    return "imp-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --- the model and its threshold ---------------------------------------------------------


def _model(ws: Workspace, scenario: Scenario, model: str | None,
           version: int | None) -> tuple[float, int | None, int | None]:
    """(threshold, manifest version, version) of the registered version, or the
    scenario's default threshold without a model."""
    if model is None:
        if version is not None:
            raise InputError(f"--version {version} needs --model: name the model the "
                             "version belongs to, e.g. --model fraud --version 3.")
        return float(scenario.default_threshold), None, None
    if version is not None and version < 1:
        raise InputError(f"--version must be 1 or more, got {version}.")
    if not ws.manifest_path.exists():
        raise InputError(f"--model {model}: no model is registered in {ws.home} yet; train "
                         "or register it first, or import without --model.")
    from riskops.registry.trust import read_workspace_manifest

    verified = read_workspace_manifest(ws)
    manifest = verified.manifest
    try:
        entry = manifest.model(model)
        if version is None:
            version = entry.stages.production
            if version is None:
                raise InputError(
                    f"--model {model} has no production version; give one with --version "
                    f"(versions: {', '.join(entry.versions) or 'none'}).")
        metrics = manifest.version(model, version).metrics
    except InputError as exc:
        message = str(exc)
        if not message.startswith("--model"):
            message = f"--model {model} --version {version}: {message}" if version \
                else f"--model {model}: {message}"
        raise InputError(message) from None
    threshold = metrics.get("threshold", scenario.default_threshold)
    return float(threshold), manifest.manifest_version, version


# --- the file ----------------------------------------------------------------------------


def _spec(scenario: Scenario, *, timestamp_col: str, score_col: str, label_col: str | None,
          tenant_col: str | None, id_col: str | None) -> TableSpec:
    options = {"--timestamp-col": timestamp_col, "--score-col": score_col,
               "--label-col": label_col, "--tenant-col": tenant_col, "--id-col": id_col}
    given = {option: name for option, name in options.items() if name is not None}
    for option, name in given.items():
        if not name.strip():
            raise InputError(f"{option} needs a column name, got an empty one.")
        others = [o for o, n in given.items() if n == name and o != option]
        if others:
            raise InputError(f"{option} and {others[0]} both name column {name!r}; each "
                             "option needs its own column.")
        if name in scenario.schema.feature_names:
            raise InputError(f"{option} {name!r} is a feature of scenario {scenario.name}; "
                             "name the file's column for it instead.")
    columns = []
    if id_col:
        columns.append(Column(id_col, "id", role="--id-col column"))
    columns.append(Column(timestamp_col, "timestamp", role="--timestamp-col column"))
    columns.append(Column(score_col, "numeric", allow_empty=False, role="--score-col column",
                          hint="scores are numbers from 0 to 1"))
    if tenant_col:
        columns.append(Column(tenant_col, "category", allow_empty=False,
                              role="--tenant-col column"))
    if label_col:
        columns.append(Column(label_col, "category", role="--label-col column"))
    columns += [Column(f.name, COLUMN_KINDS[f.kind], role=f"{f.kind} feature")
                for f in scenario.schema.features]
    known = {c.name for c in columns}
    columns += [Column(name, "category", required=False, role="segment column")
                for name in scenario.schema.segments if name not in known]
    return TableSpec(tuple(columns), owner=f"importing {scenario.name} predictions",
                     purpose="the import")


def _scores(values: pd.Series, name: str, source: str) -> np.ndarray:
    scores = values.to_numpy(dtype=float)
    bad = ~((scores >= 0.0) & (scores <= 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{source}: --score-col column {name!r} holds {int(bad.sum())} "
            f"value{'s' if bad.sum() > 1 else ''} outside 0 to 1 (first: "
            f"{float(scores[first])!r} at data row {first + 1}); import risk scores as "
            "probabilities from 0 to 1.")
    return scores


def _tenants(values: pd.Series, name: str, source: str) -> list[str]:
    tenants = [str(v) for v in values]
    for i, tenant in enumerate(tenants):
        if not tenant.strip() or len(tenant) > MAX_TENANT_LENGTH or \
                any(ord(c) < 32 or ord(c) == 127 for c in tenant):
            raise InputError(
                f"{source}: --tenant-col column {name!r} holds {tenant[:40]!r} at data row "
                f"{i + 1}; a tenant id is 1 to {MAX_TENANT_LENGTH} printable characters.")
    return tenants


def _labels(values: pd.Series, name: str, allowed: tuple[str, ...],
            source: str) -> list[str | None]:
    """Outcome labels as the scenario's label text; an empty cell is no outcome yet."""
    out: list[str | None] = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
            continue
        text = str(value)
        if text not in allowed:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer() and str(int(number)) in allowed:
                text = str(int(number))  # 1.0 or True from a typed column
            elif text in ("True", "False") and str(int(text == "True")) in allowed:
                text = str(int(text == "True"))
            else:
                raise InputError(
                    f"{source}: --label-col column {name!r} holds {text[:40]!r} at data row "
                    f"{i + 1}; outcome labels are {', '.join(allowed)} (or an empty cell for "
                    "no outcome yet).")
        out.append(text)
    return out


def _inputs(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    """Per row, the features as JSON values: numbers as floats, missing as null."""
    columns = {name: [_plain(v) for v in frame[name]] for name in names}
    return [{name: columns[name][i] for name in names} for i in range(len(frame))]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
